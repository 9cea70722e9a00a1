package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

const (
	// crashCycles is how many times each backend is killed and restarted.
	crashCycles = 3
	// crashWorkers send sign-ups and sign-ins in parallel, so that a kill
	// always lands in the middle of several requests.
	crashWorkers = 16
	// A cycle kills the node once at least this much work has been
	// acknowledged since the cycle started...
	crashSignUps = 40
	crashSignIns = 20
	// ...or once this much time has passed, whichever is first.
	crashDeadline = 15 * time.Second
)

// backend is a store the crash test runs on.
type backend struct {
	name string
	// newStore returns the URL of a new, empty store.
	newStore func(t *testing.T) string
	// open opens the store directly, bypassing the server.
	open func(ctx context.Context, storeURL string) (store.Store, error)
	// checkWhileServing says whether the store may be opened directly while
	// a node serves it. PostgreSQL is made for many clients; a SQLite file
	// should have one server process and nothing else writing to it (and
	// opening a Store migrates, which writes).
	checkWhileServing bool
}

var backends = []backend{
	{
		name: "sqlite",
		newStore: func(t *testing.T) string {
			return "sqlite://" + filepath.Join(t.TempDir(), "latchkey.db")
		},
		open: func(ctx context.Context, storeURL string) (store.Store, error) {
			s, err := sqlite.Open(ctx, strings.TrimPrefix(storeURL, "sqlite://"))
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	},
	{
		name:     "postgres",
		newStore: func(t *testing.T) string { return pgtest.URL(t) },
		open: func(ctx context.Context, storeURL string) (store.Store, error) {
			s, err := postgres.Open(ctx, storeURL)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		checkWhileServing: true,
	},
}

// ackUser is a sign-up the server acknowledged (SignUp returned 200).
type ackUser struct {
	username string
	sub      string
}

// ackTokens is a sign-in the server acknowledged (tokens were returned).
type ackTokens struct {
	username string
	sub      string
	access   string
	refresh  string
}

// ledger records what the server acknowledged, which is exactly what it
// must still have after a crash.
type ledger struct {
	mu      sync.Mutex
	users   []ackUser
	signIns []ackTokens
}

func (l *ledger) addUser(u ackUser) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.users = append(l.users, u)
}

func (l *ledger) addSignIn(s ackTokens) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.signIns = append(l.signIns, s)
}

func (l *ledger) counts() (users, signIns int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.users), len(l.signIns)
}

func (l *ledger) snapshot() ([]ackUser, []ackTokens) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ackUser(nil), l.users...), append([]ackTokens(nil), l.signIns...)
}

// TestCrashKeepsAcknowledgedWrites kills a node with SIGKILL while sixteen
// clients sign up and sign in, restarts it on the same store, and checks
// that everything the server acknowledged before the kill survived: every
// sign-up with its sub, every sign-in's tokens, and a sound database.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	skipShort(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			storeURL := b.newStore(t)
			// The proxy's URL is the public URL of every incarnation of the
			// node: tokens minted before a crash carry it in their iss, and
			// the restarted node accepts only its own public URL.
			px := startProxy(t)
			n := startNode(t, storeURL, px.url)
			px.setBackends(t, n)
			a := onlyApp(t, storeURL)
			relaxSendLimits(t, storeURL, a.poolID)

			var (
				led ledger
				seq atomic.Int64 // makes every username unique
			)
			for cycle := 1; cycle <= crashCycles; cycle++ {
				start := time.Now()
				interrupted := workUntilKilled(t, n, a, &led, &seq)
				users, signIns := led.counts()
				t.Logf("cycle %d: killed %s after %v; %d client requests failed at the kill; %d sign-ups and %d sign-ins acknowledged so far",
					cycle, n.name, time.Since(start).Round(time.Millisecond), interrupted, users, signIns)
				if t.Failed() {
					return
				}

				n = startNode(t, storeURL, px.url)
				px.setBackends(t, n)
				if got := onlyApp(t, storeURL); got != a {
					t.Fatalf("after the restart the store has %+v, want the original %+v", got, a)
				}
				checkTokens(t, n, a, &led)
				if !b.checkWhileServing {
					n.stop()
				}
				checkStore(t, b, storeURL, a, &led)
				if t.Failed() {
					return
				}
				if !b.checkWhileServing && cycle < crashCycles {
					n = startNode(t, storeURL, px.url)
					px.setBackends(t, n)
				}
			}
			if n.running() {
				n.stop()
			}
		})
	}
}

