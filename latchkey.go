// Package latchkey runs Latchkey, a passwordless authentication server that
// speaks the Amazon Cognito user-pools API, inside a Go program.
//
// New opens the store (running its migrations) and builds what `latchkey
// serve` runs: the sign-up and sign-in engine, the durable delivery queue
// and its workers, the per-pool delivery providers, and the HTTP handler of
// the Cognito API, the JWKS and OpenID discovery documents. Mount
// Server.Handler on a server of your own; Cognito clients (the AWS SDKs,
// Amplify) then work against it by pointing their endpoint there.
//
// Hooks replace steps of sign-up and sign-in with Go functions that receive
// the same events Cognito sends its Lambda triggers (PreSignUpEvent,
// DefineAuthChallengeEvent, …), so a trigger's logic ports as it is. A pool
// can also send those events to signed webhooks, configured with `latchkey
// pools update --trigger`; see docs/hooks.md.
//
//	srv, err := latchkey.New(ctx, latchkey.Config{
//		DataDir:   "./latchkey-data",
//		PublicURL: "https://auth.example.com",
//		Hooks: latchkey.Hooks{
//			PreSignUp: func(ctx context.Context, ev *latchkey.PreSignUpEvent) error {
//				ev.Response.AutoConfirmUser = true
//				return nil
//			},
//		},
//	})
//	if err != nil { … }
//	defer srv.Close()
//	http.ListenAndServe(":8080", srv.Handler())
package latchkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/dispatch"
	"github.com/latchkey/latchkey/internal/deliver/providers"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/open"
	"github.com/latchkey/latchkey/internal/store/sweep"
)

// DefaultDataDir, "./latchkey-data", is where the SQLite database lives
// when Config.Store and Config.DataDir are both empty, as for `latchkey
// serve`.
const DefaultDataDir = open.DefaultDataDir

// outboxCapacity bounds the dev outbox's memory.
const outboxCapacity = 1000

// Config is what New builds a Server from. PublicURL is required; the zero
// value of every other field is a sensible default.
type Config struct {
	// Store is the store's URL: postgres://user:pass@host/db (many
	// processes may share one) or sqlite:///path/to/latchkey.db. Empty
	// means the SQLite database latchkey.db in DataDir.
	Store string
	// DataDir is the directory of the SQLite database when Store is empty;
	// DefaultDataDir when empty too. It is created if needed.
	DataDir string
	// PublicURL is the base URL clients reach Handler at, such as
	// "https://auth.example.com" (required). A pool's tokens carry
	// PublicURL + "/" + pool ID as their issuer, and its discovery
	// documents point there.
	PublicURL string
	// Dev turns on dev delivery for pools that configure no delivery
	// provider: codes are written to Logger and kept in memory, readable
	// at GET /_dev/outbox?to=DEST, instead of being sent. It reveals codes:
	// never in production.
	Dev bool
	// Send, when set, delivers the codes of pools that configure no
	// provider for a channel (with Dev, as well as the dev log and outbox).
	// Without Send or Dev such codes cannot be delivered and sign-ins
	// that need one fail. A pool's own providers (`latchkey pools update
	// --delivery-file`) and its CustomSMSSender / CustomEmailSender hooks
	// take precedence.
	Send func(ctx context.Context, m Message) error
	// Hooks are Go functions that replace steps of sign-up and sign-in, for
	// every pool, in place of the built-in step or the pool's webhook for
	// the same trigger.
	Hooks Hooks
	// HookTimeout bounds each call of a Go hook, as Cognito bounds a Lambda
	// trigger: the function's ctx ends then, and a function that returns
	// later fails the request with UnexpectedLambdaException (a function
	// cannot be stopped from outside: it should return when ctx is done).
	// 5 seconds when zero. Webhooks always have 5 seconds.
	HookTimeout time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// CORSOrigins are the browser origins allowed to call the API ("*"
	// for any); none means no cross-origin browser calls.
	CORSOrigins []string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client's address (for per-address limits and the audit trail);
	// none means the peer address is the client's.
	TrustedProxies []netip.Prefix
	// Version is reported at GET /; the module's version when empty.
	Version string
}

// Message is a code message handed to Config.Send. Code is a secret (and
// Body and HTML contain it): String and LogValue leave them out.
type Message struct {
	// PoolID is the user pool the code is for.
	PoolID string
	// Channel is "sms" or "email".
	Channel string
	// To is an E.164 phone number or a lower-cased email address.
	To string
	// Subject is the email's subject; "" for SMS.
	Subject string
	// Body is the text: the SMS, or the plain-text part of the email.
	Body string
	// HTML is the email's HTML part; "" sends text only.
	HTML string
	// Code is the one-time code, for senders that render their own text.
	Code string
	// Purpose is why the code was sent: "sign_in", "sign_up", ….
	Purpose string
	// Locale is the recipient's locale (the user's locale attribute), if
	// known.
	Locale string
}

