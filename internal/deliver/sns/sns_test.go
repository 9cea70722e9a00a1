package sns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
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
	testCode = "482913"
	testBody = "Your Latchkey code is 482913"
	testTo   = "+447700900123"
)

func testMessage() deliver.Message {
	return deliver.Message{
		PoolID:  "eu-west-1_pool",
		Channel: deliver.ChannelSMS,
		To:      testTo,
		Body:    testBody,
		Code:    testCode,
		Purpose: "sign_in",
	}
}

// publish is one Publish call as the fake SNS saw it.
type publish struct {
	form       url.Values
	attributes map[string]attribute // by name
	authErr    error                // nil if the SigV4 signature checked out
}

type attribute struct{ dataType, value string }

// fakeSNS is a local SNS endpoint speaking the AWS Query protocol. It answers
// every request with status and body, or a PublishResponse when status is 0.
type fakeSNS struct {
	srv *httptest.Server

	mu       sync.Mutex
	status   int
	body     string
	requests []publish
}

func newFakeSNS(t *testing.T) *fakeSNS {
	t.Helper()
	f := &fakeSNS{}
	f.srv = awstest.NewServer(t, http.HandlerFunc(f.serve))
	return f
}

func (f *fakeSNS) respond(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

func (f *fakeSNS) calls() []publish {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]publish(nil), f.requests...)
}

func (f *fakeSNS) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p := publish{authErr: awstest.CheckSigV4(r, body, "sns", awstest.Region)}
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		p.authErr = fmt.Errorf("request %s %s, want POST /", r.Method, r.URL.Path)
	case r.Header.Get("Content-Type") != "application/x-www-form-urlencoded":
		p.authErr = fmt.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	p.form, err = url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.attributes = map[string]attribute{}
	for n := 1; ; n++ {
		prefix := "MessageAttributes.entry." + strconv.Itoa(n) + "."
		name := p.form.Get(prefix + "Name")
		if name == "" {
			break
		}
		p.attributes[name] = attribute{p.form.Get(prefix + "Value.DataType"), p.form.Get(prefix + "Value.StringValue")}
	}

	f.mu.Lock()
	f.requests = append(f.requests, p)
	status, respBody := f.status, f.body
	f.mu.Unlock()

	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", "d74b8436-ae13-5ab4-a9ff-ce54dfea72a0")
	if status == 0 {
		io.WriteString(w, publishResponse)
		return
	}
	w.WriteHeader(status)
	io.WriteString(w, respBody)
}

// publishResponse is SNS's answer to a successful Publish.
const publishResponse = `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <PublishResult>
    <MessageId>567910cd-659e-55d4-8ccb-5aaf14679dc0</MessageId>
  </PublishResult>
  <ResponseMetadata>
    <RequestId>d74b8436-ae13-5ab4-a9ff-ce54dfea72a0</RequestId>
  </ResponseMetadata>
</PublishResponse>`

// errorResponse is SNS's error document. message echoes the code and the
// body, to check that errors redact them.
func errorResponse(typ, code string) string {
	return `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <Error>
    <Type>` + typ + `</Type>
    <Code>` + code + `</Code>
    <Message>Rejected &quot;` + testBody + `&quot; (code ` + testCode + `)</Message>
  </Error>
  <RequestId>d74b8436-ae13-5ab4-a9ff-ce54dfea72a0</RequestId>
</ErrorResponse>`
}

func newTestSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	s, err := New(cfg, awstest.Config())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestSendPublishes(t *testing.T) {
	fake := newFakeSNS(t)
	s := newTestSender(t, Config{Endpoint: fake.srv.URL})
	if err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	calls := fake.calls()
	if len(calls) != 1 {
		t.Fatalf("SNS got %d requests, want 1", len(calls))
	}
	p := calls[0]
	if p.authErr != nil {
		t.Errorf("request: %v", p.authErr)
	}
	for field, want := range map[string]string{
		"Action":      "Publish",
		"Version":     "2010-03-31",
		"PhoneNumber": testTo,
		"Message":     testBody,
	} {
		if got := p.form.Get(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	for _, field := range []string{"TopicArn", "TargetArn", "Subject"} {
		if p.form.Has(field) {
			t.Errorf("request has %s", field)
		}
	}
	want := map[string]attribute{"AWS.SNS.SMS.SMSType": {"String", "Transactional"}}
	if fmt.Sprint(p.attributes) != fmt.Sprint(want) {
		t.Errorf("attributes = %v, want %v", p.attributes, want)
	}
}

func TestSendAttributes(t *testing.T) {
	fake := newFakeSNS(t)
	s := newTestSender(t, Config{
		Endpoint:          fake.srv.URL,
		SMSType:           "promotional",
		SenderID:          "Latchkey",
		OriginationNumber: "+14155550100",
		MaxPrice:          "0.05",
	})
	if err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	calls := fake.calls()
	if len(calls) != 1 {
		t.Fatalf("SNS got %d requests, want 1", len(calls))
	}
	want := map[string]attribute{
		"AWS.SNS.SMS.SMSType":          {"String", "Promotional"},
		"AWS.SNS.SMS.SenderID":         {"String", "Latchkey"},
		"AWS.MM.SMS.OriginationNumber": {"String", "+14155550100"},
		"AWS.SNS.SMS.MaxPrice":         {"Number", "0.05"},
	}
	if got := calls[0].attributes; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("attributes = %v, want %v", got, want)
	}
	if calls[0].authErr != nil {
		t.Errorf("request: %v", calls[0].authErr)
	}
}

// TestSendUsesRegion checks the credential scope follows Config.Region over
// the aws.Config's region.
func TestSendUsesRegion(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		io.WriteString(w, publishResponse)
	}))
	defer srv.Close()
	s := newTestSender(t, Config{Region: "ap-southeast-2", Endpoint: srv.URL})
	if err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !strings.Contains(auth, "/ap-southeast-2/sns/aws4_request") {
		t.Errorf("Authorization %q does not use region ap-southeast-2", auth)
	}
}

// checkNoSecrets fails if err, or anything it wraps, shows the code or body.
func checkNoSecrets(t *testing.T, err error) {
	t.Helper()
	awstest.CheckNoSecrets(t, err, testCode, testBody)
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		transient bool
		wantText  string
	}{
		{"invalid parameter", 400, errorResponse("Sender", "InvalidParameter"), false, "Publish: HTTP 400: InvalidParameter: Rejected"},
		{"invalid parameter value", 400, errorResponse("Sender", "ParameterValueInvalid"), false, "ParameterValueInvalid"},
		{"authorization", 403, errorResponse("Sender", "AuthorizationError"), false, "AuthorizationError"},
		{"bad signature", 403, errorResponse("Sender", "SignatureDoesNotMatch"), false, "SignatureDoesNotMatch"},
		{"opted out", 400, errorResponse("Sender", "OptedOut"), false, "OptedOut"},
		{"endpoint disabled", 400, errorResponse("Sender", "EndpointDisabled"), false, "EndpointDisabled"},
		{"throttling", 400, errorResponse("Sender", "Throttling"), true, "HTTP 400: Throttling"},
		{"throttled", 429, errorResponse("Sender", "Throttled"), true, "HTTP 429: Throttled"},
		{"kms throttling", 400, errorResponse("Sender", "KMSThrottling"), true, "KMSThrottling"},
		{"internal error", 500, errorResponse("Receiver", "InternalError"), true, "HTTP 500: InternalError"},
		{"service unavailable", 503, errorResponse("Receiver", "ServiceUnavailable"), true, "HTTP 503: ServiceUnavailable"},
		{"unknown 5xx code", 500, errorResponse("Receiver", "SomethingNew"), true, "SomethingNew"},
		{"unknown 4xx code", 400, errorResponse("Sender", "SomethingNew"), false, "SomethingNew"},
		{"bad gateway, not XML", 502, "<html>Bad Gateway " + testCode + "</html>", true, "HTTP 502"},
		{"empty 503", 503, "", true, "HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeSNS(t)
			fake.respond(tt.status, tt.body)
			s := newTestSender(t, Config{Endpoint: fake.srv.URL})
			err := s.Send(context.Background(), testMessage())
			t.Logf("Send: %v", err)
			var pe *deliver.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("Send = %v (%T), want a *deliver.ProviderError", err, err)
			}
			if pe.Provider != "sns" || pe.Transient != tt.transient || deliver.IsTransient(err) != tt.transient {
				t.Errorf("Send = %#v (%v), want provider sns, transient %v", pe, err, tt.transient)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			if !strings.HasPrefix(err.Error(), "sns: ") {
				t.Errorf("error %q does not start with sns:", err)
			}
			checkNoSecrets(t, err)
			var h interface{ HTTPStatusCode() int }
			if !errors.As(err, &h) || h.HTTPStatusCode() != tt.status {
				t.Errorf("HTTP status of %v is not %d", err, tt.status)
			}
			if n := len(fake.calls()); n != 1 {
				t.Errorf("SNS got %d requests, want 1: the client must not retry", n)
			}
		})
	}
}

