package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"
)

// step is a part of a flow whose latency is measured.
type step int

const (
	stepSignUp step = iota
	stepInitiate
	stepCode
	stepRespond
	stepFlow // the whole flow, first request to tokens
	numSteps
)

func (s step) String() string {
	switch s {
	case stepSignUp:
		return "SignUp"
	case stepInitiate:
		return "InitiateAuth"
	case stepCode:
		return "code read"
	case stepRespond:
		return "RespondToAuthChallenge"
	case stepFlow:
		return "flow"
	}
	return "?"
}

// series holds the latencies of one step. It keeps every sample up to its
// capacity, so percentiles are exact; past it, it keeps a uniform random
// sample of them all (reservoir sampling) and says so. Count, sum and
// maximum are always exact.
type series struct {
	kept  []time.Duration
	cap   int
	n     int
	sum   time.Duration
	max   time.Duration
	rand  *rand.Rand
	dirty bool // kept is not sorted
}

func newSeries(capacity int, seed uint64) *series {
	return &series{cap: capacity, rand: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (s *series) add(d time.Duration) {
	s.n++
	s.sum += d
	s.max = max(s.max, d)
	s.dirty = true
	if len(s.kept) < s.cap {
		s.kept = append(s.kept, d)
		return
	}
	if j := s.rand.IntN(s.n); j < s.cap {
		s.kept[j] = d
	}
}

// sampled reports whether the percentiles come from a sample.
func (s *series) sampled() bool { return s.n > len(s.kept) }

// percentile returns the p-th percentile (0 < p <= 100) by nearest rank:
// the smallest sample with at least p% of the samples at or below it.
func (s *series) percentile(p float64) time.Duration {
	if s.dirty {
		slices.Sort(s.kept)
		s.dirty = false
	}
	return percentile(s.kept, p)
}

// percentile returns the nearest-rank p-th percentile of sorted, 0 when it
// is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// The small epsilon keeps p·n/100 from landing a hair above a whole
	// rank through floating-point error (90% of 10 is rank 9, not 10).
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// errorKey is an error counted by type and by the step that met it.
type errorKey struct {
	typ  string
	step step
}

// recorder gathers the measured flows. It is safe for concurrent use.
type recorder struct {
	mu        sync.Mutex
	steps     [numSteps]*series
	completed int
	failed    int
	errors    map[errorKey]int
	examples  map[errorKey]string
	users     []uint64 // a bit per user: took part in a measured flow
	distinct  int
	waits     int // flows that waited for the destination cooldown
}

func newRecorder(users, maxSamples int) *recorder {
	r := &recorder{
		errors:   make(map[errorKey]int),
		examples: make(map[errorKey]string),
		users:    make([]uint64, (users+63)/64),
	}
	for s := range numSteps {
		r.steps[s] = newSeries(maxSamples, uint64(s)+1)
	}
	return r
}

// flowResult is what one flow did: the latency of each step it went
// through, or the error that ended it and where.
type flowResult struct {
	took    [numSteps]time.Duration
	ran     [numSteps]bool
	err     error
	errStep step
	idToken string
}

func (r *recorder) add(user int, res flowResult, waited bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if waited {
		r.waits++
	}
	if user >= 0 && user/64 < len(r.users) && r.users[user/64]&(1<<(user%64)) == 0 {
		r.users[user/64] |= 1 << (user % 64)
		r.distinct++
	}
	if res.err != nil {
		r.failed++
		k := errorKey{errorType(res.err), res.errStep}
		r.errors[k]++
		if _, ok := r.examples[k]; !ok {
			r.examples[k] = res.err.Error()
		}
		return
	}
	r.completed++
	for s := range numSteps {
		if res.ran[s] {
			r.steps[s].add(res.took[s])
		}
	}
}

// errorCounts lists the errors, most frequent first.
func (r *recorder) errorCounts() []ErrorCount {
	r.mu.Lock()
	defer r.mu.Unlock()
	return countErrors(r.errors, r.examples)
}

func countErrors(counts map[errorKey]int, examples map[errorKey]string) []ErrorCount {
	out := make([]ErrorCount, 0, len(counts))
	for k, n := range counts {
		out = append(out, ErrorCount{Type: k.typ, Step: k.step.String(), Count: n, Example: examples[k]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Step < out[j].Step
	})
	return out
}

// latencies summarises the steps that have samples, in flow order.
func (r *recorder) latencies() []Latency {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Latency
	for s := range numSteps {
		if l, ok := summarise(s, r.steps[s]); ok {
			out = append(out, l)
		}
	}
	return out
}

func summarise(s step, se *series) (Latency, bool) {
	if se.n == 0 {
		return Latency{}, false
	}
	return Latency{
		Step:    s.String(),
		Count:   se.n,
		P50:     ms(se.percentile(50)),
		P90:     ms(se.percentile(90)),
		P99:     ms(se.percentile(99)),
		Max:     ms(se.max),
		Mean:    ms(se.sum / time.Duration(se.n)),
		Sampled: se.sampled(),
	}, true
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
