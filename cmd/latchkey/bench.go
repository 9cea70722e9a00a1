package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/loadgen"
)

// bench runs `latchkey bench`: sign-ins against a running server, and a
// report of what they measured.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) > 0 && args[0] == "seed" {
		return benchSeed(ctx, args[1:], stdout, stderr, getenv)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadgen.Config
	var flow string
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.StringVar(&cfg.Endpoint, "endpoint", loadgen.DefaultEndpoint, "the server's base URL")
	fs.StringVar(&cfg.ClientID, "client-id", "", "app client ID, without a secret (required; latchkey pools list shows it)")
	fs.StringVar(&cfg.PoolID, "pool-id", "", "the client's pool, for its JWKS (default: read from one sign-in before the load)")
	fs.StringVar(&flow, "flow", string(loadgen.FlowReturning), "returning (sign existing users in), new (sign new users up and in), or enumeration (compare known and unknown usernames' latency)")
	unconfirmedClient := fs.String("unconfirmed-client-id", "", "with --flow enumeration: an app client of a pool that confirms users by code")
	requests := fs.Int("requests", 2000, "with --flow enumeration: known and unknown usernames asked about per operation")
	fs.IntVar(&cfg.Users, "users", loadgen.DefaultUsers, "distinct users: returning users are taken in turn, each new user signs up once")
	fs.IntVar(&cfg.Concurrency, "concurrency", loadgen.DefaultConcurrency, "flows at once")
	fs.IntVar(&cfg.Flows, "flows", 0, "stop after this many measured flows (0: when --duration ends)")
	fs.DurationVar(&cfg.Duration, "duration", loadgen.DefaultDuration, "how long to measure, after the warm-up")
	fs.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "how long to run before measuring")
	fs.StringVar(&cfg.Prefix, "prefix", "", "first digits of the users' phone numbers, 11 digits after the + in all (default "+
		loadgen.DefaultReturningPrefix+" for returning users, "+loadgen.DefaultNewPrefix+" for new ones)")
	fs.BoolVar(&cfg.Seed, "seed", false, "sign the returning users up before the run (those already there are kept)")
	fs.DurationVar(&cfg.Cooldown, "cooldown", loadgen.DefaultCooldown, "the pool's destination cooldown: a returning user waits this long between codes (0: do not wait)")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "the server's process ID on this machine: report its CPU time per flow and its memory")
	fs.BoolVar(&cfg.SigningBound, "signing-bound", true, "measure, before the load, how many sign-ins per second signing their tokens alone allows")
	fs.DurationVar(&cfg.SigningTime, "signing-time", loadgen.DefaultSigningTime, "how long to measure signing")
	fs.DurationVar(&cfg.RequestTimeout, "timeout", loadgen.DefaultRequestTimeout, "timeout of each request")
	fs.Usage = config.Usage(fs, stderr, "latchkey bench --client-id ID [flags]",
		"Drives a running Latchkey server with sign-ins by SMS code over HTTP, through the\n"+
			"Cognito API and the dev outbox (so the server needs dev delivery on), and reports\n"+
			"flows per second, latency percentiles per step, errors by __type, and with\n"+
			"--server-pid the server's CPU time per flow and memory. The pool's default abuse\n"+
			"limits stop a benchmark from one address; relax them first with:\n"+
			"  "+loadgen.RelaxCommand("POOL_ID")+"\n"+
			"See docs/performance.md.")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if cfg.ClientID == "" {
		fmt.Fprintln(stderr, "latchkey bench: --client-id is required (latchkey pools list shows it)")
		return errUsage
	}
	if flow == "enumeration" {
		return enumeration(ctx, loadgen.EnumerationConfig{
			Endpoint: cfg.Endpoint, ClientID: cfg.ClientID, UnconfirmedClientID: *unconfirmedClient,
			Requests: *requests, RequestTimeout: cfg.RequestTimeout, Progress: stderr,
		}, *asJSON, stdout)
	}
	cfg.Flow = loadgen.Flow(flow)
	if cfg.Cooldown == 0 {
		cfg.Cooldown = -1 // no wait; the Config's zero value is the default
	}
	cfg.Progress = stderr // the report goes to stdout
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if rep.Completed == 0 {
		return errors.New("no flow completed")
	}
	return nil
}

// enumeration runs `latchkey bench --flow enumeration`.
func enumeration(ctx context.Context, cfg loadgen.EnumerationConfig, asJSON bool, stdout io.Writer) error {
	rep, err := loadgen.Enumeration(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		return rep.WriteJSON(stdout)
	}
	return rep.WriteText(stdout)
}

// benchSeed runs `latchkey bench seed`: a store filled with returning
// users for a benchmark, written straight to the store.
func benchSeed(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("bench seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := storeFlags(fs)
	poolID := fs.String("pool", "", "the pool to fill (required)")
	users := fs.Int("users", loadgen.DefaultUsers, "how many users")
	prefix := fs.String("prefix", loadgen.DefaultReturningPrefix, "first digits of the users' phone numbers, as bench --prefix")
	fs.Usage = config.Usage(fs, stderr, "latchkey bench seed --pool POOL_ID --users N [--data DIR | --store URL]",
		"Stores N confirmed users with verified phone numbers, numbered as `latchkey bench\n"+
			"--flow returning` numbers them, straight into the store, thousands a transaction:\n"+
			"a large store for a benchmark in minutes. Users already there are kept. For\n"+
			"benchmarks only; run it while the server is stopped or idle.")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if *poolID == "" {
		fmt.Fprintln(stderr, "latchkey bench seed: --pool is required (latchkey pools list shows it)")
		return errUsage
	}
	st, err := target.openExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := st.GetPool(ctx, *poolID)
	if err != nil {
		return fmt.Errorf("pool %s: %w", *poolID, err)
	}
	start := time.Now()
	added, err := loadgen.BulkSeed(ctx, st, p, *prefix, *users, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Stored %d new users (%d asked for) in pool %s in %s.\n", added, *users, p.ID, time.Since(start).Round(time.Second))
	return nil
}
