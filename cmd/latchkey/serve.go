package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// errUsage means flags were wrong and errHelp that help was asked for; the
// flag package has already said so.
var (
	errUsage = errors.New("usage")
	errHelp  = errors.New("help")
)

// outboxCapacity bounds the dev outbox's memory.
const outboxCapacity = 1000

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
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, ready chan<- string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.ServeFlags(fs)
	fs.Usage = config.Usage(fs, stderr, "latchkey serve [flags]",
		"Runs the Latchkey server: the Cognito user-pools API on POST /, JWKS and OpenID\n"+
			"discovery at /<poolId>/.well-known/, and (with --dev) the dev outbox at\n"+
			"/_dev/outbox?to=DEST. On first start with an empty data directory it creates\n"+
			"a user pool and an app client and prints an Amplify configuration for them.")
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

	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "latchkey.db"))
	if err != nil {
		return fmt.Errorf("open store in %s: %w", cfg.DataDir, err)
	}
	defer st.Close()

	var outbox *deliver.Outbox
	sender := deliver.Unavailable()
	if cfg.Dev {
		outbox = deliver.NewOutbox(outboxCapacity, time.Now)
		sender = deliver.Fanout(deliver.NewLogSender(log), outbox)
		log.Warn("dev delivery is on: codes are written to this log and to /_dev/outbox instead of being sent; run with --dev=false in production")
	}
	engine, err := auth.New(auth.Config{Store: st, Sender: sender, PublicURL: cfg.PublicURL, Logger: log})
	if err != nil {
		return err
	}
	if err := bootstrap(ctx, engine, st, cfg.PublicURL, stdout); err != nil {
		return err
	}
	h := server.NewHandler(server.Config{
		Engine:      engine,
		Outbox:      outbox,
		CORSOrigins: cfg.CORSOrigins,
		Logger:      log,
		Version:     version,
	})
	log.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "data", cfg.DataDir, "version", version)
	if ready != nil {
		ready <- cfg.PublicURL
	}
	return server.Serve(ctx, ln, h, log)
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
func bootstrap(ctx context.Context, engine *auth.Engine, st *sqlite.Store, publicURL string, stdout io.Writer) error {
	existing, err := st.ListPools(ctx)
	if err != nil {
		return fmt.Errorf("list pools: %w", err)
	}
	if len(existing) > 0 {
		return nil
	}
	p, err := engine.CreatePool(ctx, "latchkey", "local", pool.DefaultSettings())
	if err != nil {
		return fmt.Errorf("create the first pool: %w", err)
	}
	c, err := engine.CreateClient(ctx, p.ID, "app", false)
	if err != nil {
		return fmt.Errorf("create the first app client: %w", err)
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
