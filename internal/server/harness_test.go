package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"
	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/dispatch"
	"github.com/latchkey/latchkey/internal/deliver/providers"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// clock is a settable clock shared by the engine and the outbox.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a log sink tests can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a running Latchkey over real HTTP with one pool and app client,
// and an AWS SDK v2 Cognito client pointed at it.
type env struct {
	t      *testing.T
	url    string
	clock  *clock
	outbox *deliver.Outbox
	engine *auth.Engine
	store  *sqlite.Store
	pool   pool.Pool
	client pool.Client
	cog    *cip.Client
	logs   *syncBuffer
	queue  *dispatch.Dispatcher // nil unless withQueue
}

type envOption func(*envConfig)

type envConfig struct {
	settings pool.Settings
	secret   bool
	dev      bool
	// webhooks, when set, are the options of a webhook transport shared by
	// the engine and the router, so the pool's hooks can be webhooks.
	webhooks *hook.WebhookOptions
	// router, when set, configures a providers Router that sends the
	// codes, with the dev outbox (or, without dev, nothing) as its
	// fallback.
	router *providers.RouterConfig
	queued bool
	// triggers are the pool's webhook triggers, by name, for newTrigEnv
	// (hooks_signup_test.go) to point at its receiver.
	triggers map[string]hook.TriggerConfig
}

func withSettings(f func(*pool.Settings)) envOption {
	return func(c *envConfig) { f(&c.settings) }
}

func withClientSecret() envOption { return func(c *envConfig) { c.secret = true } }

// withoutDev turns dev delivery off: no outbox endpoint, and codes a pool
// has no provider for cannot be delivered.
func withoutDev() envOption { return func(c *envConfig) { c.dev = false } }

// withWebhooks gives the engine (and the router) a webhook transport made
// with opts; the environment sets its Logger. It keeps the real clock:
// receivers check the timestamp against theirs.
func withWebhooks(opts hook.WebhookOptions) envOption {
	return func(c *envConfig) { c.webhooks = &opts }
}

// withRouter sends codes through a providers Router made with rc, as serve
// wires it; the environment sets its Pools, Fallback, Now, Logger and
// Webhooks.
func withRouter(rc providers.RouterConfig) envOption {
	return func(c *envConfig) { c.router = &rc }
}

// withQueue sends codes through the durable outbox and its dispatcher,
// which env.flush runs.
func withQueue() envOption { return func(c *envConfig) { c.queued = true } }

// functionalSettings are the defaults without the send limits, which the
// functional tests, sending many codes to one number in one instant of
// their clock, would trip; limits_test.go tests those limits.
func functionalSettings() pool.Settings {
	s := pool.DefaultSettings()
	l := pool.DefaultLimits()
	l.DestinationCooldown, l.DestinationHourly, l.DestinationDaily = pool.Rate{}, pool.Rate{}, pool.Rate{}
	l.PrefixHourly, l.PrefixDaily = pool.Rate{}, pool.Rate{}
	l.IPHourly, l.IPDaily = pool.Rate{}, pool.Rate{}
	s.Limits = &l
	return s
}

func withLimits(l pool.Limits) envOption {
	return func(c *envConfig) { c.settings.Limits = &l }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	cfg := envConfig{settings: functionalSettings(), dev: true, triggers: map[string]hook.TriggerConfig{}}
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	outbox := deliver.NewOutbox(100, clk.Now)
	sender := deliver.Unavailable()
	var ob *deliver.Outbox
	if cfg.dev {
		sender, ob = outbox, outbox
	}
	var webhooks *hook.Webhooks
	if cfg.webhooks != nil {
		wo := *cfg.webhooks
		wo.Logger = log
		webhooks = hook.NewWebhooks(wo)
		t.Cleanup(webhooks.CloseIdleConnections)
	}
	if cfg.router != nil {
		rc := *cfg.router
		rc.Pools, rc.Fallback, rc.Now, rc.Logger, rc.Webhooks = st, sender, clk.Now, log, webhooks
		router, err := providers.NewRouter(rc)
		if err != nil {
			t.Fatal(err)
		}
		sender = router
	}
	var engine *auth.Engine
	var queue *dispatch.Dispatcher
	var q auth.Queue // nil, not a nil *Dispatcher, unless queued
	if cfg.queued {
		queue, err = dispatch.New(dispatch.Config{
			Store: st, Sender: sender, Now: clk.Now, Logger: log,
			OnFailure: func(ctx context.Context, m store.OutboxMessage, err error) {
				engine.DeliveryFailed(ctx, m.PoolID, m.Channel, m.Purpose, m.Attempts, err.Error())
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		q = queue
	}
	// The URL is only known once the listener exists, so start the test
	// server first and install the handler after.
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	engine, err = auth.New(auth.Config{
		Store: st, Sender: sender, Queue: q, PublicURL: srv.URL, Now: clk.Now, Rand: rand.Reader, Logger: log,
		Webhooks: webhooks,
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.CreatePool(ctx, "Test App", "local", cfg.settings)
	if err != nil {
		t.Fatal(err)
	}
	c, err := engine.CreateClient(ctx, p.ID, auth.ClientOptions{Name: "web", GenerateSecret: cfg.secret})
	if err != nil {
		t.Fatal(err)
	}
	handler = server.NewHandler(server.Config{Engine: engine, Outbox: ob, CORSOrigins: []string{"*"}, Logger: log, Version: "test"})
	cog := cip.New(cip.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		// One attempt: a retried request would hide a wrong status code.
		RetryMaxAttempts: 1,
		HTTPClient:       srv.Client(),
	})
	return &env{t: t, url: srv.URL, clock: clk, outbox: outbox, engine: engine, store: st, pool: p, client: c, cog: cog, logs: logs, queue: queue}
}

// flush delivers what the requests so far queued, as the workers would;
// without withQueue there is nothing to deliver.
func (e *env) flush() {
	e.t.Helper()
	if e.queue == nil {
		return
	}
	if err := e.queue.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// lastCode returns the newest code sent to dest.
func (e *env) lastCode(dest string) string {
	e.t.Helper()
	msgs := e.outbox.Messages(dest)
	if len(msgs) == 0 {
		e.t.Fatalf("no message was sent to %s", dest)
	}
	return msgs[0].Code
}

// wrongCode returns a code of the right length that is not code.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// apiErr asserts err is a Cognito error of the given type (and message, if
// not empty) as the AWS SDK decoded it.
func apiErr(t *testing.T, err error, wantType, wantMessage string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want %s", err, wantType)
	}
	if ae.ErrorCode() != wantType {
		t.Fatalf("error type = %s (%q), want %s", ae.ErrorCode(), ae.ErrorMessage(), wantType)
	}
	if wantMessage != "" && ae.ErrorMessage() != wantMessage {
		t.Fatalf("error message = %q, want %q", ae.ErrorMessage(), wantMessage)
	}
}

// post sends a raw API request and returns status, body and headers.
func (e *env) post(target, contentType, body string) (int, string, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+"/", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// secretHash computes Cognito's SECRET_HASH as clients do.
func secretHash(secret, username, clientID string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(username + clientID))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
