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
	// CORSOrigins are the browser origins allowed to call the API; "*"
	// allows any.
	CORSOrigins []string
	Logger      *slog.Logger
	Version     string
	// RequestID makes request IDs; nil means random UUIDs.
	RequestID func() string
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
		mux.Handle("GET /_dev/outbox", web.OutboxHandler(cfg.Outbox))
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
	h = cors(h, cfg.CORSOrigins)
	h = recoverPanics(h, log)
	h = accessLog(h, log)
	h = withRequestID(h, requestID)
	return h
}

// Timeouts of the HTTP server: slow clients cannot hold connections open.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	shutdownGrace     = 15 * time.Second
)

// Serve serves h on ln until ctx is cancelled, then shuts down gracefully:
// in-flight requests finish (up to a grace period) before it returns.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
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
