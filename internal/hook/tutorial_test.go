package hook_test

// The classic passwordless sign-in of Cognito's tutorials, written as three
// webhook receivers in Go (what a team ports its Lambda triggers to), and a
// simulated engine that drives them through a Router as Latchkey's will.

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hook"
)

// tutorialReceiver serves /define, /create and /verify with the tutorial's
// logic. Codes "sent" by /create land in outbox, by username.
type tutorialReceiver struct {
	secret string
	guard  *hook.ReplayGuard

	mu     sync.Mutex
	outbox map[string][]string
}

func (tr *tutorialReceiver) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /define", receive(t, tr, tr.define))
	mux.HandleFunc("POST /create", receive(t, tr, tr.create))
	mux.HandleFunc("POST /verify", receive(t, tr, tr.verify))
	return mux
}

// receive is the few lines of glue a receiver needs: verify the
// signature, decode the event, run the handler, answer the event or the
// handler's error as {"errorMessage": …}.
func receive[Req, Resp any](t *testing.T, tr *tutorialReceiver, handle func(*hook.TypedEvent[Req, Resp]) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read", http.StatusBadRequest)
			return
		}
		if err := tr.guard.Verify(tr.secret, r.Header, body, testNow); err != nil {
			t.Errorf("receiver: %v", err)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		var ev hook.TypedEvent[Req, Resp]
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if err := handle(&ev); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]string{"errorMessage": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(ev)
	}
}

// define: fail after 3 wrong answers, issue tokens after a right one,
// otherwise ask a custom challenge.
func (tr *tutorialReceiver) define(ev *hook.DefineAuthChallengeEvent) error {
	s := ev.Request.Session
	switch {
	case slices.ContainsFunc(s, func(c hook.ChallengeResult) bool { return c.ChallengeName != hook.ChallengeCustom }):
		ev.Response.IssueTokens, ev.Response.FailAuthentication = false, true
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

var codeInMetadata = regexp.MustCompile(`CODE-(\d+)`)

// create: a new code for a new session, sent; later challenges of the
// session reuse it from the last challenge's metadata.
func (tr *tutorialReceiver) create(ev *hook.CreateAuthChallengeEvent) error {
	var code string
	if s := ev.Request.Session; len(s) == 0 {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return err
		}
		code = fmt.Sprintf("%06d", n)
		tr.mu.Lock()
		tr.outbox[ev.UserName] = append(tr.outbox[ev.UserName], code)
		tr.mu.Unlock()
	} else {
		m := codeInMetadata.FindStringSubmatch(s[len(s)-1].ChallengeMetadata)
		if m == nil {
			return fmt.Errorf("no code in the session")
		}
		code = m[1]
	}
	ev.Response.PublicChallengeParameters = hook.StringMap{"phone": ev.Request.UserAttributes["phone_number"]}
	ev.Response.PrivateChallengeParameters = hook.StringMap{"answer": code}
	ev.Response.ChallengeMetadata = "CODE-" + code
	return nil
}

// verify: the answer is right when it is the private answer.
func (tr *tutorialReceiver) verify(ev *hook.VerifyAuthChallengeResponseEvent) error {
	ev.Response.AnswerCorrect = ev.Request.ChallengeAnswer == ev.Request.PrivateChallengeParameters["answer"]
	return nil
}

func (tr *tutorialReceiver) sent(user string) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.outbox[user])
}

// signIn is a simulated engine's sign-in session: the Cognito state
// machine of CUSTOM_AUTH, calling the hooks through a Router.
type signIn struct {
	t       *testing.T
	r       *hook.Router
	user    string
	session hook.Session
	private hook.StringMap
	meta    string
	public  hook.StringMap
}

func (s *signIn) header(source string) hook.Header {
	return hook.Header{
		Version: "1", TriggerSource: source, Region: "eu-west-1", UserPoolID: "eu-west-1_AbCdEfGhI",
		UserName: s.user, CallerContext: hook.CallerContext{AWSSDKVersion: "aws-sdk-unknown-unknown", ClientID: "abcdefghijklmnopqrstuvwxyz"},
	}
}

func (s *signIn) attrs() hook.StringMap {
	return hook.StringMap{"sub": "1b0c2f6e-0000-4000-8000-000000000001", "phone_number": s.user, "phone_number_verified": "true"}
}

