package server_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/latchkey/latchkey/internal/hook"
)

// End-to-end tests of the sign-in's hook points over real HTTP: the AWS SDK
// v2 Cognito client against Latchkey, and Latchkey against webhook
// receivers on 127.0.0.1 that check every request's signature.

// chRequest holds the request fields of every sign-in trigger.
type chRequest struct {
	UserAttributes map[string]string      `json:"userAttributes"`
	Session        json.RawMessage        `json:"session"`
	ChallengeName  string                 `json:"challengeName"`
	Private        map[string]string      `json:"privateChallengeParameters"`
	Answer         string                 `json:"challengeAnswer"`
	ClientMetadata map[string]string      `json:"clientMetadata"`
	ValidationData map[string]string      `json:"validationData"`
	UserNotFound   *bool                  `json:"userNotFound"`
	NewDeviceUsed  *bool                  `json:"newDeviceUsed"`
	session        []hook.ChallengeResult // Session, decoded
}

// chReceived is one verified request a receiver got.
type chReceived struct {
	trigger string
	header  hook.Header
	req     chRequest
}

// chHandler answers one trigger's verified, decoded event.
type chHandler func(w http.ResponseWriter, r *http.Request, ev *hook.Event)

// chReceiver is a pool owner's webhook server on 127.0.0.1: one path per
// trigger, every request's signature checked (and replays refused) before
// anything else. Handlers can be swapped while it runs.
type chReceiver struct {
	t      *testing.T
	secret string
	guard  *hook.ReplayGuard
	srv    *httptest.Server

	mu       sync.Mutex
	handlers map[string]chHandler
	seen     []chReceived
	sent     map[string][]string // codes the tutorial's create "sent", by userName
}

func newChReceiver(t *testing.T) *chReceiver {
	t.Helper()
	secret, err := hook.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hr := &chReceiver{t: t, secret: secret, guard: hook.NewReplayGuard(5 * time.Minute),
		handlers: map[string]chHandler{}, sent: map[string][]string{}}
	hr.srv = httptest.NewServer(http.HandlerFunc(hr.serve))
	t.Cleanup(hr.srv.Close)
	return hr
}

func (hr *chReceiver) serve(w http.ResponseWriter, r *http.Request) {
	trigger := strings.TrimPrefix(r.URL.Path, "/")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read", http.StatusBadRequest)
		return
	}
	// Latchkey rejects nothing it signed: every request must verify.
	if err := hr.guard.Verify(hr.secret, r.Header, body, time.Now()); err != nil {
		hr.t.Errorf("receiver refused a request to %s: %v", trigger, err)
		http.Error(w, "forbidden", http.StatusUnauthorized)
		return
	}
	var ev hook.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		hr.t.Errorf("receiver: %s event: %v", trigger, err)
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	if got := hook.TriggerOf(ev.TriggerSource); got != trigger {
		hr.t.Errorf("event %s sent to the %s hook", ev.TriggerSource, trigger)
	}
	var req chRequest
	if err := json.Unmarshal(ev.Request, &req); err != nil {
		hr.t.Errorf("receiver: %s request: %v", trigger, err)
	}
	if len(req.Session) > 0 {
		if err := json.Unmarshal(req.Session, &req.session); err != nil {
			hr.t.Errorf("receiver: %s session: %v", trigger, err)
		}
	}
	hr.mu.Lock()
	hr.seen = append(hr.seen, chReceived{trigger: trigger, header: ev.Header, req: req})
	h := hr.handlers[trigger]
	hr.mu.Unlock()
	if h == nil {
		hr.t.Errorf("no handler for %s", trigger)
		http.Error(w, "no handler", http.StatusNotFound)
		return
	}
	h(w, r, &ev)
}

// handle sets the handler of a trigger.
func (hr *chReceiver) handle(trigger string, h chHandler) {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	hr.handlers[trigger] = h
}