func TestSendErrorKeepsAPIError(t *testing.T) {
	fake := newFakeSNS(t)
	fake.respond(400, errorResponse("Sender", "InvalidParameter"))
	s := newTestSender(t, Config{Endpoint: fake.srv.URL})
	err := s.Send(context.Background(), testMessage())
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Send = %v: no smithy.APIError inside", err)
	}
	if apiErr.ErrorCode() != "InvalidParameter" || strings.Contains(apiErr.ErrorMessage(), testCode) {
		t.Errorf("API error = %q %q", apiErr.ErrorCode(), apiErr.ErrorMessage())
	}
}

func TestSendNetworkErrors(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		endpoint := srv.URL
		srv.Close()
		err := newTestSender(t, Config{Endpoint: endpoint}).Send(context.Background(), testMessage())
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
		err := newTestSender(t, Config{Endpoint: srv.URL}).Send(context.Background(), testMessage())
		checkNetworkError(t, err, true)
	})
	t.Run("garbage response", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err == nil {
				buf.WriteString("NOT HTTP " + testCode + "\r\n\r\n")
				buf.Flush()
				conn.Close()
			}
		}))
		defer srv.Close()
		err := newTestSender(t, Config{Endpoint: srv.URL}).Send(context.Background(), testMessage())
		checkNetworkError(t, err, true)
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.NotFoundHandler())
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
		srv.StartTLS()
		defer srv.Close()
		err := newTestSender(t, Config{Endpoint: srv.URL}).Send(context.Background(), testMessage())
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
		err := newTestSender(t, Config{Endpoint: srv.URL}).Send(ctx, testMessage())
		checkNetworkError(t, err, true)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send = %v, want it to wrap context.DeadlineExceeded", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		fake := newFakeSNS(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := newTestSender(t, Config{Endpoint: fake.srv.URL}).Send(ctx, testMessage())
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
	if !errors.As(err, &pe) || pe.Provider != "sns" {
		t.Fatalf("Send = %v (%T), want a *deliver.ProviderError from sns", err, err)
	}
	if pe.Transient != transient {
		t.Errorf("Send = %v: transient %v, want %v", err, pe.Transient, transient)
	}
	checkNoSecrets(t, err)
}

