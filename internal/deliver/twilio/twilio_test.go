package twilio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
)

const (
	testAccount   = "AC0123456789abcdef0123456789abcdef"
	testToken     = "tok3n-s3cr3t-0123456789abcdef"
	testKeySID    = "SKfedcba9876543210fedcba9876543210"
	testKeySecret = "k3y-s3cr3t-abcdefabcdefabcdef"
	testService   = "MG00112233445566778899aabbccddeeff"
	testFrom      = "+15005550006"
	testCode      = "739164"
	testBody      = "Your Latchkey code is 739164"
)

var testMsg = deliver.Message{
	PoolID:  "local_abc123XYZ",
	Channel: deliver.ChannelSMS,
	To:      "+14155552671",
	Body:    testBody,
	Code:    testCode,
	Purpose: "sign_in",
}

// request is what the fake Twilio saw.
type request struct {
	Method, Path, ContentType string
	User, Pass                string
	HasAuth                   bool
	Form                      url.Values
}

// fakeTwilio is an httptest server on 127.0.0.1 that records requests and
// answers with handler (Twilio's 201 when nil).
type fakeTwilio struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	handler  http.HandlerFunc
}

func newFake(t *testing.T, handler http.HandlerFunc) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{handler: handler}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		f.mu.Lock()
		f.requests = append(f.requests, request{
			Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
			User: user, Pass: pass, HasAuth: ok, Form: form,
		})
		f.mu.Unlock()
		if f.handler != nil {
			f.handler(w, r)
			return
		}
		created(w, form)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) seen() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

// created answers as Twilio does to a new message.
func created(w http.ResponseWriter, form url.Values) {
	sid := "SM" + strings.Repeat("5a", 16)
	from := form.Get("From")
	var fromJSON, svcJSON any = from, nil
	if svc := form.Get("MessagingServiceSid"); svc != "" {
		fromJSON, svcJSON = nil, svc
	}
	body, _ := json.Marshal(map[string]any{
		"account_sid":           testAccount,
		"api_version":           "2010-04-01",
		"body":                  form.Get("Body"),
		"date_created":          "Thu, 24 Aug 2023 05:01:45 +0000",
		"date_sent":             nil,
		"date_updated":          "Thu, 24 Aug 2023 05:01:45 +0000",
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  fromJSON,
		"messaging_service_sid": svcJSON,
		"num_media":             "0",
		"num_segments":          "1",
		"price":                 nil,
		"price_unit":            nil,
		"sid":                   sid,
		"status":                "queued",
		"subresource_uris":      map[string]string{"media": "/2010-04-01/Accounts/" + testAccount + "/Messages/" + sid + "/Media.json"},
		"to":                    form.Get("To"),
		"uri":                   "/2010-04-01/Accounts/" + testAccount + "/Messages/" + sid + ".json",
	})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(body)
}

// twilioError answers with Twilio's JSON error body.
func twilioError(status, code int, message string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		body, _ := json.Marshal(map[string]any{
			"code":      code,
			"message":   message,
			"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
			"status":    status,
		})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "3")
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

func tokenConfig(baseURL string) Config {
	return Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom, BaseURL: baseURL}
}

func mustNew(t *testing.T, cfg Config) *Sender {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// assertNoSecrets fails if err's text shows a secret of the test.
func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	text := err.Error() + fmt.Sprintf(" %v %+v %#v", err, err, err)
	for _, secret := range []string{testToken, testKeySecret, testCode, testBody} {
		if strings.Contains(text, secret) {
			t.Errorf("error %q contains the secret %q", err, secret)
		}
	}
}

func TestSendWithAuthToken(t *testing.T) {
	f := newFake(t, nil)
	s := mustNew(t, tokenConfig(f.URL))
	if err := s.Send(context.Background(), testMsg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	reqs := f.seen()
	if len(reqs) != 1 {
		t.Fatalf("fake saw %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", r.Method)
	}
	if want := "/2010-04-01/Accounts/" + testAccount + "/Messages.json"; r.Path != want {
		t.Errorf("path = %s, want %s", r.Path, want)
	}
	if r.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("content type = %q", r.ContentType)
	}
	if !r.HasAuth || r.User != testAccount || r.Pass != testToken {
		t.Errorf("basic auth = %v %q:%q, want the account SID and auth token", r.HasAuth, r.User, r.Pass)
	}
	want := url.Values{"To": {testMsg.To}, "Body": {testBody}, "From": {testFrom}}
	if fmt.Sprint(r.Form) != fmt.Sprint(want) {
		t.Errorf("form = %v, want %v", r.Form, want)
	}
}

