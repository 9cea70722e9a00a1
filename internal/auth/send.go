package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/limit"
	"github.com/latchkey/latchkey/internal/message"
	"github.com/latchkey/latchkey/internal/otp"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// CodeDelivery is where a code went, masked: Cognito's CodeDeliveryDetailsType.
type CodeDelivery struct {
	Destination    string
	DeliveryMedium string // "SMS" or "EMAIL"
	AttributeName  string // "phone_number" or "email"
}

func codeDelivery(ch deliver.Channel, masked string) CodeDelivery {
	attr := pool.AttrEmail
	if ch == deliver.ChannelSMS {
		attr = pool.AttrPhoneNumber
	}
	return CodeDelivery{Destination: masked, DeliveryMedium: deliveryMedium(ch), AttributeName: attr}
}

// outgoing is a code about to be delivered, or a decoy standing for one:
// an unknown user's request goes through the same admission and the same
// queue as a known user's, so the two cost the same.
type outgoing struct {
	pool     pool.Pool
	clientID string
	channel  deliver.Channel
	// dest is where the code goes; "" makes the message a decoy.
	dest string
	// typed is the identifier the client gave: the account the limits
	// count against, and the destination key of a decoy.
	typed string
	// verified is true when dest is the user's verified attribute.
	verified bool
	sub      string
	code     string
	purpose  string
	ttl      time.Duration
	locale   string
	// test is true when dest is one of the pool's test identities: the
	// code is the identity's fixed code and nothing is sent.
	test bool
}

func (o outgoing) decoy() bool { return o.dest == "" }

// EventCodeTestIdentity is the audit event of a code "sent" to a test
// identity: fixed, and never handed to a provider.
const EventCodeTestIdentity = "code.test_identity"

// newCode returns a fresh code for dest, or the fixed code of a test
// identity. A decoy (dest "") always gets a fresh code.
func (e *Engine) newCode(p pool.Pool, dest string) (string, error) {
	if code, ok := p.Settings.Delivery.TestCode(dest); ok {
		return code, nil
	}
	return otp.Generate(e.rand, p.Settings.CodeLength)
}

// Queue is the durable outbox the engine hands messages to; see package
// deliver/dispatch. The engine stores the rows itself, in the unit of work
// of the step that made the code.
type Queue interface {
	// Prepare seals m into the outbox row that delivers it.
	Prepare(p pool.Pool, m deliver.Message, decoy bool, expiresAt time.Time) (store.OutboxMessage, error)
	// Enqueued tells the queue that n prepared rows were committed.
	Enqueued(n int)
}

// admitSend decides whether a code may be sent, before any state is made
// for it: a provider must exist for the channel, the account must not be
// locked, SMS must go to an allowed country, and every send limit must
// have room, counted in the store. A known user's phone number outside the
// allowed countries turns the message into a decoy (o.dest = "") rather
// than an error that would tell the account exists.
func (e *Engine) admitSend(ctx context.Context, o *outgoing) error {
	// A test identity needs no provider. The check goes by what the client
	// typed, so it answers alike whether or not that account exists.
	_, typedTest := o.pool.Settings.Delivery.TestCode(o.typed)
	if c, ok := e.sender.(deliver.Capable); ok && !typedTest && !c.CanSend(o.pool.ID, o.channel) {
		msg := fmt.Sprintf("Cannot deliver the code: no %s provider is configured and dev delivery is off.", o.channel)
		if len(o.pool.Settings.Delivery.Providers(string(o.channel))) > 0 {
			// Configured but refused: every provider's circuit is open.
			msg = fmt.Sprintf("Cannot deliver the code by %s now: every provider is failing; try again later.", deliveryMedium(o.channel))
		}
		return &pool.Error{Kind: pool.KindCodeDeliveryFailure, Message: msg}
	}
	if err := e.guard.CheckLocked(ctx, o.pool, o.typed, callerOf(ctx).IP); err != nil {
		if pool.KindOf(err) == pool.KindInternal {
			return internal("check lock", err)
		}
		e.audit(ctx, auditEntry{pool: o.pool, typ: EventLocked, username: o.typed, sub: o.sub, clientID: o.clientID,
			detail: map[string]string{"at": "send", "purpose": o.purpose}})
		return err
	}
	if o.channel == deliver.ChannelSMS {
		if strings.HasPrefix(o.typed, "+") {
			if err := limit.CheckCountry(o.pool, o.typed); err != nil {
				return err
			}
		}
		if o.dest != "" && o.dest != o.typed {
			if err := limit.CheckCountry(o.pool, o.dest); err != nil {
				e.log.WarnContext(ctx, "code not sent: the number's country is not allowed", "pool", o.pool.ID, "purpose", o.purpose)
				e.audit(ctx, auditEntry{pool: o.pool, typ: EventLimitTripped, username: o.typed, sub: o.sub, clientID: o.clientID,
					detail: map[string]string{"limit": "sms_countries", "purpose": o.purpose}})
				o.dest = ""
			}
		}
	}
	_, o.test = o.pool.Settings.Delivery.TestCode(o.dest)
	key := o.dest
	if key == "" {
		key = o.typed
	}
	err := e.guard.TakeSend(ctx, o.pool, limit.Send{
		ClientID: o.clientID, Channel: string(o.channel), Destination: key,
		SourceIP: callerOf(ctx).IP, Real: !o.decoy(), Verified: o.verified || (o.decoy() && o.purpose == pool.PurposeSignIn),
	})
	if err != nil {
		var tripped *limit.Tripped
		if !errors.As(err, &tripped) {
			return internal("count send", err)
		}
		e.audit(ctx, auditEntry{pool: o.pool, typ: EventLimitTripped, username: o.typed, sub: o.sub, clientID: o.clientID,
			detail: map[string]string{"limit": tripped.Limit, "channel": string(o.channel), "purpose": o.purpose}})
		return err
	}
	return nil
}

