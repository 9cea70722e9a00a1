// Package loadgen drives a running Latchkey server with sign-ins over real
// HTTP, through the Cognito API and the dev outbox only, and reports what
// it measured: flows per second, latency percentiles of each step, errors
// by Cognito __type, the server's CPU time and memory, and the signing
// bound (how many sign-ins per second signing their tokens alone allows).
// Using nothing but the public API, it measures any Latchkey build, so two
// builds can be compared side by side. `latchkey bench` runs it.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Flow is the sign-in a run repeats.
type Flow string

const (
	// FlowReturning signs existing users in: InitiateAuth (USER_AUTH,
	// SMS_OTP), the code from the dev outbox, RespondToAuthChallenge.
	FlowReturning Flow = "returning"
	// FlowNew signs new users up and in: SignUp (the pool confirms them
	// itself), InitiateAuth with the Session SignUp returned, the code,
	// RespondToAuthChallenge.
	FlowNew Flow = "new"
)

// Defaults for the zero values of Config.
const (
	DefaultEndpoint       = "http://127.0.0.1:8080"
	DefaultUsers          = 1000
	DefaultConcurrency    = 8
	DefaultDuration       = 30 * time.Second
	DefaultCooldown       = 30 * time.Second
	DefaultSigningTime    = 2 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	DefaultCodeWait       = 2 * time.Second
	DefaultMaxSamples     = 1 << 20
	// DefaultReturningPrefix and DefaultNewPrefix begin the phone numbers
	// of each flow: +1 555 numbers are not assigned to anyone.
	DefaultReturningPrefix = "+15550"
	DefaultNewPrefix       = "+15551"
)

// numberDigits is how many digits follow the "+" of a user's number, as in
// a North American number.
const numberDigits = 11

// Config is one run. Endpoint and ClientID are required; the zero value of
// the others is the default.
type Config struct {
	// Endpoint is the server's base URL.
	Endpoint string
	// ClientID is the app client signed in with. It must have no secret.
	ClientID string
	// PoolID is the client's pool, for its JWKS; when empty it is read
	// from the ID token of one sign-in made before the load.
	PoolID string
	Flow   Flow
	// Users is how many distinct users take part. Returning users are
	// taken in turn; each new user signs up once, so a new-user run ends
	// when all have.
	Users int
	// Concurrency is how many flows run at once.
	Concurrency int
	// Flows stops the run after this many measured flows; 0 lets Duration
	// decide.
	Flows int
	// Warmup is run before measuring, Duration is measured.
	Warmup   time.Duration
	Duration time.Duration
	// Prefix begins every user's phone number; an index, zero-padded to
	// 11 digits in all, ends it. Runs with different prefixes use
	// different users.
	Prefix string
	// Seed signs the returning users up before the run (those already
	// there are left as they are).
	Seed bool
	// Cooldown is the server's destination cooldown: a returning user is
	// not asked for a code again sooner (the flow waits, and the report
	// counts it). Negative turns the wait off.
	Cooldown time.Duration
	// ServerPID, when not 0, is the server's process on this machine:
	// the report gives its CPU time per flow and its memory.
	ServerPID int
	// SigningBound measures the signing bound before the load.
	SigningBound bool
	// SigningTime is how long the signing bound is measured.
	SigningTime time.Duration
	// RequestTimeout bounds each HTTP request.
	RequestTimeout time.Duration
	// CodeWait is how long a code is looked for in the dev outbox before
	// the flow fails with CodeNotDelivered.
	CodeWait time.Duration
	// MaxSamples bounds the latencies kept per step; past it, percentiles
	// come from a uniform sample.
	MaxSamples int
	// Progress, when set, receives a line at each phase of the run.
	Progress io.Writer
}