func TestSendWithAPIKeyAndMessagingService(t *testing.T) {
	f := newFake(t, nil)
	s := mustNew(t, Config{
		AccountSID: testAccount, AuthToken: testToken, // the key wins over the token
		APIKeySID: testKeySID, APIKeySecret: testKeySecret,
		MessagingServiceSID: testService, BaseURL: f.URL + "/",
	})
	if err := s.Send(context.Background(), testMsg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := f.seen()[0]
	if want := "/2010-04-01/Accounts/" + testAccount + "/Messages.json"; r.Path != want {
		t.Errorf("path = %s, want %s (the account, not the key)", r.Path, want)
	}
	if r.User != testKeySID || r.Pass != testKeySecret {
		t.Errorf("basic auth = %q:%q, want the API key", r.User, r.Pass)
	}
	want := url.Values{"To": {testMsg.To}, "Body": {testBody}, "MessagingServiceSid": {testService}}
	if fmt.Sprint(r.Form) != fmt.Sprint(want) {
		t.Errorf("form = %v, want %v", r.Form, want)
	}
}

func TestSendErrorClassification(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		code      int
		message   string
		transient bool
	}{
		{"invalid to", 400, 21211, "The 'To' number +14155552671 is not a valid phone number.", false},
		{"unsubscribed", 400, 21610, "Attempt to send to unsubscribed recipient", false},
		{"bad credentials", 401, 20003, "Authentication Error - invalid username", false},
		{"forbidden", 403, 20003, "Permission Denied", false},
		{"not found", 404, 20404, "The requested resource was not found", false},
		{"throttled", 429, 20429, "Too Many Requests", true},
		{"internal error", 500, 20500, "An internal server error has occurred", true},
		{"unavailable", 503, 20503, "Service Unavailable", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, twilioError(c.status, c.code, c.message))
			err := mustNew(t, tokenConfig(f.URL)).Send(context.Background(), testMsg)
			var pe *deliver.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *deliver.ProviderError", err, err)
			}
			if pe.Provider != "twilio" {
				t.Errorf("provider = %q", pe.Provider)
			}
			if pe.Transient != c.transient || deliver.IsTransient(err) != c.transient {
				t.Errorf("transient = %v, want %v (%v)", pe.Transient, c.transient, err)
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v does not wrap *APIError", err)
			}
			if ae.Status != c.status || ae.Code != c.code || ae.Message != c.message {
				t.Errorf("APIError = %+v", ae)
			}
			if want := fmt.Sprintf("https://www.twilio.com/docs/errors/%d", c.code); ae.MoreInfo != want {
				t.Errorf("MoreInfo = %q", ae.MoreInfo)
			}
			if c.status == 429 && ae.RetryAfter != 3*time.Second {
				t.Errorf("RetryAfter = %v, want 3s", ae.RetryAfter)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(c.code)) {
				t.Errorf("error %q does not name the Twilio code", err)
			}
			assertNoSecrets(t, err)
		})
	}
}

func TestSendNonJSONErrorBody(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	})
	err := mustNew(t, tokenConfig(f.URL)).Send(context.Background(), testMsg)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 502 || ae.Code != 0 {
		t.Fatalf("error = %v, want an APIError with status 502 and no code", err)
	}
	if !deliver.IsTransient(err) {
		t.Errorf("502 should be transient: %v", err)
	}
	if strings.Contains(err.Error(), "<html>") || !strings.Contains(err.Error(), "text/html") {
		t.Errorf("error = %q, want a description of the body, not the body", err)
	}

	// A 400 with a body that is not Twilio's JSON is still permanent.
	f2 := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "not json")
	})
	err = mustNew(t, tokenConfig(f2.URL)).Send(context.Background(), testMsg)
	if !errors.As(err, &ae) || ae.Status != 400 || deliver.IsTransient(err) {
		t.Errorf("error = %v, want a permanent APIError with status 400", err)
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := mustNew(t, tokenConfig(f.URL)).Send(ctx, testMsg)
	if time.Since(start) > 5*time.Second {
		t.Errorf("Send took %v, ignoring the context", time.Since(start))
	}
	var pe *deliver.ProviderError
	if !errors.As(err, &pe) || !pe.Transient || pe.Provider != "twilio" {
		t.Fatalf("error = %v, want a transient twilio ProviderError", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	assertNoSecrets(t, err)
}

func TestSendClientTimeout(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	s, err := New(tokenConfig(f.URL), &http.Client{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), testMsg)
	if !deliver.IsTransient(err) {
		t.Fatalf("error = %v, want transient", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v is not a net.Error timeout", err)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = mustNew(t, tokenConfig("http://"+addr)).Send(context.Background(), testMsg)
	if !deliver.IsTransient(err) {
		t.Fatalf("error = %v, want transient", err)
	}
	assertNoSecrets(t, err)
}

// TestErrorsRedactSecrets has Twilio echo the body, code and token in its
// message (it does not, but a proxy might) and checks they are not shown.
func TestErrorsRedactSecrets(t *testing.T) {
	for _, cfg := range []func(string) Config{
		tokenConfig,
		func(u string) Config {
			return Config{AccountSID: testAccount, APIKeySID: testKeySID, APIKeySecret: testKeySecret, From: testFrom, BaseURL: u}
		},
	} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			user, pass, _ := r.BasicAuth()
			_ = r.ParseForm()
			twilioError(400, 21617, fmt.Sprintf("bad body %q for %s:%s", r.PostForm.Get("Body"), user, pass))(w, r)
		})
		err := mustNew(t, cfg(f.URL)).Send(context.Background(), testMsg)
		if err == nil {
			t.Fatal("Send succeeded")
		}
		assertNoSecrets(t, err)
		if !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("error %q: expected a redaction marker", err)
		}
	}
}

