package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Report is what a run measured. Latencies are in milliseconds.
type Report struct {
	Endpoint    string `json:"endpoint"`
	Flow        string `json:"flow"`
	Concurrency int    `json:"concurrency"`
	Users       int    `json:"users"`
	// FirstUser and LastUser are the range of phone numbers used.
	FirstUser     string  `json:"first_user"`
	LastUser      string  `json:"last_user"`
	WarmupSeconds float64 `json:"warmup_seconds"`
	// WindowSeconds is the measured window: from the end of the warm-up
	// to the end of the duration, or to the end of the last flow counted
	// when the run stopped sooner.
	WindowSeconds float64 `json:"window_seconds"`
	// Stopped says why the run ended: "duration", "flows" (the flow
	// count reached), "users" (every new user signed up), "cooldown"
	// (every returning user was in its cooldown past the end) or
	// "interrupted".
	Stopped string `json:"stopped"`

	// Flows started and ended within the window.
	Completed      int     `json:"flows_completed"`
	Failed         int     `json:"flows_failed"`
	FlowsPerSecond float64 `json:"flows_per_second"`
	// Unfinished counts flows started in the window and still running at
	// its end: they are not counted above.
	Unfinished int `json:"flows_unfinished"`
	// DistinctUsers is how many users the measured flows used.
	DistinctUsers int `json:"distinct_users"`
	// CooldownWaits counts measured flows that first waited for their
	// user's destination cooldown to pass.
	CooldownWaits int          `json:"cooldown_waits"`
	Latency       []Latency    `json:"latency_ms"`
	Errors        []ErrorCount `json:"errors"`

	Seed      *SeedReport      `json:"seed,omitempty"`
	Server    *ServerReport    `json:"server,omitempty"`
	Generator *GeneratorReport `json:"generator,omitempty"`
	Signing   *SigningReport   `json:"signing,omitempty"`
	// SigningSkipped says why there is no signing bound, when asked for.
	SigningSkipped string `json:"signing_skipped,omitempty"`

	Hints []string `json:"hints,omitempty"`
}

