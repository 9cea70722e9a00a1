// Package server assembles Latchkey's HTTP server: the routes of every
// front door, the middleware every request passes (request IDs, panic
// recovery, access logs, CORS), timeouts, and graceful shutdown.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/cognito"
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/oidc"
	"github.com/latchkey/latchkey/internal/web"
)

// Config is what the handler is built from.
type Config struct {
	Engine *auth.Engine
	// Outbox, when set, is served at GET /_dev/outbox (dev delivery).
	Outbox *deliver.Outbox
	// FlushOutbox, when set, delivers queued messages before the dev
	// outbox is read.
	FlushOutbox func(context.Context) error
	// CORSOrigins are the browser origins allowed to call the API; "*"
	// allows any.
	CORSOrigins []string
	Logger      *slog.Logger
	Version     string
	// RequestID makes request IDs; nil means random UUIDs.
	RequestID func() string
	// TrustedProxies are the proxies whose X-Forwarded-For is believed
	// when finding the client's address; none means the peer address.
	TrustedProxies []netip.Prefix
}

// NewHandler returns the server's root handler.
func NewHandler(cfg Config) http.Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	requestID := cfg.RequestID
	if requestID == nil {
		requestID = uuid.NewString
	}
	mux := http.NewServeMux()
	mux.Handle("POST /", cognito.NewHandler(cfg.Engine, log))
	oidc.NewHandler(cfg.Engine, log).Register(mux)
	if cfg.Outbox != nil {
		mux.Handle("GET /_dev/outbox", web.OutboxHandler(cfg.Outbox, cfg.FlushOutbox))
	} else {
		mux.HandleFunc("GET /_dev/outbox", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"error": "not_found", "message": "dev delivery is off; start the server with --dev=true to use the outbox"})
		})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"name": "latchkey", "version": cfg.Version})
	})
	var h http.Handler = mux
	h = withCaller(h, cfg.TrustedProxies)
	h = cors(h, cfg.CORSOrigins)
	h = recoverPanics(h, log)
	h = accessLog(h, log)
	h = withRequestID(h, requestID)
	return h
}

// Limits are the HTTP server's timeouts and header cap: a slow or hostile
// client cannot hold a connection (slow-loris), nor make the server buffer
// unbounded headers. Request bodies are capped by each front door
// (cognito.MaxBodyBytes for the API).
type Limits struct {
	// ReadHeaderTimeout bounds reading the request line and headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the headers to the end
	// of the response.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for the
	// next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the request line and headers; larger requests
	// get 431 Request Header Fields Too Large.
	MaxHeaderBytes int
}

// DefaultLimits are the limits Serve uses unless told otherwise.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// shutdownGrace is how long in-flight requests may take to finish.
const shutdownGrace = 15 * time.Second

// ServeOption changes how Serve serves.
type ServeOption func(*Limits)

// WithLimits replaces the default limits; zero fields keep their defaults
// (a zero timeout would otherwise mean none at all).
func WithLimits(l Limits) ServeOption {
	return func(cur *Limits) {
		if l.ReadHeaderTimeout > 0 {
			cur.ReadHeaderTimeout = l.ReadHeaderTimeout
		}
		if l.ReadTimeout > 0 {
			cur.ReadTimeout = l.ReadTimeout
		}
		if l.WriteTimeout > 0 {
			cur.WriteTimeout = l.WriteTimeout
		}
		if l.IdleTimeout > 0 {
			cur.IdleTimeout = l.IdleTimeout
		}
		if l.MaxHeaderBytes > 0 {
			cur.MaxHeaderBytes = l.MaxHeaderBytes
		}
	}
}

// Serve serves h on ln until ctx is cancelled, then shuts down gracefully:
// in-flight requests finish (up to a grace period) before it returns.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, opts ...ServeOption) error {
	limits := DefaultLimits()
	for _, o := range opts {
		o(&limits)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: limits.ReadHeaderTimeout,
		ReadTimeout:       limits.ReadTimeout,
		WriteTimeout:      limits.WriteTimeout,
		IdleTimeout:       limits.IdleTimeout,
		MaxHeaderBytes:    limits.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
