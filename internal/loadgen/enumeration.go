package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"
)

// Measuring whether timing tells a known username from an unknown one:
// each operation is asked for a known and an unknown username in turn
// (which goes first is random), one request at a time, and the medians of
// the two kinds are compared. Every user is asked once per operation, so
// no per-account limit or cooldown makes the answers differ.

// EnumerationConfig is what an enumeration probe runs against.
type EnumerationConfig struct {
	Endpoint string
	// ClientID is an app client of a pool that confirms users at sign-up
	// (the default pool does): InitiateAuth of its CONFIRMED users.
	ClientID string
	// UnconfirmedClientID is an app client of a pool that confirms users
	// by code: ResendConfirmationCode and ConfirmSignUp of its UNCONFIRMED
	// users.
	UnconfirmedClientID string
	// Requests is how many known and how many unknown usernames each
	// operation is asked about.
	Requests int
	// KnownPrefix and UnknownPrefix are the first digits of the known
	// users' and the never-signed-up usernames' numbers (11 digits after
	// the + in all).
	KnownPrefix, UnknownPrefix string
	RequestTimeout             time.Duration
	// Seed makes the known/unknown order reproducible.
	Seed     uint64
	Progress io.Writer
}

// EnumerationReport compares known and unknown usernames, per operation.
type EnumerationReport struct {
	Endpoint   string          `json:"endpoint"`
	Requests   int             `json:"requests"`
	Operations []EnumerationOp `json:"operations"`
	Started    time.Time       `json:"started"`
}

// EnumerationOp is one operation's comparison.
type EnumerationOp struct {
	Operation string `json:"operation"`
	// Median and P90 latencies in milliseconds, and the difference of the
	// medians (known − unknown) in microseconds.
	KnownMedianMS   float64 `json:"known_median_ms"`
	UnknownMedianMS float64 `json:"unknown_median_ms"`
	DiffMedianUS    float64 `json:"diff_median_us"`
	KnownP90MS      float64 `json:"known_p90_ms"`
	UnknownP90MS    float64 `json:"unknown_p90_ms"`
	// Answers counts the answers by outcome ("ok" or the __type), for
	// each kind; they must be the same.
	KnownAnswers   map[string]int `json:"known_answers"`
	UnknownAnswers map[string]int `json:"unknown_answers"`
}

