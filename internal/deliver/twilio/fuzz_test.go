package twilio

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// FuzzParseError feeds the error parser whatever an API or a proxy in
// front of it may answer. It must never panic, and it must not echo a
// body that is not Twilio's JSON error.
func FuzzParseError(f *testing.F) {
	f.Add(400, "application/json", "", []byte(`{"code":21211,"message":"The 'To' number is not valid.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`))
	f.Add(429, "application/json", "30", []byte(`{"code":20429,"message":"Too Many Requests"}`))
	f.Add(503, "text/html", "Wed, 21 Oct 2026 07:28:00 GMT", []byte("<html>secret-looking 123456</html>"))
	f.Add(500, "", "-5", []byte{})
	f.Add(400, "application/json; charset=utf-8", "", []byte(`{"code":"x"}`))
	f.Fuzz(func(t *testing.T, status int, contentType, retryAfter string, body []byte) {
		resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		resp.Header.Set("Content-Type", contentType)
		resp.Header.Set("Retry-After", retryAfter)
		e := parseError(resp)
		if e == nil {
			t.Fatal("parseError returned nil")
		}
		_ = e.Error()
		_ = e.Transient()
		if e.RetryAfter < 0 {
			t.Fatalf("negative Retry-After %v", e.RetryAfter)
		}
		var twilioJSON struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &twilioJSON) != nil || (twilioJSON.Code == 0 && twilioJSON.Message == "") {
			// The description may depend on the body's length, never on
			// its bytes: a body of the same length that is not JSON must
			// give the same message.
			other := &http.Response{StatusCode: status, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(bytes.Repeat([]byte("x"), len(body))))}
			if o := parseError(other); o.Message != e.Message {
				t.Fatalf("the message depends on the body's bytes: %q vs %q", e.Message, o.Message)
			}
		}
	})
}