// install points the env's pool at the receiver for triggers.
func (hr *chReceiver) install(e *env, triggers ...string) {
	hr.t.Helper()
	cfg := hook.Config{Triggers: map[string]hook.TriggerConfig{}, Secret: hr.secret}
	for _, trigger := range triggers {
		cfg.Triggers[trigger] = hook.TriggerConfig{URL: hr.srv.URL + "/" + trigger}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		hr.t.Fatal(err)
	}
	if _, err := hook.ParseConfig(raw); err != nil {
		hr.t.Fatal(err)
	}
	e.pool.Settings.Hooks = raw
	if err := e.store.UpdatePoolSettings(context.Background(), e.pool.ID, e.pool.Name, e.pool.Settings); err != nil {
		hr.t.Fatal(err)
	}
}

func (hr *chReceiver) calls(trigger string) []chReceived {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	var out []chReceived
	for _, s := range hr.seen {
		if s.trigger == trigger {
			out = append(out, s)
		}
	}
	return out
}

func (hr *chReceiver) last(trigger string) chReceived {
	hr.t.Helper()
	c := hr.calls(trigger)
	if len(c) == 0 {
		hr.t.Fatalf("%s was never called", trigger)
	}
	return c[len(c)-1]
}

func (hr *chReceiver) lastSent(user string) string {
	hr.t.Helper()
	hr.mu.Lock()
	defer hr.mu.Unlock()
	s := hr.sent[user]
	if len(s) == 0 {
		hr.t.Fatalf("no code was sent to %s", user)
	}
	return s[len(s)-1]
}

func (hr *chReceiver) sentCount(user string) int {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	return len(hr.sent[user])
}

// chTyped adapts a Lambda-style handler: it gets the typed event and returns
// it with the response filled, or an error answered as a Lambda's thrown
// error ({"errorMessage": …}, HTTP 400).
func chTyped[Req, Resp any](fn func(ev *hook.TypedEvent[Req, Resp]) error) chHandler {
	return func(w http.ResponseWriter, _ *http.Request, raw *hook.Event) {
		ev, err := hook.DecodeEvent[Req, Resp](raw)
		if err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if err := fn(ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"errorMessage": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(ev)
	}
}

// The classic passwordless tutorial's three handlers.

func chTutorialDefine(ev *hook.DefineAuthChallengeEvent) error {
	s := ev.Request.Session
	switch {
	case len(s) >= 3 && !s[len(s)-1].ChallengeResult:
		ev.Response.IssueTokens, ev.Response.FailAuthentication = false, true
	case len(s) > 0 && s[len(s)-1].ChallengeResult:
		ev.Response.IssueTokens, ev.Response.FailAuthentication = true, false
	default:
		ev.Response.IssueTokens, ev.Response.FailAuthentication = false, false
		ev.Response.ChallengeName = hook.ChallengeCustom
	}
	return nil
}

var chMetadataCode = regexp.MustCompile(`^CODE-(\d{6})$`)

func chNewCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n), nil
}

// tutorialCreate makes a code once per session and reuses it through the
// last challenge's metadata; public parameters carry the destination.
// Codes for unknown users are made alike but not sent.
func (hr *chReceiver) tutorialCreate(ev *hook.CreateAuthChallengeEvent) error {
	var code string
	if s := ev.Request.Session; len(s) == 0 {
		var err error
		if code, err = chNewCode(); err != nil {
			return err
		}
		if !ev.Request.UserNotFound {
			hr.mu.Lock()
			hr.sent[ev.UserName] = append(hr.sent[ev.UserName], code)
			hr.mu.Unlock()
		}
	} else {
		m := chMetadataCode.FindStringSubmatch(s[len(s)-1].ChallengeMetadata)
		if m == nil {
			return errors.New("no code in the session")
		}
		code = m[1]
	}
	dest := ev.UserName // what was typed, so a decoy looks alike
	ev.Response.PublicChallengeParameters = hook.StringMap{"destination": dest[:3] + strings.Repeat("*", len(dest)-5) + dest[len(dest)-2:]}
	ev.Response.PrivateChallengeParameters = hook.StringMap{"secretLoginCode": code}
	ev.Response.ChallengeMetadata = "CODE-" + code
	return nil
}

