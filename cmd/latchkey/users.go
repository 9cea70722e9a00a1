package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
)

const usersUsage = `Usage:
  latchkey users status [--data DIR | --store URL] --pool POOL_ID --username USERNAME [--json]
  latchkey users unlock [--data DIR | --store URL] --pool POOL_ID --username USERNAME

status shows how many code answers an account may still submit; unlock
gives a locked account its full guessing budget back. USERNAME is what the
user types (a phone number or an email address); it need not exist.`

// users runs `latchkey users status|unlock`.
func users(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usersUsage)
		return errUsage
	}
	switch args[0] {
	case "status", "unlock":
	case "--help", "-h", "help":
		fmt.Fprintln(stdout, usersUsage)
		return nil
	default:
		fmt.Fprintf(stderr, "latchkey users: unknown command %q\n\n%s\n", args[0], usersUsage)
		return errUsage
	}
	cmd := args[0]
	fs := flag.NewFlagSet("users "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := storeFlags(fs)
	poolID := fs.String("pool", "", "the user pool ID (required)")
	username := fs.String("username", "", "the account's username: phone number or email (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = config.Usage(fs, stderr, "latchkey users "+cmd+" --pool POOL_ID --username USERNAME", usersUsage)
	if err := parseFlags(fs, args[1:], getenv); err != nil {
		return err
	}
	if *poolID == "" || *username == "" {
		fmt.Fprintf(stderr, "latchkey users %s: --pool and --username are required\n", cmd)
		return errUsage
	}
	st, err := target.openExisting(ctx)
	if err != nil {
		return fmt.Errorf("open store (%s): %w", target, err)
	}
	defer st.Close()
	admin := auth.NewAdmin(st, rand.Reader, time.Now)
	if cmd == "unlock" {
		account, err := admin.Unlock(ctx, *poolID, *username)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, map[string]any{"pool": *poolID, "username": account, "unlocked": true})
		}
		fmt.Fprintf(stdout, "Unlocked %s in pool %s.\n", account, *poolID)
		return nil
	}
	account, status, err := admin.AccountStatus(ctx, *poolID, *username)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, map[string]any{"pool": *poolID, "username": account, "remaining_answers": status.Remaining, "locked": status.Locked})
	}
	state := "not locked"
	if status.Locked {
		state = "LOCKED"
	}
	fmt.Fprintf(stdout, "%s in pool %s: %s, %d code answers left before the budget runs out.\n", account, *poolID, state, status.Remaining)
	return nil
}
