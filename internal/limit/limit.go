// Package limit enforces a pool's abuse-resistance policy (pool.Limits): the
// per-account guessing budget and lockout, and the send limits that stop SMS
// pumping. Every count lives in the store (store.Limits), so the limits hold
// across sessions, clients, addresses and nodes.
//
// Limits are keyed by what the client typed (the identifier) or where a
// message goes, never by whether the account exists: an unknown username
// is limited exactly like a known one, so the limits reveal nothing.
package limit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// Store is what the guard keeps its counts in.
type Store interface {
	store.Limits
	store.Failures
}

// Guard applies pools' limits. It is safe for concurrent use and keeps no
// state of its own.
type Guard struct {
	st  Store
	now func() time.Time
}

// New returns a Guard over st using the clock now.
func New(st Store, now func() time.Time) *Guard {
	return &Guard{st: st, now: now}
}

// forever is the refill period of a counter that only a success or an
// administrator resets.
const forever = 100 * 365 * 24 * time.Hour

func bucket(key string, r pool.Rate) store.Limit {
	return store.Limit{Key: key, Burst: r.Count, Every: r.Every()}
}

func guessKey(p pool.Pool, account string) string { return "guess/" + p.ID + "/" + account }

func consecutiveKey(p pool.Pool, account string) string {
	return "consecutive/" + p.ID + "/" + account
}

// trustedKey is the budget of one address the account signed in from.
func trustedKey(p pool.Pool, account, source string) string {
	return "guess-trusted/" + p.ID + "/" + account + "/" + source
}

// markerKey records that the account signed in from source: the bucket,
// of one token refilled over the trust window, is empty for that long
// after each sign-in. An empty marker means "trusted".
func markerKey(p pool.Pool, account, source string) string {
	return "signed-in-from/" + p.ID + "/" + account + "/" + source
}

func marker(p pool.Pool, account, source string) store.Limit {
	return store.Limit{Key: markerKey(p, account, source), Burst: 1, Every: p.Settings.EffectiveLimits().TrustedSourceWindow}
}

// guessLimits are the buckets an answer from source is counted in: the
// account's budget (or, from an address the account signed in from
// recently, that address's own budget) and the consecutive failure count.
func guessLimits(p pool.Pool, account string, trusted bool, source string) []store.Limit {
	l := p.Settings.EffectiveLimits()
	var out []store.Limit
	if !l.Guesses.IsZero() {
		key := guessKey(p, account)
		if trusted {
			key = trustedKey(p, account, source)
		}
		out = append(out, bucket(key, l.Guesses))
	}
	if l.MaxConsecutiveFailures > 0 {
		out = append(out, store.Limit{Key: consecutiveKey(p, account), Burst: l.MaxConsecutiveFailures, Every: forever})
	}
	return out
}

// trusted reports whether the account signed in from source within the
// pool's trust window.
func (g *Guard) trusted(ctx context.Context, p pool.Pool, account, source string) (bool, error) {
	if source == "" || p.Settings.EffectiveLimits().TrustedSourceWindow <= 0 {
		return false, nil
	}
	n, err := g.st.LimitTokens(ctx, marker(p, account, source), g.now())
	if err != nil {
		return false, fmt.Errorf("read trusted address: %w", err)
	}
	return n == 0, nil
}

// Locked is the error for an account whose guessing budget is spent. It
// says when to come back and nothing about the answers given.
func Locked(retryAt time.Time) error {
	if retryAt.IsZero() {
		return pool.Errorf(pool.KindTooManyFailedAttempts,
			"Too many wrong codes for this account: sign-in is locked until an administrator unlocks it.")
	}
	return pool.Errorf(pool.KindTooManyFailedAttempts,
		"Too many wrong codes for this account: sign-in is paused; try again after %s.", retryAt.UTC().Truncate(time.Second).Format(time.RFC3339))
}