// next runs define and, when it asks, create; it returns "tokens",
// "fail" or "challenge".
func (s *signIn) next() string {
	s.t.Helper()
	ctx := s.t.Context()
	ev, err := hook.DefineAuthChallengeEvent{
		Header:  s.header(hook.SourceDefineAuthChallenge),
		Request: hook.DefineAuthChallengeRequest{UserAttributes: s.attrs(), Session: s.session},
	}.Encode()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.r.Invoke(ctx, hook.DefineAuthChallenge, ev); err != nil {
		s.t.Fatalf("define: %v", err)
	}
	def, err := hook.DecodeDefineAuthChallenge(ev.Response)
	if err != nil {
		s.t.Fatal(err)
	}
	switch {
	case def.FailAuthentication:
		return "fail"
	case def.IssueTokens:
		return "tokens"
	}
	ev, err = hook.CreateAuthChallengeEvent{
		Header: s.header(hook.SourceCreateAuthChallenge),
		Request: hook.CreateAuthChallengeRequest{
			UserAttributes: s.attrs(), ChallengeName: def.ChallengeName, Session: s.session,
		},
	}.Encode()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.r.Invoke(ctx, hook.CreateAuthChallenge, ev); err != nil {
		s.t.Fatalf("create: %v", err)
	}
	cr, err := hook.DecodeCreateAuthChallenge(ev.Response)
	if err != nil {
		s.t.Fatal(err)
	}
	s.public, s.private, s.meta = cr.PublicChallengeParameters, cr.PrivateChallengeParameters, cr.ChallengeMetadata
	return "challenge"
}

// answer runs verify on answer, records the result in the session as
// Cognito does, and runs next.
func (s *signIn) answer(answer string) string {
	s.t.Helper()
	ev, err := hook.VerifyAuthChallengeResponseEvent{
		Header: s.header(hook.SourceVerifyAuthChallengeResponse),
		Request: hook.VerifyAuthChallengeRequest{
			UserAttributes: s.attrs(), PrivateChallengeParameters: s.private, ChallengeAnswer: answer,
		},
	}.Encode()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.r.Invoke(s.t.Context(), hook.VerifyAuthChallengeResponse, ev); err != nil {
		s.t.Fatalf("verify: %v", err)
	}
	v, err := hook.DecodeVerifyAuthChallenge(ev.Response)
	if err != nil {
		s.t.Fatal(err)
	}
	s.session = append(s.session, hook.ChallengeResult{
		ChallengeName: hook.ChallengeCustom, ChallengeResult: v.AnswerCorrect, ChallengeMetadata: s.meta,
	})
	return s.next()
}

func TestTutorialPasswordlessFlow(t *testing.T) {
	secret := testSecret(t)
	tr := &tutorialReceiver{secret: secret, guard: hook.NewReplayGuard(time.Minute), outbox: map[string][]string{}}
	srv := httptest.NewServer(tr.handler(t))
	t.Cleanup(srv.Close)
	router, err := newWebhooks(hook.WebhookOptions{}).Router(hook.Config{
		Triggers: map[string]hook.TriggerConfig{
			hook.DefineAuthChallenge:         {URL: srv.URL + "/define"},
			hook.CreateAuthChallenge:         {URL: srv.URL + "/create"},
			hook.VerifyAuthChallengeResponse: {URL: srv.URL + "/verify"},
		},
		Secret: secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	start := func(user string) *signIn {
		s := &signIn{t: t, r: router, user: user}
		if got := s.next(); got != "challenge" {
			t.Fatalf("initiate: %s, want a challenge", got)
		}
		if s.public["phone"] != user {
			t.Fatalf("public parameters %v", s.public)
		}
		return s
	}
	wrong := func(code string) string {
		if code == "000000" {
			return "000001"
		}
		return "000000"
	}

	t.Run("right answer after two wrong ones", func(t *testing.T) {
		s := start("+447700900001")
		sent := tr.sent(s.user)
		if len(sent) != 1 || s.meta != "CODE-"+sent[0] {
			t.Fatalf("sent %v, metadata %q", sent, s.meta)
		}
		code := sent[0]
		for i := range 2 {
			if got := s.answer(wrong(code)); got != "challenge" {
				t.Fatalf("wrong answer %d: %s, want another challenge", i+1, got)
			}
			if s.meta != "CODE-"+code {
				t.Fatalf("the code was not reused: metadata %q", s.meta)
			}
		}
		if got := s.answer(code); got != "tokens" {
			t.Fatalf("right answer: %s, want tokens", got)
		}
		if n := len(tr.sent(s.user)); n != 1 {
			t.Errorf("%d codes sent in one session, want 1", n)
		}
	})

	t.Run("three wrong answers fail", func(t *testing.T) {
		s := start("+447700900002")
		code := tr.sent(s.user)[0]
		results := []string{s.answer(wrong(code)), s.answer(wrong(code)), s.answer(wrong(code))}
		if strings.Join(results, ",") != "challenge,challenge,fail" {
			t.Fatalf("results %v, want challenge,challenge,fail", results)
		}
	})

	t.Run("right answer at once", func(t *testing.T) {
		s := start("+447700900003")
		if got := s.answer(tr.sent(s.user)[0]); got != "tokens" {
			t.Fatalf("%s, want tokens", got)
		}
	})

	t.Run("a new session sends a new code", func(t *testing.T) {
		start("+447700900004")
		start("+447700900004")
		if n := len(tr.sent("+447700900004")); n != 2 {
			t.Fatalf("%d codes, want 2", n)
		}
	})
}
