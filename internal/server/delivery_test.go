package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/deliver/providers"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

const (
	dlTwilioSID   = "AC0123456789abcdef0123456789abcdef"
	dlTwilioToken = "twilio-token-from-env"
	dlAWSKeyID    = "AKIDLATCHKEYTEST"
	dlAWSSecret   = "aws-secret-from-file"
	dlTestPhone   = "+14155550100"
	dlTestCode    = "424242"
)

// dlProvider is a local fake of a provider's HTTP API that records what
// it was asked to deliver and is up or down as the test says.
type dlProvider struct {
	srv *httptest.Server
	mu  sync.Mutex
	// down makes it answer as the real service does when it fails.
	down bool
	// sent holds the bodies delivered, by destination.
	sent map[string][]string
	// calls counts requests, failed or not; bad lists malformed ones.
	calls int
	bad   []string
}

func newDLProvider(t *testing.T, serve func(f *dlProvider, w http.ResponseWriter, r *http.Request, form url.Values)) *dlProvider {
	t.Helper()
	f := &dlProvider{sent: map[string][]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		f.mu.Lock()
		f.calls++
		f.mu.Unlock()
		serve(f, w, r, form)
	}))
	t.Cleanup(f.srv.Close)
	if host, _, _ := net.SplitHostPort(f.srv.Listener.Addr().String()); host != "127.0.0.1" {
		t.Fatalf("fake provider listens on %s, want 127.0.0.1", host)
	}
	return f
}

func (f *dlProvider) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *dlProvider) isDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down
}

func (f *dlProvider) record(to, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent[to] = append(f.sent[to], body)
}

func (f *dlProvider) complain(problem string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bad = append(f.bad, problem)
}

func (f *dlProvider) stats() (calls int, delivered int, bad []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.sent {
		delivered += len(b)
	}
	return f.calls, delivered, append([]string(nil), f.bad...)
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// lastCode returns the code in the newest message to dest.
func (f *dlProvider) lastCode(t *testing.T, dest string) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	bodies := f.sent[dest]
	if len(bodies) == 0 {
		t.Fatalf("no message delivered to %s", dest)
	}
	code := sixDigits.FindString(bodies[len(bodies)-1])
	if code == "" {
		t.Fatalf("no code in %q", bodies[len(bodies)-1])
	}
	return code
}

// newFakeTwilio answers the Messages API: 201, or 503 when down. It
// checks basic auth and the form.
func newFakeTwilio(t *testing.T) *dlProvider {
	return newDLProvider(t, func(f *dlProvider, w http.ResponseWriter, r *http.Request, form url.Values) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != dlTwilioSID || pass != dlTwilioToken {
			f.complain("bad basic auth")
		}
		if r.URL.Path != "/2010-04-01/Accounts/"+dlTwilioSID+"/Messages.json" || form.Get("To") == "" || form.Get("Body") == "" || form.Get("From") == "" {
			f.complain("bad request " + r.URL.Path)
		}
		w.Header().Set("Content-Type", "application/json")
		if f.isDown() {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"code": 20503, "message": "Service unavailable", "status": 503}`)
			return
		}
		f.record(form.Get("To"), form.Get("Body"))
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}`)
	})
}

