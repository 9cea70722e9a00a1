package hook_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// testNow is the fixed clock of most tests: signer and receiver share it.
var testNow = time.Unix(1_700_000_000, 0)

func fixedClock() time.Time { return testNow }

// testSecret returns a fresh signing secret.
func testSecret(t *testing.T) string {
	t.Helper()
	s, err := hook.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hookServer is a webhook receiver on 127.0.0.1: it verifies every
// request's signature (a failure fails the test and answers 401), then
// hands the request to handle.
func hookServer(t *testing.T, secret string, handle http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading the request: %v", err)
			return
		}
		if err := hook.Verify(secret, r.Header, body, testNow, time.Minute); err != nil {
			t.Errorf("a request Latchkey signed does not verify: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// answer decodes the event in r, lets edit change it, and writes it back.
func answer[Req, Resp any](t *testing.T, w http.ResponseWriter, r *http.Request, edit func(*hook.TypedEvent[Req, Resp])) {
	t.Helper()
	var ev hook.TypedEvent[Req, Resp]
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		t.Errorf("decoding the event: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	edit(&ev)
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(ev); err != nil {
		t.Errorf("encoding the answer: %v", err)
	}
}

func newWebhooks(opts hook.WebhookOptions) *hook.Webhooks {
	if opts.Now == nil {
		opts.Now = fixedClock
	}
	return hook.NewWebhooks(opts)
}

func preSignUpEvent(t *testing.T) *hook.Event {
	t.Helper()
	ev, err := hook.PreSignUpEvent{
		Header: hook.Header{
			Version:       "1",
			TriggerSource: hook.SourcePreSignUpSignUp,
			Region:        "eu-west-1",
			UserPoolID:    "eu-west-1_AbCdEfGhI",
			UserName:      "+447700900123",
			CallerContext: hook.CallerContext{AWSSDKVersion: "aws-sdk-js-3.0.0", ClientID: "abcdefghijklmnopqrstuvwxyz"},
		},
		Request: hook.PreSignUpRequest{UserAttributes: hook.StringMap{"phone_number": "+447700900123"}},
	}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestWebhookRoundTrip(t *testing.T) {
	secret := testSecret(t)
	var gotHeader http.Header
	srv := hookServer(t, secret, func(w http.ResponseWriter, r *http.Request) {
		gotHeader = r.Header.Clone()
		if r.Method != http.MethodPost {
			t.Errorf("method %s", r.Method)
		}
		answer(t, w, r, func(ev *hook.PreSignUpEvent) {
			if ev.UserName != "+447700900123" || ev.Request.UserAttributes["phone_number"] != "+447700900123" {
				t.Errorf("the hook got %+v", ev.Request)
			}
			ev.Response.AutoConfirmUser = true
			ev.Response.AutoVerifyPhone = true
		})
	})
	ids := bytes.NewReader(bytes.Repeat([]byte{0xfb}, 16))
	wh, err := newWebhooks(hook.WebhookOptions{Rand: ids}).Webhook(srv.URL+"/hooks?key=abc", secret)
	if err != nil {
		t.Fatal(err)
	}
	ev := preSignUpEvent(t)
	if err := wh.Invoke(t.Context(), hook.PreSignUp, ev); err != nil {
		t.Fatal(err)
	}
	resp, err := hook.DecodePreSignUp(ev.Response)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.AutoConfirmUser || !resp.AutoVerifyPhone || resp.AutoVerifyEmail {
		t.Errorf("response = %+v", resp)
	}
	wantID := "msg_" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 16))
	for name, want := range map[string]string{
		"Content-Type":       "application/json",
		hook.HeaderID:        wantID,
		hook.HeaderTimestamp: "1700000000",
		"User-Agent":         "Latchkey-Hooks/1",
	} {
		if got := gotHeader.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if strings.ContainsAny(wantID, ".") {
		t.Errorf("message id %q holds a dot", wantID)
	}
}

func TestWebhookAnswers(t *testing.T) {
	long := strings.Repeat("é", 1000)
	tests := []struct {
		name    string
		trigger string
		status  int
		ctype   string
		body    string
		kind    pool.Kind // KindInternal: no error
		message string
	}{
		{"lambda style error", hook.PreSignUp, 500, "application/json", `{"errorType":"Error","errorMessage":"nope"}`,
			pool.KindUserLambdaValidation, "PreSignUp failed with error nope."},
		{"express style error", hook.PreSignUp, 400, "application/json", `{"message":"Email domain not allowed"}`,
			pool.KindUserLambdaValidation, "PreSignUp failed with error Email domain not allowed."},
		{"text error", hook.PreSignUp, 403, "text/plain; charset=utf-8", "Phone numbers from this\ncountry are not accepted\n",
			pool.KindUserLambdaValidation, "PreSignUp failed with error Phone numbers from this country are not accepted."},
		{"html error page", hook.PreSignUp, 500, "text/html", "<html><body>Oops</body></html>",
			pool.KindUserLambdaValidation, "PreSignUp failed with error Internal Server Error."},
		{"json without a message", hook.PreSignUp, 500, "application/json", `{"errorMessage":{"deep":1}}`,
			pool.KindUserLambdaValidation, "PreSignUp failed with error Internal Server Error."},
		{"long message is cut", hook.PreSignUp, 422, "application/json", `{"message":"` + long + `"}`,
			pool.KindUserLambdaValidation, "PreSignUp failed with error " + strings.Repeat("é", 256) + "…."},
		{"non-JSON 200", hook.PreSignUp, 200, "text/plain", "OK",
			pool.KindInvalidLambdaResponse, "Invalid PreSignUp response: the answer is not JSON; answer with the event, its response filled."},
		{"empty 200", hook.PostConfirmation, 200, "", "",
			pool.KindInvalidLambdaResponse, "Invalid PostConfirmation response: the answer is empty; answer with the event, its response filled."},
		{"array 200", hook.PreSignUp, 200, "application/json", `[{"response":{}}]`,
			pool.KindInvalidLambdaResponse, "Invalid PreSignUp response: the answer must be the event (a JSON object), not an array."},
		{"response not an object", hook.PreSignUp, 200, "application/json", `{"response":"yes"}`,
			pool.KindInvalidLambdaResponse, "Invalid PreSignUp response: response must be a JSON object, not a string."},
		{"wrong-shaped response", hook.VerifyAuthChallengeResponse, 200, "application/json", `{"response":{"answerCorrect":"yes"}}`,
			pool.KindInvalidLambdaResponse, "Invalid VerifyAuthChallengeResponse response: answerCorrect must be a boolean, not a string."},
		{"define without a decision", hook.DefineAuthChallenge, 200, "application/json", `{"response":{}}`,
			pool.KindInvalidLambdaResponse, "Invalid DefineAuthChallenge response: set issueTokens, failAuthentication, or challengeName to CUSTOM_CHALLENGE."},
		{"null response is no change", hook.PostConfirmation, 200, "application/json", `{"response":null}`,
			pool.KindInternal, ""},
		{"custom sender may answer 204", hook.CustomSMSSender, 204, "", "",
			pool.KindInternal, ""},
		{"custom sender answer is not read", hook.CustomEmailSender, 200, "text/plain", "queued",
			pool.KindInternal, ""},
		{"redirect", hook.PreSignUp, 307, "", "",
			pool.KindUnexpectedLambda, "PreSignUp invocation failed: the hook answered with a redirect (HTTP 307); configure the URL it redirects to."},
		{"unavailable", hook.PreSignUp, 503, "text/plain", "down for maintenance",
			pool.KindUnexpectedLambda, "PreSignUp invocation failed: the hook is unavailable (HTTP 503)."},
		{"gateway timeout with a message", hook.PreSignUp, 504, "application/json", `{"message":"Endpoint request timed out"}`,
			pool.KindUnexpectedLambda, "PreSignUp invocation failed: the hook is unavailable (HTTP 504)."},
		{"throttled", hook.PreSignUp, 429, "", "",
			pool.KindUnexpectedLambda, "PreSignUp invocation failed: the hook is unavailable (HTTP 429)."},
	}
	secret := testSecret(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hookServer(t, secret, func(w http.ResponseWriter, r *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				if tt.status == 307 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			wh, err := newWebhooks(hook.WebhookOptions{}).Webhook(srv.URL, secret)
			if err != nil {
				t.Fatal(err)
			}
			ev := eventFor(t, tt.trigger)
			before := string(ev.Response)
			err = wh.Invoke(t.Context(), tt.trigger, ev)
			if tt.kind == pool.KindInternal {
				if err != nil {
					t.Fatalf("Invoke: %v", err)
				}
				if string(ev.Response) != "{}" {
					t.Errorf("response = %s, want {}", ev.Response)
				}
				return
			}
			assertHookError(t, err, tt.kind, tt.message)
			if string(ev.Response) != before {
				t.Errorf("a failed call changed the response to %s", ev.Response)
			}
		})
	}
}

// eventFor returns a minimal event of trigger.
func eventFor(t *testing.T, trigger string) *hook.Event {
	t.Helper()
	source := map[string]string{
		hook.PreSignUp:                   hook.SourcePreSignUpSignUp,
		hook.PostConfirmation:            hook.SourcePostConfirmationConfirmSignUp,
		hook.PreAuthentication:           hook.SourcePreAuthentication,
		hook.PostAuthentication:          hook.SourcePostAuthentication,
		hook.DefineAuthChallenge:         hook.SourceDefineAuthChallenge,
		hook.CreateAuthChallenge:         hook.SourceCreateAuthChallenge,
		hook.VerifyAuthChallengeResponse: hook.SourceVerifyAuthChallengeResponse,
		hook.PreTokenGeneration:          hook.SourceTokenGenerationAuthentication,
		hook.CustomSMSSender:             hook.SourceCustomSMSSenderAuthentication,
		hook.CustomEmailSender:           hook.SourceCustomEmailSenderAuthentication,
	}[trigger]
	return &hook.Event{
		Header:   hook.Header{Version: "1", TriggerSource: source, Region: "eu-west-1", UserPoolID: "eu-west-1_AbCdEfGhI"},
		Request:  json.RawMessage(`{"userAttributes":{}}`),
		Response: json.RawMessage(`{"marker":true}`),
	}
}

func assertHookError(t *testing.T, err error, kind pool.Kind, message string) {
	t.Helper()
	var pe *pool.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want a *pool.Error", err, err)
	}
	if pe.Kind != kind {
		t.Errorf("kind = %v, want %v (%v)", pe.Kind, kind, err)
	}
	if message != "" && pe.Message != message {
		t.Errorf("message = %q\nwant      %q", pe.Message, message)
	}
}

func TestWebhookTimeout(t *testing.T) {
	secret := testSecret(t)
	srv := hookServer(t, secret, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	wh, err := newWebhooks(hook.WebhookOptions{Timeout: 100 * time.Millisecond}).Webhook(srv.URL, secret)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = wh.Invoke(t.Context(), hook.PreSignUp, preSignUpEvent(t))
	assertHookError(t, err, pool.KindUnexpectedLambda, "PreSignUp invocation failed: the hook did not answer in time.")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the call took %s with a 100ms timeout", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the cause is not a deadline: %v", err)
	}
}

// A hook that answers its headers at once but stalls in the body times out
// too.
func TestWebhookTimeoutInBody(t *testing.T) {
	secret := testSecret(t)
	srv := hookServer(t, secret, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"response":`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	wh, err := newWebhooks(hook.WebhookOptions{Timeout: 100 * time.Millisecond}).Webhook(srv.URL, secret)
	if err != nil {
		t.Fatal(err)
	}
	err = wh.Invoke(t.Context(), hook.PreSignUp, preSignUpEvent(t))
	assertHookError(t, err, pool.KindUnexpectedLambda, "PreSignUp invocation failed: the hook did not answer in time.")
}

func TestWebhookCanceled(t *testing.T) {
	secret := testSecret(t)
	release := make(chan struct{})
	srv := hookServer(t, secret, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	wh, err := newWebhooks(hook.WebhookOptions{}).Webhook(srv.URL, secret)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	err = wh.Invoke(ctx, hook.PreSignUp, preSignUpEvent(t))
	assertHookError(t, err, pool.KindUnexpectedLambda, "PreSignUp invocation failed: the call was canceled.")
}

// TestWebhookUnreachable: a hook nobody listens at is UnexpectedLambda,
// and neither the message nor the cause shows the URL's path or query.
func TestWebhookUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	secret := testSecret(t)
	var logs bytes.Buffer
	w := newWebhooks(hook.WebhookOptions{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	wh, err := w.Webhook("http://"+addr+"/private-path?token=s3cr3t-t0ken", secret)
	if err != nil {
		t.Fatal(err)
	}
	err = wh.Invoke(t.Context(), hook.PreSignUp, preSignUpEvent(t))
	assertHookError(t, err, pool.KindUnexpectedLambda, "PreSignUp invocation failed: the hook could not be reached.")
	for _, s := range []string{err.Error(), logs.String(), wh.String()} {
		for _, secretPart := range []string{"s3cr3t-t0ken", "private-path", secret} {
			if strings.Contains(s, secretPart) {
				t.Errorf("%q shows %q", s, secretPart)
			}
		}
	}
	if !strings.Contains(logs.String(), "hook failed") {
		t.Errorf("no failure was logged: %s", logs.String())
	}
}

// TestWebhookNoSecretsInLogs: the signing secret, a code in the event and
// the URL's query stay out of the logs of successful and failed calls.
func TestWebhookNoSecretsInLogs(t *testing.T) {
	const code = "731904"
	secret := testSecret(t)
	fail := false
	srv := hookServer(t, secret, func(w http.ResponseWriter, r *http.Request) {
		if fail {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(500)
			io.WriteString(w, `{"errorMessage":"provider down"}`)
			return
		}
		io.WriteString(w, `{}`)
	})
	var logs bytes.Buffer
	w := newWebhooks(hook.WebhookOptions{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	wh, err := w.Webhook(srv.URL+"/send?api_key=k3y-v4lue", secret)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := hook.CustomSMSSenderEvent{
		Header:  hook.Header{Version: "1", TriggerSource: hook.SourceCustomSMSSenderAuthentication, UserPoolID: "eu-west-1_AbCdEfGhI"},
		Request: hook.CustomSenderRequest{Type: hook.CustomSMSSenderRequestV1, Code: code, UserAttributes: hook.StringMap{"phone_number": "+447700900123"}},
	}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Invoke(t.Context(), hook.CustomSMSSender, ev); err != nil {
		t.Fatal(err)
	}
	fail = true
	err = wh.Invoke(t.Context(), hook.CustomSMSSender, ev)
	assertHookError(t, err, pool.KindUserLambdaValidation, "CustomSMSSender failed with error provider down.")
	for _, s := range []string{logs.String(), err.Error()} {
		for _, secretPart := range []string{code, secret, strings.TrimPrefix(secret, "whsec_"), "k3y-v4lue"} {
			if strings.Contains(s, secretPart) {
				t.Errorf("%q shows a secret", s)
			}
		}
	}
	if strings.Count(logs.String(), "\n") != 2 {
		t.Errorf("want one log line per call, got %s", logs.String())
	}
}

func TestWebhookBodyCap(t *testing.T) {
	secret := testSecret(t)
	srv := hookServer(t, secret, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"response":{},"pad":"`+strings.Repeat("x", 2000)+`"}`)
	})
	wh, err := newWebhooks(hook.WebhookOptions{MaxResponseBytes: 1024}).Webhook(srv.URL, secret)
	if err != nil {
		t.Fatal(err)
	}
	err = wh.Invoke(t.Context(), hook.PostConfirmation, eventFor(t, hook.PostConfirmation))
	assertHookError(t, err, pool.KindInvalidLambdaResponse, "Invalid PostConfirmation response: the answer is larger than 1024 bytes.")
}

