package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// Tests of the sign-in's hook points with Go functions as hooks
// (auth.Config.HookFuncs): PreAuthentication, the custom challenge state
// machine (define / create / verify), PostAuthentication.

// chSeen is one hook invocation as its function received it.
type chSeen struct {
	trigger string
	header  hook.Header
	req     chRequest
}

// chRequest holds the request fields of every sign-in trigger.
type chRequest struct {
	UserAttributes map[string]string      `json:"userAttributes"`
	Session        []hook.ChallengeResult `json:"session"`
	ChallengeName  string                 `json:"challengeName"`
	Private        map[string]string      `json:"privateChallengeParameters"`
	Answer         string                 `json:"challengeAnswer"`
	ClientMetadata map[string]string      `json:"clientMetadata"`
	ValidationData map[string]string      `json:"validationData"`
	UserNotFound   *bool                  `json:"userNotFound"`
	NewDeviceUsed  *bool                  `json:"newDeviceUsed"`
}

// chRecorder records every hook call and the codes the tutorial's create
// "sent", by userName.
type chRecorder struct {
	mu   sync.Mutex
	seen []chSeen
	sent map[string][]string
}

func newChRecorder() *chRecorder { return &chRecorder{sent: map[string][]string{}} }

// wrap records each call of funcs before running it.
func (r *chRecorder) wrap(funcs hook.Funcs) hook.Funcs {
	out := hook.Funcs{}
	for trigger, f := range funcs {
		out[trigger] = func(ctx context.Context, ev *hook.Event) error {
			var req chRequest
			if err := json.Unmarshal(ev.Request, &req); err != nil {
				return err
			}
			r.mu.Lock()
			r.seen = append(r.seen, chSeen{trigger: trigger, header: ev.Header, req: req})
			r.mu.Unlock()
			return f(ctx, ev)
		}
	}
	return out
}

func (r *chRecorder) calls(trigger string) []chSeen {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []chSeen
	for _, s := range r.seen {
		if s.trigger == trigger {
			out = append(out, s)
		}
	}
	return out
}

func (r *chRecorder) last(t *testing.T, trigger string) chSeen {
	t.Helper()
	c := r.calls(trigger)
	if len(c) == 0 {
		t.Fatalf("%s was never called", trigger)
	}
	return c[len(c)-1]
}

func (r *chRecorder) codes(user string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent[user])
}

// chTutorialDefine is the classic passwordless DefineAuthChallenge: fail
// after 3 wrong answers, tokens after a right one, else a custom challenge.
func chTutorialDefine(_ context.Context, ev *hook.DefineAuthChallengeEvent) error {
	s := ev.Request.Session
	switch {
	case len(s) >= 3 && !s[len(s)-1].ChallengeResult:
		ev.Response.FailAuthentication = true
	case len(s) > 0 && s[len(s)-1].ChallengeResult:
		ev.Response.IssueTokens = true
	default:
		ev.Response.ChallengeName = hook.ChallengeCustom
	}
	return nil
}

var chCodeInMetadata = regexp.MustCompile(`^CODE-(\d+)$`)

// tutorialCreate is the classic CreateAuthChallenge: a new code at the
// start of a session ("sent" only to a known user), then the same code
// from the last challenge's metadata.
func (r *chRecorder) tutorialCreate(_ context.Context, ev *hook.CreateAuthChallengeEvent) error {
	var code string
	if s := ev.Request.Session; len(s) == 0 {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return err
		}
		code = fmt.Sprintf("%06d", n)
		if !ev.Request.UserNotFound {
			r.mu.Lock()
			r.sent[ev.UserName] = append(r.sent[ev.UserName], code)
			r.mu.Unlock()
		}
	} else {
		m := chCodeInMetadata.FindStringSubmatch(s[len(s)-1].ChallengeMetadata)
		if m == nil {
			return errors.New("no code in the session")
		}
		code = m[1]
	}
	// The destination from what the client typed, so a decoy looks alike.
	ev.Response.PublicChallengeParameters = hook.StringMap{"destination": chMask(ev.UserName)}
	ev.Response.PrivateChallengeParameters = hook.StringMap{"secretLoginCode": code}
	ev.Response.ChallengeMetadata = "CODE-" + code
	return nil
}

func chMask(s string) string {
	if len(s) <= 4 {
		return s
	}
	return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
}

// chTutorialVerify is the classic VerifyAuthChallengeResponse.
func chTutorialVerify(_ context.Context, ev *hook.VerifyAuthChallengeResponseEvent) error {
	ev.Response.AnswerCorrect = ev.Request.ChallengeAnswer == ev.Request.PrivateChallengeParameters["secretLoginCode"]
	return nil
}

func (r *chRecorder) tutorial() hook.Funcs {
	return hook.Funcs{
		hook.DefineAuthChallenge:         hook.Typed(chTutorialDefine),
		hook.CreateAuthChallenge:         hook.Typed(r.tutorialCreate),
		hook.VerifyAuthChallengeResponse: hook.Typed(chTutorialVerify),
	}
}