func TestSendReusesConnections(t *testing.T) {
	var conns atomic.Int32
	f := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("To") == "+14155550000" {
			twilioError(400, 21211, "The 'To' number is not a valid phone number.")(w, r)
			return
		}
		created(w, r.PostForm)
	}))
	f.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	f.Start()
	defer f.Close()
	s, err := New(tokenConfig(f.URL), &http.Client{Transport: &http.Transport{}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		m := testMsg
		if i%2 == 1 {
			m.To = "+14155550000"
		}
		_ = s.Send(context.Background(), m)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 sequential sends opened %d connections, want 1", n)
	}
}

func TestSendRejectsOtherChannels(t *testing.T) {
	f := newFake(t, nil)
	m := testMsg
	m.Channel = deliver.ChannelEmail
	if err := mustNew(t, tokenConfig(f.URL)).Send(context.Background(), m); err == nil {
		t.Fatal("Send accepted an email message")
	}
	if n := len(f.seen()); n != 0 {
		t.Errorf("fake saw %d requests", n)
	}
}

func TestNewValidates(t *testing.T) {
	good := tokenConfig("")
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no account", func(c *Config) { c.AccountSID = "" }, "account_sid is required"},
		{"bad account", func(c *Config) { c.AccountSID = "AB0123456789abcdef0123456789abcdef" }, "account_sid must be"},
		{"short account", func(c *Config) { c.AccountSID = "AC0123" }, "account_sid must be"},
		{"no credentials", func(c *Config) { c.AuthToken = "" }, "credentials missing"},
		{"key without secret", func(c *Config) { c.APIKeySID = testKeySID }, "api_key_secret is empty"},
		{"secret without key", func(c *Config) { c.APIKeySecret = testKeySecret }, "api_key_sid is empty"},
		{"bad key", func(c *Config) { c.APIKeySID, c.APIKeySecret = "AC"+testKeySID[2:], testKeySecret }, "api_key_sid must be"},
		{"no sender", func(c *Config) { c.From = "" }, "set one of from or messaging_service_sid"},
		{"two senders", func(c *Config) { c.MessagingServiceSID = testService }, "only one of"},
		{"bad service", func(c *Config) { c.From, c.MessagingServiceSID = "", "MG123" }, "messaging_service_sid must be"},
		{"bad from", func(c *Config) { c.From = "4155552671" + "0" }, "must be an E.164 number"},
		{"long alpha from", func(c *Config) { c.From = "LatchkeyAuthCodes" }, "must be an E.164 number"},
		{"http base", func(c *Config) { c.BaseURL = "http://api.twilio.com" }, "must use https"},
		{"relative base", func(c *Config) { c.BaseURL = "api.twilio.com" }, "absolute URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			_, err := New(cfg, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New error = %v, want one containing %q", err, c.want)
			}
			if cfg.Validate() == nil {
				t.Error("Validate accepted what New rejected")
			}
			assertNoSecrets(t, err)
		})
	}
	for _, from := range []string{"+14155552671", "12345", "Latchkey", "My App 1"} {
		cfg := good
		cfg.From = from
		if err := cfg.Validate(); err != nil {
			t.Errorf("from %q rejected: %v", from, err)
		}
	}
	s, err := New(good, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultBaseURL + "/2010-04-01/Accounts/" + testAccount + "/Messages.json"; s.endpoint != want {
		t.Errorf("endpoint = %s, want %s", s.endpoint, want)
	}
}

func TestConfigJSONAndRedaction(t *testing.T) {
	in := `{"account_sid":"` + testAccount + `","auth_token":"` + testToken + `","api_key_sid":"` + testKeySID +
		`","api_key_secret":"` + testKeySecret + `","messaging_service_sid":"` + testService + `","base_url":"https://api.example.test"}`
	var c Config
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	want := Config{AccountSID: testAccount, AuthToken: testToken, APIKeySID: testKeySID, APIKeySecret: testKeySecret,
		MessagingServiceSID: testService, BaseURL: "https://api.example.test"}
	if c != want {
		t.Errorf("decoded %+v", c)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("cfg", "twilio", c)
	for _, shown := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), logged.String()} {
		if strings.Contains(shown, testToken) || strings.Contains(shown, testKeySecret) {
			t.Errorf("secrets shown: %s", shown)
		}
		if !strings.Contains(shown, testAccount) {
			t.Errorf("account SID missing: %s", shown)
		}
	}
}