// withDefaults returns c with its zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	set := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	if c.Flow == "" {
		c.Flow = FlowReturning
	}
	if c.Prefix == "" {
		c.Prefix = DefaultReturningPrefix
		if c.Flow == FlowNew {
			c.Prefix = DefaultNewPrefix
		}
	}
	set(&c.Users, DefaultUsers)
	set(&c.Concurrency, DefaultConcurrency)
	set(&c.MaxSamples, DefaultMaxSamples)
	setD(&c.Duration, DefaultDuration)
	setD(&c.Cooldown, DefaultCooldown)
	setD(&c.SigningTime, DefaultSigningTime)
	setD(&c.RequestTimeout, DefaultRequestTimeout)
	setD(&c.CodeWait, DefaultCodeWait)
	return c
}

// validate checks a Config that has its defaults.
func (c Config) validate() error {
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("endpoint %q: want an http:// or https:// URL", c.Endpoint)
	}
	if c.ClientID == "" {
		return errors.New("the app client ID is required (latchkey pools list shows it)")
	}
	switch {
	case c.Flow != FlowReturning && c.Flow != FlowNew:
		return fmt.Errorf("flow %q: want %s or %s", c.Flow, FlowReturning, FlowNew)
	case c.Users < 1 || c.Concurrency < 1 || c.Flows < 0 || c.MaxSamples < 1:
		return errors.New("users, concurrency and max samples must be positive, flows not negative")
	case c.Flow == FlowReturning && c.Users < c.Concurrency:
		return fmt.Errorf("%d users for concurrency %d: each worker needs users of its own", c.Users, c.Concurrency)
	case c.Duration < 0 || c.Warmup < 0 || c.SigningTime < 0 || c.RequestTimeout < 0 || c.CodeWait < 0:
		return errors.New("durations must not be negative")
	case c.Seed && c.Flow != FlowReturning:
		return errors.New("seeding is for the returning flow: the new flow signs its users up itself")
	}
	numbers := c.Users
	if c.Flow == FlowReturning {
		numbers++ // the probe's number, just past the users'
	}
	if err := checkPrefix(c.Prefix, numbers); err != nil {
		return err
	}
	return nil
}

// checkPrefix checks that prefix leaves room for users numbers.
func checkPrefix(prefix string, users int) error {
	digits := strings.TrimPrefix(prefix, "+")
	if digits == prefix || digits == "" || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return fmt.Errorf("prefix %q: want + and the first digits of a phone number, like %s", prefix, DefaultReturningPrefix)
	}
	free := numberDigits - len(digits)
	room := 1
	for range max(free, 0) {
		if room > users {
			break
		}
		room *= 10
	}
	if free < 1 || room < users {
		return fmt.Errorf("prefix %q leaves %d digits, too few for %d users: numbers have %d digits after the +", prefix, max(free, 0), users, numberDigits)
	}
	return nil
}

// number is the phone number of user i.
func number(prefix string, i int) string {
	width := numberDigits - (len(prefix) - 1)
	return prefix + fmt.Sprintf("%0*d", width, i)
}

// userState is what the run remembers of one user. Each user belongs to
// one worker at a time, so it needs no lock.
type userState struct {
	lastSend time.Time // when a code was last asked for
	lastCode string    // created_at of the last code read, to tell it from a new one
}

// runner is one run in progress.
type runner struct {
	cfg   Config
	api   *client
	proc  procReader
	users []userState
	rec   *recorder
	// nextNew hands out new users' indexes.
	nextNew atomic.Int64
	// reserved counts measured flows started, against cfg.Flows.
	reserved  atomic.Int64
	exhausted atomic.Bool
	// cooledOut is set when a worker stopped because its next user's
	// cooldown would outlast the run.
	cooledOut atomic.Bool
	// running counts measured flows in progress.
	running atomic.Int64

	windowStart, deadline time.Time
}