// TestWebhookReusesConnections: sequential calls, successes and errors
// alike, go over one connection.
func TestWebhookReusesConnections(t *testing.T) {
	secret := testSecret(t)
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch n.Add(1) % 3 {
		case 0:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(500)
			io.WriteString(w, `{"errorMessage":"nope","pad":"`+strings.Repeat("x", 8000)+`"}`)
		case 1:
			io.WriteString(w, `{"response":{"autoConfirmUser":true}}`)
		default:
			io.WriteString(w, `not json`)
		}
	}))
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	w := newWebhooks(hook.WebhookOptions{})
	// Two Webhooks of one Webhooks share connections too.
	a, err := w.Webhook(srv.URL+"/a", secret)
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.Webhook(srv.URL+"/b", secret)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		wh := a
		if i%2 == 1 {
			wh = b
		}
		wh.Invoke(t.Context(), hook.PreSignUp, preSignUpEvent(t))
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("30 sequential calls opened %d connections, want 1", got)
	}
}

// TestWebhookSignaturesAlwaysVerify sends events with random content through
// the webhook; the receiver must accept every one, and see each message id
// once.
func TestWebhookSignaturesAlwaysVerify(t *testing.T) {
	secret := testSecret(t)
	guard := hook.NewReplayGuard(time.Minute)
	var mu sync.Mutex
	received := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := guard.Verify(secret, r.Header, body, testNow); err != nil {
			t.Errorf("Verify refused a request Latchkey signed: %v", err)
		}
		mu.Lock()
		received++
		mu.Unlock()
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	wh, err := newWebhooks(hook.WebhookOptions{}).Webhook(srv.URL, secret)
	if err != nil {
		t.Fatal(err)
	}
	r := mrand.New(mrand.NewPCG(3, 4))
	for range 200 {
		attrs := hook.StringMap{}
		for range r.IntN(6) {
			attrs[randomString(r)] = randomString(r)
		}
		ev, err := hook.PostAuthenticationEvent{
			Header:  hook.Header{Version: "1", TriggerSource: hook.SourcePostAuthentication, UserName: randomString(r)},
			Request: hook.PostAuthenticationRequest{UserAttributes: attrs, NewDeviceUsed: r.IntN(2) == 0},
		}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Invoke(t.Context(), hook.PostAuthentication, ev); err != nil {
			t.Fatal(err)
		}
	}
	if received != 200 {
		t.Errorf("received %d requests", received)
	}
}

