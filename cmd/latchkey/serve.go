package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/server"
)

// errUsage means flags were wrong and errHelp that help was asked for; the
// flag package has already said so.
var (
	errUsage = errors.New("usage")
	errHelp  = errors.New("help")
)

// parseFlags parses a command's flags and env, mapping -h to errUsage.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := config.Parse(fs, args, getenv); err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			return errHelp
		case errors.Is(err, config.ErrEnv):
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %v\n", fs.Args())
		fs.Usage()
		return errUsage
	}
	return nil
}

// serve runs the server until ctx is cancelled. ready, if not nil, receives
// the public URL once the server is listening (tests use it).
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, ready chan<- string) (err error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.ServeFlags(fs)
	fs.Usage = config.Usage(fs, stderr, "latchkey serve [flags]",
		"Runs the Latchkey server: the Cognito user-pools API on POST /, JWKS and OpenID\n"+
			"discovery at /<poolId>/.well-known/, and (with --dev) the dev outbox at\n"+
			"/_dev/outbox?to=DEST. On first start with an empty store it creates a user\n"+
			"pool and an app client and prints an Amplify configuration for them. Many\n"+
			"nodes can serve one PostgreSQL store (--store postgres://…); each runs the\n"+
			"store's migrations at start-up and sweeps expired records.")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	if err := cfg.Finish(ln.Addr().String()); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)

	// The server itself is the public package's, as a Go program embedding
	// Latchkey builds it: store, engine, delivery, hooks, handler.
	srv, err := latchkey.New(ctx, latchkey.Config{
		Store:          cfg.Store,
		DataDir:        cfg.DataDir,
		PublicURL:      cfg.PublicURL,
		Dev:            cfg.Dev,
		Logger:         log,
		CORSOrigins:    cfg.CORSOrigins,
		TrustedProxies: cfg.TrustedProxies,
		Version:        buildVersion(),
	})
	if err != nil {
		return err
	}
	// After the last request: deliveries in flight finish, then the store
	// closes.
	defer func() {
		if cerr := srv.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	}()
	if err := bootstrap(ctx, srv, cfg.PublicURL, stdout); err != nil {
		return err
	}
	target := storeTarget{storeURL: cfg.Store, dataDir: cfg.DataDir}
	log.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "store", target.String(), "version", buildVersion())
	if ready != nil {
		ready <- cfg.PublicURL
	}
	return server.Serve(ctx, ln, srv.Handler(), log)
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// bootstrap creates the first pool and app client when the store has none,
// and prints how to use them.
func bootstrap(ctx context.Context, srv *latchkey.Server, publicURL string, stdout io.Writer) error {
	p, c, created, err := srv.Bootstrap(ctx)
	if err != nil || !created {
		return err
	}
	fmt.Fprintf(stdout, `Created user pool %s and app client %s.

Amplify v6 configuration:

Amplify.configure({
  Auth: {
    Cognito: {
      userPoolId: '%s',
      userPoolClientId: '%s',
      userPoolEndpoint: '%s',
      loginWith: { phone: true, email: true },
    },
  },
});

`, p.ID, c.ID, p.ID, c.ID, publicURL)
	return nil
}