// Enumeration runs the probe: it signs the known users up in both pools,
// then asks InitiateAuth (USER_AUTH, SMS_OTP), ResendConfirmationCode and
// ConfirmSignUp (with a wrong code) about each known and unknown username.
// The pools' send limits must be off, the destination cooldown included,
// or the sign-ups' codes make the known users' answers differ.
func Enumeration(ctx context.Context, cfg EnumerationConfig) (*EnumerationReport, error) {
	if cfg.Requests <= 0 {
		cfg.Requests = 2000
	}
	if cfg.KnownPrefix == "" {
		cfg.KnownPrefix = "+1555300"
	}
	if cfg.UnknownPrefix == "" {
		cfg.UnknownPrefix = "+1555400"
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	switch {
	case cfg.ClientID == "" || cfg.UnconfirmedClientID == "":
		return nil, errors.New("enumeration probe: both app clients are required")
	case cfg.KnownPrefix == cfg.UnknownPrefix:
		return nil, errors.New("enumeration probe: the known and unknown prefixes must differ")
	}
	for _, p := range []string{cfg.KnownPrefix, cfg.UnknownPrefix} {
		if err := checkPrefix(p, cfg.Requests); err != nil {
			return nil, err
		}
	}
	c := newClient(cfg.Endpoint, 1, cfg.RequestTimeout)
	defer c.close()
	rep := &EnumerationReport{Endpoint: cfg.Endpoint, Requests: cfg.Requests, Started: time.Now().UTC()}

	fmt.Fprintf(cfg.Progress, "signing up %d known users in each pool\n", cfg.Requests)
	for i := range cfg.Requests {
		for _, client := range []string{cfg.ClientID, cfg.UnconfirmedClientID} {
			var out signUpOutput
			err := c.call(ctx, "SignUp", signUpInput{ClientID: client, Username: number(cfg.KnownPrefix, i)}, &out)
			if err != nil && errorType(err) != "UsernameExistsException" {
				return nil, fmt.Errorf("sign up known user %d: %w", i, err)
			}
		}
	}

	order := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	ops := []struct {
		name string
		ask  func(username string) error
	}{
		{"InitiateAuth", func(u string) error {
			var out authOutput
			return c.call(ctx, "InitiateAuth", initiateAuthInput{ClientID: cfg.ClientID, AuthFlow: "USER_AUTH",
				AuthParameters: map[string]string{"USERNAME": u, "PREFERRED_CHALLENGE": "SMS_OTP"}}, &out)
		}},
		{"ResendConfirmationCode", func(u string) error {
			var out json.RawMessage
			return c.call(ctx, "ResendConfirmationCode", signUpInput{ClientID: cfg.UnconfirmedClientID, Username: u}, &out)
		}},
		{"ConfirmSignUp", func(u string) error {
			var out json.RawMessage
			return c.call(ctx, "ConfirmSignUp", confirmSignUpInput{ClientID: cfg.UnconfirmedClientID, Username: u, ConfirmationCode: "000000"}, &out)
		}},
	}
	for _, op := range ops {
		fmt.Fprintf(cfg.Progress, "%s: %d known and %d unknown usernames, interleaved\n", op.name, cfg.Requests, cfg.Requests)
		var known, unknown []time.Duration
		res := EnumerationOp{Operation: op.name, KnownAnswers: map[string]int{}, UnknownAnswers: map[string]int{}}
		for i := range cfg.Requests {
			kinds := []bool{true, false}
			if order.IntN(2) == 1 {
				kinds[0], kinds[1] = false, true
			}
			for _, isKnown := range kinds {
				prefix, answers, lat := cfg.UnknownPrefix, res.UnknownAnswers, &unknown
				if isKnown {
					prefix, answers, lat = cfg.KnownPrefix, res.KnownAnswers, &known
				}
				start := time.Now()
				err := op.ask(number(prefix, i))
				*lat = append(*lat, time.Since(start))
				outcome := "ok"
				if err != nil {
					outcome = errorType(err)
				}
				answers[outcome]++
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
		}
		slices.Sort(known)
		slices.Sort(unknown)
		km, um := percentile(known, 50), percentile(unknown, 50)
		res.KnownMedianMS, res.UnknownMedianMS = ms(km), ms(um)
		res.DiffMedianUS = round(float64(km-um)/1e3, 1)
		res.KnownP90MS, res.UnknownP90MS = ms(percentile(known, 90)), ms(percentile(unknown, 90))
		rep.Operations = append(rep.Operations, res)
	}
	return rep, nil
}

type confirmSignUpInput struct {
	ClientID         string `json:"ClientId"`
	Username         string `json:"Username"`
	ConfirmationCode string `json:"ConfirmationCode"`
}

// WriteText prints the comparison as a table.
func (r *EnumerationReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "Known vs unknown usernames at %s, %d of each per operation, one request at a time\n", r.Endpoint, r.Requests)
	fmt.Fprintf(w, "%-24s %12s %12s %14s %10s %10s  %s\n", "operation", "known p50", "unknown p50", "diff (µs)", "known p90", "unkn. p90", "answers (known | unknown)")
	for _, op := range r.Operations {
		fmt.Fprintf(w, "%-24s %9.3f ms %9.3f ms %14.1f %7.3f ms %7.3f ms  %v | %v\n", op.Operation,
			op.KnownMedianMS, op.UnknownMedianMS, op.DiffMedianUS, op.KnownP90MS, op.UnknownP90MS, op.KnownAnswers, op.UnknownAnswers)
	}
	return nil
}

// WriteJSON prints the comparison as JSON.
func (r *EnumerationReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
