package cognito

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDispatch feeds the handler arbitrary methods and X-Amz-Target values
// (with an arbitrary body). Targets that do not name a served operation must
// get UnknownOperationException (400, or 405 for a method other than
// POST) in Cognito's wire form, with a bounded message and header-safe
// headers, before the body is read; served operations are left to
// FuzzDecodeRequests. Seeds: testdata/fuzz/FuzzDispatch.
func FuzzDispatch(f *testing.F) {
	f.Add("POST", "AWSCognitoIdentityProviderService.Nope", []byte(`{}`))
	f.Add("GET", "AWSCognitoIdentityProviderService.GetUser", []byte(``))
	f.Add("POST", "", []byte(`{"ClientId":"x"}`))
	h := newTestHandler()
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		if method == "" || !validMethod(method) || strings.ContainsAny(target, "\r\n\x00") {
			return // not something net/http would deliver
		}
		name, ok := strings.CutPrefix(target, TargetPrefix)
		if method == http.MethodPost && ok && h.ops[name] != nil {
			return
		}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Method = method
		req.Header.Set("X-Amz-Target", target)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		want := http.StatusBadRequest
		if method != http.MethodPost {
			want = http.StatusMethodNotAllowed
		}
		if rec.Code != want {
			t.Fatalf("%s %q: status %d, want %d", method, target, rec.Code, want)
		}
		var out struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Type != "UnknownOperationException" || out.Message == "" {
			t.Fatalf("%s %q: body %q", method, target, rec.Body.Bytes())
		}
		if len(out.Message) > 2048 {
			t.Fatalf("%s %q: message of %d bytes", method, target, len(out.Message))
		}
		if rec.Header().Get("X-Amzn-ErrorType") != "UnknownOperationException:" {
			t.Fatalf("X-Amzn-ErrorType = %q", rec.Header().Get("X-Amzn-ErrorType"))
		}
		for _, c := range []byte(rec.Header().Get("X-Amzn-ErrorMessage")) {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("%s %q: X-Amzn-ErrorMessage has byte %#x", method, target, c)
			}
		}
	})
}

// validMethod reports whether m is an HTTP token, as net/http requires.
func validMethod(m string) bool {
	for _, c := range []byte(m) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}
