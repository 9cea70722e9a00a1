package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The basic settings flags: pools create starts from the defaults, pools
// update changes only the flags given, and out-of-range values are refused
// with the setting named, leaving the stored settings as they were.
func TestPoolsBasicSettingsFlags(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	noEnv := func(string) string { return "" }
	run1 := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(ctx, args, &out, &errOut, noEnv)
		return out.String(), errOut.String(), code
	}
	out, errOut, code := run1("pools", "create", "--data", dir, "--name", "shop", "--sign-up-code-ttl", "10m", "--json")
	if code != 0 {
		t.Fatalf("pools create: exit %d: %s", code, errOut)
	}
	var created struct{ ID string }
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	type shown struct {
		Settings struct {
			AutoConfirm   bool          `json:"auto_confirm"`
			CodeLength    int           `json:"code_length"`
			MaxAttempts   int           `json:"max_attempts"`
			SessionTTL    time.Duration `json:"session_ttl"`
			SignUpCodeTTL time.Duration `json:"sign_up_code_ttl"`
		} `json:"settings"`
	}
	show := func() shown {
		t.Helper()
		out, errOut, code := run1("pools", "show", created.ID, "--data", dir)
		if code != 0 {
			t.Fatalf("pools show: exit %d: %s", code, errOut)
		}
		var s shown
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("pools show: %v\n%s", err, out)
		}
		return s
	}
	before := show()
	if before.Settings.SignUpCodeTTL != 10*time.Minute || before.Settings.CodeLength != 6 || before.Settings.SessionTTL != 3*time.Minute {
		t.Fatalf("created with %+v", before.Settings)
	}

	out, errOut, code = run1("pools", "update", created.ID, "--data", dir, "--session-ttl", "5m", "--max-attempts", "5")
	if code != 0 {
		t.Fatalf("pools update: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"session-ttl: 5m0s (was 3m0s)", "max-attempts: 5 (was 3)"} {
		if !strings.Contains(out, want) {
			t.Errorf("pools update output lacks %q:\n%s", want, out)
		}
	}
	after := show()
	if after.Settings.SessionTTL != 5*time.Minute || after.Settings.MaxAttempts != 5 ||
		after.Settings.SignUpCodeTTL != 10*time.Minute || after.Settings.AutoConfirm != before.Settings.AutoConfirm {
		t.Fatalf("after update: %+v (before %+v)", after.Settings, before.Settings)
	}

	for _, c := range []struct {
		flag, value, says string
	}{
		{"--session-ttl", "1h", "session lifetime 1h0m0s is outside 3m..15m"},
		{"--sign-up-code-ttl", "48h", "sign-up code lifetime 48h0m0s is outside 0..24h"},
		{"--code-length", "4", "code length 4 is outside"},
		{"--max-attempts", "0", "attempts per code 0 is outside 1..10"},
	} {
		_, errOut, code := run1("pools", "update", created.ID, "--data", dir, c.flag, c.value)
		if code == 0 || !strings.Contains(errOut, c.says) {
			t.Errorf("%s %s: exit %d, stderr %q; want an error saying %q", c.flag, c.value, code, errOut, c.says)
		}
	}
	if got := show(); got != after {
		t.Fatalf("a refused update changed the settings: %+v, want %+v", got.Settings, after.Settings)
	}
}

// --signing-alg: create makes the first key of the algorithm; update to
// another algorithm adds a key of it and keeps the old one unretired, and
// says so; the same algorithm again changes nothing; anything else is
// refused, naming the allowed algorithms.
func TestPoolsSigningAlgFlag(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	noEnv := func(string) string { return "" }
	run1 := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(ctx, args, &out, &errOut, noEnv)
		return out.String(), errOut.String(), code
	}
	type shown struct {
		Settings struct {
			SigningAlg string `json:"signing_alg"`
		} `json:"settings"`
		SigningKeys []struct {
			KID       string     `json:"kid"`
			Alg       string     `json:"alg"`
			CreatedAt time.Time  `json:"created_at"`
			RetiredAt *time.Time `json:"retired_at"`
		} `json:"signing_keys"`
	}
	show := func(id string) shown {
		t.Helper()
		out, errOut, code := run1("pools", "show", id, "--data", dir)
		if code != 0 {
			t.Fatalf("pools show: exit %d: %s", code, errOut)
		}
		if strings.Contains(out, "PRIVATE KEY") {
			t.Fatal("pools show prints a private key")
		}
		var s shown
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("pools show: %v\n%s", err, out)
		}
		return s
	}
	create := func(args ...string) string {
		t.Helper()
		out, errOut, code := run1(append([]string{"pools", "create", "--data", dir, "--name", "p", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("pools create %v: exit %d: %s", args, code, errOut)
		}
		var created struct{ ID string }
		if err := json.Unmarshal([]byte(out), &created); err != nil {
			t.Fatal(err)
		}
		return created.ID
	}

	if s := show(create()); s.Settings.SigningAlg != "RS256" || len(s.SigningKeys) != 1 || s.SigningKeys[0].Alg != "RS256" {
		t.Errorf("default pool: %+v", s)
	}
	id := create("--signing-alg", "es256")
	before := show(id)
	if before.Settings.SigningAlg != "ES256" || len(before.SigningKeys) != 1 || before.SigningKeys[0].Alg != "ES256" {
		t.Fatalf("--signing-alg es256: %+v", before)
	}

	out, errOut, code := run1("pools", "update", id, "--data", dir, "--signing-alg", "EdDSA")
	if code != 0 {
		t.Fatalf("pools update: exit %d: %s", code, errOut)
	}
	after := show(id)
	if after.Settings.SigningAlg != "EdDSA" || len(after.SigningKeys) != 2 || after.SigningKeys[0].Alg != "EdDSA" ||
		after.SigningKeys[1] != before.SigningKeys[0] {
		t.Fatalf("after update: %+v", after)
	}
	for _, want := range []string{
		"signing-alg: EdDSA (was ES256)",
		"signing key " + after.SigningKeys[0].KID + " (EdDSA) added",
		"signing key " + before.SigningKeys[0].KID + " (ES256) signs until then and keeps verifying",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pools update output lacks %q:\n%s", want, out)
		}
	}

	// The same algorithm again: nothing changes.
	out, _, code = run1("pools", "update", id, "--data", dir, "--signing-alg", "eddsa", "--json")
	if code != 0 || strings.Contains(out, "added") {
		t.Fatalf("pools update to the same algorithm: exit %d:\n%s", code, out)
	}
	var upd shown
	if err := json.Unmarshal([]byte(out), &upd); err != nil || len(upd.SigningKeys) != 2 || upd.Settings.SigningAlg != "EdDSA" {
		t.Fatalf("pools update --json: %v\n%s", err, out)
	}

	for _, bad := range []string{"HS256", "none", "Ed25519", ""} {
		_, errOut, code := run1("pools", "update", id, "--data", dir, "--signing-alg", bad)
		if code == 0 || !strings.Contains(errOut, "is not one of RS256, ES256, EdDSA") {
			t.Errorf("--signing-alg %q: exit %d, stderr %q", bad, code, errOut)
		}
		_, errOut, code = run1("pools", "create", "--data", dir, "--name", "bad", "--signing-alg", bad)
		if code == 0 || !strings.Contains(errOut, "is not one of RS256, ES256, EdDSA") {
			t.Errorf("create --signing-alg %q: exit %d, stderr %q", bad, code, errOut)
		}
	}
	if got := show(id); len(got.SigningKeys) != 2 {
		t.Errorf("refused updates changed the keys: %+v", got)
	}
}
