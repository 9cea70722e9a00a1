package ses

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/awserr/awstest"
)

const (
	testCode    = "482913"
	testSubject = "Your sign-in code"
	testBody    = "Your Latchkey code is 482913"
	testHTML    = "<p>Your Latchkey code is <b>482913</b></p>"
	testTo      = "ada@example.org"
	testFrom    = "no-reply@example.com"
)

func testMessage() deliver.Message {
	return deliver.Message{
		PoolID:  "eu-west-1_pool",
		Channel: deliver.ChannelEmail,
		To:      testTo,
		Subject: testSubject,
		Body:    testBody,
		HTML:    testHTML,
		Code:    testCode,
		Purpose: "sign_in",
	}
}

// sendEmailRequest is the JSON body of SendEmail, as much of it as the
// sender may use; the fake rejects any other field.
type sendEmailRequest struct {
	FromEmailAddress string
	Destination      struct {
		ToAddresses  []string
		CcAddresses  []string
		BccAddresses []string
	}
	ReplyToAddresses     []string
	ConfigurationSetName *string
	Content              struct {
		Simple *struct {
			Subject wireContent
			Body    struct {
				Text *wireContent
				Html *wireContent
			}
		}
	}
}

type wireContent struct{ Data, Charset string }

// call is one SendEmail call as the fake SES saw it.
type call struct {
	req     sendEmailRequest
	raw     map[string]any
	callErr error // nil if the request was well formed and correctly signed
}

// fakeSES is a local SES v2 endpoint speaking REST-JSON. It answers every
// request with the configured error, or a MessageId when code is "".
type fakeSES struct {
	srv *httptest.Server

	mu     sync.Mutex
	status int
	code   string // x-amzn-ErrorType
	body   string
	calls  []call
}

func newFakeSES(t *testing.T) *fakeSES {
	t.Helper()
	f := &fakeSES{}
	f.srv = awstest.NewServer(t, http.HandlerFunc(f.serve))
	return f
}

// respond sets the answer: code goes in x-amzn-ErrorType as the real service
// sends it, body is the JSON body.
func (f *fakeSES) respond(status int, code, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.code, f.body = status, code, body
}

