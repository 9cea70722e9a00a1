package loadgen

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

// oneTo returns 1ms, 2ms, …, n ms.
func oneTo(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample is every percentile", durations(7), 1, 7 * time.Millisecond},
		{"one sample p99", durations(7), 99, 7 * time.Millisecond},
		{"two p50 is the lower", durations(1, 2), 50, time.Millisecond},
		{"two p51 is the upper", durations(1, 2), 51, 2 * time.Millisecond},
		{"ten p50", oneTo(10), 50, 5 * time.Millisecond},
		{"ten p90 is rank 9, not 10", oneTo(10), 90, 9 * time.Millisecond},
		{"ten p99", oneTo(10), 99, 10 * time.Millisecond},
		{"ten p100", oneTo(10), 100, 10 * time.Millisecond},
		{"hundred p90", oneTo(100), 90, 90 * time.Millisecond},
		{"hundred p99", oneTo(100), 99, 99 * time.Millisecond},
		{"thousand p99.9", oneTo(1000), 99.9, 999 * time.Millisecond},
		{"thousand p1", oneTo(1000), 1, 10 * time.Millisecond},
		{"p0 is the minimum", oneTo(5), 0, time.Millisecond},
		{"ties", durations(1, 1, 1, 5), 75, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d samples, %g) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestSeriesSummary(t *testing.T) {
	tests := []struct {
		name        string
		samples     []time.Duration
		capacity    int
		want        Latency
		wantSampled bool
	}{
		{
			name:     "unsorted input, exact",
			samples:  durations(9, 1, 5, 3, 7, 2, 10, 4, 8, 6),
			capacity: 100,
			want:     Latency{Step: "flow", Count: 10, P50: 5, P90: 9, P99: 10, Max: 10, Mean: 5.5},
		},
		{
			name:     "sub-millisecond values keep microseconds",
			samples:  []time.Duration{1500 * time.Microsecond, 250 * time.Microsecond},
			capacity: 10,
			want:     Latency{Step: "flow", Count: 2, P50: 0.25, P90: 1.5, P99: 1.5, Max: 1.5, Mean: 0.875},
		},
		{
			name:     "at capacity, still exact",
			samples:  oneTo(100),
			capacity: 100,
			want:     Latency{Step: "flow", Count: 100, P50: 50, P90: 90, P99: 99, Max: 100, Mean: 50.5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSeries(tt.capacity, 1)
			for _, d := range tt.samples {
				s.add(d)
			}
			got, ok := summarise(stepFlow, s)
			if !ok || got != tt.want {
				t.Errorf("summary = %+v (%v), want %+v", got, ok, tt.want)
			}
		})
	}
	if _, ok := summarise(stepFlow, newSeries(10, 1)); ok {
		t.Error("an empty series has a summary")
	}
}

// TestSeriesBounded: past its capacity a series keeps a uniform sample,
// says so, and still counts every sample exactly.
func TestSeriesBounded(t *testing.T) {
	s := newSeries(1000, 7)
	for _, d := range oneTo(100_000) {
		s.add(d)
	}
	if len(s.kept) != 1000 || !s.sampled() || s.n != 100_000 {
		t.Fatalf("kept %d of %d, sampled %v; want 1000 of 100000, sampled", len(s.kept), s.n, s.sampled())
	}
	l, _ := summarise(stepFlow, s)
	if l.Max != 100_000 || l.Mean != 50_000.5 || !l.Sampled {
		t.Errorf("max %v mean %v sampled %v, want the exact 100000, 50000.5, true", l.Max, l.Mean, l.Sampled)
	}
	// A uniform sample of 1..100000 has its median near 50000.
	if l.P50 < 45_000 || l.P50 > 55_000 || l.P99 < 97_000 {
		t.Errorf("p50 %v, p99 %v: the sample is not uniform", l.P50, l.P99)
	}
}

func TestRecorder(t *testing.T) {
	r := newRecorder(100, 1000)
	ok := func(took time.Duration) flowResult {
		var res flowResult
		for _, s := range []step{stepInitiate, stepCode, stepRespond, stepFlow} {
			res.took[s], res.ran[s] = took, true
		}
		return res
	}
	r.add(1, ok(time.Millisecond), false)
	r.add(2, ok(3*time.Millisecond), true)
	r.add(1, ok(2*time.Millisecond), false) // the same user again
	r.add(3, flowResult{err: &APIError{Type: "LimitExceededException", Message: "wait"}, errStep: stepInitiate}, false)
	r.add(4, flowResult{err: &APIError{Type: "LimitExceededException", Message: "later"}, errStep: stepInitiate}, false)
	r.add(5, flowResult{err: &localError{errCodeNotDelivered, "none"}, errStep: stepCode}, false)
	r.add(6, flowResult{err: errors.New("odd"), errStep: stepRespond}, false)

	if r.completed != 3 || r.failed != 4 || r.distinct != 6 || r.waits != 1 {
		t.Errorf("completed %d failed %d distinct %d waits %d, want 3 4 6 1", r.completed, r.failed, r.distinct, r.waits)
	}
	want := []ErrorCount{
		{Type: "LimitExceededException", Step: "InitiateAuth", Count: 2, Example: "LimitExceededException: wait"},
		{Type: "CodeNotDelivered", Step: "code read", Count: 1, Example: "CodeNotDelivered: none"},
		{Type: "Error", Step: "RespondToAuthChallenge", Count: 1, Example: "odd"},
	}
	if got := r.errorCounts(); !slices.Equal(got, want) {
		t.Errorf("errors =\n%+v\nwant\n%+v", got, want)
	}
	lat := r.latencies()
	var steps []string
	for _, l := range lat {
		steps = append(steps, l.Step)
		if l.Count != 3 || l.P50 != 2 || l.Max != 3 {
			t.Errorf("%s: %+v, want 3 samples, p50 2, max 3", l.Step, l)
		}
	}
	// No flow signed up, so there is no SignUp row.
	if want := []string{"InitiateAuth", "code read", "RespondToAuthChallenge", "flow"}; !slices.Equal(steps, want) {
		t.Errorf("steps %v, want %v", steps, want)
	}
}

func TestErrorType(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&APIError{Type: "NotAuthorizedException"}, "NotAuthorizedException"},
		{&localError{kind: errTimeout}, "Timeout"},
		{errors.Join(errors.New("x"), &APIError{Type: "TooManyRequestsException"}), "TooManyRequestsException"},
		{errors.New("plain"), "Error"},
	}
	for _, tt := range tests {
		if got := errorType(tt.err); got != tt.want {
			t.Errorf("errorType(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestAPIErrorParsing(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   APIError
	}{
		{"plain", 400, `{"__type":"ResourceNotFoundException","message":"User pool client x does not exist."}`,
			APIError{"ResourceNotFoundException", "User pool client x does not exist.", 400}},
		{"namespaced type, capital Message", 400, `{"__type":"com.amazonaws.cognito#LimitExceededException","Message":"wait"}`,
			APIError{"LimitExceededException", "wait", 400}},
		{"not JSON", 502, `Bad Gateway`, APIError{"HTTP502", "Bad Gateway", 502}},
		{"no type", 500, `{}`, APIError{"HTTP500", "{}", 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *APIError
			if !errors.As(apiError(tt.status, []byte(tt.body)), &got) || *got != tt.want {
				t.Errorf("apiError = %+v, want %+v", got, tt.want)
			}
		})
	}
}
