package providers_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/dispatch"
	"github.com/latchkey/latchkey/internal/deliver/providers"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// BenchmarkInitiateAuthDelivery compares the latency of InitiateAuth
// (USER_AUTH, SMS_OTP) when the code is sent before the response
// (synchronous: an engine without a Queue) and when it is queued in the
// durable outbox and sent by the dispatcher's workers (as serve runs),
// with a provider that takes 50 ms (a typical SMS API round trip), behind
// the providers Router. The 0 ms runs isolate what queueing itself costs:
// one more store write per request.
func BenchmarkInitiateAuthDelivery(b *testing.B) {
	for _, bc := range []struct {
		queued  bool
		latency time.Duration
	}{{false, 50 * time.Millisecond}, {true, 50 * time.Millisecond}, {false, 0}, {true, 0}} {
		name := "synchronous"
		if bc.queued {
			name = "queued"
		}
		providerLatency, queued := bc.latency, bc.queued
		b.Run(name+"/provider="+providerLatency.String(), func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "latchkey.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			slow := deliver.SenderFunc(func(ctx context.Context, _ deliver.Message) error {
				select {
				case <-time.After(providerLatency):
					return nil
				case <-ctx.Done():
					return &deliver.ProviderError{Provider: "slow", Transient: true, Err: ctx.Err()}
				}
			})
			router, err := providers.NewRouter(providers.RouterConfig{Pools: st, Builder: &providers.Builder{Kinds: map[string]providers.Kind{
				"slow": {Channels: []deliver.Channel{deliver.ChannelSMS}, New: func(context.Context, json.RawMessage, map[string]string) (deliver.Sender, error) {
					return slow, nil
				}},
			}}})
			if err != nil {
				b.Fatal(err)
			}
			cfg := auth.Config{Store: st, Sender: router, PublicURL: "http://127.0.0.1:8080"}
			if queued {
				q, err := dispatch.New(dispatch.Config{Store: st, Sender: router})
				if err != nil {
					b.Fatal(err)
				}
				runCtx, stop := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { defer close(done); q.Run(runCtx) }()
				defer func() { stop(); <-done }()
				cfg.Queue = q
			}
			e, err := auth.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			settings := roomySettings()
			settings.Delivery = &pool.Delivery{SMS: []pool.Provider{{Type: "slow"}}}
			p, err := e.CreatePool(ctx, "bench", "local", settings)
			if err != nil {
				b.Fatal(err)
			}
			c, err := e.CreateClient(ctx, p.ID, auth.ClientOptions{Name: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			// Many users, so no per-account limit shapes the figures.
			users := make([]string, 256)
			for i := range users {
				users[i] = "+1415555" + strconv.Itoa(1000+i)
				if _, err := e.SignUp(ctx, auth.SignUpInput{ClientID: c.ID, Username: users[i]}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				_, err := e.InitiateAuth(ctx, auth.InitiateAuthInput{
					ClientID: c.ID, AuthFlow: pool.FlowUserAuth,
					AuthParameters: map[string]string{"USERNAME": users[i%len(users)], "PREFERRED_CHALLENGE": pool.ChallengeSMSOTP},
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// roomySettings are the defaults with every send limit out of reach.
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