// String describes m without its code or body.
func (m Message) String() string {
	return fmt.Sprintf("%s message for pool %s to %s (%s)", m.Channel, m.PoolID, m.To, m.Purpose)
}

// LogValue keeps slog from logging the code or body.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("pool", m.PoolID),
		slog.String("channel", m.Channel),
		slog.String("to", m.To),
		slog.String("purpose", m.Purpose),
	)
}

// Pool is a user pool.
type Pool struct {
	// ID has Cognito's shape, "<region>_<9 alphanumerics>".
	ID     string
	Name   string
	Region string
}

// Client is an app client of a pool: the ClientId of Cognito's API.
type Client struct {
	ID     string
	PoolID string
	Name   string
	// Secret is the client secret when the client has one (callers then
	// send SECRET_HASH); "" otherwise. Keep it out of logs.
	Secret string
}

// PoolOptions describe a pool for CreatePool. A new pool has the settings
// `latchkey pools create` gives by default (phone numbers and emails as
// usernames, users confirmed at sign-up, 6-digit codes); change them with
// `latchkey pools update` against the same store.
type PoolOptions struct {
	// Name is the pool's name (required).
	Name string
	// Region is the part of the pool ID before the underscore; "local"
	// when empty.
	Region string
	// ClientName is the name of the pool's first app client; "app" when
	// empty.
	ClientName string
	// SigningAlgorithm is the JWS algorithm of the pool's tokens: "RS256"
	// (RSA-2048, what Cognito signs with; the default when empty), "ES256"
	// (ECDSA on P-256) or "EdDSA" (Ed25519).
	SigningAlgorithm string
}

// Server is Latchkey running in a Go program: its HTTP handler and the
// background work that delivers codes and sweeps expired records. It is
// safe for concurrent use.
type Server struct {
	store    store.Store
	engine   *auth.Engine
	handler  http.Handler
	webhooks *hook.Webhooks

	// stop ends the background work; done closes when it has ended.
	stop context.CancelFunc
	done chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// New opens the store, runs its schema migrations, and returns a Server
// whose background work (code delivery, sweeping expired records) runs
// until Close. ctx bounds opening the store only.
func New(ctx context.Context, cfg Config) (*Server, error) {
	publicURL, err := checkPublicURL(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	funcs, versions, err := cfg.Hooks.funcs(cfg.HookTimeout)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	version := cfg.Version
	if version == "" {
		version = moduleVersion()
	}

	// `latchkey serve`'s choice of store: Store's URL, else SQLite in
	// DataDir; opening runs its migrations.
	st, err := open.Open(ctx, cfg.Store, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open store (%s): %w", open.Describe(cfg.Store, cfg.DataDir), err)
	}
	s := &Server{store: st, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			st.Close()
		}
	}()

	var outbox *deliver.Outbox
	var fallbacks []deliver.Sender
	if cfg.Dev {
		outbox = deliver.NewOutbox(outboxCapacity, time.Now)
		fallbacks = append(fallbacks, deliver.NewLogSender(log), outbox)
		log.Warn("dev delivery is on: codes are written to this log and to /_dev/outbox instead of being sent; turn it off in production (latchkey serve --dev=false)")
	}
	if cfg.Send != nil {
		fallbacks = append(fallbacks, sendFunc(cfg.Send))
	}
	fallback := deliver.Unavailable()
	switch len(fallbacks) {
	case 0:
	case 1:
		fallback = fallbacks[0]
	default:
		fallback = deliver.Fanout(fallbacks...)
	}
	// One webhook transport per process, shared by the engine and the
	// custom senders, so connections to hooks are reused across requests
	// and pools.
	s.webhooks = hook.NewWebhooks(hook.WebhookOptions{Logger: log})
	// Each pool's custom sender hooks or providers (pools update
	// --trigger, --delivery-file), and the fallback for a pool that
	// configures neither.
	sender, err := providers.NewRouter(providers.RouterConfig{
		Pools:     st,
		Builder:   &providers.Builder{Dev: cfg.Dev, Outbox: outbox, Logger: log},
		Fallback:  fallback,
		Logger:    log,
		Webhooks:  s.webhooks,
		HookFuncs: funcs,
	})
	if err != nil {
		return nil, err
	}
	// The dispatcher reports undeliverable codes to the engine's audit
	// trail; the engine is made after it, as it enqueues on it.
	queue, err := dispatch.New(dispatch.Config{
		Store: st, Sender: sender, Logger: log,
		OnFailure: func(ctx context.Context, m store.OutboxMessage, err error) {
			s.engine.DeliveryFailed(ctx, m.PoolID, m.Channel, m.Purpose, m.Attempts, err.Error())
		},
	})
	if err != nil {
		return nil, err
	}
	s.engine, err = auth.New(auth.Config{
		Store:        st,
		Sender:       sender,
		Queue:        queue,
		PublicURL:    publicURL,
		Logger:       log,
		Webhooks:     s.webhooks,
		HookFuncs:    funcs,
		HookVersions: versions,
	})
	if err != nil {
		return nil, err
	}
	s.handler = server.NewHandler(server.Config{
		Engine:         s.engine,
		Outbox:         outbox,
		FlushOutbox:    queue.Flush,
		CORSOrigins:    cfg.CORSOrigins,
		TrustedProxies: cfg.TrustedProxies,
		Logger:         log,
		Version:        version,
	})

	// Background work outlives ctx (which may be a start-up deadline) but
	// keeps its values; Close ends it.
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	var wg sync.WaitGroup
	wg.Go(func() { sweep.New(st, sweep.Config{Logger: log}).Run(bg) })
	// Run returns once the sends in flight have finished.
	wg.Go(func() { queue.Run(bg) })
	go func() {
		wg.Wait()
		close(s.done)
	}()
	ok = true
	return s, nil
}

// Handler returns the HTTP handler: the Cognito user-pools API at POST /
// (X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>), each
// pool's JWKS and OpenID discovery under /<poolId>/.well-known/, GET
// /healthz, and with Config.Dev the outbox at GET /_dev/outbox?to=DEST.
// Serve it at the root of a host or port; under a path prefix, strip the
// prefix (http.StripPrefix) and include it in Config.PublicURL.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the background work, waiting for code deliveries in flight,
// and closes the store. Stop serving Handler first: requests after Close
// fail. Queued codes not yet delivered stay in the store and go out when a
// Server (or `latchkey serve`) next runs on it. Close is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.done
		s.webhooks.CloseIdleConnections()
		s.closeErr = s.store.Close()
	})
	return s.closeErr
}