// Run drives the server as cfg says and returns the report. It returns an
// error only when the run cannot start (a bad Config, a server that does
// not answer); what goes wrong during the run is in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &runner{
		cfg:  cfg,
		api:  newClient(cfg.Endpoint, cfg.Concurrency, cfg.RequestTimeout),
		proc: newProcReader(),
		// One more than the users: the returning flow's probe (below).
		users: make([]userState, cfg.Users+1),
		rec:   newRecorder(cfg.Users, cfg.MaxSamples),
	}
	defer r.api.close()
	pid := strconv.Itoa(cfg.ServerPID)
	if cfg.ServerPID != 0 {
		if _, err := r.proc.cpu(pid); err != nil {
			return nil, fmt.Errorf("server process %d: %w (it must run on this machine, under Linux)", cfg.ServerPID, err)
		}
	}
	if _, err := r.api.get(ctx, "/healthz"); err != nil {
		var local *localError
		if errors.As(err, &local) {
			return nil, fmt.Errorf("the server at %s does not answer: %w", cfg.Endpoint, err)
		}
	}
	rep := &Report{
		Endpoint: cfg.Endpoint, Flow: string(cfg.Flow), Concurrency: cfg.Concurrency, Users: cfg.Users,
		FirstUser: number(cfg.Prefix, 0), LastUser: number(cfg.Prefix, cfg.Users-1),
		WarmupSeconds: cfg.Warmup.Seconds(),
	}
	if cfg.Seed {
		r.progress("signing up %d users (%s …)", cfg.Users, rep.FirstUser)
		rep.Seed = r.seed(ctx)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	var sign *signingRun
	if cfg.SigningBound {
		rep.Signing, sign, rep.SigningSkipped = r.signingBound(ctx)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	r.progress("running the %s flow: warm-up %s, then %s", cfg.Flow, cfg.Warmup, cfg.Duration)
	r.load(ctx, rep, pid)

	if rep.Signing != nil && rep.Signing.BoundFlowsPerSecond > 0 {
		rep.Signing.FlowsOverBound = round(rep.FlowsPerSecond/rep.Signing.BoundFlowsPerSecond, 4)
		if rep.Server != nil && rep.Completed > 0 {
			if per := sign.perSignature(); per > 0 {
				rep.Signing.ServerCPUOverSigning = round(rep.Server.CPUMsPerFlow/(2*float64(per)/1e6), 2)
			}
		}
	}
	rep.Hints = hints(cfg, rep)
	return rep, nil
}

func (r *runner) progress(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "latchkey bench: "+format+"\n", args...)
	}
}

// load runs the warm-up and the measured window and fills rep.
func (r *runner) load(ctx context.Context, rep *Report, pid string) {
	cfg := r.cfg
	start := time.Now()
	r.windowStart = start.Add(cfg.Warmup)
	r.deadline = r.windowStart.Add(cfg.Duration)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Go(func() { r.work(ctx, w) })
	}
	go func() { wg.Wait(); close(done) }()

	// Snapshots of CPU time at both ends of the window.
	type snap struct {
		at          time.Time
		server, own time.Duration
	}
	take := func() snap {
		s := snap{at: time.Now()}
		if cfg.ServerPID != 0 {
			s.server, _ = r.proc.cpu(pid)
		}
		s.own, _ = r.proc.cpu("self")
		return s
	}
	wait := func(until time.Time) {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		select {
		case <-t.C:
		case <-done:
		case <-ctx.Done():
		}
	}
	wait(r.windowStart)
	first := take()
	first.at = r.windowStart
	wait(r.deadline)
	last := take()
	rep.Unfinished = int(r.running.Load())
	rep.Stopped = "duration"
	select {
	case <-done:
		switch {
		case cfg.Flows > 0 && r.reserved.Load() >= int64(cfg.Flows):
			rep.Stopped = "flows"
		case r.exhausted.Load():
			rep.Stopped = "users"
		case r.cooledOut.Load():
			rep.Stopped = "cooldown"
		}
	default:
	}
	if ctx.Err() != nil {
		rep.Stopped = "interrupted"
	}
	// Flows in flight finish (each request is bounded); they are not
	// counted.
	<-done
	if last.at.Before(r.windowStart) {
		last.at = r.windowStart
	}

	window := last.at.Sub(first.at)
	rep.WindowSeconds = round(window.Seconds(), 3)
	rec := r.rec
	rec.mu.Lock()
	rep.Completed, rep.Failed, rep.DistinctUsers, rep.CooldownWaits = rec.completed, rec.failed, rec.distinct, rec.waits
	rec.mu.Unlock()
	if window > 0 {
		rep.FlowsPerSecond = round(float64(rep.Completed)/window.Seconds(), 2)
	}
	rep.Latency = rec.latencies()
	rep.Errors = rec.errorCounts()

	perFlow := func(d time.Duration) float64 {
		if rep.Completed == 0 {
			return 0
		}
		return round(float64(d)/1e6/float64(rep.Completed), 3)
	}
	if cfg.ServerPID != 0 {
		s := &ServerReport{PID: cfg.ServerPID}
		cpu := last.server - first.server
		s.CPUSeconds = round(cpu.Seconds(), 3)
		s.CPUMsPerFlow = perFlow(cpu)
		if window > 0 {
			s.Cores = round(cpu.Seconds()/window.Seconds(), 3)
		}
		s.PeakRSSBytes, s.RSSBytes, _ = r.proc.memory(pid)
		rep.Server = s
	}
	if own := last.own - first.own; own > 0 {
		rep.Generator = &GeneratorReport{CPUSeconds: round(own.Seconds(), 3), CPUMsPerFlow: perFlow(own)}
	}
}

