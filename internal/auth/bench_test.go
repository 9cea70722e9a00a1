package auth_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/pool"
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

func (l *lastCodes) get(to string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.codes[to]
}

// BenchmarkSignInFlow measures one complete passwordless sign-in in
// process on the embedded SQLite store: InitiateAuth (USER_AUTH, SMS_OTP:
// session, code, hash, send), RespondToAuthChallenge (atomic attempt count,
// constant-time check, single-use delete) and token issuance (refresh token
// stored, ID and access JWTs signed with RS256).
func BenchmarkSignInFlow(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	codes := &lastCodes{codes: map[string]string{}}
	e, err := auth.New(auth.Config{Store: st, Sender: codes, PublicURL: "http://127.0.0.1:8080"})
	if err != nil {
		b.Fatal(err)
	}
	p, err := e.CreatePool(ctx, "bench", "local", pool.DefaultSettings())
	if err != nil {
		b.Fatal(err)
	}
	c, err := e.CreateClient(ctx, p.ID, "bench", false)
	if err != nil {
		b.Fatal(err)
	}
	const phone = "+14155552671"
	if _, err := e.SignUp(ctx, auth.SignUpInput{ClientID: c.ID, Username: phone}); err != nil {
		b.Fatal(err)
	}
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
}
