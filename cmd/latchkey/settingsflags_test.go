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
