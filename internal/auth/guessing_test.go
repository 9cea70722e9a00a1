package auth_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// simClock is a clock the test moves by hand.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func newSimClock() *simClock {
	return &simClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// simEngine is an engine on SQLite with a simulated clock, a seeded code
// generator, a pool with the given limits and one signed-up user (phone).
type simEngine struct {
	e      *auth.Engine
	st     store.Store
	client pool.Client
	pool   pool.Pool
	clock  *simClock
	codes  *lastCodes
}

func newSimEngine(tb testing.TB, limits pool.Limits) *simEngine {
	tb.Helper()
	ctx := context.Background()
	st := openSimulationStore(tb)
	tb.Cleanup(func() { st.Close() })
	clock := newSimClock()
	codes := &lastCodes{codes: map[string]string{}}
	e, err := auth.New(auth.Config{
		Store: st, Sender: codes, PublicURL: "http://127.0.0.1:8080",
		Now: clock.Now, Rand: rand.NewChaCha8([32]byte{7}),
	})
	if err != nil {
		tb.Fatal(err)
	}
	settings := pool.DefaultSettings()
	settings.Limits = &limits
	p, err := e.CreatePool(ctx, "sim", "local", settings)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := e.CreateClient(ctx, p.ID, auth.ClientOptions{Name: "sim"})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := e.SignUp(ctx, auth.SignUpInput{ClientID: c.ID, Username: phone}); err != nil {
		tb.Fatal(err)
	}
	return &simEngine{e: e, st: st, client: c, pool: p, clock: clock, codes: codes}
}

func (s *simEngine) initiate(ctx context.Context) (auth.AuthResult, error) {
	return s.e.InitiateAuth(ctx, auth.InitiateAuthInput{
		ClientID: s.client.ID, AuthFlow: pool.FlowUserAuth,
		AuthParameters: map[string]string{"USERNAME": phone, "PREFERRED_CHALLENGE": pool.ChallengeSMSOTP},
	})
}

func (s *simEngine) answer(ctx context.Context, session, code string) (auth.AuthResult, error) {
	return s.e.RespondToAuthChallenge(ctx, auth.RespondInput{
		ClientID: s.client.ID, ChallengeName: pool.ChallengeSMSOTP, Session: session,
		ChallengeResponses: map[string]string{"USERNAME": phone, "SMS_OTP_CODE": code},
	})
}

// countEvents counts the audit events of one type.
func countEvents(tb testing.TB, st store.Store, typ string) int {
	tb.Helper()
	n := 0
	f := store.AuditFilter{Type: typ, Limit: 10000}
	for {
		evs, err := st.ListAudit(context.Background(), f)
		if err != nil {
			tb.Fatal(err)
		}
		n += len(evs)
		if len(evs) < f.Limit {
			return n
		}
		f.AfterID = evs[len(evs)-1].ID
	}
}

// TestSimulatedYearAttacker runs an attacker with unlimited addresses
// against one account for a simulated year: every two hours, from a new address,
// it asks for a code and submits wrong guesses until refused. The number of
// guesses the server evaluated (each is an audit event) must stay within
// the bound docs/security.md computes from the limits: Guesses.Count +
// one year / Guesses.Every. With 6-digit codes that is a chance of at most
// evaluated/10^6 of ever guessing right, which must be under 1 in 1,000.
func TestSimulatedYearAttacker(t *testing.T) {
	tests := []struct {
		name   string
		limits pool.Limits
		// victimDaily has the real user sign in every morning from home,
		// which resets the consecutive-failure count: the bound must hold
		// without it, and the user, from an address they signed in from
		// before, must not be locked out by the attacker.
		victimDaily bool
	}{
		{"default", pool.DefaultLimits(), false},
		{"strict", pool.StrictLimits(), false},
		{"default with the user signing in daily", pool.DefaultLimits(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSimEngine(t, tt.limits)
			attacker := rand.New(rand.NewPCG(1, 2))
			const year = 365 * 24 * time.Hour
			outcomes := map[pool.Kind]int{}
			signedIn, victimLocked := 0, 0
			home := auth.WithCaller(context.Background(), auth.Caller{IP: "198.51.100.7"})
			if tt.victimDaily {
				// The account is in use before the attack starts.
				r, err := s.initiate(home)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.answer(home, r.Session, s.codes.get(phone)); err != nil {
					t.Fatal(err)
				}
				s.clock.Advance(time.Hour)
			}
			// Every two hours: the budget gains a token every 24, so trying
			// more often would only add refused requests.
			const every = 2 * time.Hour
			for step := 0; step < int(year/every); step++ {
				if tt.victimDaily && step%12 == 4 {
					r, err := s.initiate(home)
					if err == nil {
						_, err = s.answer(home, r.Session, s.codes.get(phone))
					}
					if err != nil {
						victimLocked++
					}
				}
				ctx := auth.WithCaller(context.Background(), auth.Caller{IP: fmt.Sprintf("203.0.%d.%d", step/250%250, step%250+1)})
				r, err := s.initiate(ctx)
				if err != nil {
					outcomes[pool.KindOf(err)]++
				} else {
					session := r.Session
					for i := 0; i < 3; i++ {
						out, err := s.answer(ctx, session, fmt.Sprintf("%06d", attacker.IntN(1_000_000)))
						if err == nil && out.Tokens != nil {
							signedIn++
							break
						}
						outcomes[pool.KindOf(err)]++
						if pool.KindOf(err) != pool.KindCodeMismatch {
							break
						}
					}
				}
				s.clock.Advance(every)
			}
			evaluated := countEvents(t, s.st, auth.EventSignInFailure)
			bound := tt.limits.Guesses.Max(year)
			chance := float64(evaluated) / 1e6
			t.Logf("%s: %d guesses evaluated in a year (bound %d): chance of a right guess <= %.2e; outcomes %v; days the user could not sign in: %d",
				tt.name, evaluated, bound, chance, outcomes, victimLocked)
			if evaluated > bound {
				t.Errorf("the server evaluated %d guesses in a year; the limits allow at most %d", evaluated, bound)
			}
			if chance > 1.0/1000 {
				t.Errorf("chance %.2e of guessing right in a year exceeds 1 in 1,000", chance)
			}
			if signedIn > 0 {
				t.Errorf("the attacker signed in %d times", signedIn)
			}
			if victimLocked > 0 {
				t.Errorf("the user, signing in from home, was refused on %d days", victimLocked)
			}
			if outcomes[pool.KindTooManyFailedAttempts] == 0 {
				t.Errorf("the attacker was never told the account is locked: %v", outcomes)
			}
		})
	}
}