func chTutorialVerify(ev *hook.VerifyAuthChallengeResponseEvent) error {
	ev.Response.AnswerCorrect = ev.Request.ChallengeAnswer == ev.Request.PrivateChallengeParameters["secretLoginCode"]
	return nil
}

// tutorial installs the tutorial's three handlers on the pool.
func (hr *chReceiver) tutorial(e *env) {
	hr.handle(hook.DefineAuthChallenge, chTyped(chTutorialDefine))
	hr.handle(hook.CreateAuthChallenge, chTyped(hr.tutorialCreate))
	hr.handle(hook.VerifyAuthChallengeResponse, chTyped(chTutorialVerify))
	hr.install(e, hook.DefineAuthChallenge, hook.CreateAuthChallenge, hook.VerifyAuthChallengeResponse)
}

func (e *env) chStart(username string) *cip.InitiateAuthOutput {
	e.t.Helper()
	out, err := e.initiate(types.AuthFlowTypeCustomAuth, map[string]string{"USERNAME": username})
	if err != nil {
		e.t.Fatalf("InitiateAuth(%s): %v", username, err)
	}
	if out.ChallengeName != types.ChallengeNameTypeCustomChallenge || aws.ToString(out.Session) == "" || out.AuthenticationResult != nil {
		e.t.Fatalf("InitiateAuth(%s) = %+v, want CUSTOM_CHALLENGE", username, out)
	}
	return out
}

func (e *env) chAnswer(session, username, answer string) (*cip.RespondToAuthChallengeOutput, error) {
	return e.respond(types.ChallengeNameTypeCustomChallenge, session, map[string]string{"USERNAME": username, "ANSWER": answer})
}

func TestHookTutorialSignInOverWebhooks(t *testing.T) {
	e := newEnv(t, withWebhooks(hook.WebhookOptions{}))
	hr := newChReceiver(t)
	hr.tutorial(e)
	e.signUp(testPhone)

	t.Run("wrong, wrong, right", func(t *testing.T) {
		init := e.chStart(testPhone)
		code := hr.lastSent(testPhone)
		want := map[string]string{"USERNAME": testPhone, "destination": "+14*******71"}
		if !maps.Equal(init.ChallengeParameters, want) {
			t.Fatalf("ChallengeParameters %v, want %v", init.ChallengeParameters, want)
		}
		session := aws.ToString(init.Session)
		for i := range 2 {
			out, err := e.chAnswer(session, testPhone, wrongCode(code))
			if err != nil {
				t.Fatalf("wrong answer %d: %v", i+1, err)
			}
			if out.ChallengeName != types.ChallengeNameTypeCustomChallenge || out.AuthenticationResult != nil || aws.ToString(out.Session) == session {
				t.Fatalf("wrong answer %d: %+v, want the challenge again under a new Session", i+1, out)
			}
			if !maps.Equal(out.ChallengeParameters, want) {
				t.Fatalf("ChallengeParameters %v, want %v", out.ChallengeParameters, want)
			}
			if got := hr.last(hook.CreateAuthChallenge).req.session; len(got) != i+1 || got[i].ChallengeMetadata != "CODE-"+code {
				t.Fatalf("create saw session %+v: the code is not carried in challengeMetadata", got)
			}
			session = aws.ToString(out.Session)
		}
		out, err := e.chAnswer(session, testPhone, code)
		if err != nil || out.AuthenticationResult == nil {
			t.Fatalf("right answer: %+v, %v", out, err)
		}
		e.verifyTokens(out.AuthenticationResult, testPhone)
		if n := hr.sentCount(testPhone); n != 1 {
			t.Errorf("%d codes sent in one session, want 1", n)
		}
		if len(e.outbox.Messages(testPhone)) != 0 {
			t.Error("Latchkey sent a code of its own although a hook creates the challenge")
		}
		_, err = e.chAnswer(session, testPhone, code)
		apiErr(t, err, "NotAuthorizedException", "")
		// No secret of the flow in Latchkey's log: the code (in the
		// private parameters and the metadata), the hooks' secret.
		if logs := e.logs.String(); strings.Contains(logs, code) || strings.Contains(logs, hr.secret) {
			t.Errorf("the log shows the code or the hook secret:\n%s", logs)
		}
	})

	t.Run("three wrong answers", func(t *testing.T) {
		init := e.chStart(testPhone)
		code := hr.lastSent(testPhone)
		session := aws.ToString(init.Session)
		for i := range 2 {
			out, err := e.chAnswer(session, testPhone, wrongCode(code))
			if err != nil {
				t.Fatalf("wrong answer %d: %v", i+1, err)
			}
			session = aws.ToString(out.Session)
		}
		_, err := e.chAnswer(session, testPhone, wrongCode(code))
		apiErr(t, err, "NotAuthorizedException", "Incorrect username or password.")
		_, err = e.chAnswer(session, testPhone, code)
		apiErr(t, err, "NotAuthorizedException", "")
	})
}

