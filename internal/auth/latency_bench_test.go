package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/dispatch"
	"github.com/latchkey/latchkey/internal/pool"
)

// slowProvider stands for a real SMS provider: every send takes delay.
type slowProvider struct{ delay time.Duration }

func (s slowProvider) Send(ctx context.Context, _ deliver.Message) error {
	select {
	case <-time.After(s.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// BenchmarkInitiateAuthSlowProvider is the enumeration timing check with a
// provider that takes 50 ms per SMS. Queued (the server's mode), a known
// user's InitiateAuth enqueues the message and an unknown user's enqueues
// a decoy, so both cost one store write and neither waits for the
// provider: their ns/op must match. Sent synchronously (an engine without
// a queue), the known user's request would wait for the provider and the
// unknown user's would not; that variant is measured for comparison.
func BenchmarkInitiateAuthSlowProvider(b *testing.B) {
	const delay = 50 * time.Millisecond
	for _, mode := range []string{"queued", "sync"} {
		for _, who := range []struct{ name, username string }{{"known", phone}, {"unknown", "+14155559876"}} {
			b.Run(mode+"/"+who.name, func(b *testing.B) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				st := stores[0].open(b)
				b.Cleanup(func() { st.Close() })
				cfg := auth.Config{Store: st, Sender: slowProvider{delay}, PublicURL: "http://127.0.0.1:8080"}
				if mode == "queued" {
					q, err := dispatch.New(dispatch.Config{Store: st, Sender: slowProvider{delay}, Workers: 16})
					if err != nil {
						b.Fatal(err)
					}
					go q.Run(ctx)
					cfg.Queue = q
				}
				e, err := auth.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				p, err := e.CreatePool(ctx, "bench", "local", roomySettings())
				if err != nil {
					b.Fatal(err)
				}
				c, err := e.CreateClient(ctx, p.ID, auth.ClientOptions{Name: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.SignUp(ctx, auth.SignUpInput{ClientID: c.ID, Username: phone}); err != nil {
					b.Fatal(err)
				}
				in := auth.InitiateAuthInput{
					ClientID: c.ID, AuthFlow: pool.FlowUserAuth,
					AuthParameters: map[string]string{"USERNAME": who.username, "PREFERRED_CHALLENGE": pool.ChallengeSMSOTP},
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := e.InitiateAuth(ctx, in); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