// TestSimulatedYearUserWhoMistypes is the other side of the bound: a user
// who, every day for a year, mistypes five times (a whole session of three
// wrong codes, then two more in a new session) and then types the right
// code is never locked out, because a right answer from the same address
// gives their wrong answers back.
func TestSimulatedYearUserWhoMistypes(t *testing.T) {
	for _, tt := range []struct {
		name   string
		limits pool.Limits
	}{{"default", pool.DefaultLimits()}, {"strict", pool.StrictLimits()}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSimEngine(t, tt.limits)
			ctx := auth.WithCaller(context.Background(), auth.Caller{IP: "198.51.100.7"})
			for day := 0; day < 365; day++ {
				r, err := s.initiate(ctx)
				if err != nil {
					t.Fatalf("day %d: first code: %v", day, err)
				}
				code := s.codes.get(phone)
				for i := 0; i < 3; i++ {
					if _, err := s.answer(ctx, r.Session, wrong(code)); err == nil {
						t.Fatalf("day %d: a wrong code was accepted", day)
					}
				}
				s.clock.Advance(time.Minute) // past the resend cooldown
				r, err = s.initiate(ctx)
				if err != nil {
					t.Fatalf("day %d: second code: %v", day, err)
				}
				code = s.codes.get(phone)
				for i := 0; i < 2; i++ {
					if _, err := s.answer(ctx, r.Session, wrong(code)); pool.KindOf(err) != pool.KindCodeMismatch {
						t.Fatalf("day %d: wrong code %d: got %v, want CodeMismatch", day, i, err)
					}
				}
				out, err := s.answer(ctx, r.Session, code)
				if err != nil || out.Tokens == nil {
					t.Fatalf("day %d: the right code after five mistakes: %v", day, err)
				}
				s.clock.Advance(24*time.Hour - time.Minute)
			}
		})
	}
}

// TestLockedAccountAndUnlock: wrong answers past the budget lock the
// account with a typed error that says nothing about the guesses; the
// account is locked for unknown usernames in the same way; an
// administrator's unlock gives the budget back and is audited.
func TestLockedAccountAndUnlock(t *testing.T) {
	limits := pool.DefaultLimits()
	limits.DestinationCooldown = pool.Rate{}
	limits.DestinationHourly = pool.Rate{}
	limits.DestinationDaily = pool.Rate{}
	limits.PrefixHourly = pool.Rate{}
	limits.PrefixDaily = pool.Rate{}
	s := newSimEngine(t, limits)
	ctx := context.Background()
	lock := func(t *testing.T, username string) error {
		t.Helper()
		for i := 0; i < 100; i++ {
			r, err := s.e.InitiateAuth(ctx, auth.InitiateAuthInput{
				ClientID: s.client.ID, AuthFlow: pool.FlowCustomAuth,
				AuthParameters: map[string]string{"USERNAME": username},
			})
			if err != nil {
				return err
			}
			_, err = s.e.RespondToAuthChallenge(ctx, auth.RespondInput{
				ClientID: s.client.ID, ChallengeName: pool.ChallengeCustom, Session: r.Session,
				ChallengeResponses: map[string]string{"USERNAME": username, "ANSWER": "000000"},
			})
			if pool.KindOf(err) == pool.KindTooManyFailedAttempts {
				return err
			}
		}
		t.Fatalf("%s was never locked", username)
		return nil
	}
	known := lock(t, phone)
	unknown := lock(t, "+14155550100")
	if pool.KindOf(known) != pool.KindTooManyFailedAttempts || known.Error() != unknown.Error() {
		t.Fatalf("locked errors differ or are untyped:\n known:   %v\n unknown: %v", known, unknown)
	}
	if evaluated := countEvents(t, s.st, auth.EventSignInFailure); evaluated != 2*limits.Guesses.Count {
		t.Errorf("%d guesses evaluated before both locks, want %d", evaluated, 2*limits.Guesses.Count)
	}
	if _, err := s.initiate(ctx); pool.KindOf(err) != pool.KindTooManyFailedAttempts {
		t.Fatalf("a locked account was sent a code: %v", err)
	}
	admin := auth.NewAdmin(s.st, rand.NewChaCha8([32]byte{9}), s.clock.Now)
	if _, err := admin.Unlock(ctx, s.pool.ID, phone); err != nil {
		t.Fatal(err)
	}
	r, err := s.initiate(ctx)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	if out, err := s.answer(ctx, r.Session, s.codes.get(phone)); err != nil || out.Tokens == nil {
		t.Fatalf("after unlock the right code: %v", err)
	}
	if n := countEvents(t, s.st, auth.EventUnlocked); n != 1 {
		t.Errorf("%d unlock events, want 1", n)
	}
}
