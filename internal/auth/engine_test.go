package auth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

const phone = "+14155552671"

// newEngine returns an engine on a fresh SQLite store with one pool, one
// client and one signed-up user, and the sender that caught its codes.
func newEngine(tb testing.TB) (*auth.Engine, pool.Client, *lastCodes) {
	tb.Helper()
	return newEngineOn(tb, stores[0].open(tb))
}

// newEngineOn is newEngine on a given store, which it closes at the end.
func newEngineOn(tb testing.TB, st store.Store) (*auth.Engine, pool.Client, *lastCodes) {
	tb.Helper()
	ctx := context.Background()
	tb.Cleanup(func() { st.Close() })
	codes := &lastCodes{codes: map[string]string{}}
	e, err := auth.New(auth.Config{Store: st, Sender: codes, PublicURL: "http://127.0.0.1:8080"})
	if err != nil {
		tb.Fatal(err)
	}
	p, err := e.CreatePool(ctx, "test", "local", roomySettings())
	if err != nil {
		tb.Fatal(err)
	}
	c, err := e.CreateClient(ctx, p.ID, auth.ClientOptions{Name: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := e.SignUp(ctx, auth.SignUpInput{ClientID: c.ID, Username: phone}); err != nil {
		tb.Fatal(err)
	}
	return e, c, codes
}

// roomySettings are the defaults with every send limit raised out of reach
// but still counted, so tests and benchmarks that send many codes to one
// number pay the real cost of the limits without tripping them.
func roomySettings() pool.Settings {
	s := pool.DefaultSettings()
	l := pool.DefaultLimits()
	huge := pool.Rate{Count: 1_000_000, Per: time.Hour}
	l.DestinationCooldown, l.DestinationHourly, l.DestinationDaily = huge, huge, huge
	l.IPHourly, l.IPDaily, l.ClientHourly = huge, huge, huge
	l.PrefixHourly, l.PrefixDaily = huge, huge
	l.SMSHourly, l.SMSDaily, l.NewSMSHourly, l.NewSMSDaily = huge, huge, huge, huge
	s.Limits = &l
	return s
}

func startSMS(tb testing.TB, e *auth.Engine, c pool.Client, username string) string {
	tb.Helper()
	r, err := e.InitiateAuth(context.Background(), auth.InitiateAuthInput{
		ClientID: c.ID, AuthFlow: pool.FlowUserAuth,
		AuthParameters: map[string]string{"USERNAME": username, "PREFERRED_CHALLENGE": pool.ChallengeSMSOTP},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return r.Session
}

// answerInParallel sends n answers to one session at once and returns the
// outcomes: tokens issued, code mismatches (an evaluated wrong answer that
// left attempts), and other errors by message.
func answerInParallel(t *testing.T, e *auth.Engine, c pool.Client, session string, answers []string) (tokens, mismatches int, others map[string]int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	others = map[string]int{}
	for _, a := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := e.RespondToAuthChallenge(context.Background(), auth.RespondInput{
				ClientID: c.ID, ChallengeName: pool.ChallengeSMSOTP, Session: session,
				ChallengeResponses: map[string]string{"USERNAME": phone, "SMS_OTP_CODE": a},
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && out.Tokens != nil:
				tokens++
			case pool.KindOf(err) == pool.KindCodeMismatch:
				mismatches++
			case err != nil:
				others[err.Error()]++
			}
		}()
	}
	wg.Wait()
	return tokens, mismatches, others
}

func wrong(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// TestParallelWrongAnswersNeverExceedTheLimit fires 50 wrong answers at one
// session at once: at most two can be told "mismatch, try again" (the third
// evaluated answer ends the session), and the right code no longer works.
func TestParallelWrongAnswersNeverExceedTheLimit(t *testing.T) {
	e, c, codes := newEngine(t)
	session := startSMS(t, e, c, phone)
	code := codes.get(phone)
	answers := make([]string, 50)
	for i := range answers {
		answers[i] = wrong(code)
	}
	tokens, mismatches, others := answerInParallel(t, e, c, session, answers)
	if tokens != 0 || mismatches > 2 {
		t.Fatalf("tokens %d, mismatches %d (at most 2 allowed), others %v", tokens, mismatches, others)
	}
	if others["Incorrect username or password."] == 0 {
		t.Fatalf("no answer ended the session: %v", others)
	}
	got, _, _ := answerInParallel(t, e, c, session, []string{code})
	if got != 0 {
		t.Fatal("the right code worked after the attempts were used up")
	}
}

// TestParallelRightAnswersIssueTokensOnce sends the right code 20 times at
// once: the session is single use, so exactly one gets tokens.
func TestParallelRightAnswersIssueTokensOnce(t *testing.T) {
	e, c, codes := newEngine(t)
	session := startSMS(t, e, c, phone)
	answers := make([]string, 20)
	for i := range answers {
		answers[i] = codes.get(phone)
	}
	tokens, mismatches, others := answerInParallel(t, e, c, session, answers)
	if tokens != 1 || mismatches != 0 {
		t.Fatalf("tokens %d (want 1), mismatches %d, others %v", tokens, mismatches, others)
	}
}

// BenchmarkInitiateAuth compares starting a sign-in for a known and an
// unknown user; the two should cost the same, or response time would tell
// whether an account exists.
func BenchmarkInitiateAuth(b *testing.B) {
	for _, bc := range []struct{ name, username string }{
		{"known", phone},
		{"unknown", "+14155559876"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e, c, _ := newEngine(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				startSMS(b, e, c, bc.username)
			}
		})
	}
}

// TestSessionStringsAreCommandLineSafe: a session string is passed to
// command-line tools (aws cognito-idp respond-to-auth-challenge --session
// …), which take an argument starting with "-" for an option.
func TestSessionStringsAreCommandLineSafe(t *testing.T) {
	e, c, _ := newEngine(t)
	for i := 0; i < 200; i++ {
		if s := startSMS(t, e, c, phone); s == "" || s[0] == '-' {
			t.Fatalf("session string %q… is not safe as a command-line argument", s[:4])
		}
	}
}