// work runs flows one after another until the run ends.
func (r *runner) work(ctx context.Context, w int) {
	next := r.userSource(w)
	for {
		user, ok := next()
		if !ok {
			r.exhausted.Store(true)
			return
		}
		waited := false
		if r.cfg.Flow == FlowReturning && r.cfg.Cooldown > 0 {
			if due := r.users[user].lastSend.Add(r.cfg.Cooldown); time.Now().Before(due) {
				if !due.Before(r.deadline) {
					r.cooledOut.Store(true)
					return
				}
				if !sleep(ctx, time.Until(due)) {
					return
				}
				waited = true
			}
		}
		start := time.Now()
		if ctx.Err() != nil || !start.Before(r.deadline) {
			return
		}
		measured := !start.Before(r.windowStart)
		if measured && r.cfg.Flows > 0 && r.reserved.Add(1) > int64(r.cfg.Flows) {
			return
		}
		if measured {
			r.running.Add(1)
		}
		res := r.flow(ctx, user)
		if measured {
			r.running.Add(-1)
		}
		if ctx.Err() != nil {
			return // interrupted: the flow's error is ours, not the server's
		}
		if measured && !time.Now().After(r.deadline) {
			r.rec.add(user, res, waited)
		}
	}
}

// userSource returns the users worker w signs in, in order: for returning
// users, its own share (users w, w+c, w+2c, …) round and round; for new
// users, the next unused one.
func (r *runner) userSource(w int) func() (int, bool) {
	if r.cfg.Flow == FlowNew {
		return func() (int, bool) {
			i := int(r.nextNew.Add(1) - 1)
			return i, i < r.cfg.Users
		}
	}
	c := r.cfg.Concurrency
	i := w
	return func() (int, bool) {
		u := i
		if i += c; i >= r.cfg.Users {
			i = w
		}
		return u, true
	}
}

