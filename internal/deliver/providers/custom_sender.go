package providers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// Custom senders: Cognito's CustomSMSSender and CustomEmailSender
// triggers. When a pool's hooks configure one for a channel, every code
// message of that channel goes to the hook, and never to the pool's
// providers or the server's fallback: the hook delivers it itself, as a
// Cognito custom sender Lambda does. The Router sends through it like any
// provider, so it works behind the durable outbox: a hook that cannot be
// reached, does not answer in time or is unavailable (UnexpectedLambda) is
// a transient failure the dispatcher retries while the code lives; a hook
// that answers with an error (UserLambdaValidation) or with an answer too
// large (InvalidLambdaResponse) is a permanent one, and the message is
// dropped. There is no failover to the providers: a code goes out by one
// path only.
//
// The event. Cognito encrypts request.code with the pool's KMS key;
// Latchkey sends the code in clear, inside the signed request over HTTPS
// (see docs/hooks.md): a ported handler drops its decryption step.
// triggerSource comes from the message's purpose (CustomSMSSender_SignUp
// for a sign-up confirmation code, _Authentication for a sign-in code,
// _VerifyUserAttribute for a code that verifies a changed email or phone
// number). userName and userAttributes are the user the code is for, read
// from the store by the destination; when no user has the destination as
// an identifier (a new, unverified email or number being verified), they
// are the destination alone: userName is the destination and
// userAttributes holds only phone_number or email. callerContext.clientId
// and request.clientMetadata are empty: a queued message does not carry
// them.
//
// The same event, built and classified by the same code (eventSender), is
// also what the "webhook" delivery provider sends (webhook.go): there it is
// one provider of a channel's chain, configured in the pool's delivery
// settings, and a failure fails over to the next provider.

// Users finds the user a code message is for: by username, or by a
// verified email or phone number. The store implements it.
type Users interface {
	GetUserByIdentifier(ctx context.Context, poolID, identifier string) (pool.User, error)
}

// hookSDKVersion is callerContext.awsSdkVersion in the custom senders'
// events, as in the engine's.
const hookSDKVersion = "latchkey"

// customSenderTrigger is the trigger of a channel's custom sender.
func customSenderTrigger(ch deliver.Channel) string {
	if ch == deliver.ChannelSMS {
		return hook.CustomSMSSender
	}
	return hook.CustomEmailSender
}

// customSenderSource returns the triggerSource of a code message for
// trigger, from the message's purpose.
func customSenderSource(trigger, purpose string) (string, error) {
	var suffix string
	switch {
	case purpose == pool.PurposeSignUp:
		suffix = "SignUp"
	case purpose == pool.PurposeSignIn:
		suffix = "Authentication"
	case strings.HasPrefix(purpose, pool.PurposeVerify("")):
		suffix = "VerifyUserAttribute"
	default:
		return "", fmt.Errorf("no %s trigger source for a message of purpose %q", trigger, purpose)
	}
	return trigger + "_" + suffix, nil
}

// customSender is a pool's custom sender for one channel: a deliver.Sender
// that invokes the hook configured for the channel's trigger.
type customSender struct {
	trigger string
	region  string
	events  eventSender
}

// Send hands m's code to the hook.
func (s *customSender) Send(ctx context.Context, m deliver.Message) error {
	return s.events.send(ctx, s.trigger, s.region, m)
}

// eventSender hands code messages to a receiver of Cognito's
// CustomSMSSender and CustomEmailSender events: it builds the event, invokes
// the receiver and classifies its failures. The pools' custom sender hooks
// (customSender) and the "webhook" delivery provider (webhookSender) both
// send through one, so the event and the failures are the same on both
// paths.
type eventSender struct {
	// provider is the ProviderError.Provider of its failures.
	provider string
	invoker  hook.Invoker
	// users finds the recipient; nil sends the destination alone.
	users Users
	// timeout, when positive, bounds each invocation: a Go function hook
	// does not bound its own time, as a webhook does.
	timeout time.Duration
}

// send hands m's code to the receiver as trigger's event for a pool in
// region. Its failures are *deliver.ProviderError: transient when the
// receiver could not be reached, did not answer in time or was unavailable
// (see transientHookError), permanent when it answered with an error or an
// invalid answer. m's code never appears in their text.
func (s *eventSender) send(ctx context.Context, trigger, region string, m deliver.Message) error {
	ev, err := s.event(ctx, trigger, region, m)
	if err != nil {
		return err
	}
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	if err := s.invoker.Invoke(ctx, trigger, ev); err != nil {
		return &deliver.ProviderError{Provider: s.provider, Transient: transientHookError(ctx, err), Err: withoutCode(err, m.Code)}
	}
	return nil
}

// event builds the event of m for trigger: CustomSMSSender or
// CustomEmailSender, with the triggerSource of m's purpose.
func (s *eventSender) event(ctx context.Context, trigger, region string, m deliver.Message) (*hook.Event, error) {
	source, err := customSenderSource(trigger, m.Purpose)
	if err != nil {
		return nil, &deliver.ProviderError{Provider: s.provider, Err: err}
	}
	userName, attrs, err := s.user(ctx, m)
	if err != nil {
		return nil, &deliver.ProviderError{Provider: s.provider, Transient: true, Err: err}
	}
	typ := hook.CustomSMSSenderRequestV1
	if trigger == hook.CustomEmailSender {
		typ = hook.CustomEmailSenderRequestV1
	}
	ev, err := hook.TypedEvent[hook.CustomSenderRequest, hook.EmptyResponse]{
		Header: hook.Header{
			Version:       hook.EventVersion(hook.LambdaV1),
			TriggerSource: source,
			Region:        region,
			UserPoolID:    m.PoolID,
			UserName:      userName,
			CallerContext: hook.CallerContext{AWSSDKVersion: hookSDKVersion},
		},
		Request: hook.CustomSenderRequest{Type: typ, Code: m.Code, UserAttributes: attrs},
	}.Encode()
	if err != nil {
		return nil, &deliver.ProviderError{Provider: s.provider, Err: withoutCode(err, m.Code)}
	}
	return ev, nil
}