// A hooked sign-in's Session expires as a built-in one does.
func TestHookSessionExpires(t *testing.T) {
	e := newEnv(t, withWebhooks(hook.WebhookOptions{}))
	hr := newChReceiver(t)
	hr.tutorial(e)
	e.signUp(testPhone)
	init := e.chStart(testPhone)
	e.clock.Advance(e.pool.Settings.SessionTTL)
	_, err := e.chAnswer(aws.ToString(init.Session), testPhone, hr.lastSent(testPhone))
	apiErr(t, err, "NotAuthorizedException", "Invalid session for the user, session is expired.")
	if n := len(hr.calls(hook.VerifyAuthChallengeResponse)); n != 0 {
		t.Fatalf("verify ran %d times for an expired session", n)
	}
}

// A sign-in keeps the state machine it started with when the pool's hooks
// are removed meanwhile: the built-in steps take over (a wrong answer, as
// the hook's challenge cannot be checked without its verify hook, then a
// code of Latchkey's own), and it can still succeed.
func TestHookRemovedMidSignIn(t *testing.T) {
	e := newEnv(t, withWebhooks(hook.WebhookOptions{}))
	hr := newChReceiver(t)
	hr.tutorial(e)
	e.signUp(testPhone)
	init := e.chStart(testPhone)
	hr.install(e) // no triggers
	out, err := e.chAnswer(aws.ToString(init.Session), testPhone, hr.lastSent(testPhone))
	if err != nil || out.ChallengeName != types.ChallengeNameTypeCustomChallenge || out.ChallengeParameters["CODE_DELIVERY_DELIVERY_MEDIUM"] != "SMS" {
		t.Fatalf("answer after the hooks were removed: %+v, %v", out, err)
	}
	out, err = e.chAnswer(aws.ToString(out.Session), testPhone, e.lastCode(testPhone))
	if err != nil || out.AuthenticationResult == nil {
		t.Fatalf("the built-in code: %+v, %v", out, err)
	}
}