// flow runs one flow for user.
func (r *runner) flow(ctx context.Context, user int) flowResult {
	var res flowResult
	start := time.Now()
	to := number(r.cfg.Prefix, user)
	st := &r.users[user]
	fail := func(s step, err error) flowResult {
		res.err, res.errStep = err, s
		return res
	}
	timed := func(s step, f func() error) error {
		t := time.Now()
		err := f()
		res.took[s], res.ran[s] = time.Since(t), true
		return err
	}

	in := initiateAuthInput{ClientID: r.cfg.ClientID, AuthFlow: "USER_AUTH",
		AuthParameters: map[string]string{"USERNAME": to, "PREFERRED_CHALLENGE": "SMS_OTP"}}
	if r.cfg.Flow == FlowNew {
		var up signUpOutput
		if err := timed(stepSignUp, func() error {
			return r.api.call(ctx, "SignUp", signUpInput{ClientID: r.cfg.ClientID, Username: to}, &up)
		}); err != nil {
			return fail(stepSignUp, err)
		}
		if up.Session == "" {
			return fail(stepSignUp, &localError{errUnexpected, fmt.Sprintf("SignUp gave no Session (UserConfirmed %v): is the pool auto-confirming?", up.UserConfirmed)})
		}
		// The sign-up session starts the first sign-in, and its code.
		in.Session = up.Session
		in.AuthParameters = map[string]string{"USERNAME": to}
	}

	var challenge authOutput
	asked := time.Now()
	if err := timed(stepInitiate, func() error { return r.api.call(ctx, "InitiateAuth", in, &challenge) }); err != nil {
		return fail(stepInitiate, err)
	}
	// A challenge means a code was sent: the cooldown runs from here.
	st.lastSend = asked
	if challenge.ChallengeName != "SMS_OTP" || challenge.Session == "" {
		return fail(stepInitiate, &localError{errUnexpected, fmt.Sprintf("InitiateAuth asked for %q, want SMS_OTP", challenge.ChallengeName)})
	}

	var code string
	if err := timed(stepCode, func() (err error) { code, err = r.readCode(ctx, to, st); return err }); err != nil {
		return fail(stepCode, err)
	}

	var tokens authOutput
	if err := timed(stepRespond, func() error {
		return r.api.call(ctx, "RespondToAuthChallenge", respondInput{
			ClientID: r.cfg.ClientID, ChallengeName: "SMS_OTP", Session: challenge.Session,
			ChallengeResponses: map[string]string{"USERNAME": to, "SMS_OTP_CODE": code},
		}, &tokens)
	}); err != nil {
		return fail(stepRespond, err)
	}
	if a := tokens.AuthenticationResult; a == nil || a.IDToken == "" || a.AccessToken == "" {
		return fail(stepRespond, &localError{errUnexpected, fmt.Sprintf("RespondToAuthChallenge gave no tokens (ChallengeName %q)", tokens.ChallengeName)})
	}
	res.took[stepFlow], res.ran[stepFlow] = time.Since(start), true
	res.idToken = tokens.AuthenticationResult.IDToken
	return res
}