// CheckLocked returns the Locked error if the account cannot submit a code
// from source now, so no message is sent that could not be answered.
func (g *Guard) CheckLocked(ctx context.Context, p pool.Pool, account, source string) error {
	trusted, err := g.trusted(ctx, p, account, source)
	if err != nil {
		return err
	}
	now := g.now()
	for _, lim := range guessLimits(p, account, trusted, source) {
		n, err := g.st.LimitTokens(ctx, lim, now)
		if err != nil {
			return fmt.Errorf("read guessing budget: %w", err)
		}
		if n == 0 {
			return Locked(g.retryAt(lim, now))
		}
	}
	return nil
}

// retryAt is when a drained bucket next has a token; zero for a counter
// that never refills.
func (g *Guard) retryAt(lim store.Limit, now time.Time) time.Time {
	if lim.Every >= forever {
		return time.Time{}
	}
	return now.Add(lim.Every)
}

// Guess is one answer counted against an account's budget before it is
// judged. Exactly one of Wrong, Right or Unjudged must follow.
type Guess struct {
	g       *Guard
	p       pool.Pool
	account string
	source  string
	trusted bool
	limits  []store.Limit
}

// TakeGuess counts an answer from source (the client's address, "" if
// unknown) about to be judged. It returns the Locked error, having counted
// nothing, when the budget is spent.
func (g *Guard) TakeGuess(ctx context.Context, p pool.Pool, account, source string) (*Guess, error) {
	trusted, err := g.trusted(ctx, p, account, source)
	if err != nil {
		return nil, err
	}
	lims := guessLimits(p, account, trusted, source)
	denied, retryAt, err := g.st.TakeTokens(ctx, lims, g.now())
	if err != nil {
		return nil, fmt.Errorf("count answer: %w", err)
	}
	if denied >= 0 {
		if lims[denied].Every >= forever {
			retryAt = time.Time{}
		}
		return nil, Locked(retryAt)
	}
	return &Guess{g: g, p: p, account: account, source: source, trusted: trusted, limits: lims}, nil
}

// In returns the guess settled through g: a guess counted in one unit of
// work and settled in another (across a hook call) settles in the second.
func (q *Guess) In(g *Guard) *Guess {
	c := *q
	c.g = g
	return &c
}

// Unjudged gives the answer back: it was never compared with a code (the
// session was gone or out of attempts).
func (q *Guess) Unjudged(ctx context.Context) error {
	now := q.g.now()
	var errs []error
	for _, lim := range q.limits {
		errs = append(errs, q.g.st.ReturnTokens(ctx, lim, 1, now))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("return unjudged answer: %w", err)
	}
	return nil
}

// Wrong records a wrong answer made in session sessionID, so a later right
// answer from the same session or address can forgive it.
func (q *Guess) Wrong(ctx context.Context, sessionID string) error {
	now := q.g.now()
	window := q.p.Settings.EffectiveLimits().ForgiveWindow
	if window <= 0 {
		return nil
	}
	err := q.g.st.RecordFailure(ctx, store.Failure{
		PoolID: q.p.ID, Account: q.account, SessionID: sessionID, Source: q.source,
		At: now, ExpiresAt: now.Add(window),
	})
	if err != nil {
		return fmt.Errorf("record wrong answer: %w", err)
	}
	return nil
}

// Right settles a right answer. The consecutive failure count starts again
// and the address becomes trusted. From an untrusted address the answer
// itself and the wrong answers it forgives (those of the same session, and
// those from the same address within the forgive window) go back to the
// account's budget; from a trusted address that address's own budget is
// refilled. An attacker's wrong answers come from other sessions and other
// addresses, so they stay charged: this keeps the guessing bound while a
// user who mistypes is never charged. It returns how many wrong answers
// were forgiven.
func (q *Guess) Right(ctx context.Context, sessionID string) (int, error) {
	now := q.g.now()
	forgiven, err := q.g.st.ForgiveFailures(ctx, q.p.ID, q.account, sessionID, q.source, now)
	if err != nil {
		return 0, fmt.Errorf("forgive wrong answers: %w", err)
	}
	for _, lim := range q.limits {
		switch {
		case lim.Every >= forever || q.trusted:
			err = q.g.st.ResetLimit(ctx, lim.Key)
		default:
			err = q.g.st.ReturnTokens(ctx, lim, forgiven+1, now)
		}
		if err != nil {
			return forgiven, fmt.Errorf("settle right answer: %w", err)
		}
	}
	// Every sign-in restarts the address's trust window, so a user who
	// signs in regularly from home is never back on the account's budget.
	if err := q.g.markTrusted(ctx, q.p, q.account, q.source); err != nil {
		return forgiven, err
	}
	return forgiven, nil
}

