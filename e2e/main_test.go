// Package e2e_test runs the real latchkey binary as separate processes and
// drives it over HTTP with the AWS SDK for Go v2, the way a deployment is
// used: several nodes over one PostgreSQL database, and nodes killed with
// SIGKILL in the middle of sign-ups and sign-ins.
package e2e_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
)

// latchkeyBin is the server binary every test runs. TestMain builds it once,
// so each node starts in milliseconds instead of compiling.
var latchkeyBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// testing.Short needs parsed flags; m.Run parses them again, harmlessly.
	flag.Parse()
	if testing.Short() {
		// Every test skips itself in -short mode; building would be wasted.
		return pgtest.Main(m)
	}
	dir, err := os.MkdirTemp("", "latchkey-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := buildBinary(filepath.Join(dir, "latchkey"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	latchkeyBin = bin
	return pgtest.Main(m)
}

// buildBinary compiles ./cmd/latchkey into out. It is built without -race
// even when the tests run with it: the race detector belongs to the test
// process, and a race build of the server would only make the nodes slower
// on small CI machines.
func buildBinary(out string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", out, "./cmd/latchkey")
	cmd.Dir = root
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/latchkey in %s: %v\n%s", root, err, output.String())
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "e2e: built %s in %v\n", out, time.Since(start).Round(time.Millisecond))
	}
	return out, nil
}

// moduleRoot finds the directory holding go.mod, starting from the test's
// working directory (e2e/ under go test).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// skipShort skips heavy end-to-end tests under go test -short.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: runs server processes; skipped with -short")
	}
}