// workUntilKilled runs crashWorkers clients against n, each looping: sign
// up a new user, sign in with the code from the outbox. Once enough work is
// acknowledged (or the deadline passes) it kills n while the clients are
// still sending, then stops them. It returns how many client requests
// failed at the kill: those in flight, and any a client sent before it
// noticed. Errors before the kill fail the test.
func workUntilKilled(t *testing.T, n *node, a app, led *ledger, seq *atomic.Int64) (interrupted int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		killed   atomic.Bool
		cut      atomic.Int64
		errMu    sync.Mutex
		failures []string
	)
	// fail records an error; after the kill, errors are the expected
	// cut-off requests and are only counted.
	fail := func(err error) {
		if killed.Load() {
			cut.Add(1)
			return
		}
		errMu.Lock()
		defer errMu.Unlock()
		failures = append(failures, err.Error())
	}

	users0, signIns0 := led.counts()
	var wg sync.WaitGroup
	for range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := seq.Add(1)
				if i > 9999 {
					fail(errors.New("ran out of unique usernames"))
					return
				}
				username := fmt.Sprintf("+1415555%04d", i) // SMS_OTP
				if i%2 == 0 {
					username = fmt.Sprintf("crash%d@example.com", i) // EMAIL_OTP
				}
				sub, err := signUp(ctx, n.cog, a, username)
				if err != nil {
					fail(err)
					if killed.Load() {
						return
					}
					continue
				}
				led.addUser(ackUser{username, sub})
				res, err := signIn(ctx, n, a, username)
				if err != nil {
					fail(err)
					if killed.Load() {
						return
					}
					continue
				}
				led.addSignIn(ackTokens{username, sub, aws.ToString(res.AccessToken), aws.ToString(res.RefreshToken)})
			}
		}()
	}

	deadline := time.Now().Add(crashDeadline)
	for {
		users, signIns := led.counts()
		if users-users0 >= crashSignUps && signIns-signIns0 >= crashSignIns {
			break
		}
		if time.Now().After(deadline) {
			// Not a failure by itself: a slow machine may do less. A node
			// that acknowledged nothing at all is one.
			t.Logf("deadline: only %d sign-ups and %d sign-ins acknowledged in %v", users-users0, signIns-signIns0, crashDeadline)
			if signIns == signIns0 {
				t.Errorf("%s acknowledged no sign-in in %v", n.name, crashDeadline)
			}
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	killed.Store(true)
	n.kill()
	// Only now stop the clients: the kill, not a cancelled context, is
	// what cuts their in-flight requests off.
	cancel()
	wg.Wait()

	if len(failures) > 0 {
		shown := failures[:min(len(failures), 10)]
		t.Errorf("%d requests failed before the kill, e.g.:\n  %s", len(failures), strings.Join(shown, "\n  "))
	}
	return cut.Load()
}

// checkTokens checks on the restarted node that every acknowledged access
// token still works for GetUser and every refresh token still refreshes.
func checkTokens(t *testing.T, n *node, a app, led *ledger) {
	t.Helper()
	ctx := context.Background()
	_, signIns := led.snapshot()
	var problems []string
	for _, s := range signIns {
		u, err := n.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: aws.String(s.access)})
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("GetUser with the access token of %s: %v", s.username, err))
		case aws.ToString(u.Username) != s.username:
			problems = append(problems, fmt.Sprintf("GetUser with the access token of %s says %s", s.username, aws.ToString(u.Username)))
		}
		out, err := n.cog.GetTokensFromRefreshToken(ctx, &cip.GetTokensFromRefreshTokenInput{
			ClientId:     aws.String(a.clientID),
			RefreshToken: aws.String(s.refresh),
		})
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("GetTokensFromRefreshToken for %s: %v", s.username, err))
		case out.AuthenticationResult == nil || aws.ToString(out.AuthenticationResult.AccessToken) == "":
			problems = append(problems, fmt.Sprintf("GetTokensFromRefreshToken for %s returned no access token", s.username))
		}
	}
	report(t, fmt.Sprintf("of %d acknowledged sign-ins checked on the restarted %s", len(signIns), n.name), problems)
}

// checkStore opens the store directly and checks that every acknowledged
// sign-up exists with its sub, that every acknowledged sign-in's channel is
// marked verified (the sign-in wrote that before answering), and that the
// store passes its own integrity check.
func checkStore(t *testing.T, b backend, storeURL string, a app, led *ledger) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	st, err := b.open(ctx, storeURL)
	if err != nil {
		t.Fatalf("open the %s store directly: %v", b.name, err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Errorf("close the %s store: %v", b.name, err)
		}
	}()
	if err := st.Check(ctx); err != nil {
		t.Errorf("integrity check of the %s store: %v", b.name, err)
	}
	users, signIns := led.snapshot()
	var problems []string
	for _, au := range users {
		u, err := st.GetUser(ctx, a.poolID, au.username)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("acknowledged sign-up of %s: %v", au.username, err))
		case u.Sub != au.sub:
			problems = append(problems, fmt.Sprintf("%s has sub %s, but SignUp answered %s", au.username, u.Sub, au.sub))
		}
	}
	for _, s := range signIns {
		attr := otpFor(s.username).attr
		u, err := st.GetUser(ctx, a.poolID, s.username)
		if err == nil && !u.Verified(attr) {
			problems = append(problems, fmt.Sprintf("%s signed in by code but %s_verified is %q", s.username, attr, u.Attr(attr+"_verified")))
		}
	}
	report(t, fmt.Sprintf("of %d acknowledged sign-ups and %d sign-ins in the %s store", len(users), len(signIns), b.name), problems)
}

// report fails the test with the first few problems and how many there were.
func report(t *testing.T, what string, problems []string) {
	t.Helper()
	if len(problems) == 0 {
		return
	}
	shown := problems[:min(len(problems), 10)]
	t.Errorf("%d problems %s, e.g.:\n  %s", len(problems), what, strings.Join(shown, "\n  "))
}