// markTrusted starts (or restarts) the trust window of source.
func (g *Guard) markTrusted(ctx context.Context, p pool.Pool, account, source string) error {
	if source == "" || p.Settings.EffectiveLimits().TrustedSourceWindow <= 0 {
		return nil
	}
	m := marker(p, account, source)
	if err := g.st.ResetLimit(ctx, m.Key); err != nil {
		return fmt.Errorf("trust address: %w", err)
	}
	if _, _, err := g.st.TakeTokens(ctx, []store.Limit{m}, g.now()); err != nil {
		return fmt.Errorf("trust address: %w", err)
	}
	return nil
}

// Unlock resets an account's guessing budget and consecutive failure count.
// Budgets of trusted addresses refill by themselves.
func (g *Guard) Unlock(ctx context.Context, p pool.Pool, account string) error {
	for _, key := range []string{guessKey(p, account), consecutiveKey(p, account)} {
		if err := g.st.ResetLimit(ctx, key); err != nil {
			return fmt.Errorf("unlock %s: %w", account, err)
		}
	}
	return nil
}

// Status describes an account's guessing budget.
type Status struct {
	// Remaining is the number of answers the account may submit now from
	// an address it has not signed in from.
	Remaining int
	// Locked is true when no answer may be submitted.
	Locked bool
}

// AccountStatus reports an account's budget (for administrators).
func (g *Guard) AccountStatus(ctx context.Context, p pool.Pool, account string) (Status, error) {
	now := g.now()
	st := Status{Remaining: -1}
	for _, lim := range guessLimits(p, account, false, "") {
		n, err := g.st.LimitTokens(ctx, lim, now)
		if err != nil {
			return Status{}, fmt.Errorf("read guessing budget: %w", err)
		}
		if st.Remaining < 0 || n < st.Remaining {
			st.Remaining = n
		}
	}
	st.Locked = st.Remaining == 0
	return st, nil
}

// Channels of a message, as deliver's.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
)

// Send describes a message about to be sent, or a decoy that stands for one.
type Send struct {
	ClientID string
	Channel  string
	// Destination is where the message goes: the real phone number or
	// email address, or, for a decoy, what the client typed.
	Destination string
	// SourceIP is the client's address; "" if unknown.
	SourceIP string
	// Real is false for a decoy. Decoys count against every limit like real
	// messages, and go through the pool's SMS budgets (which cap what is
	// actually paid for) without spending them.
	Real bool
	// Verified is true when the destination is an account's verified
	// phone number: such sends do not spend the new-number budget. A decoy
	// says what a real user's message would most often be (verified for a
	// sign-in, not for a sign-up), so it touches the same buckets.
	Verified bool
}

// ErrCountryNotAllowed means the pool does not send SMS to the number's
// country.
var ErrCountryNotAllowed = errors.New("sms country not allowed")

// CheckCountry returns an error wrapping ErrCountryNotAllowed (and of kind
// InvalidParameter) if number is an E.164 number in a country the pool does
// not send SMS to.
func CheckCountry(p pool.Pool, number string) error {
	allowed := smsCountries(p)
	num, err := phonenumbers.Parse(number, "")
	if err != nil {
		return &pool.Error{Kind: pool.KindInvalidParameter, Message: "The phone number cannot be parsed.", Err: err}
	}
	region := phonenumbers.GetRegionCodeForNumber(num)
	code := fmt.Sprintf("+%d", num.GetCountryCode())
	for _, c := range allowed {
		if c == region || c == code {
			return nil
		}
	}
	return &pool.Error{
		Kind:    pool.KindInvalidParameter,
		Message: fmt.Sprintf("This pool does not send SMS to %s numbers (%s); it sends to %s.", regionName(region), code, strings.Join(allowed, ", ")),
		Err:     ErrCountryNotAllowed,
	}
}