// chLog is a log sink the engine writes while tests read.
type chLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *chLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *chLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// chEngine is an engine whose every pool runs funcs as hooks, with one
// pool, one client and one signed-up user (phone).
type chEngine struct {
	e     *auth.Engine
	st    store.Store
	p     pool.Pool
	c     pool.Client
	codes *lastCodes
	log   *chLog
}

func newChEngine(t *testing.T, funcs hook.Funcs, change func(*pool.Settings)) *chEngine {
	t.Helper()
	ctx := context.Background()
	st := stores[0].open(t)
	t.Cleanup(func() { st.Close() })
	codes := &lastCodes{codes: map[string]string{}}
	logs := &chLog{}
	// A clock that stands still: errors that name a time compare equal.
	clock := newSimClock()
	e, err := auth.New(auth.Config{
		Store: st, Sender: codes, PublicURL: "http://127.0.0.1:8080", HookFuncs: funcs, Now: clock.Now,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	settings := roomySettings()
	if change != nil {
		change(&settings)
	}
	p, err := e.CreatePool(ctx, "hooks", "eu-west-1", settings)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.CreateClient(ctx, p.ID, auth.ClientOptions{Name: "hooks"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.SignUp(ctx, auth.SignUpInput{ClientID: c.ID, Username: phone}); err != nil {
		t.Fatal(err)
	}
	return &chEngine{e: e, st: st, p: p, c: c, codes: codes, log: logs}
}

func (h *chEngine) initiate(ctx context.Context, username string, metadata map[string]string) (auth.AuthResult, error) {
	return h.e.InitiateAuth(ctx, auth.InitiateAuthInput{
		ClientID: h.c.ID, AuthFlow: pool.FlowCustomAuth,
		AuthParameters: map[string]string{"USERNAME": username}, ClientMetadata: metadata,
	})
}

func (h *chEngine) respond(ctx context.Context, session, username, answer string) (auth.AuthResult, error) {
	return h.e.RespondToAuthChallenge(ctx, auth.RespondInput{
		ClientID: h.c.ID, ChallengeName: pool.ChallengeCustom, Session: session,
		ChallengeResponses: map[string]string{"USERNAME": username, "ANSWER": answer},
	})
}

func (h *chEngine) mustInitiate(t *testing.T, username string) auth.AuthResult {
	t.Helper()
	r, err := h.initiate(t.Context(), username, nil)
	if err != nil {
		t.Fatalf("InitiateAuth(%s): %v", username, err)
	}
	if r.ChallengeName != pool.ChallengeCustom || r.Session == "" || r.Tokens != nil {
		t.Fatalf("InitiateAuth(%s) = %+v, want a CUSTOM_CHALLENGE", username, r)
	}
	return r
}

// chWantKind fails t unless err is a *pool.Error of kind (and message, if
// not empty).
func chWantKind(t *testing.T, what string, err error, kind pool.Kind, message string) {
	t.Helper()
	var pe *pool.Error
	if !errors.As(err, &pe) || pe.Kind != kind {
		t.Fatalf("%s: error %v (kind %v), want kind %v", what, err, pool.KindOf(err), kind)
	}
	if message != "" && pe.Message != message {
		t.Fatalf("%s: message %q, want %q", what, pe.Message, message)
	}
}

func TestHookedTutorialSignIn(t *testing.T) {
	rec := newChRecorder()
	h := newChEngine(t, rec.wrap(rec.tutorial()), nil)
	ctx := t.Context()

	t.Run("wrong, wrong, right", func(t *testing.T) {
		r := h.mustInitiate(t, phone)
		codes := rec.codes(phone)
		if len(codes) != 1 {
			t.Fatalf("create sent %d codes, want 1", len(codes))
		}
		code := codes[0]
		want := map[string]string{"USERNAME": phone, "destination": chMask(phone)}
		if !maps.Equal(r.ChallengeParameters, want) {
			t.Fatalf("ChallengeParameters %v, want %v", r.ChallengeParameters, want)
		}
		if h.codes.get(phone) != "" {
			t.Fatal("the built-in create sent a code although a hook creates the challenge")
		}
		var history []hook.ChallengeResult
		for i := range 2 {
			prev := r.Session
			var err error
			r, err = h.respond(ctx, prev, phone, wrong(code))
			if err != nil {
				t.Fatalf("wrong answer %d: %v", i+1, err)
			}
			if r.ChallengeName != pool.ChallengeCustom || r.Session == prev || r.Tokens != nil {
				t.Fatalf("wrong answer %d: %+v, want the challenge again under a new session", i+1, r)
			}
			if !maps.Equal(r.ChallengeParameters, want) {
				t.Fatalf("ChallengeParameters %v, want %v", r.ChallengeParameters, want)
			}
			// The old session string is dead.
			if _, err := h.respond(ctx, prev, phone, code); pool.KindOf(err) != pool.KindNotAuthorized {
				t.Fatalf("answer to a replaced session: %v, want NotAuthorized", err)
			}
			history = append(history, hook.ChallengeResult{ChallengeName: hook.ChallengeCustom, ChallengeMetadata: "CODE-" + code})
			if got := rec.last(t, hook.CreateAuthChallenge).req.Session; !slices.Equal(got, history) {
				t.Fatalf("create saw session %+v, want %+v", got, history)
			}
		}
		out, err := h.respond(ctx, r.Session, phone, code)
		if err != nil || out.Tokens == nil {
			t.Fatalf("right answer: %+v, %v", out, err)
		}
		history = append(history, hook.ChallengeResult{ChallengeName: hook.ChallengeCustom, ChallengeResult: true, ChallengeMetadata: "CODE-" + code})
		if got := rec.last(t, hook.DefineAuthChallenge).req.Session; !slices.Equal(got, history) {
			t.Fatalf("define saw session %+v, want %+v", got, history)
		}
		if got := rec.last(t, hook.VerifyAuthChallengeResponse).req; got.Private["secretLoginCode"] != code || got.Answer != code {
			t.Fatalf("verify saw private %d parameters and answer %q", len(got.Private), got.Answer)
		}
		if n := len(rec.codes(phone)); n != 1 {
			t.Errorf("%d codes sent in one session, want 1 (reused through challengeMetadata)", n)
		}
		// Single use.
		if _, err := h.respond(ctx, r.Session, phone, code); pool.KindOf(err) != pool.KindNotAuthorized {
			t.Fatalf("the session answered again after tokens: %v", err)
		}
	})

	t.Run("three wrong answers", func(t *testing.T) {
		r := h.mustInitiate(t, phone)
		code := rec.codes(phone)[len(rec.codes(phone))-1]
		var err error
		for i := range 2 {
			if r, err = h.respond(ctx, r.Session, phone, wrong(code)); err != nil {
				t.Fatalf("wrong answer %d: %v", i+1, err)
			}
		}
		_, err = h.respond(ctx, r.Session, phone, wrong(code))
		chWantKind(t, "third wrong answer", err, pool.KindNotAuthorized, "Incorrect username or password.")
		// Failed for good: the right code no longer works.
		_, err = h.respond(ctx, r.Session, phone, code)
		chWantKind(t, "right answer after the failure", err, pool.KindNotAuthorized, "")
	})

	t.Run("the envelope", func(t *testing.T) {
		h.mustInitiate(t, phone)
		d := rec.last(t, hook.DefineAuthChallenge)
		if d.header.TriggerSource != hook.SourceDefineAuthChallenge || d.header.UserPoolID != h.p.ID ||
			d.header.Region != "eu-west-1" || d.header.UserName != phone || d.header.CallerContext.ClientID != h.c.ID {
			t.Fatalf("define header %+v", d.header)
		}
		if d.req.UserNotFound == nil || *d.req.UserNotFound || d.req.UserAttributes["phone_number"] != phone ||
			d.req.UserAttributes["sub"] == "" || d.req.UserAttributes["cognito:user_status"] != "CONFIRMED" {
			t.Fatalf("define request %+v", d.req)
		}
		if c := rec.last(t, hook.CreateAuthChallenge); c.req.ChallengeName != hook.ChallengeCustom {
			t.Fatalf("create asked for %q", c.req.ChallengeName)
		}
	})
}

// Only DefineAuthChallenge has a hook: create and verify are the built-in
// steps (a code sent to the username; the hash check), under the hook's
// decisions.
func TestHookedDefineWithBuiltinCreateAndVerify(t *testing.T) {
	rec := newChRecorder()
	h := newChEngine(t, rec.wrap(hook.Funcs{hook.DefineAuthChallenge: hook.Typed(chTutorialDefine)}), nil)
	ctx := t.Context()
	r := h.mustInitiate(t, phone)
	code := h.codes.get(phone)
	if code == "" {
		t.Fatal("the built-in create sent no code")
	}
	if r.ChallengeParameters["CODE_DELIVERY_DELIVERY_MEDIUM"] != "SMS" || r.ChallengeParameters["USERNAME"] != phone {
		t.Fatalf("ChallengeParameters %v", r.ChallengeParameters)
	}
	for i := range 2 {
		var err error
		if r, err = h.respond(ctx, r.Session, phone, wrong(code)); err != nil {
			t.Fatalf("wrong answer %d: %v", i+1, err)
		}
		if got := h.codes.get(phone); got != code {
			t.Fatalf("a wrong answer sent a new code")
		}
	}
	out, err := h.respond(ctx, r.Session, phone, code)
	if err != nil || out.Tokens == nil {
		t.Fatalf("right answer: %+v, %v", out, err)
	}
	want := []hook.ChallengeResult{
		{ChallengeName: hook.ChallengeCustom}, {ChallengeName: hook.ChallengeCustom}, {ChallengeName: hook.ChallengeCustom, ChallengeResult: true},
	}
	if got := rec.last(t, hook.DefineAuthChallenge).req.Session; !slices.Equal(got, want) {
		t.Fatalf("define saw %+v, want %+v", got, want)
	}
	// The built-in code proved the number: it is verified now.
	u, err := h.st.GetUserByIdentifier(ctx, h.p.ID, phone)
	if err != nil || !u.Verified("phone_number") {
		t.Fatalf("phone_number not verified after the code: %v", err)
	}
}

// An unknown user (the pool hides existence) goes through the same hooks
// with userNotFound, gets responses alike field by field, and never gets
// tokens, whatever the hooks answer.
func TestHookedUnknownUser(t *testing.T) {
	const unknown = "+14155550100"
	rec := newChRecorder()
	h := newChEngine(t, rec.wrap(rec.tutorial()), nil)
	ctx := t.Context()
	known, stranger := h.mustInitiate(t, phone), h.mustInitiate(t, unknown)
	if len(known.ChallengeParameters) != len(stranger.ChallengeParameters) || len(known.Session) != len(stranger.Session) {
		t.Fatalf("responses differ:\n known   %+v\n unknown %+v", known, stranger)
	}
	for k := range known.ChallengeParameters {
		if _, ok := stranger.ChallengeParameters[k]; !ok {
			t.Fatalf("unknown user's parameters lack %s: %v", k, stranger.ChallengeParameters)
		}
	}
	if stranger.ChallengeParameters["USERNAME"] != unknown {
		t.Fatalf("USERNAME %q", stranger.ChallengeParameters["USERNAME"])
	}
	for _, trigger := range []string{hook.DefineAuthChallenge, hook.CreateAuthChallenge} {
		s := rec.last(t, trigger)
		if s.req.UserNotFound == nil || !*s.req.UserNotFound || len(s.req.UserAttributes) != 0 || s.header.UserName != unknown {
			t.Fatalf("%s for an unknown user: %+v %+v", trigger, s.header, s.req)
		}
	}
	// Wrong answers: alike.
	k, kerr := h.respond(ctx, known.Session, phone, "000000")
	u, uerr := h.respond(ctx, stranger.Session, unknown, "000000")
	if kerr != nil || uerr != nil || k.ChallengeName != u.ChallengeName || len(k.ChallengeParameters) != len(u.ChallengeParameters) {
		t.Fatalf("wrong answers differ:\n known   %+v %v\n unknown %+v %v", k, kerr, u, uerr)
	}
	if v := rec.last(t, hook.VerifyAuthChallengeResponse); v.req.UserNotFound == nil || !*v.req.UserNotFound {
		t.Fatalf("verify for an unknown user: %+v", v.req)
	}
	// The right answer to the decoy's private code still gets no tokens.
	s := rec.last(t, hook.VerifyAuthChallengeResponse)
	_, err := h.respond(ctx, u.Session, unknown, s.req.Private["secretLoginCode"])
	chWantKind(t, "right answer for an unknown user", err, pool.KindNotAuthorized, "Incorrect username or password.")
	if got := rec.last(t, hook.DefineAuthChallenge).req.Session; len(got) != 2 || !got[1].ChallengeResult {
		t.Fatalf("define saw %+v: the verify hook's answer goes into the history as it was", got)
	}
}

// Hooks that issue tokens at once, or fail at once.
func TestHookedDefineAtStart(t *testing.T) {
	var mode struct {
		sync.Mutex
		v string
	}
	set := func(v string) { mode.Lock(); mode.v = v; mode.Unlock() }
	define := hook.Typed(func(_ context.Context, ev *hook.DefineAuthChallengeEvent) error {
		mode.Lock()
		defer mode.Unlock()
		switch mode.v {
		case "tokens":
			ev.Response.IssueTokens = true
		case "fail":
			ev.Response.FailAuthentication = true
		case "both":
			ev.Response.IssueTokens, ev.Response.FailAuthentication = true, true
		}
		return nil
	})
	h := newChEngine(t, hook.Funcs{hook.DefineAuthChallenge: define}, nil)
	ctx := t.Context()
	set("tokens")
	r, err := h.initiate(ctx, phone, nil)
	if err != nil || r.Tokens == nil || r.Session != "" {
		t.Fatalf("issueTokens at once: %+v, %v", r, err)
	}
	_, err = h.initiate(ctx, "+14155550100", nil)
	chWantKind(t, "issueTokens for an unknown user", err, pool.KindNotAuthorized, "Incorrect username or password.")
	for _, m := range []string{"fail", "both"} {
		set(m)
		_, err = h.initiate(ctx, phone, nil)
		chWantKind(t, m, err, pool.KindNotAuthorized, "Incorrect username or password.")
	}
	if h.codes.get(phone) != "" {
		t.Fatal("a code was sent")
	}
}

// A DefineAuthChallenge that never gives up cannot take more answers than
// the session's attempts.
func TestHookedSessionAttemptsCap(t *testing.T) {
	var verified int
	var mu sync.Mutex
	funcs := hook.Funcs{
		hook.DefineAuthChallenge: hook.Typed(func(_ context.Context, ev *hook.DefineAuthChallengeEvent) error {
			ev.Response.ChallengeName = hook.ChallengeCustom
			return nil
		}),
		hook.CreateAuthChallenge: hook.Typed(func(_ context.Context, ev *hook.CreateAuthChallengeEvent) error {
			ev.Response.PrivateChallengeParameters = hook.StringMap{"answer": "42"}
			return nil
		}),
		hook.VerifyAuthChallengeResponse: hook.Typed(func(_ context.Context, ev *hook.VerifyAuthChallengeResponseEvent) error {
			mu.Lock()
			verified++
			mu.Unlock()
			ev.Response.AnswerCorrect = false
			return nil
		}),
	}
	h := newChEngine(t, funcs, nil)
	ctx := t.Context()
	r := h.mustInitiate(t, phone)
	var err error
	for i := 1; i < h.p.Settings.MaxAttempts; i++ {
		if r, err = h.respond(ctx, r.Session, phone, "41"); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
	_, err = h.respond(ctx, r.Session, phone, "41")
	chWantKind(t, "last attempt", err, pool.KindNotAuthorized, "Incorrect username or password.")
	_, err = h.respond(ctx, r.Session, phone, "42")
	chWantKind(t, "past the attempts", err, pool.KindNotAuthorized, "")
	if verified != h.p.Settings.MaxAttempts {
		t.Fatalf("verify ran %d times, want %d", verified, h.p.Settings.MaxAttempts)
	}
}

// failAuthentication ends the session: the same Session string cannot be
// answered again with the history define refused.
func TestHookedFailEndsSession(t *testing.T) {
	rec := newChRecorder()
	funcs := rec.tutorial()
	funcs[hook.DefineAuthChallenge] = hook.Typed(func(_ context.Context, ev *hook.DefineAuthChallengeEvent) error {
		s := ev.Request.Session
		switch {
		case len(s) == 0:
			ev.Response.ChallengeName = hook.ChallengeCustom
		case s[len(s)-1].ChallengeResult:
			ev.Response.IssueTokens = true
		default:
			ev.Response.FailAuthentication = true // one try only
		}
		return nil
	})
	h := newChEngine(t, rec.wrap(funcs), nil)
	ctx := t.Context()
	r := h.mustInitiate(t, phone)
	code := rec.codes(phone)[0]
	_, err := h.respond(ctx, r.Session, phone, wrong(code))
	chWantKind(t, "wrong answer", err, pool.KindNotAuthorized, "Incorrect username or password.")
	_, err = h.respond(ctx, r.Session, phone, code)
	chWantKind(t, "the right answer replayed on the failed session", err, pool.KindNotAuthorized, "Invalid session for the user.")
	if n := len(rec.calls(hook.VerifyAuthChallengeResponse)); n != 1 {
		t.Fatalf("verify ran %d times, want 1", n)
	}
}

// Hook-driven verification keeps the account's guessing budget: a verify
// hook that always says no locks the account after the budget, for known
// and unknown usernames alike, and a locked account gets no challenge.
func TestHookedGuessBudget(t *testing.T) {
	rec := newChRecorder()
	funcs := rec.tutorial()
	funcs[hook.VerifyAuthChallengeResponse] = hook.Typed(func(_ context.Context, ev *hook.VerifyAuthChallengeResponseEvent) error {
		ev.Response.AnswerCorrect = false
		return nil
	})
	limits := pool.DefaultLimits()
	h := newChEngine(t, rec.wrap(funcs), func(s *pool.Settings) {
		l := *s.Limits
		l.Guesses = limits.Guesses
		l.MaxConsecutiveFailures = limits.MaxConsecutiveFailures
		s.Limits = &l
	})
	ctx := t.Context()
	lock := func(username string) error {
		t.Helper()
		for range 100 {
			r, err := h.initiate(ctx, username, nil)
			if err != nil {
				return err
			}
			for range 3 {
				r, err = h.respond(ctx, r.Session, username, "000000")
				if pool.KindOf(err) == pool.KindTooManyFailedAttempts {
					return err
				}
				if err != nil {
					break
				}
			}
		}
		t.Fatalf("%s was never locked", username)
		return nil
	}
	known, unknown := lock(phone), lock("+14155550100")
	if known.Error() != unknown.Error() {
		t.Fatalf("locked errors differ:\n known   %v\n unknown %v", known, unknown)
	}
	if evaluated := countEvents(t, h.st, auth.EventSignInFailure); evaluated != 2*limits.Guesses.Count {
		t.Fatalf("%d answers judged before both locks, want %d", evaluated, 2*limits.Guesses.Count)
	}
	if n := len(rec.calls(hook.VerifyAuthChallengeResponse)); n != 2*limits.Guesses.Count {
		t.Fatalf("verify ran %d times, want %d: a locked account's answer must not reach it", n, 2*limits.Guesses.Count)
	}
	creates := len(rec.calls(hook.CreateAuthChallenge))
	_, err := h.initiate(ctx, phone, nil)
	chWantKind(t, "sign-in of a locked account", err, pool.KindTooManyFailedAttempts, "")
	if len(rec.calls(hook.CreateAuthChallenge)) != creates {
		t.Fatal("create was asked for a challenge for a locked account")
	}
}

// A CreateAuthChallenge hook may send a message itself, so the first
// challenge of each hooked sign-in is counted against the send limits:
// per account (what the client typed, known or not) and per address. The
// challenges that follow in the same session are not.
func TestHookedChallengeSendLimits(t *testing.T) {
	rec := newChRecorder()
	h := newChEngine(t, rec.wrap(rec.tutorial()), func(s *pool.Settings) {
		l := *s.Limits
		defaults := pool.DefaultLimits()
		l.DestinationCooldown = defaults.DestinationCooldown
		l.IPHourly = pool.Rate{Count: 4, Per: time.Hour}
		s.Limits = &l
	})
	home := auth.WithCaller(t.Context(), auth.Caller{IP: "198.51.100.7"})
	elsewhere := auth.WithCaller(t.Context(), auth.Caller{IP: "203.0.113.9"})
	creates := func() int { return len(rec.calls(hook.CreateAuthChallenge)) }

	// One sign-in runs its course: its later challenges are not counted.
	r, err := h.initiate(home, phone, nil)
	if err != nil {
		t.Fatal(err)
	}
	code := rec.codes(phone)[0]
	for range 2 {
		if r, err = h.respond(home, r.Session, phone, wrong(code)); err != nil {
			t.Fatalf("a wrong answer's next challenge was refused: %v", err)
		}
	}
	if r, err = h.respond(home, r.Session, phone, code); err != nil || r.Tokens == nil {
		t.Fatalf("right answer: %+v, %v", r, err)
	}

	// A second sign-in within the cooldown is refused before the hook is
	// asked for a challenge; an unknown username gets the same answer.
	const unknown = "+14155550100"
	before := creates()
	_, knownErr := h.initiate(home, phone, nil)
	chWantKind(t, "second sign-in within the cooldown", knownErr, pool.KindLimitExceeded, "")
	if creates() != before {
		t.Fatal("create was asked for a challenge the send limits refused")
	}
	if _, err := h.initiate(elsewhere, unknown, nil); err != nil {
		t.Fatalf("first sign-in of an unknown user: %v", err)
	}
	_, unknownErr := h.initiate(elsewhere, unknown, nil)
	if knownErr.Error() != unknownErr.Error() {
		t.Fatalf("cooldown errors differ:\n known   %v\n unknown %v", knownErr, unknownErr)
	}

	// The address limit: 4 an hour from one address, whoever is named.
	for i := range 3 {
		if _, err := h.initiate(elsewhere, fmt.Sprintf("+1415555020%d", i), nil); err != nil {
			t.Fatalf("sign-in %d from one address: %v", i+2, err)
		}
	}
	before = creates()
	_, err = h.initiate(elsewhere, "+14155550209", nil)
	chWantKind(t, "fifth sign-in from one address in an hour", err, pool.KindTooManyRequests, "")
	if creates() != before {
		t.Fatal("create was asked for a challenge the address limit refused")
	}
	if n := countEvents(t, h.st, auth.EventLimitTripped); n != 3 {
		t.Fatalf("%d limit_tripped audit events, want 3", n)
	}
}

// Parallel right answers to one hooked session: tokens once.
func TestHookedParallelRightAnswers(t *testing.T) {
	rec := newChRecorder()
	h := newChEngine(t, rec.tutorial(), nil)
	r := h.mustInitiate(t, phone)
	code := rec.codes(phone)[0]
	var wg sync.WaitGroup
	var mu sync.Mutex
	tokens := 0
	for range 20 {
		wg.Go(func() {
			out, err := h.respond(context.Background(), r.Session, phone, code)
			if err == nil && out.Tokens != nil {
				mu.Lock()
				tokens++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if tokens != 1 {
		t.Fatalf("%d answers got tokens, want 1", tokens)
	}
}

func TestPreAuthentication(t *testing.T) {
	rec := newChRecorder()
	funcs := rec.tutorial()
	funcs[hook.PreAuthentication] = hook.Typed(func(_ context.Context, ev *hook.PreAuthenticationEvent) error {
		if ev.Request.ValidationData["block"] == "yes" {
			return errors.New("Sign-in is closed for maintenance")
		}
		return nil
	})
	h := newChEngine(t, rec.wrap(funcs), nil)
	ctx := t.Context()

	_, err := h.initiate(ctx, phone, map[string]string{"block": "yes"})
	chWantKind(t, "blocked sign-in", err, pool.KindUserLambdaValidation, "PreAuthentication failed with error Sign-in is closed for maintenance.")
	if n := len(rec.calls(hook.DefineAuthChallenge)); n != 0 {
		t.Fatalf("define ran %d times after PreAuthentication refused", n)
	}
	pre := rec.last(t, hook.PreAuthentication)
	if pre.header.TriggerSource != hook.SourcePreAuthentication || pre.req.ValidationData["block"] != "yes" ||
		pre.req.UserAttributes["phone_number"] != phone || pre.req.UserNotFound == nil || *pre.req.UserNotFound {
		t.Fatalf("PreAuthentication saw %+v %+v", pre.header, pre.req)
	}

	// The built-in USER_AUTH flow too, before a code is sent.
	_, err = h.e.InitiateAuth(ctx, auth.InitiateAuthInput{
		ClientID: h.c.ID, AuthFlow: pool.FlowUserAuth, ClientMetadata: map[string]string{"block": "yes"},
		AuthParameters: map[string]string{"USERNAME": phone, "PREFERRED_CHALLENGE": pool.ChallengeSMSOTP},
	})
	chWantKind(t, "blocked USER_AUTH", err, pool.KindUserLambdaValidation, "")
	if h.codes.get(phone) != "" {
		t.Fatal("a code was sent although PreAuthentication refused")
	}

	// An unknown user: called with userNotFound, as Cognito does when
	// the pool hides existence.
	h.mustInitiate(t, "+14155550100")
	if pre := rec.last(t, hook.PreAuthentication); pre.req.UserNotFound == nil || !*pre.req.UserNotFound || len(pre.req.UserAttributes) != 0 {
		t.Fatalf("PreAuthentication for an unknown user saw %+v", pre.req)
	}
	// Without metadata the field is left out.
	h.mustInitiate(t, phone)
	if pre := rec.last(t, hook.PreAuthentication); pre.req.ValidationData != nil {
		t.Fatalf("validationData %v without ClientMetadata", pre.req.ValidationData)
	}
}

func TestPostAuthentication(t *testing.T) {
	rec := newChRecorder()
	funcs := rec.tutorial()
	funcs[hook.PostAuthentication] = hook.Typed(func(_ context.Context, ev *hook.PostAuthenticationEvent) error {
		if ev.Request.ClientMetadata["refuse"] == "yes" {
			return errors.New("Account under review")
		}
		return nil
	})
	h := newChEngine(t, rec.wrap(funcs), nil)
	ctx := t.Context()
	answer := func(metadata map[string]string) (auth.AuthResult, error) {
		r := h.mustInitiate(t, phone)
		codes := rec.codes(phone)
		return h.e.RespondToAuthChallenge(ctx, auth.RespondInput{
			ClientID: h.c.ID, ChallengeName: pool.ChallengeCustom, Session: r.Session, ClientMetadata: metadata,
			ChallengeResponses: map[string]string{"USERNAME": phone, "ANSWER": codes[len(codes)-1]},
		})
	}
	out, err := answer(map[string]string{"refuse": "yes"})
	chWantKind(t, "refused sign-in", err, pool.KindUserLambdaValidation, "PostAuthentication failed with error Account under review.")
	if out.Tokens != nil {
		t.Fatal("tokens issued although PostAuthentication refused")
	}
	post := rec.last(t, hook.PostAuthentication)
	if post.header.TriggerSource != hook.SourcePostAuthentication || post.req.NewDeviceUsed == nil || *post.req.NewDeviceUsed ||
		post.req.ClientMetadata["refuse"] != "yes" || post.req.UserAttributes["phone_number"] != phone {
		t.Fatalf("PostAuthentication saw %+v %+v", post.header, post.req)
	}
	if n := countEvents(t, h.st, auth.EventSignInSuccess); n != 0 {
		t.Fatalf("%d sign-in successes recorded", n)
	}
	if out, err = answer(nil); err != nil || out.Tokens == nil {
		t.Fatalf("accepted sign-in: %+v, %v", out, err)
	}

	// The built-in flow runs it too.
	r, err := h.e.InitiateAuth(ctx, auth.InitiateAuthInput{
		ClientID: h.c.ID, AuthFlow: pool.FlowUserAuth,
		AuthParameters: map[string]string{"USERNAME": phone, "PREFERRED_CHALLENGE": pool.ChallengeSMSOTP},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.e.RespondToAuthChallenge(ctx, auth.RespondInput{
		ClientID: h.c.ID, ChallengeName: pool.ChallengeSMSOTP, Session: r.Session, ClientMetadata: map[string]string{"refuse": "yes"},
		ChallengeResponses: map[string]string{"USERNAME": phone, "SMS_OTP_CODE": h.codes.get(phone)},
	})
	chWantKind(t, "refused built-in sign-in", err, pool.KindUserLambdaValidation, "PostAuthentication failed with error Account under review.")
}

// Hook failures reach the caller with Cognito's kinds, and a challenge's
// private parameters appear in no log line and no error.
func TestHookedFailuresAndSecrets(t *testing.T) {
	const secret = "PRIVATE-7f3a9c"
	var mode struct {
		sync.Mutex
		v string
	}
	set := func(v string) { mode.Lock(); mode.v = v; mode.Unlock() }
	get := func() string { mode.Lock(); defer mode.Unlock(); return mode.v }
	funcs := hook.Funcs{
		hook.DefineAuthChallenge: hook.Typed(chTutorialDefine),
		hook.CreateAuthChallenge: func(_ context.Context, ev *hook.Event) error {
			if get() == "bad create" {
				ev.Response = json.RawMessage(`{"privateChallengeParameters":{"answer":7},"publicChallengeParameters":{}}`)
				return nil
			}
			ev.Response = json.RawMessage(`{"publicChallengeParameters":{"q":"?"},"privateChallengeParameters":{"answer":"` + secret + `"},"challengeMetadata":"M"}`)
			return nil
		},
		hook.VerifyAuthChallengeResponse: hook.Typed(func(_ context.Context, ev *hook.VerifyAuthChallengeResponseEvent) error {
			switch get() {
			case "verify error":
				return errors.New("nope")
			case "verify panic":
				panic(ev.Request.PrivateChallengeParameters["answer"])
			}
			ev.Response.AnswerCorrect = ev.Request.ChallengeAnswer == ev.Request.PrivateChallengeParameters["answer"]
			return nil
		}),
	}
	h := newChEngine(t, funcs, nil)
	ctx := t.Context()
	var errs []error

	set("bad create")
	_, err := h.initiate(ctx, phone, nil)
	chWantKind(t, "bad create", err, pool.KindInvalidLambdaResponse, "")
	errs = append(errs, err)

	set("")
	r := h.mustInitiate(t, phone)
	if r.ChallengeParameters["q"] != "?" || len(r.ChallengeParameters) != 2 {
		t.Fatalf("ChallengeParameters %v", r.ChallengeParameters)
	}
	set("verify error")
	_, err = h.respond(ctx, r.Session, phone, "x")
	chWantKind(t, "verify error", err, pool.KindUserLambdaValidation, "VerifyAuthChallengeResponse failed with error nope.")
	errs = append(errs, err)
	set("verify panic")
	_, err = h.respond(ctx, r.Session, phone, "x")
	chWantKind(t, "verify panic", err, pool.KindUnexpectedLambda, "")
	errs = append(errs, err)
	// The failed calls spent the session's attempts but judged nothing;
	// with one attempt left the right answer still works.
	set("")
	out, err := h.respond(ctx, r.Session, phone, secret)
	if err != nil || out.Tokens == nil {
		t.Fatalf("right answer after hook failures: %+v, %v", out, err)
	}
	for _, err := range errs {
		if strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), secret) {
			t.Errorf("an error shows the private parameter: %v", err)
		}
	}
	if strings.Contains(h.log.String(), secret) {
		t.Errorf("the log shows the private parameter:\n%s", h.log.String())
	}
	// The parameters type does not print them.
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if strings.Contains(fmt.Sprintf(f, pool.PrivateParameters{"answer": secret}), secret) {
			t.Errorf("fmt %s of private parameters shows them", f)
		}
	}
	// The store keeps them sealed: a copy of the database does not show
	// them. (A session row is found by the SHA-256 of its Session string.)
	live := h.mustInitiate(t, phone)
	hash := sha256.Sum256([]byte(live.Session))
	stored, err := h.st.GetSession(ctx, hash[:])
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Custom.SealedPrivate) == 0 {
		t.Fatal("the stored session has no private parameters")
	}
	if strings.Contains(fmt.Sprintf("%+v %s", stored, stored.Custom.SealedPrivate), secret) {
		t.Fatal("the stored session holds the private parameters in clear")
	}
	if out, err := h.respond(ctx, live.Session, phone, secret); err != nil || out.Tokens == nil {
		t.Fatalf("right answer to a sealed challenge: %+v, %v", out, err)
	}
}

// Sealed private parameters are bound to their session: moved into
// another session's row, they do not open, and the sign-in fails closed
// with an internal error instead of verifying against them.
func TestHookedSealedParametersBoundToSession(t *testing.T) {
	rec := newChRecorder()
	h := newChEngine(t, rec.wrap(rec.tutorial()), nil)
	ctx := t.Context()
	stored := func(session string) pool.AuthSession {
		t.Helper()
		hash := sha256.Sum256([]byte(session))
		s, err := h.st.GetSession(ctx, hash[:])
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := h.mustInitiate(t, phone), h.mustInitiate(t, phone)
	codeA := rec.codes(phone)[0]
	sa, sb := stored(a.Session), stored(b.Session)
	next := sb
	next.Custom.SealedPrivate = sa.Custom.SealedPrivate
	if err := h.st.ReplaceSession(ctx, sb.TokenHash, next); err != nil {
		t.Fatal(err)
	}
	_, err := h.respond(ctx, b.Session, phone, codeA)
	chWantKind(t, "answer to a session holding another session's sealed parameters", err, pool.KindInternal, "")
	if n := len(rec.calls(hook.VerifyAuthChallengeResponse)); n != 0 {
		t.Fatalf("verify ran %d times with parameters that did not open", n)
	}
}