// newFakeSNS answers Publish in the AWS Query protocol: a PublishResponse,
// or InternalError (500) when down. It checks the action, the phone number
// and that the request is SigV4-signed with the pool's key.
func newFakeSNS(t *testing.T) *dlProvider {
	return newDLProvider(t, func(f *dlProvider, w http.ResponseWriter, r *http.Request, form url.Values) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+dlAWSKeyID+"/") {
			f.complain("not signed with the pool's key: " + r.Header.Get("Authorization"))
		}
		if form.Get("Action") != "Publish" || form.Get("PhoneNumber") == "" || form.Get("Message") == "" {
			f.complain("bad request: " + form.Get("Action"))
		}
		w.Header().Set("Content-Type", "text/xml")
		if f.isDown() {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Receiver</Type><Code>InternalError</Code><Message>Internal failure</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
			return
		}
		f.record(form.Get("PhoneNumber"), form.Get("Message"))
		io.WriteString(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>567910cd</MessageId></PublishResult><ResponseMetadata><RequestId>d74b8436</RequestId></ResponseMetadata></PublishResponse>`)
	})
}

// deliveryEnv is newEnv (harness_test.go) without dev delivery, whose pool
// delivers SMS through Twilio, then SNS (both local fakes), with the
// durable outbox, the dispatcher and the providers Router as serve wires
// them.
type deliveryEnv struct {
	*env
	twilio, sns *dlProvider
}

func newDeliveryEnv(t *testing.T, change func(*pool.Settings)) *deliveryEnv {
	t.Helper()
	twilio, sns := newFakeTwilio(t), newFakeSNS(t)
	secretFile := filepath.Join(t.TempDir(), "aws-secret")
	if err := os.WriteFile(secretFile, []byte(dlAWSSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	settings := withSettings(func(s *pool.Settings) {
		s.Delivery = &pool.Delivery{
			SMS: []pool.Provider{
				{Type: "twilio", Name: "primary",
					Config:  json.RawMessage(`{"account_sid":"` + dlTwilioSID + `","from":"+14155550000","base_url":"` + twilio.srv.URL + `"}`),
					Secrets: map[string]pool.SecretRef{"auth_token": {Env: "DL_TWILIO_TOKEN"}}},
				{Type: "sns", Name: "backup",
					Config: json.RawMessage(`{"region":"us-west-2","endpoint":"` + sns.srv.URL + `"}`),
					Secrets: map[string]pool.SecretRef{
						"access_key_id":     {Env: "DL_AWS_KEY_ID"},
						"secret_access_key": {File: secretFile},
					}},
			},
		}
		if change != nil {
			change(s)
		}
		if err := providers.Validate(s.Delivery, *s); err != nil {
			t.Fatal(err)
		}
	})
	environ := map[string]string{"DL_TWILIO_TOKEN": dlTwilioToken, "DL_AWS_KEY_ID": dlAWSKeyID}
	router := withRouter(providers.RouterConfig{
		Builder: &providers.Builder{
			Getenv: func(k string) string { return environ[k] },
			// Nothing from this machine's AWS files: the pool's key only.
			LoadAWSConfig: func(context.Context) (aws.Config, error) { return aws.Config{}, nil },
		},
		Breaker: providers.BreakerConfig{Threshold: 2, CoolOff: time.Minute},
	})
	return &deliveryEnv{env: newEnv(t, withoutDev(), settings, router, withQueue()), twilio: twilio, sns: sns}
}

func (e *deliveryEnv) startSMS(username string) (*cip.InitiateAuthOutput, error) {
	return e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": username, "PREFERRED_CHALLENGE": "SMS_OTP"})
}

func (e *deliveryEnv) answer(username, session, code string) (*cip.RespondToAuthChallengeOutput, error) {
	return e.respond(types.ChallengeNameTypeSmsOtp, session, map[string]string{"USERNAME": username, "SMS_OTP_CODE": code})
}

func (e *deliveryEnv) checkFakes() {
	e.t.Helper()
	for name, f := range map[string]*dlProvider{"twilio": e.twilio, "sns": e.sns} {
		if _, _, bad := f.stats(); len(bad) > 0 {
			e.t.Errorf("%s fake saw bad requests: %q", name, bad)
		}
	}
}

// TestDeliveryFailoverThroughTheOutbox drives sign-in through the Cognito
// API with the AWS SDK: Twilio down → SNS delivers; both down → once the
// circuits are open, CodeDeliveryFailureException for known and unknown
// users alike; after recovery, sign-in works again.
func TestDeliveryFailoverThroughTheOutbox(t *testing.T) {
	e := newDeliveryEnv(t, nil)
	defer e.checkFakes()
	e.signUp(testPhone)

	// 1. The first provider is down: the second delivers.
	e.twilio.setDown(true)
	init, err := e.startSMS(testPhone)
	if err != nil {
		t.Fatal(err)
	}
	e.flush()
	if calls, delivered, _ := e.twilio.stats(); calls != 1 || delivered != 0 {
		t.Fatalf("twilio: %d calls, %d delivered; want 1 failed call", calls, delivered)
	}
	out, err := e.answer(testPhone, aws.ToString(init.Session), e.sns.lastCode(t, testPhone))
	if err != nil || out.AuthenticationResult == nil {
		t.Fatalf("sign-in with the code SNS delivered: %v", err)
	}

	// 2. Both down. Codes are still accepted while the circuits close,
	// and retried in the background; the failures open both circuits.
	e.sns.setDown(true)
	for range 2 {
		if _, err := e.startSMS(testPhone); err != nil {
			t.Fatalf("InitiateAuth before the circuits opened: %v", err)
		}
		e.flush()
	}
	if !strings.Contains(e.logs.String(), "delivery provider circuit opened") {
		t.Error("no log line for an opened circuit")
	}
	const refused = "Cannot deliver the code by SMS now: every provider is failing; try again later."
	_, err = e.startSMS(testPhone)
	apiErr(t, err, "CodeDeliveryFailureException", refused)
	// The same answer for a user who does not exist: no enumeration.
	_, err = e.startSMS("+14155552672")
	apiErr(t, err, "CodeDeliveryFailureException", refused)

	// 3. The providers recover; once the cool-off has passed (and the
	// codes queued while they were down have expired), sign-in works.
	e.twilio.setDown(false)
	e.sns.setDown(false)
	e.clock.Advance(e.pool.Settings.SessionTTL + time.Second)
	init, err = e.startSMS(testPhone)
	if err != nil {
		t.Fatalf("InitiateAuth after recovery: %v", err)
	}
	e.flush()
	out, err = e.answer(testPhone, aws.ToString(init.Session), e.twilio.lastCode(t, testPhone))
	if err != nil || out.AuthenticationResult == nil {
		t.Fatalf("sign-in after recovery: %v", err)
	}

	// No secret reached the log: not the provider credentials, not a code.
	logs := e.logs.String()
	for _, secret := range []string{dlTwilioToken, dlAWSSecret} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the secret %q", secret)
		}
	}
}

// TestTestIdentitiesNeverReachAProvider signs a test identity up (with a
// confirmation code) and in, with its fixed code, while every provider
// would deliver: none is called, and the log and the audit trail say so.
func TestTestIdentitiesNeverReachAProvider(t *testing.T) {
	e := newDeliveryEnv(t, func(s *pool.Settings) {
		s.AutoConfirm = false
		s.Delivery.TestIdentities = []pool.TestIdentity{{Destination: dlTestPhone, Code: dlTestCode}}
	})
	defer e.checkFakes()
	ctx := context.Background()

	up := e.signUp(dlTestPhone)
	e.flush()
	if _, err := e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(dlTestPhone),
		ConfirmationCode: aws.String(dlTestCode), Session: up.Session}); err != nil {
		t.Fatalf("ConfirmSignUp with the fixed code: %v", err)
	}
	for range 2 {
		init, err := e.startSMS(dlTestPhone)
		if err != nil {
			t.Fatal(err)
		}
		e.flush()
		out, err := e.answer(dlTestPhone, aws.ToString(init.Session), dlTestCode)
		if err != nil || out.AuthenticationResult == nil {
			t.Fatalf("sign-in with the fixed code: %v", err)
		}
		e.clock.Advance(time.Minute)
	}
	for name, f := range map[string]*dlProvider{"twilio": e.twilio, "sns": e.sns} {
		if calls, _, _ := f.stats(); calls != 0 {
			t.Errorf("%s was called %d times for a test identity", name, calls)
		}
	}
	if !strings.Contains(e.logs.String(), "test identity") {
		t.Error("no test identity warning in the log")
	}
	events, err := e.store.ListAudit(ctx, store.AuditFilter{PoolID: e.pool.ID, Type: auth.EventCodeTestIdentity})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 { // sign-up confirmation, two sign-ins
		t.Errorf("%d %s audit events, want 3", len(events), auth.EventCodeTestIdentity)
	}

	// A real user of the same pool still gets a real code, by a provider.
	e.signUp(testPhone)
	e.flush()
	if _, delivered, _ := e.twilio.stats(); delivered != 1 {
		t.Errorf("twilio delivered %d messages to a real user, want 1", delivered)
	}
}

// TestTestIdentityIsNeverADecoy: a test identity with no account gets a
// decoy session like any unknown user, and its fixed code does not open
// it.
func TestTestIdentityIsNeverADecoy(t *testing.T) {
	e := newDeliveryEnv(t, func(s *pool.Settings) {
		s.Delivery.TestIdentities = []pool.TestIdentity{{Destination: dlTestPhone, Code: dlTestCode}}
	})
	init, err := e.startSMS(dlTestPhone)
	if err != nil {
		t.Fatal(err)
	}
	e.flush()
	out, err := e.answer(dlTestPhone, aws.ToString(init.Session), dlTestCode)
	if err == nil && out.AuthenticationResult != nil {
		t.Fatal("the fixed code signed in an account that does not exist")
	}
	apiErr(t, err, "CodeMismatchException", "")
}

// TestTestIdentityNeedsNoProvider: a pool without any provider (and no
// dev delivery) still signs its test identities in.
func TestTestIdentityNeedsNoProvider(t *testing.T) {
	e := newDeliveryEnv(t, func(s *pool.Settings) {
		s.Delivery = &pool.Delivery{TestIdentities: []pool.TestIdentity{{Destination: dlTestPhone, Code: dlTestCode}}}
	})
	e.signUp(dlTestPhone)
	init, err := e.startSMS(dlTestPhone)
	if err != nil {
		t.Fatalf("InitiateAuth for a test identity without providers: %v", err)
	}
	out, err := e.answer(dlTestPhone, aws.ToString(init.Session), dlTestCode)
	if err != nil || out.AuthenticationResult == nil {
		t.Fatalf("sign-in: %v", err)
	}
	e.signUp(testPhone)
	_, err = e.startSMS(testPhone)
	apiErr(t, err, "CodeDeliveryFailureException", "Cannot deliver the code: no sms provider is configured and dev delivery is off.")
}

// TestPoolTemplatesAndAutofill: the pool's default locale, its template
// override and its WebOTP line are what the provider receives.
func TestPoolTemplatesAndAutofill(t *testing.T) {
	e := newDeliveryEnv(t, func(s *pool.Settings) {
		s.Delivery.DefaultLocale = "fr"
		s.Delivery.Templates = json.RawMessage(`{"fr": {"sms": "Votre code {{.AppName}} : {{.Code}}"}}`)
		s.Delivery.Autofill = &pool.Autofill{WebOTPHost: "app.example.com"}
	})
	e.signUp(testPhone)
	if _, err := e.startSMS(testPhone); err != nil {
		t.Fatal(err)
	}
	e.flush()
	code := e.twilio.lastCode(t, testPhone)
	e.twilio.mu.Lock()
	body := e.twilio.sent[testPhone][0]
	e.twilio.mu.Unlock()
	want := "Votre code Test App : " + code + "\n\n@app.example.com #" + code
	if body != want {
		t.Errorf("SMS body %q, want %q", body, want)
	}
}