// A flow other than the built-in code, defined only by webhooks: a code,
// then "what is your favourite colour"; tokens only after both.
func TestHookTwoStepChallenge(t *testing.T) {
	e := newEnv(t, withWebhooks(hook.WebhookOptions{}))
	hr := newChReceiver(t)
	e.signUp(testPhone)
	hr.handle(hook.DefineAuthChallenge, chTyped(func(ev *hook.DefineAuthChallengeEvent) error {
		s := ev.Request.Session
		switch {
		case len(s) > 0 && !s[len(s)-1].ChallengeResult:
			ev.Response.FailAuthentication = true
		case len(s) == 2:
			ev.Response.IssueTokens = true
		default:
			ev.Response.ChallengeName = hook.ChallengeCustom
		}
		return nil
	}))
	hr.handle(hook.CreateAuthChallenge, chTyped(func(ev *hook.CreateAuthChallengeEvent) error {
		if len(ev.Request.Session) == 0 {
			code, err := chNewCode()
			if err != nil {
				return err
			}
			hr.mu.Lock()
			hr.sent[ev.UserName] = append(hr.sent[ev.UserName], code)
			hr.mu.Unlock()
			ev.Response.PublicChallengeParameters = hook.StringMap{"step": "code"}
			ev.Response.PrivateChallengeParameters = hook.StringMap{"answer": code}
			ev.Response.ChallengeMetadata = "CODE-" + code
			return nil
		}
		ev.Response.PublicChallengeParameters = hook.StringMap{"step": "question", "question": "What is your favourite colour?"}
		ev.Response.PrivateChallengeParameters = hook.StringMap{"answer": "blue"}
		ev.Response.ChallengeMetadata = "QUESTION"
		return nil
	}))
	hr.handle(hook.VerifyAuthChallengeResponse, chTyped(func(ev *hook.VerifyAuthChallengeResponseEvent) error {
		ev.Response.AnswerCorrect = strings.EqualFold(ev.Request.ChallengeAnswer, ev.Request.PrivateChallengeParameters["answer"])
		return nil
	}))
	hr.install(e, hook.DefineAuthChallenge, hook.CreateAuthChallenge, hook.VerifyAuthChallengeResponse)

	init := e.chStart(testPhone)
	if init.ChallengeParameters["step"] != "code" {
		t.Fatalf("first challenge %v", init.ChallengeParameters)
	}
	code := hr.lastSent(testPhone)
	q, err := e.chAnswer(aws.ToString(init.Session), testPhone, code)
	if err != nil {
		t.Fatalf("code: %v", err)
	}
	if q.AuthenticationResult != nil {
		t.Fatal("tokens after the first step")
	}
	if q.ChallengeName != types.ChallengeNameTypeCustomChallenge || q.ChallengeParameters["question"] != "What is your favourite colour?" ||
		q.ChallengeParameters["USERNAME"] != testPhone {
		t.Fatalf("second challenge %+v", q)
	}
	out, err := e.chAnswer(aws.ToString(q.Session), testPhone, "Blue")
	if err != nil || out.AuthenticationResult == nil {
		t.Fatalf("second answer: %+v, %v", out, err)
	}
	e.verifyTokens(out.AuthenticationResult, testPhone)
	// The session define received last is Cognito's array, exactly.
	wantSession := `[{"challengeName":"CUSTOM_CHALLENGE","challengeResult":true,"challengeMetadata":"CODE-` + code + `"},` +
		`{"challengeName":"CUSTOM_CHALLENGE","challengeResult":true,"challengeMetadata":"QUESTION"}]`
	if got := string(hr.last(hook.DefineAuthChallenge).req.Session); got != wantSession {
		t.Fatalf("define's session:\n got %s\nwant %s", got, wantSession)
	}
	if got := string(hr.calls(hook.DefineAuthChallenge)[0].req.Session); got != "[]" {
		t.Fatalf("define's first session: %s, want []", got)
	}
	// The verify hook saw each step's private parameters.
	verifies := hr.calls(hook.VerifyAuthChallengeResponse)
	if len(verifies) != 2 || verifies[0].req.Private["answer"] != code || verifies[1].req.Private["answer"] != "blue" {
		t.Fatalf("verify calls %+v", verifies)
	}

	// A wrong colour after the right code fails the sign-in.
	init = e.chStart(testPhone)
	q, err = e.chAnswer(aws.ToString(init.Session), testPhone, hr.lastSent(testPhone))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.chAnswer(aws.ToString(q.Session), testPhone, "green")
	apiErr(t, err, "NotAuthorizedException", "Incorrect username or password.")
	// So does a wrong code, before any question.
	init = e.chStart(testPhone)
	_, err = e.chAnswer(aws.ToString(init.Session), testPhone, wrongCode(hr.lastSent(testPhone)))
	apiErr(t, err, "NotAuthorizedException", "Incorrect username or password.")
}

