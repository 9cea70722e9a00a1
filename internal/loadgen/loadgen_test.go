package loadgen_test

import (
	"context"
	"crypto/rand"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/loadgen"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store/open"
)

// server is a real Latchkey over HTTP on 127.0.0.1, with dev delivery and
// the first pool as `latchkey serve` creates it (users confirmed at
// sign-up), its limits relaxed as docs/performance.md says.
type server struct {
	url, poolID, clientID string
}

func startServer(t *testing.T) server {
	t.Helper()
	s, _ := startServerDir(t)
	return s
}

// startServerDir is startServer, and the server's data directory.
func startServerDir(t *testing.T) (server, string) {
	t.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	dir := t.TempDir()
	srv, err := latchkey.New(ctx, latchkey.Config{DataDir: dir, PublicURL: url, Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	p, c, created, err := srv.Bootstrap(ctx)
	if err != nil || !created {
		t.Fatalf("Bootstrap: %v, created %v", err, created)
	}
	relaxLimits(t, dir, p.ID)
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return server{url: url, poolID: p.ID, clientID: c.ID}, dir
}

// relaxLimits does what `latchkey pools update POOL --sms-countries US,+1
// --limit NAME=off …` does, through a second handle on the store.
func relaxLimits(t *testing.T, dir, poolID string) {
	t.Helper()
	updateLimits(t, dir, poolID, func(l *pool.Limits) {
		for _, r := range []*pool.Rate{&l.IPHourly, &l.IPDaily, &l.ClientHourly, &l.PrefixHourly, &l.PrefixDaily,
			&l.SMSHourly, &l.SMSDaily, &l.NewSMSHourly, &l.NewSMSDaily, &l.DestinationHourly, &l.DestinationDaily} {
			*r = pool.Rate{}
		}
		l.SMSCountries = []string{"US", "+1"}
	})
}

// updateLimits changes a pool's limits through a second handle on the
// store; the server sees the change on its next request.
func updateLimits(t *testing.T, dir, poolID string, change func(*pool.Limits)) {
	t.Helper()
	ctx := context.Background()
	st, err := open.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = auth.NewAdmin(st, rand.Reader, time.Now).UpdatePool(ctx, poolID, func(_ *string, s *pool.Settings) error {
		l := s.EffectiveLimits()
		change(&l)
		s.Limits = &l
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkLatency checks that each step in want has n samples with positive,
// ordered percentiles, and that no other step has any.
func checkLatency(t *testing.T, rep *loadgen.Report, n int, want ...string) {
	t.Helper()
	var steps []string
	for _, l := range rep.Latency {
		steps = append(steps, l.Step)
		if l.Count != n {
			t.Errorf("%s: %d samples, want %d", l.Step, l.Count, n)
		}
		if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) || l.Mean <= 0 || l.Sampled {
			t.Errorf("%s: percentiles not positive and ordered: %+v", l.Step, l)
		}
	}
	if !slices.Equal(steps, want) {
		t.Errorf("steps %v, want %v", steps, want)
	}
}

func TestRunAgainstServer(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	const flows = 40

	// Returning users: seeded first; the pool is found from one sign-in,
	// and the server is this process.
	rep, err := loadgen.Run(ctx, loadgen.Config{
		Endpoint: srv.url, ClientID: srv.clientID, Flow: loadgen.FlowReturning,
		Users: flows, Concurrency: 4, Flows: flows, Duration: 15 * time.Second,
		Seed: true, SigningBound: true, SigningTime: 200 * time.Millisecond, ServerPID: os.Getpid(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Completed != flows || rep.Failed != 0 || len(rep.Errors) != 0 || rep.Stopped != "flows" {
		t.Fatalf("returning: %d completed, %d failed, errors %+v, stopped %q; want %d, no errors, stopped by the count",
			rep.Completed, rep.Failed, rep.Errors, rep.Stopped, flows)
	}
	if rep.DistinctUsers != flows || rep.CooldownWaits != 0 {
		t.Errorf("returning: %d distinct users, %d cooldown waits; want %d and none", rep.DistinctUsers, rep.CooldownWaits, flows)
	}
	if s := rep.Seed; s == nil || s.Created != flows || s.Failed != 0 {
		t.Errorf("seed = %+v, want %d users signed up", s, flows)
	}
	checkLatency(t, rep, flows, "InitiateAuth", "code read", "RespondToAuthChallenge", "flow")
	if rep.FlowsPerSecond <= 0 || rep.WindowSeconds <= 0 {
		t.Errorf("%v flows/s over %vs", rep.FlowsPerSecond, rep.WindowSeconds)
	}
	if s := rep.Signing; s == nil || s.PoolID != srv.poolID || s.Alg != "RS256" || s.PerSecond <= 0 ||
		math.Abs(s.BoundFlowsPerSecond-s.PerSecond/2) > 0.1 || s.FlowsOverBound <= 0 || s.ServerCPUOverSigning <= 0 {
		t.Errorf("signing = %+v (skipped: %q), want RS256 for pool %s and the ratios", s, rep.SigningSkipped, srv.poolID)
	}
	if s := rep.Server; s == nil || s.CPUMsPerFlow <= 0 || s.PeakRSSBytes <= 0 || s.RSSBytes <= 0 || s.RSSBytes > s.PeakRSSBytes {
		t.Errorf("server = %+v, want CPU per flow and memory", s)
	}
	if len(rep.Hints) != 0 {
		t.Errorf("hints for a clean run: %q", rep.Hints)
	}

	// New users: each signs up, then in with SignUp's Session. The pool ID
	// is given, so no sign-in is made to find it.
	rep, err = loadgen.Run(ctx, loadgen.Config{
		Endpoint: srv.url, ClientID: srv.clientID, PoolID: srv.poolID, Flow: loadgen.FlowNew,
		Users: 1000, Concurrency: 4, Flows: flows, Duration: 15 * time.Second,
		SigningBound: true, SigningTime: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Completed != flows || rep.Failed != 0 || len(rep.Errors) != 0 || rep.DistinctUsers != flows {
		t.Fatalf("new: %d completed, %d failed, errors %+v, %d distinct users; want %d, none, %d",
			rep.Completed, rep.Failed, rep.Errors, rep.DistinctUsers, flows, flows)
	}
	checkLatency(t, rep, flows, "SignUp", "InitiateAuth", "code read", "RespondToAuthChallenge", "flow")
	if rep.Signing == nil || rep.Signing.PoolID != srv.poolID || rep.Server != nil {
		t.Errorf("signing %+v, server %+v; want the given pool, no server figures", rep.Signing, rep.Server)
	}

	// A client the server does not know: every flow fails, counted by
	// its __type, and the report says what to check.
	rep, err = loadgen.Run(ctx, loadgen.Config{
		Endpoint: srv.url, ClientID: "nosuchclient0000000000000", Flow: loadgen.FlowReturning,
		Users: 4, Concurrency: 2, Flows: 6, Duration: 15 * time.Second,
		SigningBound: true, SigningTime: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []loadgen.ErrorCount{{Type: "ResourceNotFoundException", Step: "InitiateAuth", Count: 6,
		Example: "ResourceNotFoundException: User pool client nosuchclient0000000000000 does not exist."}}
	if rep.Completed != 0 || rep.Failed != 6 || !slices.Equal(rep.Errors, want) {
		t.Errorf("wrong client: %d completed, %d failed, errors %+v; want 0, 6, %+v", rep.Completed, rep.Failed, rep.Errors, want)
	}
	if rep.Signing != nil || !strings.Contains(rep.SigningSkipped, "ResourceNotFoundException") {
		t.Errorf("signing %+v, skipped %q; want it skipped, saying why", rep.Signing, rep.SigningSkipped)
	}
	if len(rep.Hints) != 1 || !strings.Contains(rep.Hints[0], "--client-id") {
		t.Errorf("hints = %q", rep.Hints)
	}
}

// TestRunStopsByItself: with no count, the duration ends the run, and a
// cancelled context ends it sooner, with a report of what was measured.
func TestRunStopsByItself(t *testing.T) {
	srv := startServer(t)
	start := time.Now()
	rep, err := loadgen.Run(context.Background(), loadgen.Config{
		Endpoint: srv.url, ClientID: srv.clientID, Flow: loadgen.FlowNew,
		Users: 10_000, Concurrency: 2, Warmup: 200 * time.Millisecond, Duration: 700 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second || rep.Stopped != "duration" || rep.Completed == 0 ||
		rep.WindowSeconds < 0.69 || rep.WindowSeconds > 0.8 {
		t.Errorf("ran %v: stopped %q, %d flows over %vs", took, rep.Stopped, rep.Completed, rep.WindowSeconds)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	rep, err = loadgen.Run(ctx, loadgen.Config{
		Endpoint: srv.url, ClientID: srv.clientID, Flow: loadgen.FlowNew, Prefix: "+15552",
		Users: 10_000, Concurrency: 2, Duration: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stopped != "interrupted" || rep.WindowSeconds > 5 || len(rep.Errors) != 0 {
		t.Errorf("interrupted run: stopped %q after %vs, errors %+v", rep.Stopped, rep.WindowSeconds, rep.Errors)
	}
}

func TestRunRefusesWhatCannotStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	for _, tt := range []struct {
		name string
		cfg  loadgen.Config
		want string
	}{
		{"no server", loadgen.Config{Endpoint: dead, ClientID: "x"}, "does not answer"},
		{"no client", loadgen.Config{Endpoint: dead}, "client ID is required"},
		{"no such process", loadgen.Config{Endpoint: dead, ClientID: "x", ServerPID: 1 << 30}, "must run on this machine"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadgen.Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, want %q", err, tt.want)
			}
		})
	}
}