func TestSendRejectsMessages(t *testing.T) {
	fake := newFakeSNS(t)
	s := newTestSender(t, Config{Endpoint: fake.srv.URL})
	tests := []struct {
		name string
		edit func(*deliver.Message)
		want string
	}{
		{"email channel", func(m *deliver.Message) { m.Channel = deliver.ChannelEmail }, `cannot send a "email" message: this sender only sends "sms"`},
		{"no channel", func(m *deliver.Message) { m.Channel = "" }, "only sends"},
		{"email recipient", func(m *deliver.Message) { m.To = "a@example.com" }, "not an E.164 phone number"},
		{"national number", func(m *deliver.Message) { m.To = "07700900123" }, "not an E.164 phone number"},
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
	if n := len(fake.calls()); n != 0 {
		t.Errorf("SNS got %d requests, want none", n)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" if valid
	}{
		{"empty", Config{}, ""},
		{"full", Config{Region: "eu-west-1", Endpoint: "https://sns.example.com/", SMSType: "Promotional",
			SenderID: "Latchkey1", OriginationNumber: "+14155550100", MaxPrice: "0.50"}, ""},
		{"transactional lower case", Config{SMSType: "transactional"}, ""},
		{"http endpoint", Config{Endpoint: "http://127.0.0.1:4566"}, ""},
		{"bad region", Config{Region: "Europe"}, `region "Europe"`},
		{"endpoint without scheme", Config{Endpoint: "sns.example.com"}, "endpoint"},
		{"endpoint ftp", Config{Endpoint: "ftp://sns.example.com"}, "endpoint"},
		{"endpoint with user", Config{Endpoint: "https://u:p@sns.example.com"}, "endpoint"},
		{"unknown sms type", Config{SMSType: "Urgent"}, `unknown sms_type "Urgent"`},
		{"sender id too long", Config{SenderID: "LatchkeyAuth1"}, "sender_id"},
		{"sender id digits only", Config{SenderID: "12345"}, "at least one letter"},
		{"sender id space", Config{SenderID: "Latch key"}, "sender_id"},
		{"origination number national", Config{OriginationNumber: "4155550100"}, "origination_number"},
		{"origination number letters", Config{OriginationNumber: "+1415CALLME"}, "origination_number"},
		{"origination number too long", Config{OriginationNumber: "+1234567890123456"}, "origination_number"},
		{"max price zero", Config{MaxPrice: "0"}, "max_price"},
		{"max price negative", Config{MaxPrice: "-1"}, "max_price"},
		{"max price exponent", Config{MaxPrice: "1e3"}, "max_price"},
		{"max price currency", Config{MaxPrice: "$0.05"}, "max_price"},
		{"max price NaN", Config{MaxPrice: "NaN"}, "max_price"},
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
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "sns: config: ") {
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
	if _, err := New(Config{}, noRegion); err == nil || !strings.Contains(err.Error(), "no region") {
		t.Errorf("New without a region = %v", err)
	}
	if _, err := New(Config{Region: "eu-west-1"}, noRegion); err != nil {
		t.Errorf("New with Config.Region = %v", err)
	}
	noCreds := awstest.Config()
	noCreds.Credentials = nil
	if _, err := New(Config{}, noCreds); err == nil || !strings.Contains(err.Error(), "no AWS credentials") {
		t.Errorf("New without credentials = %v", err)
	}
}

// TestNewOverridesRetries checks that retry settings in the aws.Config do not
// bring the SDK's retries back.
func TestNewOverridesRetries(t *testing.T) {
	fake := newFakeSNS(t)
	fake.respond(500, errorResponse("Receiver", "InternalError"))
	awsCfg := awstest.Config()
	awsCfg.RetryMaxAttempts = 5
	awsCfg.RetryMode = aws.RetryModeAdaptive
	s, err := New(Config{Endpoint: fake.srv.URL}, awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), testMessage()); !deliver.IsTransient(err) {
		t.Fatalf("Send = %v, want a transient error", err)
	}
	if n := len(fake.calls()); n != 1 {
		t.Errorf("SNS got %d requests, want 1", n)
	}
}

func TestParseConfig(t *testing.T) {
	in := `{"region":"eu-west-1","endpoint":"https://sns.example.com","sms_type":"Promotional",` +
		`"sender_id":"Latchkey","origination_number":"+14155550100","max_price":"0.05"}`
	cfg, err := ParseConfig([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Region: "eu-west-1", Endpoint: "https://sns.example.com", SMSType: "Promotional",
		SenderID: "Latchkey", OriginationNumber: "+14155550100", MaxPrice: "0.05"}
	if cfg != want {
		t.Errorf("ParseConfig = %+v, want %+v", cfg, want)
	}
	out, err := json.Marshal(cfg)
	if err != nil || string(out) != in {
		t.Errorf("Marshal = %s, %v; want %s", out, err, in)
	}
	if out, _ := json.Marshal(Config{}); string(out) != "{}" {
		t.Errorf("Marshal(Config{}) = %s, want {}", out)
	}
	for _, bad := range []string{
		`{"SMSType":"Promotional"}`,
		`{"sms_type":"Urgent"}`,
		`{"region":"eu-west-1"} {}`,
		`[]`,
		``,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%s) succeeded", bad)
		}
	}
}

// TestSendConcurrent runs sends in parallel, for the race detector.
func TestSendConcurrent(t *testing.T) {
	fake := newFakeSNS(t)
	s := newTestSender(t, Config{Endpoint: fake.srv.URL, SenderID: "Latchkey"})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.Send(context.Background(), testMessage()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(fake.calls()); n != 8 {
		t.Errorf("SNS got %d requests, want 8", n)
	}
}

// TestSDKLogNeverShowsBody checks that asking the SDK to log request bodies
// does not log the code.
func TestSDKLogNeverShowsBody(t *testing.T) {
	fake := newFakeSNS(t)
	var mu sync.Mutex
	var logged strings.Builder
	awsCfg := awstest.Config()
	awsCfg.ClientLogMode = aws.LogRequestWithBody | aws.LogResponseWithBody
	awsCfg.Logger = logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&logged, format+"\n", v...)
	})
	s, err := New(Config{Endpoint: fake.srv.URL}, awsCfg)
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
