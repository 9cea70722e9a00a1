// Command latchkey is a self-hosted passwordless authentication server that
// speaks the Amazon Cognito user-pools API.
//
// This file only wires commands to the packages that do the work.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `latchkey is a self-hosted passwordless authentication server (sign-up and
sign-in by SMS or email one-time code) that speaks the Amazon Cognito
user-pools API, so Cognito clients work against it by changing one endpoint.

Usage:
  latchkey <command> [flags]

Commands:
  serve      run the server (creates a pool and app client on first start)
  pools      create, list, show and update user pools (settings, delivery, hooks)
  users      show an account's guessing budget, unlock a locked account
  audit      list the audit trail of security events
  deliver    send a test message through a pool's delivery providers
  bench      drive a running server with sign-ins and report their cost
  migrate    apply the store's schema migrations and exit
  version    print the version
  help       print this help

Run "latchkey <command> --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr, getenv, nil)
	case "pools":
		err = pools(ctx, args[1:], stdout, stderr, getenv)
	case "users":
		err = users(ctx, args[1:], stdout, stderr, getenv)
	case "audit":
		err = audit(ctx, args[1:], stdout, stderr, getenv)
	case "deliver":
		err = deliverCmd(ctx, args[1:], stdout, stderr, getenv)
	case "bench":
		err = bench(ctx, args[1:], stdout, stderr, getenv)
	case "migrate":
		err = migrate(ctx, args[1:], stdout, stderr, getenv)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "latchkey", buildVersion())
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "latchkey: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch err {
	case errHelp:
		return 0
	case errUsage:
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "latchkey:", err)
		return 1
	}
	return 0
}
