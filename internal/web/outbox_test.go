package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
)

func newOutbox(t *testing.T) *deliver.Outbox {
	t.Helper()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	o := deliver.NewOutbox(100, func() time.Time { now = now.Add(time.Second); return now })
	for _, m := range []deliver.Message{
		{To: "+15555550100", Channel: deliver.ChannelSMS, Code: "111111", Body: "code 111111"},
		{To: "alice@example.com", Channel: deliver.ChannelEmail, Code: "222222"},
		{To: "+15555550100", Channel: deliver.ChannelSMS, Code: "333333", Body: "code 333333"},
	} {
		if err := o.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// get issues a request with the query string exactly as given (unparsed).
func get(t *testing.T, h http.Handler, method, rawQuery string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "/_dev/outbox", nil)
	req.URL.RawQuery = rawQuery
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func checkHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
}

func messageCodes(t *testing.T, rec *httptest.ResponseRecorder) []string {
	t.Helper()
	var body struct {
		Messages []struct {
			To        string `json:"to"`
			Channel   string `json:"channel"`
			Code      string `json:"code"`
			Body      string `json:"body"`
			CreatedAt string `json:"created_at"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("bad JSON %q: %v", rec.Body, err)
	}
	codes := []string{}
	for _, m := range body.Messages {
		codes = append(codes, m.Code)
	}
	return codes
}

func TestOutboxHandlerFinds(t *testing.T) {
	h := OutboxHandler(newOutbox(t), nil)
	tests := []struct {
		name, query string
		want        string
	}{
		{"encoded plus", "to=%2B15555550100", "333333,111111"},
		{"raw plus decodes to space", "to=+15555550100", "333333,111111"},
		{"formatted number", "to=%2B1%20(555)%20555-0100", "333333,111111"},
		{"raw plus with spaces", "to=+1+555+555+0100", "333333,111111"},
		{"email", "to=alice@example.com", "222222"},
		{"email upper-cased", "to=Alice%40Example.COM", "222222"},
		{"no messages", "to=%2B15555550199", ""},
		{"unknown email", "to=bob@example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, h, http.MethodGet, tt.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, body %s", rec.Code, rec.Body)
			}
			checkHeaders(t, rec)
			if got := strings.Join(messageCodes(t, rec), ","); got != tt.want {
				t.Errorf("codes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOutboxHandlerBody(t *testing.T) {
	h := OutboxHandler(newOutbox(t), nil)
	rec := get(t, h, http.MethodGet, "to=%2B15555550100")
	want := `{"messages":[` +
		`{"to":"+15555550100","channel":"sms","pool_id":"","purpose":"","body":"code 333333","code":"333333","created_at":"2025-01-02T03:04:08.000Z"},` +
		`{"to":"+15555550100","channel":"sms","pool_id":"","purpose":"","body":"code 111111","code":"111111","created_at":"2025-01-02T03:04:06.000Z"}]}` + "\n"
	if rec.Body.String() != want {
		t.Errorf("body =\n%s\nwant\n%s", rec.Body, want)
	}
	rec = get(t, h, http.MethodGet, "to=nobody%40example.com")
	if rec.Body.String() != `{"messages":[]}`+"\n" {
		t.Errorf("empty body = %s, want messages []", rec.Body)
	}
}

func TestOutboxHandlerMissingTo(t *testing.T) {
	h := OutboxHandler(newOutbox(t), nil)
	for _, q := range []string{"", "to=", "to=%20", "other=1"} {
		rec := get(t, h, http.MethodGet, q)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("query %q: status = %d, want 400", q, rec.Code)
		}
		checkHeaders(t, rec)
		want := `{"error":"missing_parameter","message":"query parameter \"to\" is required"}` + "\n"
		if rec.Body.String() != want {
			t.Errorf("query %q: body = %s, want %s", q, rec.Body, want)
		}
	}
}

func TestOutboxHandlerMethod(t *testing.T) {
	h := OutboxHandler(newOutbox(t), nil)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead} {
		rec := get(t, h, m, "to=%2B15555550100")
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s: status = %d, want 405", m, rec.Code)
		}
		if a := rec.Header().Get("Allow"); a != http.MethodGet {
			t.Errorf("%s: Allow = %q", m, a)
		}
	}
}
