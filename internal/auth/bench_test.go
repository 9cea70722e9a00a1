package auth_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// lastCodes remembers the newest code sent to each destination.
type lastCodes struct {
	mu    sync.Mutex
	codes map[string]string
}

func (l *lastCodes) Send(_ context.Context, m deliver.Message) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.codes[m.To] = m.Code
	return nil
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func (l *lastCodes) get(to string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.codes[to]
}

// openSimulationStore opens a SQLite store without fsyncs, for tests that
// simulate months of traffic and test limits, not durability: the same
// SQL and transactions, a fraction of the time.
func openSimulationStore(tb testing.TB) store.Store {
	st, err := sqlite.OpenWith(context.Background(), filepath.Join(tb.TempDir(), "latchkey.db"), sqlite.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// stores lists the backends benchmarks run on: the embedded default and
// PostgreSQL (skipped when no server is configured; see pgtest).
var stores = []struct {
	name string
	open func(tb testing.TB) store.Store
}{
	{"sqlite", func(tb testing.TB) store.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "latchkey.db"))
		if err != nil {
			tb.Fatal(err)
		}
		return st
	}},
	{"postgres", func(tb testing.TB) store.Store {
		st, err := postgres.Open(context.Background(), pgtest.URL(tb))
		if err != nil {
			tb.Fatal(err)
		}
		return st
	}},
}

// BenchmarkSignInFlow measures one complete passwordless sign-in in
// process, on each store: InitiateAuth (USER_AUTH, SMS_OTP: session, code,
// hash, send), RespondToAuthChallenge (atomic attempt count, constant-time
// check, single-use delete) and token issuance (refresh token stored, ID
// and access JWTs signed with RS256).
func BenchmarkSignInFlow(b *testing.B) {
	for _, sb := range stores {
		b.Run(sb.name, func(b *testing.B) {
			ctx := context.Background()
			e, c, codes := newEngineOn(b, sb.open(b))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := e.InitiateAuth(ctx, auth.InitiateAuthInput{
					ClientID: c.ID, AuthFlow: pool.FlowUserAuth,
					AuthParameters: map[string]string{"USERNAME": phone, "PREFERRED_CHALLENGE": pool.ChallengeSMSOTP},
				})
				if err != nil {
					b.Fatal(err)
				}
				out, err := e.RespondToAuthChallenge(ctx, auth.RespondInput{
					ClientID: c.ID, ChallengeName: pool.ChallengeSMSOTP, Session: r.Session,
					ChallengeResponses: map[string]string{"USERNAME": phone, "SMS_OTP_CODE": codes.get(phone)},
				})
				if err != nil {
					b.Fatal(err)
				}
				if out.Tokens == nil {
					b.Fatal("no tokens")
				}
			}
		})
	}
}