// A broken DefineAuthChallenge hook: each failure reaches the client as
// Cognito reports it, and the server keeps serving.
func TestHookFailuresOverWebhooks(t *testing.T) {
	e := newEnv(t, withWebhooks(hook.WebhookOptions{Timeout: 300 * time.Millisecond}))
	hr := newChReceiver(t)
	hr.tutorial(e)
	e.signUp(testPhone)
	signIn := func(t *testing.T) {
		t.Helper()
		hr.handle(hook.DefineAuthChallenge, chTyped(chTutorialDefine))
		init := e.chStart(testPhone)
		out, err := e.chAnswer(aws.ToString(init.Session), testPhone, hr.lastSent(testPhone))
		if err != nil || out.AuthenticationResult == nil {
			t.Fatalf("a normal sign-in after the failure: %+v, %v", out, err)
		}
	}
	answer := func(status int, body string) chHandler {
		return func(w http.ResponseWriter, _ *http.Request, _ *hook.Event) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	tests := []struct {
		name    string
		handler chHandler
		typ     string
		message string
	}{
		{"timeout", func(w http.ResponseWriter, r *http.Request, _ *hook.Event) {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}, "UnexpectedLambdaException", "DefineAuthChallenge invocation failed: the hook did not answer in time."},
		{"500 with a message", answer(http.StatusInternalServerError, `{"errorMessage":"nope"}`),
			"UserLambdaValidationException", "DefineAuthChallenge failed with error nope."},
		{"not JSON", answer(http.StatusOK, `<html>hello</html>`),
			"InvalidLambdaResponseException", "Invalid DefineAuthChallenge response: the answer is not JSON; answer with the event, its response filled."},
		{"wrong shape", answer(http.StatusOK, `{"response":{"issueTokens":"yes","failAuthentication":false}}`),
			"InvalidLambdaResponseException", "Invalid DefineAuthChallenge response: issueTokens must be a boolean, not a string."},
		{"unsupported challenge", answer(http.StatusOK, `{"response":{"challengeName":"PASSWORD_VERIFIER","issueTokens":false,"failAuthentication":false}}`),
			"InvalidLambdaResponseException", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hr.handle(hook.DefineAuthChallenge, tc.handler)
			start := time.Now()
			_, err := e.initiate(types.AuthFlowTypeCustomAuth, map[string]string{"USERNAME": testPhone})
			apiErr(t, err, tc.typ, tc.message)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("the failure took %v", d)
			}
			signIn(t)
			// The same failure in the middle of a sign-in, after an answer.
			init := e.chStart(testPhone)
			hr.handle(hook.DefineAuthChallenge, tc.handler)
			_, err = e.chAnswer(aws.ToString(init.Session), testPhone, hr.lastSent(testPhone))
			apiErr(t, err, tc.typ, tc.message)
			signIn(t)
		})
	}
	if logs := e.logs.String(); strings.Contains(logs, hr.secret) || strings.Contains(logs, "/"+hook.DefineAuthChallenge) {
		t.Errorf("the log shows the hook's secret or URL path:\n%s", logs)
	}
}

