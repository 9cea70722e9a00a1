package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/latchkey/latchkey/internal/config"
)

// migrate runs `latchkey migrate`: brings the store's schema up to date
// and exits, so an operator can migrate before rolling out new nodes.
func migrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := storeFlags(fs)
	fs.Usage = config.Usage(fs, stderr, "latchkey migrate [flags]",
		"Applies the store's schema migrations (embedded in the binary) and exits.\n"+
			"serve applies them at start-up too; run this first to migrate before a rollout.")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	st, err := target.open(ctx)
	if err != nil {
		return fmt.Errorf("migrate (%s): %w", target, err)
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("migrate (%s): %w", target, err)
	}
	fmt.Fprintf(stdout, "store %s is up to date\n", target)
	return nil
}