// Latency summarises one step's latencies over the completed flows, in
// milliseconds. Percentiles are by nearest rank over every sample, or
// over a uniform sample of them when Sampled.
type Latency struct {
	Step    string  `json:"step"`
	Count   int     `json:"count"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
	Mean    float64 `json:"mean"`
	Sampled bool    `json:"sampled,omitempty"`
}

// ErrorCount is how many measured flows ended with an error of Type (the
// Cognito __type, or a kind the generator saw, such as CodeNotDelivered)
// at Step, with the first one's text.
type ErrorCount struct {
	Type    string `json:"type"`
	Step    string `json:"step"`
	Count   int    `json:"count"`
	Example string `json:"example"`
}

// SeedReport is what signing the returning users up did.
type SeedReport struct {
	Created  int          `json:"created"`
	Existing int          `json:"existing"`
	Failed   int          `json:"failed"`
	Seconds  float64      `json:"seconds"`
	Errors   []ErrorCount `json:"errors,omitempty"`
}

// ServerReport is the server process's use of this machine.
type ServerReport struct {
	PID int `json:"pid"`
	// CPUSeconds is its user and system CPU time over the window.
	CPUSeconds float64 `json:"cpu_seconds"`
	// Cores is CPUSeconds over the window's length: the cores it kept
	// busy on average.
	Cores        float64 `json:"cores"`
	CPUMsPerFlow float64 `json:"cpu_ms_per_flow"`
	// PeakRSSBytes is VmHWM, the most resident memory since it started;
	// RSSBytes is VmRSS at the end of the window.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	RSSBytes     int64 `json:"rss_bytes"`
}

// GeneratorReport is the load generator's own CPU time over the window,
// which the server did not have when both share a machine.
type GeneratorReport struct {
	CPUSeconds   float64 `json:"cpu_seconds"`
	CPUMsPerFlow float64 `json:"cpu_ms_per_flow"`
}

// SigningReport is the signing bound: how many sign-ins per second this
// machine could finish if signing their two tokens were all it did.
type SigningReport struct {
	PoolID     string  `json:"pool_id"`
	Alg        string  `json:"alg"`
	Key        string  `json:"key"`
	Goroutines int     `json:"goroutines"`
	Seconds    float64 `json:"seconds"`
	Signatures int64   `json:"signatures"`
	PerSecond  float64 `json:"signatures_per_second"`
	// CPUMsPerSignature is the CPU time of one signature.
	CPUMsPerSignature float64 `json:"cpu_ms_per_signature"`
	// BoundFlowsPerSecond is PerSecond / 2: a sign-in signs an ID and an
	// access token.
	BoundFlowsPerSecond float64 `json:"bound_flows_per_second"`
	// FlowsOverBound is the run's flows per second over the bound.
	FlowsOverBound float64 `json:"flows_over_bound"`
	// ServerCPUOverSigning is the server's CPU time per flow over that of
	// two signatures (with --server-pid): how many times the signing
	// cost a flow costs.
	ServerCPUOverSigning float64 `json:"server_cpu_over_signing,omitempty"`
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Latchkey load generator: %s flow against %s\n", r.Flow, r.Endpoint)
	fmt.Fprintf(&b, "  concurrency %d, users %d (%s … %s), warm-up %s, measured %.1fs (stopped: %s)\n",
		r.Concurrency, r.Users, r.FirstUser, r.LastUser, seconds(r.WarmupSeconds), r.WindowSeconds, r.Stopped)
	if s := r.Seed; s != nil {
		fmt.Fprintf(&b, "  seeded in %.1fs: %d signed up, %d already there, %d failed\n", s.Seconds, s.Created, s.Existing, s.Failed)
		for _, e := range s.Errors {
			fmt.Fprintf(&b, "    %6d  %s: %s\n", e.Count, e.Type, e.Example)
		}
	}
	fmt.Fprintf(&b, "\nFlows: %d completed, %d failed, %.1f flows/s, %d distinct users",
		r.Completed, r.Failed, r.FlowsPerSecond, r.DistinctUsers)
	if r.Unfinished > 0 {
		fmt.Fprintf(&b, "; %d still running at the end, not counted", r.Unfinished)
	}
	b.WriteString("\n")
	if r.CooldownWaits > 0 {
		fmt.Fprintf(&b, "  %d flows waited for their user's destination cooldown\n", r.CooldownWaits)
	}
	if len(r.Latency) > 0 {
		fmt.Fprintf(&b, "\nLatency (ms)  %-22s %8s %9s %9s %9s %9s %9s\n", "step", "count", "p50", "p90", "p99", "max", "mean")
		for _, l := range r.Latency {
			name := l.Step
			if l.Sampled {
				name += " (sampled)"
			}
			fmt.Fprintf(&b, "              %-22s %8d %9.2f %9.2f %9.2f %9.2f %9.2f\n", name, l.Count, l.P50, l.P90, l.P99, l.Max, l.Mean)
		}
	}
	b.WriteString("\nErrors:")
	if len(r.Errors) == 0 {
		b.WriteString(" none\n")
	} else {
		b.WriteString("\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "  %6d  %s at %s: %s\n", e.Count, e.Type, e.Step, e.Example)
		}
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(&b, "\nServer (pid %d): %.2f ms CPU per flow, %.2f cores busy, peak RSS %s, RSS now %s\n",
			s.PID, s.CPUMsPerFlow, s.Cores, mib(s.PeakRSSBytes), mib(s.RSSBytes))
	}
	if g := r.Generator; g != nil {
		fmt.Fprintf(&b, "Load generator: %.2f ms CPU per flow\n", g.CPUMsPerFlow)
	}
	if s := r.Signing; s != nil {
		fmt.Fprintf(&b, "\nSigning bound (%s, %s, %d goroutines, %.1fs, measured before the load):\n", s.Alg, s.Key, s.Goroutines, s.Seconds)
		fmt.Fprintf(&b, "  %.0f signatures/s, %.3f ms CPU each → bound %.0f flows/s (two tokens per sign-in)\n",
			s.PerSecond, s.CPUMsPerSignature, s.BoundFlowsPerSecond)
		fmt.Fprintf(&b, "  flows/s ÷ bound = %.3f\n", s.FlowsOverBound)
		if s.ServerCPUOverSigning > 0 {
			fmt.Fprintf(&b, "  server CPU per flow ÷ (2 × one signature's CPU) = %.2f\n", s.ServerCPUOverSigning)
		}
	} else if r.SigningSkipped != "" {
		fmt.Fprintf(&b, "\nSigning bound skipped: %s\n", r.SigningSkipped)
	}
	if len(r.Hints) > 0 {
		b.WriteString("\nHints:\n")
		for _, h := range r.Hints {
			fmt.Fprintf(&b, "  - %s\n", h)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func seconds(s float64) string { return fmt.Sprintf("%gs", s) }

func mib(bytes int64) string { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }
