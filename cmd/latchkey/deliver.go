package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/providers"
	"github.com/latchkey/latchkey/internal/email"
	"github.com/latchkey/latchkey/internal/phone"
	"github.com/latchkey/latchkey/internal/pool"
)

const deliverUsage = `Usage:
  latchkey deliver test --pool POOL_ID --to DEST [--channel sms|email] [--data DIR | --store URL]

Run "latchkey deliver <command> --help" for a command's flags.`

// errNotDelivered is deliver test's failure once it has reported why.
var errNotDelivered = errors.New("no provider delivered the test message")

// deliverCmd runs `latchkey deliver test`.
func deliverCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, deliverUsage)
		return errUsage
	}
	switch args[0] {
	case "test":
		return deliverTest(ctx, args[1:], stdout, stderr, getenv)
	case "--help", "-h", "help":
		fmt.Fprintln(stdout, deliverUsage)
		return nil
	}
	fmt.Fprintf(stderr, "latchkey deliver: unknown command %q\n\n%s\n", args[0], deliverUsage)
	return errUsage
}

// deliverTest sends a test message (no code in it) through a pool's
// providers for a channel, in order, now, and reports each attempt. It
// reads secrets as a server node does, from this machine's environment
// and files, so run it where the server runs.
func deliverTest(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("deliver test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := storeFlags(fs)
	poolID := fs.String("pool", "", "the pool whose providers to test (required)")
	to := fs.String("to", "", "where to send: an E.164 phone number or an email address (required)")
	channel := fs.String("channel", "", "sms or email (default: email when --to has an @, else sms)")
	timeout := fs.Duration("timeout", 15*time.Second, "how long each provider may take")
	fs.Usage = config.Usage(fs, stderr, "latchkey deliver test --pool POOL_ID --to DEST [flags]",
		"Sends a test message through the pool's providers for the channel, in order, at once,\n"+
			"and reports which provider delivered it or why each failed. Secrets are read from\n"+
			"this machine's environment and files, as a server node reads them.")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if *poolID == "" || *to == "" {
		fmt.Fprintln(stderr, "latchkey deliver test: --pool and --to are required")
		return errUsage
	}
	ch := deliver.Channel(*channel)
	switch {
	case ch == "" && strings.Contains(*to, "@"):
		ch = deliver.ChannelEmail
	case ch == "":
		ch = deliver.ChannelSMS
	case ch != deliver.ChannelSMS && ch != deliver.ChannelEmail:
		fmt.Fprintf(stderr, "latchkey deliver test: --channel %q: want sms or email\n", *channel)
		return errUsage
	}

	st, err := target.openExisting(ctx)
	if err != nil {
		return fmt.Errorf("open store (%s): %w", target, err)
	}
	defer st.Close()
	p, err := st.GetPool(ctx, *poolID)
	if err != nil {
		return fmt.Errorf("pool %s: %w", *poolID, err)
	}
	dest, err := testDestination(ch, *to, p.Settings.DefaultPhoneRegion)
	if err != nil {
		return err
	}
	ps := p.Settings.Delivery.Providers(string(ch))
	if len(ps) == 0 {
		return fmt.Errorf("pool %s configures no %s provider: its codes go to the server's default sender (the dev outbox with --dev, else none); set one with pools update --delivery-file", p.ID, ch)
	}

	b := &providers.Builder{Getenv: getenv}
	chain := providers.NewChain(b.Links(ctx, ch, ps), providers.ChainOptions{AttemptTimeout: *timeout})
	attempts, sendErr := chain.Deliver(ctx, testMessage(p, ch, dest))
	for _, a := range attempts {
		switch {
		case a.Err == nil:
			fmt.Fprintf(stdout, "%s: delivered in %s\n", a.Provider, a.Duration.Round(time.Millisecond))
		case a.Skipped:
			fmt.Fprintf(stdout, "%s: skipped: %v\n", a.Provider, a.Err)
		default:
			kind := "permanent"
			if deliver.IsTransient(a.Err) {
				kind = "transient"
			}
			fmt.Fprintf(stdout, "%s: failed (%s) after %s: %v\n", a.Provider, kind, a.Duration.Round(time.Millisecond), a.Err)
		}
	}
	if sendErr != nil {
		return errNotDelivered
	}
	last := attempts[len(attempts)-1]
	fmt.Fprintf(stdout, "Delivered to %s by %s.\n", dest, last.Provider)
	return nil
}

func testDestination(ch deliver.Channel, to, region string) (string, error) {
	if ch == deliver.ChannelEmail {
		return email.Normalize(to)
	}
	return phone.Normalize(to, region)
}

// testMessage says what it is and holds no code, so it cannot be mistaken
// for, or used as, a sign-in.
func testMessage(p pool.Pool, ch deliver.Channel, to string) deliver.Message {
	name := p.Name
	if name == "" {
		name = p.ID
	}
	body := fmt.Sprintf("Latchkey delivery test for %s: this provider works. No action is needed.", name)
	return deliver.Message{
		PoolID:  p.ID,
		Channel: ch,
		To:      to,
		Subject: "Latchkey delivery test",
		Body:    body,
		Purpose: "delivery_test",
	}
}