// readCode reads the newest code sent to `to` from the dev outbox, one this
// run has not used yet. The server delivers what was queued before it
// answers, so the first read finds it; later reads are for servers that
// deliver late.
func (r *runner) readCode(ctx context.Context, to string, st *userState) (string, error) {
	deadline := time.Now().Add(r.cfg.CodeWait)
	pause := time.Millisecond
	for {
		msgs, err := r.api.outbox(ctx, to)
		if err != nil {
			return "", err
		}
		if len(msgs) > 0 && msgs[0].Code != "" && msgs[0].CreatedAt != st.lastCode {
			st.lastCode = msgs[0].CreatedAt
			return msgs[0].Code, nil
		}
		if !time.Now().Add(pause).Before(deadline) {
			return "", &localError{errCodeNotDelivered, fmt.Sprintf("no new code for %s in the dev outbox after %s", to, r.cfg.CodeWait)}
		}
		if !sleep(ctx, pause) {
			return "", ctx.Err()
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// seed signs the returning users up, concurrently.
func (r *runner) seed(ctx context.Context) *SeedReport {
	start := time.Now()
	var mu sync.Mutex
	rep := &SeedReport{}
	errs, examples := map[errorKey]int{}, map[errorKey]string{}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= r.cfg.Users {
					return
				}
				var out signUpOutput
				err := r.api.call(ctx, "SignUp", signUpInput{ClientID: r.cfg.ClientID, Username: number(r.cfg.Prefix, i)}, &out)
				mu.Lock()
				switch typ := errorType(err); {
				case err == nil:
					rep.Created++
				case typ == "UsernameExistsException":
					rep.Existing++
				default:
					rep.Failed++
					k := errorKey{typ, stepSignUp}
					errs[k]++
					if _, ok := examples[k]; !ok {
						examples[k] = err.Error()
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	rep.Seconds = round(time.Since(start).Seconds(), 3)
	rep.Errors = countErrors(errs, examples)
	return rep
}

// signingBound learns the pool's signing algorithm from its JWKS and
// measures signing on this machine. Without Config.PoolID it first signs
// in once to read the pool from an ID token. It returns why it could not,
// instead of a report.
func (r *runner) signingBound(ctx context.Context) (*SigningReport, *signingRun, string) {
	poolID, kid, issuer := r.cfg.PoolID, "", ""
	if poolID == "" {
		res := r.probe(ctx)
		if res.err != nil {
			return nil, nil, fmt.Sprintf("a sign-in to find the pool failed at %s (%v); pass the pool ID", res.errStep, res.err)
		}
		var err error
		if poolID, issuer, kid, err = tokenIssuer(res.idToken); err != nil {
			return nil, nil, err.Error() + "; pass the pool ID"
		}
	}
	if issuer == "" {
		issuer = r.cfg.Endpoint + "/" + poolID
	}
	jwks, err := r.api.get(ctx, "/"+url.PathEscape(poolID)+"/.well-known/jwks.json")
	if err != nil {
		return nil, nil, fmt.Sprintf("pool %s's JWKS: %v", poolID, err)
	}
	k, err := poolKey(jwks, kid)
	if err != nil {
		return nil, nil, fmt.Sprintf("pool %s: %v", poolID, err)
	}
	key, err := newSigningKey(k)
	if err != nil {
		return nil, nil, err.Error()
	}
	r.progress("measuring %s signatures (%s) for %s", key.alg, key.desc, r.cfg.SigningTime)
	claims := tokenClaims(issuer, r.cfg.ClientID, number(r.cfg.Prefix, 0), time.Now())
	run, err := measureSigning(ctx, key, claims, r.cfg.SigningTime, func() (time.Duration, error) { return r.proc.cpu("self") })
	if err != nil {
		return nil, nil, "measuring signatures: " + err.Error()
	}
	rep := &SigningReport{
		PoolID: poolID, Alg: string(key.alg), Key: key.desc, Goroutines: run.goroutines,
		Seconds: round(run.elapsed.Seconds(), 3), Signatures: run.count,
		PerSecond:         round(run.perSecond(), 1),
		CPUMsPerSignature: round(float64(run.perSignature())/1e6, 4),
	}
	rep.BoundFlowsPerSecond = round(run.perSecond()/2, 1)
	return rep, &run, ""
}

// probe signs in once, before the load. A new-user run takes its first
// user. A returning run takes the number just past its users, signing it
// up if needed, so that none of its users is in its cooldown when the
// load starts.
func (r *runner) probe(ctx context.Context) flowResult {
	user := r.cfg.Users
	if r.cfg.Flow == FlowNew {
		user = int(r.nextNew.Add(1) - 1)
	} else {
		var out signUpOutput
		err := r.api.call(ctx, "SignUp", signUpInput{ClientID: r.cfg.ClientID, Username: number(r.cfg.Prefix, user)}, &out)
		if err != nil && errorType(err) != "UsernameExistsException" {
			return flowResult{err: err, errStep: stepSignUp}
		}
	}
	r.progress("signing in %s once to find the pool", number(r.cfg.Prefix, user))
	return r.flow(ctx, user)
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func round(v float64, places int) float64 {
	p := 1.0
	for range places {
		p *= 10
	}
	if v >= 0 {
		return float64(int64(v*p+0.5)) / p
	}
	return -float64(int64(-v*p+0.5)) / p
}

// sendLimits are the pool limits a benchmark from one address trips; all
// but the destination cooldown, which the run respects.
const sendLimits = "ip_hourly ip_daily client_hourly prefix_hourly prefix_daily sms_hourly sms_daily new_sms_hourly new_sms_daily destination_hourly destination_daily"

// RelaxCommand is the command that turns off, in pool poolID, the limits
// a benchmark would trip, and lets SMS go to +1 numbers not assigned to
// any region (the 555 area code the users are in).
func RelaxCommand(poolID string) string {
	var b strings.Builder
	b.WriteString("latchkey pools update " + poolID + " --sms-countries US,+1")
	for _, name := range strings.Fields(sendLimits) {
		b.WriteString(" --limit " + name + "=off")
	}
	return b.String()
}

// hints explains the errors of a run and what to do about them.
func hints(cfg Config, rep *Report) []string {
	poolID := "POOL_ID"
	if rep.Signing != nil {
		poolID = rep.Signing.PoolID
	} else if cfg.PoolID != "" {
		poolID = cfg.PoolID
	}
	var out []string
	seen := map[string]bool{}
	add := func(h string) {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	errs := append([]ErrorCount(nil), rep.Errors...)
	if rep.Seed != nil {
		errs = append(errs, rep.Seed.Errors...)
	}
	for _, e := range errs {
		switch e.Type {
		case "TooManyRequestsException", "LimitExceededException":
			add("The server's abuse limits refused requests (TooManyRequestsException, LimitExceededException). For a benchmark, relax them on the pool (every node sees it at once): " +
				RelaxCommand(poolID) + ". A LimitExceededException about the destination cooldown means a user was asked for a code again too soon: use more --users, wait between runs on the same users, or use another --prefix.")
		case "InvalidParameterException":
			if strings.Contains(e.Example, "does not send SMS") {
				add("The pool does not send SMS to the +1 555 numbers the benchmark uses: latchkey pools update " + poolID + " --sms-countries US,+1")
			}
		case "ResourceNotFoundException":
			add("The server knows no such app client or pool: check --client-id (and --pool-id) with latchkey pools list.")
		case "UsernameExistsException":
			add("Numbers in this --prefix range are already signed up: give the new-user flow a prefix no run has used (e.g. --prefix +15552).")
		case "UserNotFoundException":
			add("The returning users do not exist: sign them up first with --seed.")
		case errCodeNotDelivered:
			add("No code reached the dev outbox: sign the returning users up first (--seed); with a pool that hides unknown users, an unknown user's code is never sent.")
		case errOutboxNotFound:
			add("The server has no dev outbox: start it with dev delivery on (latchkey serve --dev, the default).")
		case "NotAuthorizedException":
			add("The server refused the sign-in (NotAuthorizedException): the app client must have no secret, and the users no lockout.")
		}
	}
	if rep.CooldownWaits > 0 || rep.Stopped == "cooldown" {
		add(fmt.Sprintf("Users came round again within the %s destination cooldown, which bounds the rate at users ÷ cooldown = %.3g flows/s (%d flows waited; the run stopped early if the wait outlasted it): use more --users.",
			cfg.Cooldown, float64(cfg.Users)/cfg.Cooldown.Seconds(), rep.CooldownWaits))
	}
	if rep.Unfinished > 0 && rep.Unfinished >= rep.Completed {
		add(fmt.Sprintf("%d flows were still running when the window ended, more than completed in it: a step takes about as long as the window or longer (a server whose dev outbox waits for its whole delivery queue to be idle makes code reads wait under load). Measure for longer or with less concurrency.", rep.Unfinished))
	}
	if rep.Stopped == "users" && cfg.Flow == FlowNew {
		add("The new-user flow used up its users before the duration ended: raise --users.")
	}
	return out
}
