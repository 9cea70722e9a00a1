package cognito

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/pool"
)

// serve sends one request to a Handler without an engine; only requests
// that fail before the engine may be sent.
func serve(method, target string, body io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", body)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	rec := httptest.NewRecorder()
	newTestHandler().ServeHTTP(rec, req)
	return rec
}

// checkWireError asserts Cognito's error wire form, which the SDKs parse:
// the status, the JSON 1.1 content type, X-Amzn-ErrorType "<Type>:", a
// printable-ASCII X-Amzn-ErrorMessage, and a body of exactly __type and
// message. It returns the message.
func checkWireError(t *testing.T, rec *httptest.ResponseRecorder, wantStatus int, wantType string) string {
	t.Helper()
	res := rec.Result()
	if res.StatusCode != wantStatus {
		t.Errorf("status = %d, want %d (body %s)", res.StatusCode, wantStatus, rec.Body.Bytes())
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q", ct)
	}
	if et := res.Header.Get("X-Amzn-ErrorType"); et != wantType+":" {
		t.Errorf("X-Amzn-ErrorType = %q, want %q", et, wantType+":")
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", rec.Body.Bytes(), err)
	}
	if len(body) != 2 || body["__type"] == nil || body["message"] == nil {
		t.Fatalf("body %s must have exactly the keys __type and message", rec.Body.Bytes())
	}
	var typ, msg string
	if err := json.Unmarshal(body["__type"], &typ); err != nil || typ != wantType {
		t.Errorf("__type = %s, want %q", body["__type"], wantType)
	}
	if err := json.Unmarshal(body["message"], &msg); err != nil || msg == "" {
		t.Errorf("message = %s, want a non-empty string", body["message"])
	}
	em, ok := res.Header["X-Amzn-Errormessage"]
	if !ok || len(em) != 1 || em[0] == "" {
		t.Errorf("X-Amzn-ErrorMessage = %q, want one non-empty value", em)
	} else {
		if em[0] != headerSafe(msg) {
			t.Errorf("X-Amzn-ErrorMessage = %q, want the message %q made header-safe", em[0], msg)
		}
		for _, c := range []byte(em[0]) {
			if c < 0x20 || c > 0x7e {
				t.Errorf("X-Amzn-ErrorMessage %q has byte %#x outside printable ASCII", em[0], c)
				break
			}
		}
	}
	return msg
}

