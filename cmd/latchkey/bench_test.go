package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/loadgen"
	"github.com/latchkey/latchkey/internal/pool"
)

// TestBenchRelaxCommand runs the command `latchkey bench` and
// docs/performance.md give for relaxing a pool's limits: pools update
// takes it, and it turns off every send limit but the destination
// cooldown, and lets SMS go to +1 numbers.
func TestBenchRelaxCommand(t *testing.T) {
	dir := t.TempDir()
	id := createPool(t, dir)
	args := strings.Fields(loadgen.RelaxCommand(id))
	if args[0] != "latchkey" {
		t.Fatalf("command %q", args)
	}
	if code, _, errOut := cli(t, nil, append(args[1:], "--data", dir)...); code != 0 {
		t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	code, out, errOut := cli(t, nil, "pools", "show", id, "--data", dir)
	if code != 0 {
		t.Fatalf("pools show: exit %d: %s", code, errOut)
	}
	var shown struct {
		Settings struct {
			Limits map[string]json.RawMessage `json:"limits"`
		} `json:"settings"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatal(err)
	}
	limits := shown.Settings.Limits
	for name := range rateFields(&pool.Limits{}) {
		var r pool.Rate
		if err := json.Unmarshal(limits[name], &r); err != nil {
			t.Fatalf("limit %s: %v", name, err)
		}
		off := r.IsZero()
		// The existence-answer limits stay: a benchmark never meets them,
		// and the command must work against older builds without them.
		if want := name != "guesses" && name != "destination_cooldown" && !strings.HasPrefix(name, "exists_"); off != want {
			t.Errorf("limit %s = %v, want off: %v", name, r, want)
		}
	}
	var countries []string
	if err := json.Unmarshal(limits["sms_countries"], &countries); err != nil || !slices.Equal(countries, []string{"US", "+1"}) {
		t.Errorf("sms_countries = %s, want [US +1]", limits["sms_countries"])
	}
}