func regionName(region string) string {
	if region == "" || region == "ZZ" {
		return "unassigned"
	}
	return region
}

// smsCountries is the pool's allow-list: as set, else the pool's default
// phone region, else the United States.
func smsCountries(p pool.Pool) []string {
	if c := p.Settings.EffectiveLimits().SMSCountries; len(c) > 0 {
		return c
	}
	if r := p.Settings.DefaultPhoneRegion; r != "" {
		return []string{strings.ToUpper(r)}
	}
	return []string{"US"}
}

// numberPrefix is the number without its last four digits: its block of
// 10,000 numbers.
func numberPrefix(e164 string) string {
	if len(e164) <= 8 {
		return e164
	}
	return e164[:len(e164)-4]
}

type sendLimit struct {
	limit store.Limit
	kind  pool.Kind
	what  string
	// budget marks the pool's SMS budgets, which count only real messages.
	budget bool
}

func sendLimits(p pool.Pool, s Send) []sendLimit {
	l := p.Settings.EffectiveLimits()
	var out []sendLimit
	add := func(r pool.Rate, key string, kind pool.Kind, what string) {
		if !r.IsZero() {
			out = append(out, sendLimit{limit: bucket(key, r), kind: kind, what: what, budget: strings.Contains(key, "sms-")})
		}
	}
	dest := s.Channel + "/" + s.Destination
	add(l.DestinationCooldown, "send/cooldown/"+p.ID+"/"+dest, pool.KindLimitExceeded,
		fmt.Sprintf("A code was sent to this destination less than %s ago; wait before asking for another.", l.DestinationCooldown.Every()))
	add(l.DestinationHourly, "send/dest-h/"+p.ID+"/"+dest, pool.KindLimitExceeded,
		fmt.Sprintf("Too many codes sent to this destination (limit %s); try again later.", l.DestinationHourly))
	add(l.DestinationDaily, "send/dest-d/"+p.ID+"/"+dest, pool.KindLimitExceeded,
		fmt.Sprintf("Too many codes sent to this destination (limit %s); try again later.", l.DestinationDaily))
	if s.SourceIP != "" {
		add(l.IPHourly, "send/ip-h/"+p.ID+"/"+s.SourceIP, pool.KindTooManyRequests,
			fmt.Sprintf("Too many codes requested from this address (limit %s); try again later.", l.IPHourly))
		add(l.IPDaily, "send/ip-d/"+p.ID+"/"+s.SourceIP, pool.KindTooManyRequests,
			fmt.Sprintf("Too many codes requested from this address (limit %s); try again later.", l.IPDaily))
	}
	add(l.ClientHourly, "send/client-h/"+p.ID+"/"+s.ClientID, pool.KindTooManyRequests,
		fmt.Sprintf("Too many codes requested by this app client (limit %s); try again later.", l.ClientHourly))
	if s.Channel == ChannelSMS && strings.HasPrefix(s.Destination, "+") {
		prefix := numberPrefix(s.Destination)
		add(l.PrefixHourly, "send/prefix-h/"+p.ID+"/"+prefix, pool.KindLimitExceeded,
			fmt.Sprintf("Too many codes sent to numbers in this range (limit %s); try again later.", l.PrefixHourly))
		add(l.PrefixDaily, "send/prefix-d/"+p.ID+"/"+prefix, pool.KindLimitExceeded,
			fmt.Sprintf("Too many codes sent to numbers in this range (limit %s); try again later.", l.PrefixDaily))
	}
	// The SMS budgets: a decoy goes through them too, so it is refused when
	// a real message would be and costs the same, but leaves their tokens
	// (store.Limit.Refund): the budgets count only messages really sent.
	if s.Channel == ChannelSMS {
		add(l.SMSHourly, "send/sms-h/"+p.ID, pool.KindTooManyRequests,
			fmt.Sprintf("The pool's SMS budget (%s) is spent; try again later.", l.SMSHourly))
		add(l.SMSDaily, "send/sms-d/"+p.ID, pool.KindTooManyRequests,
			fmt.Sprintf("The pool's SMS budget (%s) is spent; try again later.", l.SMSDaily))
		if !s.Verified {
			add(l.NewSMSHourly, "send/new-sms-h/"+p.ID, pool.KindTooManyRequests,
				fmt.Sprintf("The pool's SMS budget for new numbers (%s) is spent; try again later.", l.NewSMSHourly))
			add(l.NewSMSDaily, "send/new-sms-d/"+p.ID, pool.KindTooManyRequests,
				fmt.Sprintf("The pool's SMS budget for new numbers (%s) is spent; try again later.", l.NewSMSDaily))
		}
	}
	return out
}

