package loadgen

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	return &Report{
		Endpoint: "http://127.0.0.1:8080", Flow: "returning", Concurrency: 8, Users: 10000,
		FirstUser: "+15550000000", LastUser: "+15550009999", WarmupSeconds: 3, WindowSeconds: 30, Stopped: "duration",
		Completed: 9000, Failed: 2, FlowsPerSecond: 300, DistinctUsers: 9000,
		Latency: []Latency{{Step: "InitiateAuth", Count: 9000, P50: 1.5, P90: 2.5, P99: 4, Max: 9, Mean: 1.7}},
		Errors:  []ErrorCount{{Type: "LimitExceededException", Step: "InitiateAuth", Count: 2, Example: "LimitExceededException: wait"}},
		Server:  &ServerReport{PID: 42, CPUSeconds: 54, Cores: 1.8, CPUMsPerFlow: 6, PeakRSSBytes: 100 << 20, RSSBytes: 90 << 20},
		Signing: &SigningReport{PoolID: "local_X", Alg: "RS256", Key: "RSA 2048-bit", Goroutines: 2, Seconds: 2, Signatures: 3000,
			PerSecond: 1500, CPUMsPerSignature: 1.3, BoundFlowsPerSecond: 750, FlowsOverBound: 0.4, ServerCPUOverSigning: 2.31},
		Hints: []string{"relax the limits"},
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"returning flow against http://127.0.0.1:8080",
		"users 10000 (+15550000000 … +15550009999), warm-up 3s, measured 30.0s (stopped: duration)",
		"Flows: 9000 completed, 2 failed, 300.0 flows/s, 9000 distinct users",
		"InitiateAuth               9000      1.50      2.50      4.00      9.00      1.70",
		"2  LimitExceededException at InitiateAuth: LimitExceededException: wait",
		"Server (pid 42): 6.00 ms CPU per flow, 1.80 cores busy, peak RSS 100.0 MiB, RSS now 90.0 MiB",
		"1500 signatures/s, 1.300 ms CPU each → bound 750 flows/s",
		"flows/s ÷ bound = 0.400",
		"server CPU per flow ÷ (2 × one signature's CPU) = 2.31",
		"- relax the limits",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}

	r := &Report{Flow: "new", SigningSkipped: "no pool", Unfinished: 3}
	b.Reset()
	r.WriteText(&b)
	for _, want := range []string{"Errors: none", "Signing bound skipped: no pool", "; 3 still running at the end, not counted"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["flows_per_second"] != 300.0 || got["flows_completed"] != 9000.0 {
		t.Errorf("JSON = %s", b.String())
	}
	lat := got["latency_ms"].([]any)[0].(map[string]any)
	if lat["step"] != "InitiateAuth" || lat["p99"] != 4.0 {
		t.Errorf("latency_ms[0] = %v", lat)
	}
	if s := got["signing"].(map[string]any); s["bound_flows_per_second"] != 750.0 || s["flows_over_bound"] != 0.4 {
		t.Errorf("signing = %v", s)
	}
	if s := got["server"].(map[string]any); s["cpu_ms_per_flow"] != 6.0 || s["peak_rss_bytes"] != float64(100<<20) {
		t.Errorf("server = %v", s)
	}
}

func TestHints(t *testing.T) {
	cfg := Config{Flow: FlowReturning, Users: 1000, Cooldown: 30 * time.Second}
	tests := []struct {
		name string
		rep  Report
		want []string // substrings, one per hint expected
	}{
		{"clean run", Report{Stopped: "duration"}, nil},
		{"limits", Report{Errors: []ErrorCount{{Type: "TooManyRequestsException"}, {Type: "LimitExceededException"}}},
			[]string{"latchkey pools update POOL_ID --sms-countries US,+1 --limit ip_hourly=off"}},
		{"limits name the pool when known", Report{Signing: &SigningReport{PoolID: "local_Abc"}, Errors: []ErrorCount{{Type: "TooManyRequestsException"}}},
			[]string{"latchkey pools update local_Abc "}},
		{"country", Report{Errors: []ErrorCount{{Type: "InvalidParameterException", Example: "This pool does not send SMS to unassigned numbers (+1)"}}},
			[]string{"--sms-countries US,+1"}},
		{"other invalid parameter", Report{Errors: []ErrorCount{{Type: "InvalidParameterException", Example: "bad"}}}, nil},
		{"client", Report{Errors: []ErrorCount{{Type: "ResourceNotFoundException"}}}, []string{"check --client-id"}},
		{"seed failed on limits", Report{Seed: &SeedReport{Errors: []ErrorCount{{Type: "TooManyRequestsException"}}}}, []string{"--limit ip_hourly=off"}},
		{"existing new users", Report{Errors: []ErrorCount{{Type: "UsernameExistsException"}}}, []string{"prefix no run has used"}},
		{"no code", Report{Errors: []ErrorCount{{Type: errCodeNotDelivered}}}, []string{"--seed"}},
		{"no outbox", Report{Errors: []ErrorCount{{Type: errOutboxNotFound}}}, []string{"dev delivery on"}},
		{"cooldown", Report{CooldownWaits: 5}, []string{"bounds the rate at users ÷ cooldown = 33.3 flows/s"}},
		{"stopped by cooldown", Report{Stopped: "cooldown"}, []string{"use more --users"}},
		{"nothing finished", Report{Unfinished: 64}, []string{"64 flows were still running when the window ended"}},
		{"a few unfinished is normal", Report{Completed: 900, Unfinished: 8}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hints(cfg, &tt.rep)
			if len(got) != len(tt.want) {
				t.Fatalf("hints = %q, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("hint %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
	if got := hints(Config{Flow: FlowNew}, &Report{Stopped: "users"}); len(got) != 1 || !strings.Contains(got[0], "raise --users") {
		t.Errorf("new users used up: hints = %q", got)
	}
}

func TestRelaxCommand(t *testing.T) {
	got := RelaxCommand("local_X")
	if !strings.HasPrefix(got, "latchkey pools update local_X --sms-countries US,+1 --limit ") ||
		strings.Contains(got, "destination_cooldown") || strings.Count(got, "=off") != 11 {
		t.Errorf("RelaxCommand = %q", got)
	}
}