// dispatch hands an admitted code to the queue (or, without one, sends it
// at once). Decoys are queued like real messages and dropped unsent.
func (e *Engine) dispatch(ctx context.Context, o outgoing) error {
	if o.test {
		// Never queued, so no provider can see it; loud, so a test
		// identity left in a production pool is noticed.
		e.log.WarnContext(ctx, "test identity: fixed code, nothing sent", "pool", o.pool.ID, "channel", string(o.channel),
			"to", o.dest, "purpose", o.purpose)
		e.audit(ctx, auditEntry{pool: o.pool, typ: EventCodeTestIdentity, username: o.typed, sub: o.sub, clientID: o.clientID,
			detail: map[string]string{"channel": string(o.channel), "purpose": o.purpose}})
		return nil
	}
	m, err := e.message(ctx, o)
	if err != nil {
		return internal("render message", err)
	}
	detail := map[string]string{"channel": string(o.channel), "purpose": o.purpose}
	if o.decoy() {
		detail["decoy"] = "true"
	}
	if e.queue != nil {
		if err := e.enqueue(ctx, o.pool, m, o.decoy(), e.now().Add(o.ttl)); err != nil {
			return err
		}
		e.audit(ctx, auditEntry{pool: o.pool, typ: EventCodeSent, username: o.typed, sub: o.sub, clientID: o.clientID, detail: detail})
		return nil
	}
	if o.decoy() {
		e.audit(ctx, auditEntry{pool: o.pool, typ: EventCodeSent, username: o.typed, sub: o.sub, clientID: o.clientID, detail: detail})
		return nil
	}
	if e.unit != nil {
		// A provider is never called inside a transaction: send once the
		// step's unit of work has committed.
		unbound := *e
		unbound.unit, unbound.store, unbound.guard = nil, e.unit.base, limit.New(e.unit.base, e.now)
		e.unit.afterCommit = append(e.unit.afterCommit, func(ctx context.Context) error {
			return unbound.sendNow(ctx, o, m, detail)
		})
		return nil
	}
	return e.sendNow(ctx, o, m, detail)
}