// transientHookError reports whether a custom sender's failure may pass
// if tried again: a hook that could not be reached or did not answer in
// time, or a call cut short by ctx.
func transientHookError(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	return pool.KindOf(err) == pool.KindUnexpectedLambda
}

// codeRedacted replaces a message's code in an error's text.
const codeRedacted = "[redacted]" // as the dispatcher redacts

// withoutCode returns err with code taken out of its text: a receiver's
// error answer may echo the code it was sent, and the Chain logs a
// provider's failure before the dispatcher redacts it. errors.Is and As
// still see err.
func withoutCode(err error, code string) error {
	if err == nil || code == "" || !strings.Contains(err.Error(), code) {
		return err
	}
	return &redactedError{err: err, code: code}
}

// redactedError is an error whose text has a code replaced.
type redactedError struct {
	err  error
	code string
}

func (e *redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.code, codeRedacted)
}

func (e *redactedError) Unwrap() error { return e.err }

// user returns the userName and userAttributes of m's recipient.
func (s *eventSender) user(ctx context.Context, m deliver.Message) (string, hook.StringMap, error) {
	attr := pool.AttrEmail
	if m.Channel == deliver.ChannelSMS {
		attr = pool.AttrPhoneNumber
	}
	alone := hook.StringMap{attr: m.To}
	// A verification code goes to a value the user does not hold as an
	// identifier yet, which may be another user's: never look it up.
	if s.users == nil || strings.HasPrefix(m.Purpose, pool.PurposeVerify("")) {
		return m.To, alone, nil
	}
	u, err := s.users.GetUserByIdentifier(ctx, m.PoolID, m.To)
	if errors.Is(err, pool.ErrNotFound) {
		return m.To, alone, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("find the user of the message: %w", err)
	}
	if u.Attr(attr) != m.To && u.Username != m.To {
		return m.To, alone, nil
	}
	attrs := make(hook.StringMap, len(u.Attributes)+3)
	for k, v := range u.Attributes {
		attrs[k] = v
	}
	attrs[pool.AttrSub] = u.Sub
	attrs["cognito:user_status"] = string(u.Status)
	if attrs[attr] == "" {
		attrs[attr] = m.To
	}
	return u.Username, attrs, nil
}

// customSenders is a pool's custom senders, by channel, as built from its
// hook configuration.
type customSenders struct {
	// key identifies the hook configuration they were built from.
	key string
	// byChannel holds the channels whose messages go to a hook.
	byChannel map[deliver.Channel]*customSender
	// broken holds the channels whose hook is configured but cannot be
	// built, and why: their messages cannot be sent until it is fixed
	// (sending them to the providers instead would bypass the pool's own
	// sender).
	broken map[deliver.Channel]error
	// err, when set, is why the pool's hooks cannot be read at all: then
	// no channel can tell whether it has a custom sender, and none sends.
	err error
}

// errFor returns why ch cannot send, if its hook is broken.
func (cs *customSenders) errFor(ch deliver.Channel) error {
	if cs.err != nil {
		return cs.err
	}
	return cs.broken[ch]
}

// hooksKey identifies a pool's hook configuration and region.
func hooksKey(p pool.Pool) string {
	sum := sha256.Sum256(append([]byte(p.Region+"\x00"), p.Settings.Hooks...))
	return hex.EncodeToString(sum[:])
}

// buildCustomSenders builds the custom senders of pool p.
func (r *Router) buildCustomSenders(p pool.Pool) *customSenders {
	cs := &customSenders{key: hooksKey(p), byChannel: map[deliver.Channel]*customSender{}, broken: map[deliver.Channel]error{}}
	cfg, err := hook.ParseConfig(p.Settings.Hooks)
	if err != nil {
		cs.err = fmt.Errorf("the pool's hooks cannot be read: %w", err)
		return cs
	}
	for _, ch := range []deliver.Channel{deliver.ChannelSMS, deliver.ChannelEmail} {
		trigger := customSenderTrigger(ch)
		s := &customSender{trigger: trigger, region: p.Region, events: eventSender{provider: trigger + " hook", users: r.users}}
		route, ok, err := r.resolver.Route(cfg, trigger)
		switch {
		case errors.Is(err, hook.ErrNoWebhooks):
			cs.broken[ch] = fmt.Errorf("the pool's %s is a webhook, and this server has no webhook transport", trigger)
			continue
		case err != nil:
			cs.broken[ch] = fmt.Errorf("the pool's %s webhook: %w", trigger, err)
			continue
		case !ok:
			continue
		}
		s.events.invoker = route.Invoker
		if _, local := route.Invoker.(hook.Funcs); local {
			// A webhook has its own timeout; a Go function gets Lambda's.
			s.events.timeout = hook.DefaultTimeout
		}
		cs.byChannel[ch] = s
	}
	return cs
}