// randomString returns a short string of random runes, ASCII or not.
func randomString(r *mrand.Rand) string {
	runes := make([]rune, r.IntN(20))
	for i := range runes {
		if r.IntN(4) == 0 {
			runes[i] = rune(0x80 + r.IntN(0x2000))
		} else {
			runes[i] = rune(' ' + r.IntN(95))
		}
	}
	return string(runes)
}

// TestWebhookRotation: with a previous secret, requests carry two
// signatures; receivers on either secret accept them.
func TestWebhookRotation(t *testing.T) {
	current, previous := testSecret(t), testSecret(t)
	var header http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header, body = r.Header.Clone(), must(io.ReadAll(r.Body))
		io.WriteString(w, `{"response":{}}`)
	}))
	t.Cleanup(srv.Close)
	router, err := newWebhooks(hook.WebhookOptions{}).Router(hook.Config{
		Triggers:       map[string]hook.TriggerConfig{hook.PostConfirmation: {URL: srv.URL}},
		Secret:         current,
		PreviousSecret: previous,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := router.Invoke(t.Context(), hook.PostConfirmation, eventFor(t, hook.PostConfirmation)); err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(header.Get(hook.HeaderSignature))); n != 2 {
		t.Errorf("%d signatures, want 2", n)
	}
	for _, s := range []string{current, previous} {
		if err := hook.Verify(s, header, body, testNow, 0); err != nil {
			t.Errorf("a receiver on one of the secrets refuses the request: %v", err)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestWebhookRefusesBadSetup(t *testing.T) {
	w := newWebhooks(hook.WebhookOptions{})
	secret := testSecret(t)
	for _, tt := range []struct {
		url     string
		secrets []string
	}{
		{"https://hooks.example.com/x", nil},
		{"https://hooks.example.com/x", []string{"whsec_c2hvcnQ="}},
		{"http://hooks.example.com/x", []string{secret}},
		{"https://user:pass@hooks.example.com/x", []string{secret}},
		{"ftp://hooks.example.com/x", []string{secret}},
		{"/relative", []string{secret}},
	} {
		if _, err := w.Webhook(tt.url, tt.secrets...); err == nil {
			t.Errorf("Webhook(%q, %d secrets) succeeded", tt.url, len(tt.secrets))
		}
	}
	wh, err := w.Webhook("https://hooks.example.com/x", secret)
	if err != nil {
		t.Fatal(err)
	}
	// The caller's mistakes are plain errors, not a client's.
	for _, tt := range []struct {
		trigger string
		ev      *hook.Event
	}{
		{"CustomMessage", eventFor(t, hook.PreSignUp)},
		{hook.PreSignUp, nil},
		{hook.PreSignUp, eventFor(t, hook.PostConfirmation)},
	} {
		err := wh.Invoke(t.Context(), tt.trigger, tt.ev)
		if err == nil || pool.KindOf(err) != pool.KindInternal {
			t.Errorf("Invoke(%q) = %v, want an internal error", tt.trigger, err)
		}
	}
}