// An unknown user (the pool hides existence): the hooks are called with
// userNotFound, the responses look alike field by field, and no tokens.
func TestHookUnknownUserOverWebhooks(t *testing.T) {
	const unknownPhone = "+14155550100"
	e := newEnv(t, withWebhooks(hook.WebhookOptions{}))
	hr := newChReceiver(t)
	hr.tutorial(e)
	e.signUp(testPhone)

	known, stranger := e.chStart(testPhone), e.chStart(unknownPhone)
	sameShape := func(what string, a, b map[string]string) {
		t.Helper()
		if len(a) != len(b) {
			t.Fatalf("%s: parameters differ: %v and %v", what, a, b)
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || len(v) != len(w) {
				t.Fatalf("%s: parameter %s differs: %q and %q", what, k, v, w)
			}
		}
	}
	sameShape("InitiateAuth", known.ChallengeParameters, stranger.ChallengeParameters)
	if known.ChallengeName != stranger.ChallengeName || len(aws.ToString(known.Session)) != len(aws.ToString(stranger.Session)) {
		t.Fatalf("InitiateAuth differs:\n known   %+v\n unknown %+v", known, stranger)
	}
	for _, trigger := range []string{hook.DefineAuthChallenge, hook.CreateAuthChallenge} {
		r := hr.last(trigger)
		if r.req.UserNotFound == nil || !*r.req.UserNotFound || len(r.req.UserAttributes) != 0 || r.header.UserName != unknownPhone {
			t.Fatalf("%s for an unknown user: %+v %+v", trigger, r.header, r.req)
		}
	}
	kOut, kErr := e.chAnswer(aws.ToString(known.Session), testPhone, "000000")
	uOut, uErr := e.chAnswer(aws.ToString(stranger.Session), unknownPhone, "000000")
	if kErr != nil || uErr != nil || kOut.ChallengeName != uOut.ChallengeName ||
		len(aws.ToString(kOut.Session)) != len(aws.ToString(uOut.Session)) {
		t.Fatalf("wrong answers differ:\n known   %+v %v\n unknown %+v %v", kOut, kErr, uOut, uErr)
	}
	sameShape("wrong answer", kOut.ChallengeParameters, uOut.ChallengeParameters)
	v := hr.last(hook.VerifyAuthChallengeResponse)
	if v.req.UserNotFound == nil || !*v.req.UserNotFound {
		t.Fatalf("verify for an unknown user: %+v", v.req)
	}
	// Even the decoy's own code gets no tokens, with the error a failed
	// known user gets.
	_, err := e.chAnswer(aws.ToString(uOut.Session), unknownPhone, v.req.Private["secretLoginCode"])
	apiErr(t, err, "NotAuthorizedException", "Incorrect username or password.")
	if d := hr.last(hook.DefineAuthChallenge); d.req.UserNotFound == nil || !*d.req.UserNotFound || len(d.req.session) != 2 {
		t.Fatalf("define for an unknown user: %+v", d.req)
	}
}