func (f *fakeSES) received() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeSES) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := call{callErr: awstest.CheckSigV4(r, body, "ses", awstest.Region)}
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v2/email/outbound-emails":
		c.callErr = fmt.Errorf("request %s %s, want POST /v2/email/outbound-emails", r.Method, r.URL.Path)
	case r.Header.Get("Content-Type") != "application/json":
		c.callErr = fmt.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c.req); err != nil && c.callErr == nil {
		c.callErr = fmt.Errorf("body %s: %v", body, err)
	}
	json.Unmarshal(body, &c.raw)

	f.mu.Lock()
	f.calls = append(f.calls, c)
	status, code, respBody := f.status, f.code, f.body
	f.mu.Unlock()

	w.Header().Set("X-Amzn-Requestid", "0a3b6d0e-9f1c-4d7e-8a52-6c0f2b4e1d77")
	if status == 0 {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"MessageId":"0100018c5f7a1b2c-3d4e5f60-7182-93a4-b5c6-d7e8f9a0b1c2-000000"}`)
		return
	}
	if code != "" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", code+":http://internal.amazon.com/coral/com.amazonaws.sesv2/")
	}
	w.WriteHeader(status)
	io.WriteString(w, respBody)
}

// errorBody is SES's JSON error body. The message echoes the code and the
// body, to check that errors redact them.
func errorBody() string {
	b, _ := json.Marshal(map[string]string{"message": fmt.Sprintf("Rejected %q (code %s)", testBody, testCode)})
	return string(b)
}

func newTestSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	s, err := New(cfg, awstest.Config())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func onlyCall(t *testing.T, f *fakeSES) call {
	t.Helper()
	calls := f.received()
	if len(calls) != 1 {
		t.Fatalf("SES got %d requests, want 1", len(calls))
	}
	if calls[0].callErr != nil {
		t.Errorf("request: %v", calls[0].callErr)
	}
	return calls[0]
}

func TestSendEmail(t *testing.T) {
	fake := newFakeSES(t)
	s := newTestSender(t, Config{
		Endpoint:         fake.srv.URL,
		From:             testFrom,
		FromName:         "Latchkey",
		ConfigurationSet: "otp-events",
		ReplyTo:          "help@example.com",
	})
	if err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	req := onlyCall(t, fake).req
	if want := `"Latchkey" <no-reply@example.com>`; req.FromEmailAddress != want {
		t.Errorf("FromEmailAddress = %q, want %q", req.FromEmailAddress, want)
	}
	d := req.Destination
	if len(d.ToAddresses) != 1 || d.ToAddresses[0] != testTo || d.CcAddresses != nil || d.BccAddresses != nil {
		t.Errorf("Destination = %+v, want To %s only", d, testTo)
	}
	if req.ConfigurationSetName == nil || *req.ConfigurationSetName != "otp-events" {
		t.Errorf("ConfigurationSetName = %v, want otp-events", req.ConfigurationSetName)
	}
	if fmt.Sprint(req.ReplyToAddresses) != "[help@example.com]" {
		t.Errorf("ReplyToAddresses = %v", req.ReplyToAddresses)
	}
	simple := req.Content.Simple
	if simple == nil {
		t.Fatal("Content.Simple is missing")
	}
	for _, c := range []struct {
		name string
		got  *wireContent
		want string
	}{
		{"Subject", &simple.Subject, testSubject},
		{"Body.Text", simple.Body.Text, testBody},
		{"Body.Html", simple.Body.Html, testHTML},
	} {
		if c.got == nil || *c.got != (wireContent{Data: c.want, Charset: "UTF-8"}) {
			t.Errorf("%s = %+v, want %q in UTF-8", c.name, c.got, c.want)
		}
	}
}

func TestSendEmailTextOnly(t *testing.T) {
	fake := newFakeSES(t)
	s := newTestSender(t, Config{Endpoint: fake.srv.URL, From: testFrom})
	m := testMessage()
	m.HTML = ""
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	c := onlyCall(t, fake)
	if c.req.FromEmailAddress != testFrom {
		t.Errorf("FromEmailAddress = %q, want %q", c.req.FromEmailAddress, testFrom)
	}
	for _, field := range []string{"ConfigurationSetName", "ReplyToAddresses"} {
		if _, ok := c.raw[field]; ok {
			t.Errorf("request has %s", field)
		}
	}
	body := c.raw["Content"].(map[string]any)["Simple"].(map[string]any)["Body"].(map[string]any)
	if _, ok := body["Html"]; ok {
		t.Errorf("Body = %v, want no Html part", body)
	}
	if c.req.Content.Simple.Body.Text == nil || c.req.Content.Simple.Body.Text.Data != testBody {
		t.Errorf("Body.Text = %+v", c.req.Content.Simple.Body.Text)
	}
}

func TestFromDisplayName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Latchkey", `"Latchkey" <no-reply@example.com>`},
		{"Acme, Inc.", `"Acme, Inc." <no-reply@example.com>`},
		{`Say "hi"`, `"Say \"hi\"" <no-reply@example.com>`},
		{"Lätchkey", `=?utf-8?q?L=C3=A4tchkey?= <no-reply@example.com>`},
		{"ラッチキー", ""}, // encoded; checked by parsing back
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeSES(t)
			s := newTestSender(t, Config{Endpoint: fake.srv.URL, From: testFrom, FromName: tt.name})
			if err := s.Send(context.Background(), testMessage()); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := onlyCall(t, fake).req.FromEmailAddress
			if tt.want != "" && got != tt.want {
				t.Errorf("FromEmailAddress = %q, want %q", got, tt.want)
			}
			for i := 0; i < len(got); i++ {
				if got[i] >= 0x80 {
					t.Fatalf("FromEmailAddress %q is not ASCII", got)
				}
			}
			a, err := mail.ParseAddress(got)
			if err != nil || a.Name != tt.name || a.Address != testFrom {
				t.Errorf("ParseAddress(%q) = %+v, %v; want %q <%s>", got, a, err, tt.name, testFrom)
			}
		})
	}
}

// checkNoSecrets fails if err, or anything it wraps, shows the code or body.
func checkNoSecrets(t *testing.T, err error) {
	t.Helper()
	awstest.CheckNoSecrets(t, err, testCode, testBody, testHTML)
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		code      string
		body      string
		transient bool
		wantText  string
	}{
		{"bad request", 400, "BadRequestException", errorBody(), false, "SendEmail: HTTP 400: BadRequestException: Rejected"},
		{"message rejected", 400, "MessageRejected", errorBody(), false, "MessageRejected"},
		{"mail from not verified", 400, "MailFromDomainNotVerifiedException", errorBody(), false, "MailFromDomainNotVerifiedException"},
		{"account suspended", 400, "AccountSuspendedException", errorBody(), false, "AccountSuspendedException"},
		{"sending paused", 400, "SendingPausedException", errorBody(), false, "SendingPausedException"},
		{"not found", 404, "NotFoundException", errorBody(), false, "HTTP 404: NotFoundException"},
		{"access denied", 403, "AccessDeniedException", `{"Message":"User is not authorized"}`, false, "AccessDeniedException: User is not authorized"},
		{"unknown key", 403, "UnrecognizedClientException", errorBody(), false, "UnrecognizedClientException"},
		{"bad signature", 403, "InvalidSignatureException", errorBody(), false, "InvalidSignatureException"},
		{"too many requests", 429, "TooManyRequestsException", errorBody(), true, "HTTP 429: TooManyRequestsException"},
		{"limit exceeded", 400, "LimitExceededException", errorBody(), true, "LimitExceededException"},
		{"throttling", 400, "ThrottlingException", `{"message":"Maximum sending rate exceeded."}`, true, "ThrottlingException: Maximum sending rate exceeded."},
		{"internal error", 500, "InternalServiceErrorException", errorBody(), true, "HTTP 500: InternalServiceErrorException"},
		{"unknown 5xx code", 500, "SomethingNew", errorBody(), true, "SomethingNew"},
		{"unknown 4xx code", 400, "SomethingNew", errorBody(), false, "SomethingNew"},
		{"service unavailable, no body", 503, "", "", true, "HTTP 503"},
		{"bad gateway, not JSON", 502, "", "<html>Bad Gateway " + testCode + "</html>", true, "HTTP 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeSES(t)
			fake.respond(tt.status, tt.code, tt.body)
			s := newTestSender(t, Config{Endpoint: fake.srv.URL, From: testFrom})
			err := s.Send(context.Background(), testMessage())
			t.Logf("Send: %v", err)
			var pe *deliver.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("Send = %v (%T), want a *deliver.ProviderError", err, err)
			}
			if pe.Provider != "ses" || pe.Transient != tt.transient || deliver.IsTransient(err) != tt.transient {
				t.Errorf("Send = %#v (%v), want provider ses, transient %v", pe, err, tt.transient)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			if !strings.HasPrefix(err.Error(), "ses: ") {
				t.Errorf("error %q does not start with ses:", err)
			}
			checkNoSecrets(t, err)
			var h interface{ HTTPStatusCode() int }
			if !errors.As(err, &h) || h.HTTPStatusCode() != tt.status {
				t.Errorf("HTTP status of %v is not %d", err, tt.status)
			}
			if n := len(fake.received()); n != 1 {
				t.Errorf("SES got %d requests, want 1: the client must not retry", n)
			}
		})
	}
}

func TestSendErrorKeepsAPIError(t *testing.T) {
	fake := newFakeSES(t)
	fake.respond(400, "MessageRejected", errorBody())
	s := newTestSender(t, Config{Endpoint: fake.srv.URL, From: testFrom})
	err := s.Send(context.Background(), testMessage())
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Send = %v: no smithy.APIError inside", err)
	}
	if apiErr.ErrorCode() != "MessageRejected" || strings.Contains(apiErr.ErrorMessage(), testCode) {
		t.Errorf("API error = %q %q", apiErr.ErrorCode(), apiErr.ErrorMessage())
	}
}

func TestSendNetworkErrors(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		endpoint := srv.URL
		srv.Close()
		err := newTestSender(t, Config{Endpoint: endpoint, From: testFrom}).Send(context.Background(), testMessage())
		checkNetworkError(t, err, true)
	})
	t.Run("connection closed", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}))
		defer srv.Close()
		err := newTestSender(t, Config{Endpoint: srv.URL, From: testFrom}).Send(context.Background(), testMessage())
		checkNetworkError(t, err, true)
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.NotFoundHandler())
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
		srv.StartTLS()
		defer srv.Close()
		err := newTestSender(t, Config{Endpoint: srv.URL, From: testFrom}).Send(context.Background(), testMessage())
		checkNetworkError(t, err, false)
	})
	t.Run("timeout", func(t *testing.T) {
		stop := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // lets the server notice the client hanging up
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		}))
		defer srv.Close()
		defer close(stop)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := newTestSender(t, Config{Endpoint: srv.URL, From: testFrom}).Send(ctx, testMessage())
		checkNetworkError(t, err, true)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send = %v, want it to wrap context.DeadlineExceeded", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		fake := newFakeSES(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := newTestSender(t, Config{Endpoint: fake.srv.URL, From: testFrom}).Send(ctx, testMessage())
		checkNetworkError(t, err, true)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Send = %v, want it to wrap context.Canceled", err)
		}
	})
}

func checkNetworkError(t *testing.T, err error, transient bool) {
	t.Helper()
	t.Logf("Send: %v", err)
	var pe *deliver.ProviderError
	if !errors.As(err, &pe) || pe.Provider != "ses" {
		t.Fatalf("Send = %v (%T), want a *deliver.ProviderError from ses", err, err)
	}
	if pe.Transient != transient {
		t.Errorf("Send = %v: transient %v, want %v", err, pe.Transient, transient)
	}
	checkNoSecrets(t, err)
}

func TestSendRejectsMessages(t *testing.T) {
	fake := newFakeSES(t)
	s := newTestSender(t, Config{Endpoint: fake.srv.URL, From: testFrom})
	tests := []struct {
		name string
		edit func(*deliver.Message)
		want string
	}{
		{"sms channel", func(m *deliver.Message) { m.Channel = deliver.ChannelSMS }, `cannot send a "sms" message: this sender only sends "email"`},
		{"no channel", func(m *deliver.Message) { m.Channel = "" }, "only sends"},
		{"phone recipient", func(m *deliver.Message) { m.To = "+447700900123" }, "not a plain email address"},
		{"named recipient", func(m *deliver.Message) { m.To = "Ada <ada@example.org>" }, "not a plain email address"},
		{"two recipients", func(m *deliver.Message) { m.To = "ada@example.org, bob@example.org" }, "not a plain email address"},
		{"no subject", func(m *deliver.Message) { m.Subject = "" }, "no subject"},
		{"no body", func(m *deliver.Message) { m.Body = "" }, "no body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage()
			tt.edit(&m)
			err := s.Send(context.Background(), m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Send = %v, want an error containing %q", err, tt.want)
			}
			var pe *deliver.ProviderError
			if errors.As(err, &pe) {
				t.Errorf("Send = %#v, want a plain error", pe)
			}
			checkNoSecrets(t, err)
		})
	}
	if n := len(fake.received()); n != 0 {
		t.Errorf("SES got %d requests, want none", n)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" if valid
	}{
		{"minimal", Config{From: testFrom}, ""},
		{"full", Config{Region: "eu-west-1", Endpoint: "https://email.example.com", From: testFrom, FromName: "Lätchkey, Inc.",
			ConfigurationSet: "otp_events-1", ReplyTo: "help@example.com"}, ""},
		{"http endpoint", Config{Endpoint: "http://127.0.0.1:4566", From: testFrom}, ""},
		{"no from", Config{}, "from is required"},
		{"bad region", Config{Region: "EU", From: testFrom}, `region "EU"`},
		{"endpoint without scheme", Config{Endpoint: "email.example.com", From: testFrom}, "endpoint"},
		{"endpoint with query", Config{Endpoint: "https://email.example.com/?a=b", From: testFrom}, "endpoint"},
		{"from not an address", Config{From: "no-reply"}, `from "no-reply"`},
		{"from with name", Config{From: "Latchkey <no-reply@example.com>"}, "from"},
		{"from with spaces", Config{From: " no-reply@example.com"}, "from"},
		{"from not ASCII", Config{From: "no-reply@exämple.com"}, "plain ASCII"},
		{"two froms", Config{From: "a@example.com, b@example.com"}, "from"},
		{"from name newline", Config{From: testFrom, FromName: "Latchkey\r\nBcc: x@example.com"}, "control characters"},
		{"from name spaces", Config{From: testFrom, FromName: " Latchkey"}, "surrounding spaces"},
		{"from name bad UTF-8", Config{From: testFrom, FromName: "Latch\xffkey"}, "valid UTF-8"},
		{"from name too long", Config{From: testFrom, FromName: strings.Repeat("a", 129)}, "longer than 128"},
		{"configuration set dot", Config{From: testFrom, ConfigurationSet: "otp.events"}, "configuration_set"},
		{"configuration set too long", Config{From: testFrom, ConfigurationSet: strings.Repeat("a", 65)}, "configuration_set"},
		{"reply to not an address", Config{From: testFrom, ReplyTo: "help"}, `reply_to "help"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				if _, err := New(tt.cfg, awstest.Config()); err != nil {
					t.Fatalf("New = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "ses: config: ") {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.want)
			}
			if _, err2 := New(tt.cfg, awstest.Config()); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("New = %v, want %v", err2, err)
			}
		})
	}
}