func TestServeHTTPErrors(t *testing.T) {
	tooBig := `{"ClientId":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	// Exactly MaxBodyBytes is allowed: the request gets as far as validation.
	atLimit := "{}" + strings.Repeat(" ", MaxBodyBytes-2)
	tests := []struct {
		name, method, target, body string
		wantStatus                 int
		wantType                   string
		want                       []string // substrings of the message
	}{
		{"GET", http.MethodGet, TargetPrefix + "InitiateAuth", "", 405, "UnknownOperationException", []string{"POST", "X-Amz-Target"}},
		{"missing target", http.MethodPost, "", "{}", 400, "UnknownOperationException", []string{"Missing X-Amz-Target", TargetPrefix}},
		{"unserved Cognito operation", http.MethodPost, TargetPrefix + "AdminCreateUser", "{}", 400, "UnknownOperationException",
			[]string{"Unknown operation " + TargetPrefix + "AdminCreateUser", "InitiateAuth"}},
		{"foreign target", http.MethodPost, "Foo.Bar", "{}", 400, "UnknownOperationException", []string{"Unknown operation Foo.Bar"}},
		{"prefix without operation", http.MethodPost, TargetPrefix, "{}", 400, "UnknownOperationException", []string{"Unknown operation"}},
		// The message must state the real limit, whatever MaxBodyBytes is.
		{"body over the limit", http.MethodPost, TargetPrefix + "InitiateAuth", tooBig, 400, "SerializationException",
			[]string{"larger than " + strconv.Itoa(MaxBodyBytes) + " bytes"}},
		{"body at the limit", http.MethodPost, TargetPrefix + "InitiateAuth", atLimit, 400, "InvalidParameterException", []string{"'clientId'"}},
		{"decode error", http.MethodPost, TargetPrefix + "SignUp", `{"ClientId":5}`, 400, "SerializationException", []string{"ClientId"}},
		{"validation error", http.MethodPost, TargetPrefix + "InitiateAuth", `{}`, 400, "InvalidParameterException", []string{"2 validation errors detected"}},
		// Non-ASCII in the message becomes '?' in the header, not in the body.
		{"non-ASCII echo", http.MethodPost, TargetPrefix + "InitiateAuth", `{"AuthFlow":"USER_AUTH","ClientId":"clïent"}`, 400, "InvalidParameterException", []string{"'clïent'"}},
		{"secret not echoed", http.MethodPost, TargetPrefix + "ConfirmSignUp", `{"ClientId":"c","Username":"u","ConfirmationCode":"12 34"}`, 400, "InvalidParameterException", []string{"'confirmationCode'"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(tc.method, tc.target, strings.NewReader(tc.body))
			msg := checkWireError(t, rec, tc.wantStatus, tc.wantType)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(rec.Body.String(), "12 34") || strings.Contains(rec.Header().Get("X-Amzn-ErrorMessage"), "12 34") {
				t.Errorf("response echoes the confirmation code: %s", rec.Body.String())
			}
		})
	}
}

func TestServeHTTPMethodNotAllowedAllow(t *testing.T) {
	rec := serve(http.MethodGet, "", nil)
	if got := rec.Header().Get("Allow"); got != "POST, OPTIONS" {
		t.Errorf("Allow = %q", got)
	}
}

func TestToAPIError(t *testing.T) {
	// Every client-facing Kind has a Cognito exception name.
	for k := pool.KindInvalidParameter; k <= pool.KindUnauthorized; k++ {
		if _, ok := exceptionTypes[k]; !ok {
			t.Errorf("Kind %d has no exception type", k)
		}
	}
	for kind, typ := range exceptionTypes {
		t.Run(typ, func(t *testing.T) {
			pe := pool.Errorf(kind, "reason %d", kind)
			pe.Err = errors.New("internal cause")
			// Wrapping must not hide the Kind.
			for _, err := range []error{pe, fmt.Errorf("engine: %w", pe)} {
				ae := toAPIError(err)
				want := http.StatusBadRequest
				if kind == pool.KindTooManyRequests {
					want = http.StatusTooManyRequests
				}
				if ae.Type != typ || ae.Status != want || ae.Message != fmt.Sprintf("reason %d", kind) {
					t.Errorf("toAPIError(%v) = %+v, want %s %d with the pool message", err, ae, typ, want)
				}
			}
		})
	}

	// An *apiError passes through as it is.
	in := serializationError("bad")
	if got := toAPIError(fmt.Errorf("wrapped: %w", in)); got != in {
		t.Errorf("toAPIError(wrapped apiError) = %+v, want %+v", got, in)
	}

	// Anything else is a 500 whose message reveals nothing of the cause.
	for _, err := range []error{
		errors.New("sqlite: database is locked; dsn=file:/var/lib/latchkey.db?_pragma=key(hunter2)"),
		pool.Errorf(pool.KindInternal, "store failed: hunter2"),
		pool.Errorf(pool.Kind(999), "hunter2"),
	} {
		ae := toAPIError(err)
		if ae.Type != "InternalErrorException" || ae.Status != http.StatusInternalServerError || ae.Message == "" {
			t.Errorf("toAPIError(%v) = %+v, want a 500 InternalErrorException", err, ae)
		}
		if strings.Contains(ae.Message, "hunter2") || strings.Contains(ae.Message, "sqlite") {
			t.Errorf("toAPIError(%v) message %q reveals the cause", err, ae.Message)
		}
	}
}