// sendNow sends a code message at once, without a queue.
func (e *Engine) sendNow(ctx context.Context, o outgoing, m deliver.Message, detail map[string]string) error {
	if err := e.sender.Send(ctx, m); err != nil {
		e.log.ErrorContext(ctx, "code delivery failed", "pool", o.pool.ID, "channel", string(o.channel), "purpose", o.purpose, "error", err)
		e.audit(ctx, auditEntry{pool: o.pool, typ: EventCodeFailed, username: o.typed, sub: o.sub, clientID: o.clientID, detail: detail})
		if errors.Is(err, deliver.ErrNoProvider) {
			return &pool.Error{Kind: pool.KindCodeDeliveryFailure, Message: fmt.Sprintf("Cannot deliver the code: no %s provider is configured and dev delivery is off.", o.channel), Err: err}
		}
		return &pool.Error{Kind: pool.KindCodeDeliveryFailure, Message: fmt.Sprintf("Could not deliver the code by %s; try again later.", deliveryMedium(o.channel)), Err: err}
	}
	e.audit(ctx, auditEntry{pool: o.pool, typ: EventCodeSent, username: o.typed, sub: o.sub, clientID: o.clientID, detail: detail})
	return nil
}

// message renders the code message in the user's locale. A decoy is
// addressed to what the client typed, so it has the shape of a real one.
func (e *Engine) message(ctx context.Context, o outgoing) (deliver.Message, error) {
	to := o.dest
	if to == "" {
		to = o.typed
	}
	name := o.pool.Name
	if name == "" {
		name = "Latchkey"
	}
	r, err := e.templatesOf(ctx, o.pool).Render(o.locale, string(o.channel), message.Data{
		Code: o.code, AppName: name, Expiry: o.ttl, Purpose: o.purpose,
	})
	if err != nil {
		return deliver.Message{}, fmt.Errorf("render %s message: %w", o.purpose, err)
	}
	if w := r.Warning(); w != "" {
		e.log.WarnContext(ctx, "long code message", "pool", o.pool.ID, "locale", r.Locale, "warning", w)
	}
	return deliver.Message{
		PoolID:  o.pool.ID,
		Channel: o.channel,
		To:      to,
		Subject: r.Subject,
		Body:    r.Text,
		HTML:    r.HTML,
		Code:    o.code,
		Purpose: o.purpose,
		Locale:  r.Locale,
	}, nil
}

// templateCache holds pools' templates by a hash of the settings they are
// built from. Building parses and test-runs every override, so it is done
// once per distinct settings, not per message; a settings change has a new
// hash and is picked up on the next message.
type templateCache struct {
	sync.Mutex
	m map[[sha256.Size]byte]*message.Templates
}

// maxCachedTemplates bounds the cache; past it, it starts afresh.
const maxCachedTemplates = 1024

// templatesOf returns the templates of pool p: its delivery settings'
// default locale, overrides and autofill lines over the built-in ones, or
// the engine's templates when it sets none. Settings that no longer build
// (they are validated when stored) fall back to the engine's templates:
// a code in the default wording beats no code.
func (e *Engine) templatesOf(ctx context.Context, p pool.Pool) *message.Templates {
	d := p.Settings.Delivery
	if d == nil || (d.DefaultLocale == "" && len(d.Templates) == 0 && d.Autofill == nil) {
		return e.templates
	}
	h := sha256.New()
	h.Write([]byte(d.DefaultLocale))
	h.Write([]byte{0})
	h.Write(d.Templates)
	if d.Autofill != nil {
		fmt.Fprintf(h, "\x00%s\x00%s", d.Autofill.WebOTPHost, d.Autofill.AndroidAppHash)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])

	e.tmplCache.Lock()
	t, ok := e.tmplCache.m[key]
	e.tmplCache.Unlock()
	if ok {
		return t
	}
	t, err := buildTemplates(d)
	if err != nil {
		e.log.ErrorContext(ctx, "pool templates do not build; using the default ones", "pool", p.ID, "error", err)
		return e.templates
	}
	e.tmplCache.Lock()
	if e.tmplCache.m == nil || len(e.tmplCache.m) >= maxCachedTemplates {
		e.tmplCache.m = make(map[[sha256.Size]byte]*message.Templates)
	}
	e.tmplCache.m[key] = t
	e.tmplCache.Unlock()
	return t
}

func buildTemplates(d *pool.Delivery) (*message.Templates, error) {
	var o message.Overrides
	if raw := bytes.TrimSpace(d.Templates); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
	}
	t, err := message.New(d.DefaultLocale, o)
	if err != nil {
		return nil, err
	}
	if d.Autofill == nil {
		return t, nil
	}
	return t.WithAutofill(message.Autofill{WebOTPHost: d.Autofill.WebOTPHost, AndroidAppHash: d.Autofill.AndroidAppHash})
}