func TestNewNeedsRegionAndCredentials(t *testing.T) {
	noRegion := awstest.Config()
	noRegion.Region = ""
	if _, err := New(Config{From: testFrom}, noRegion); err == nil || !strings.Contains(err.Error(), "no region") {
		t.Errorf("New without a region = %v", err)
	}
	if _, err := New(Config{Region: "eu-west-1", From: testFrom}, noRegion); err != nil {
		t.Errorf("New with Config.Region = %v", err)
	}
	noCreds := awstest.Config()
	noCreds.Credentials = nil
	if _, err := New(Config{From: testFrom}, noCreds); err == nil || !strings.Contains(err.Error(), "no AWS credentials") {
		t.Errorf("New without credentials = %v", err)
	}
}

// TestSendUsesRegion checks the credential scope follows Config.Region over
// the aws.Config's region.
func TestSendUsesRegion(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		io.WriteString(w, `{"MessageId":"m-1"}`)
	}))
	defer srv.Close()
	s := newTestSender(t, Config{Region: "ap-southeast-2", Endpoint: srv.URL, From: testFrom})
	if err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !strings.Contains(auth, "/ap-southeast-2/ses/aws4_request") {
		t.Errorf("Authorization %q does not use region ap-southeast-2", auth)
	}
}

// TestNewOverridesRetries checks that retry settings in the aws.Config do not
// bring the SDK's retries back.
func TestNewOverridesRetries(t *testing.T) {
	fake := newFakeSES(t)
	fake.respond(500, "InternalServiceErrorException", errorBody())
	awsCfg := awstest.Config()
	awsCfg.RetryMaxAttempts = 5
	awsCfg.RetryMode = aws.RetryModeAdaptive
	s, err := New(Config{Endpoint: fake.srv.URL, From: testFrom}, awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), testMessage()); !deliver.IsTransient(err) {
		t.Fatalf("Send = %v, want a transient error", err)
	}
	if n := len(fake.received()); n != 1 {
		t.Errorf("SES got %d requests, want 1", n)
	}
}