// Tripped describes a send limit that refused a message, for the audit
// trail; it is the Err of the *pool.Error TakeSend returns.
type Tripped struct {
	Limit   string
	RetryAt time.Time
}

func (t *Tripped) Error() string { return "limit tripped: " + t.Limit }

// TakeSend counts one message against every send limit that applies, all
// or nothing. When one is spent it returns a *pool.Error of kind
// LimitExceeded (per destination or number range) or TooManyRequests (per
// address, client or pool) wrapping a *Tripped, and nothing is counted.
func (g *Guard) TakeSend(ctx context.Context, p pool.Pool, s Send) error {
	lims := sendLimits(p, s)
	if len(lims) == 0 {
		return nil
	}
	raw := make([]store.Limit, len(lims))
	for i, l := range lims {
		raw[i] = l.limit
		// A decoy's budgets are checked and written, and not spent.
		raw[i].Refund = l.budget && !s.Real
	}
	now := g.now()
	denied, retryAt, err := g.st.TakeTokens(ctx, raw, now)
	if err != nil {
		return fmt.Errorf("count message: %w", err)
	}
	if denied < 0 {
		return nil
	}
	d := lims[denied]
	name, _, _ := strings.Cut(strings.TrimPrefix(d.limit.Key, "send/"), "/")
	return &pool.Error{Kind: d.kind, Message: d.what, Err: &Tripped{Limit: name, RetryAt: retryAt}}
}

// TakeExistence counts one answer that tells a caller an account exists
// (the answers Cognito's API forces: a taken username, an account already
// confirmed) against the per-address and per-client limits. When one is
// spent it returns a *pool.Error of kind TooManyRequests wrapping a
// *Tripped, and nothing is counted.
func (g *Guard) TakeExistence(ctx context.Context, p pool.Pool, clientID, source string) error {
	l := p.Settings.EffectiveLimits()
	type existsLimit struct {
		name string
		rate pool.Rate
		key  string
		what string
	}
	var lims []existsLimit
	if source != "" {
		lims = append(lims,
			existsLimit{"exists_ip_hourly", l.ExistsIPHourly, "exists/ip-h/" + p.ID + "/" + source, "this address"},
			existsLimit{"exists_ip_daily", l.ExistsIPDaily, "exists/ip-d/" + p.ID + "/" + source, "this address"})
	}
	lims = append(lims, existsLimit{"exists_client_hourly", l.ExistsClientHourly, "exists/client-h/" + p.ID + "/" + clientID, "this app client"})
	var raw []store.Limit
	var kept []existsLimit
	for _, e := range lims {
		if !e.rate.IsZero() {
			raw = append(raw, bucket(e.key, e.rate))
			kept = append(kept, e)
		}
	}
	if len(raw) == 0 {
		return nil
	}
	denied, retryAt, err := g.st.TakeTokens(ctx, raw, g.now())
	if err != nil {
		return fmt.Errorf("count existence answer: %w", err)
	}
	if denied < 0 {
		return nil
	}
	d := kept[denied]
	return &pool.Error{
		Kind:    pool.KindTooManyRequests,
		Message: fmt.Sprintf("Too many requests for existing accounts from %s (limit %s); try again later.", d.what, d.rate),
		Err:     &Tripped{Limit: d.name, RetryAt: retryAt},
	}
}