// PreAuthentication and PostAuthentication reject sign-ins.
func TestPrePostAuthenticationOverWebhooks(t *testing.T) {
	e := newEnv(t, withWebhooks(hook.WebhookOptions{}))
	hr := newChReceiver(t)
	e.signUp(testPhone)
	var block struct {
		sync.Mutex
		pre, post bool
	}
	hr.handle(hook.PreAuthentication, chTyped(func(ev *hook.PreAuthenticationEvent) error {
		block.Lock()
		defer block.Unlock()
		if block.pre {
			return errors.New("Sign-in is paused")
		}
		return nil
	}))
	hr.handle(hook.PostAuthentication, chTyped(func(ev *hook.PostAuthenticationEvent) error {
		block.Lock()
		defer block.Unlock()
		if block.post {
			return errors.New("Account under review")
		}
		return nil
	}))
	hr.install(e, hook.PreAuthentication, hook.PostAuthentication)
	set := func(pre, post bool) { block.Lock(); block.pre, block.post = pre, post; block.Unlock() }

	set(true, false)
	_, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": testPhone, "PREFERRED_CHALLENGE": "SMS_OTP"})
	apiErr(t, err, "UserLambdaValidationException", "PreAuthentication failed with error Sign-in is paused.")
	if len(e.outbox.Messages(testPhone)) != 0 {
		t.Fatal("a code was sent although PreAuthentication refused")
	}
	_, err = e.initiate(types.AuthFlowTypeCustomAuth, map[string]string{"USERNAME": testPhone})
	apiErr(t, err, "UserLambdaValidationException", "PreAuthentication failed with error Sign-in is paused.")
	pre := hr.last(hook.PreAuthentication)
	if pre.header.TriggerSource != hook.SourcePreAuthentication || pre.req.UserAttributes["phone_number"] != testPhone ||
		pre.req.UserNotFound == nil || *pre.req.UserNotFound {
		t.Fatalf("PreAuthentication saw %+v %+v", pre.header, pre.req)
	}

	set(false, true)
	init, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": testPhone, "PREFERRED_CHALLENGE": "SMS_OTP"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.respond(types.ChallengeNameTypeSmsOtp, aws.ToString(init.Session), map[string]string{"USERNAME": testPhone, "SMS_OTP_CODE": e.lastCode(testPhone)})
	apiErr(t, err, "UserLambdaValidationException", "PostAuthentication failed with error Account under review.")
	if out != nil && out.AuthenticationResult != nil {
		t.Fatal("tokens issued although PostAuthentication refused")
	}
	post := hr.last(hook.PostAuthentication)
	if post.header.TriggerSource != hook.SourcePostAuthentication || post.req.NewDeviceUsed == nil || *post.req.NewDeviceUsed ||
		post.req.UserAttributes["phone_number_verified"] != "true" {
		t.Fatalf("PostAuthentication saw %+v %+v", post.header, post.req)
	}

	set(false, false)
	e.signIn(testPhone, types.ChallengeNameTypeSmsOtp, testPhone)
	if n := len(hr.calls(hook.PostAuthentication)); n != 2 {
		t.Fatalf("PostAuthentication ran %d times, want 2", n)
	}
}

// A verify hook that always says no: the account's guessing budget still
// locks it, and no answer past the lock reaches the hook.
func TestHookGuessBudgetOverWebhooks(t *testing.T) {
	e := newEnv(t, withWebhooks(hook.WebhookOptions{}))
	hr := newChReceiver(t)
	hr.tutorial(e)
	hr.handle(hook.VerifyAuthChallengeResponse, chTyped(func(ev *hook.VerifyAuthChallengeResponseEvent) error {
		ev.Response.AnswerCorrect = false
		return nil
	}))
	e.signUp(testPhone)
	budget := e.pool.Settings.EffectiveLimits().Guesses.Count
	var locked error
	for i := 0; i < 100 && locked == nil; i++ {
		init, err := e.initiate(types.AuthFlowTypeCustomAuth, map[string]string{"USERNAME": testPhone})
		if err != nil {
			locked = err
			break
		}
		session := aws.ToString(init.Session)
		for range 3 {
			out, err := e.chAnswer(session, testPhone, hr.lastSent(testPhone))
			if err != nil {
				var ae interface{ ErrorCode() string }
				if errors.As(err, &ae) && ae.ErrorCode() == "TooManyFailedAttemptsException" {
					locked = err
				}
				break
			}
			session = aws.ToString(out.Session)
		}
	}
	apiErr(t, locked, "TooManyFailedAttemptsException", "")
	if n := len(hr.calls(hook.VerifyAuthChallengeResponse)); n != budget {
		t.Fatalf("verify judged %d answers, want the budget, %d", n, budget)
	}
	_, err := e.initiate(types.AuthFlowTypeCustomAuth, map[string]string{"USERNAME": testPhone})
	apiErr(t, err, "TooManyFailedAttemptsException", "")
	if slices.ContainsFunc(hr.calls(hook.VerifyAuthChallengeResponse), func(r chReceived) bool { return r.req.UserNotFound == nil }) {
		t.Fatal("a verify request without userNotFound")
	}
}