// Bootstrap creates a first pool, named "latchkey" in region "local", and
// its app client "app", when the store has no pool, as `latchkey serve`
// does on first start, and reports whether it did. When the store already
// has pools it returns created false and zero values. Processes starting
// at once on an empty store agree: exactly one creates.
func (s *Server) Bootstrap(ctx context.Context) (p Pool, c Client, created bool, err error) {
	ip, ic, created, err := s.engine.Bootstrap(ctx, "latchkey", "local", pool.DefaultSettings())
	if err != nil || !created {
		if err != nil {
			err = fmt.Errorf("create the first pool: %w", err)
		}
		return Pool{}, Client{}, false, err
	}
	return publicPool(ip), publicClient(ic), true, nil
}

// CreatePool creates a pool with the default settings (but for its signing
// algorithm, when opts names one) and its first app client (without a
// client secret).
func (s *Server) CreatePool(ctx context.Context, opts PoolOptions) (Pool, Client, error) {
	if strings.TrimSpace(opts.Name) == "" {
		return Pool{}, Client{}, errors.New("latchkey: PoolOptions.Name is required")
	}
	region := opts.Region
	if region == "" {
		region = "local"
	}
	clientName := opts.ClientName
	if clientName == "" {
		clientName = "app"
	}
	co := auth.ClientOptions{Name: clientName}
	if err := co.Validate(); err != nil {
		return Pool{}, Client{}, err
	}
	settings := pool.DefaultSettings()
	if opts.SigningAlgorithm != "" {
		settings.SigningAlgorithm = opts.SigningAlgorithm
	}
	p, err := s.engine.CreatePool(ctx, opts.Name, region, settings)
	if err != nil {
		return Pool{}, Client{}, err
	}
	c, err := s.engine.CreateClient(ctx, p.ID, co)
	if err != nil {
		return Pool{}, Client{}, err
	}
	return publicPool(p), publicClient(c), nil
}

func publicPool(p pool.Pool) Pool {
	return Pool{ID: p.ID, Name: p.Name, Region: p.Region}
}

func publicClient(c pool.Client) Client {
	return Client{ID: c.ID, PoolID: c.PoolID, Name: c.Name, Secret: c.Secret}
}

// sendFunc adapts Config.Send to the delivery router's fallback.
func sendFunc(send func(context.Context, Message) error) deliver.Sender {
	return deliver.SenderFunc(func(ctx context.Context, m deliver.Message) error {
		return send(ctx, Message{
			PoolID:  m.PoolID,
			Channel: string(m.Channel),
			To:      m.To,
			Subject: m.Subject,
			Body:    m.Body,
			HTML:    m.HTML,
			Code:    m.Code,
			Purpose: m.Purpose,
			Locale:  m.Locale,
		})
	})
}

// checkPublicURL checks Config.PublicURL and returns it without a trailing
// slash.
func checkPublicURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("latchkey: Config.PublicURL is required: the base URL clients reach the handler at")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("latchkey: public URL %q must be an absolute http:// or https:// URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("latchkey: public URL %q must have no user, query or fragment", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// moduleVersion is this module's version in the program's build, "devel"
// when it is not known (a build inside the module itself).
func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if info.Main.Path == modulePath && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == modulePath && d.Version != "" {
			return d.Version
		}
	}
	return "devel"
}

// modulePath is this module's path.
const modulePath = "github.com/latchkey/latchkey"