func TestParseConfig(t *testing.T) {
	in := `{"region":"eu-west-1","endpoint":"https://email.example.com","from":"no-reply@example.com",` +
		`"from_name":"Latchkey","configuration_set":"otp","reply_to":"help@example.com"}`
	cfg, err := ParseConfig([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Region: "eu-west-1", Endpoint: "https://email.example.com", From: testFrom,
		FromName: "Latchkey", ConfigurationSet: "otp", ReplyTo: "help@example.com"}
	if cfg != want {
		t.Errorf("ParseConfig = %+v, want %+v", cfg, want)
	}
	out, err := json.Marshal(cfg)
	if err != nil || string(out) != in {
		t.Errorf("Marshal = %s, %v; want %s", out, err, in)
	}
	if out, _ := json.Marshal(Config{From: testFrom}); string(out) != `{"from":"no-reply@example.com"}` {
		t.Errorf("Marshal(Config{From}) = %s", out)
	}
	for _, bad := range []string{
		`{"from_address":"no-reply@example.com"}`,
		`{"from":"no-reply@example.com","sender":"x"}`,
		`{}`,
		`{"from":"no-reply@example.com"} {}`,
		``,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%s) succeeded", bad)
		}
	}
}

// TestSendConcurrent runs sends in parallel, for the race detector.
func TestSendConcurrent(t *testing.T) {
	fake := newFakeSES(t)
	s := newTestSender(t, Config{Endpoint: fake.srv.URL, From: testFrom, ReplyTo: "help@example.com"})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.Send(context.Background(), testMessage()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(fake.received()); n != 8 {
		t.Errorf("SES got %d requests, want 8", n)
	}
}

// TestSDKLogNeverShowsBody checks that asking the SDK to log request bodies
// does not log the code.
func TestSDKLogNeverShowsBody(t *testing.T) {
	fake := newFakeSES(t)
	var mu sync.Mutex
	var logged strings.Builder
	awsCfg := awstest.Config()
	awsCfg.ClientLogMode = aws.LogRequestWithBody | aws.LogResponseWithBody
	awsCfg.Logger = logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&logged, format+"\n", v...)
	})
	s, err := New(Config{Endpoint: fake.srv.URL, From: testFrom}, awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logged.String(), testCode) {
		t.Errorf("the SDK logged the code:\n%s", logged.String())
	}
	if !strings.Contains(logged.String(), "Response") {
		t.Errorf("the SDK logged no response; is the test logger wired up?\n%s", logged.String())
	}
}
