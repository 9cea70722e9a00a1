package latchkey_test

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/latchkey/latchkey"

// imports returns the packages pkg imports (its non-test files), and the
// whole set it depends on: the module's packages followed, others listed.
func imports(t *testing.T, pkg string) (direct []string, all map[string]bool) {
	t.Helper()
	all = map[string]bool{}
	var walk func(path string, first bool)
	walk = func(path string, first bool) {
		p, err := build.Import(path, ".", 0)
		if err != nil {
			t.Fatalf("import %s: %v", path, err)
		}
		if first {
			direct = p.Imports
		}
		for _, imp := range p.Imports {
			if all[imp] {
				continue
			}
			all[imp] = true
			if strings.HasPrefix(imp, module+"/") {
				walk(imp, false)
			}
		}
	}
	walk(pkg, true)
	return direct, all
}

// forbidden returns the packages in deps that match a prefix.
func forbidden(deps map[string]bool, prefixes ...string) []string {
	var out []string
	for d := range deps {
		for _, p := range prefixes {
			if d == p || strings.HasPrefix(d, p+"/") {
				out = append(out, d)
			}
		}
	}
	slices.Sort(out)
	return out
}

// The front doors translate a transport into engine calls; the store
// backends and delivery providers are wired in by cmd and latchkey.go.
var (
	frontDoors = []string{
		module + "/internal/cognito", module + "/internal/oidc", module + "/internal/web", module + "/internal/server",
	}
	storeBackends = []string{
		module + "/internal/store/sqlite", module + "/internal/store/postgres", module + "/internal/store/open",
		"modernc.org/sqlite", "github.com/jackc/pgx", "database/sql",
	}
	providers = []string{
		module + "/internal/deliver/sns", module + "/internal/deliver/ses", module + "/internal/deliver/twilio",
		module + "/internal/deliver/smtp", module + "/internal/deliver/providers", module + "/internal/deliver/dispatch",
		"github.com/aws/aws-sdk-go-v2/service",
	}
)

// TestEngineLayering enforces ARCHITECTURE.md's dependency direction: the
// engine (internal/auth) speaks no HTTP and no SQL itself and depends on no
// store backend, delivery provider or front door; no front door depends on
// a store backend; and nothing below the front doors depends on one.
func TestEngineLayering(t *testing.T) {
	direct, all := imports(t, module+"/internal/auth")
	for _, imp := range direct {
		if imp == "net/http" || imp == "database/sql" || strings.HasPrefix(imp, "net/http/") {
			t.Errorf("internal/auth imports %s directly", imp)
		}
	}
	for _, bad := range forbidden(all, slices.Concat(storeBackends, providers, frontDoors)...) {
		t.Errorf("internal/auth depends on %s", bad)
	}
	for _, door := range frontDoors {
		_, all := imports(t, door)
		for _, bad := range forbidden(all, storeBackends...) {
			t.Errorf("%s depends on the store backend %s", strings.TrimPrefix(door, module+"/"), bad)
		}
	}
	below := []string{"auth", "store", "limit", "otp", "token", "hook", "deliver", "message", "phone", "email", "seal", "config", "pool"}
	for _, name := range below {
		_, all := imports(t, module+"/internal/"+name)
		for _, bad := range forbidden(all, frontDoors...) {
			t.Errorf("internal/%s depends on the front door %s", name, bad)
		}
	}
}
