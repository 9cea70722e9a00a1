// Package deliver sends one-time codes by SMS or email. It defines the
// Sender interface the auth flows call and the development senders (a log
// line and an in-memory outbox) used when no real provider is configured.
package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Channel is how a message travels.
type Channel string

const (
	ChannelSMS   Channel = "sms"
	ChannelEmail Channel = "email"
)

// Message is one code message. Code is a secret: only dev senders may reveal
// it, so Message's String, GoString and LogValue leave it out.
type Message struct {
	PoolID  string
	Channel Channel
	To      string // E.164 number or lower-cased email
	Subject string // email only
	Body    string // the text: the SMS, or the plain-text part of an email
	HTML    string // email only: the HTML part; "" sends text only
	Code    string
	Purpose string // "sign_in", "sign_up"
	// Locale is the recipient's locale (the user's locale attribute), for
	// senders that render their own text, such as webhooks.
	Locale string
}

// String describes m without its code or body (the body contains the code).
func (m Message) String() string {
	return fmt.Sprintf("%s message for pool %s to %s (%s)", m.Channel, m.PoolID, m.To, m.Purpose)
}

// GoString keeps %#v from printing the code.
func (m Message) GoString() string { return "deliver.Message{" + m.String() + "}" }

// LogValue keeps slog.Any("message", m) from logging the code or body.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("pool", m.PoolID),
		slog.String("channel", string(m.Channel)),
		slog.String("to", m.To),
		slog.String("purpose", m.Purpose),
	)
}

// Sender delivers a message. Implementations must be safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Capable is implemented by senders that know, before a message exists,
// whether they can deliver on a channel for a pool. The engine asks it so
// that a pool with no provider fails the same way for every user.
type Capable interface {
	CanSend(poolID string, ch Channel) bool
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m Message) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// ProviderError is a failed send, as a provider reported it. Transient
// failures (throttling, timeouts, 5xx) may succeed if tried again; others
// (an invalid number, bad credentials) will not.
type ProviderError struct {
	Provider  string // e.g. "sns", "twilio"
	Transient bool
	Err       error
}

func (e *ProviderError) Error() string {
	kind := "permanent"
	if e.Transient {
		kind = "transient"
	}
	return fmt.Sprintf("%s: %s failure: %v", e.Provider, kind, e.Err)
}

func (e *ProviderError) Unwrap() error { return e.Err }

// IsTransient reports whether err is a ProviderError worth retrying.
func IsTransient(err error) bool {
	var pe *ProviderError
	return errors.As(err, &pe) && pe.Transient
}

// ErrNoProvider means sending failed because no provider is configured for
// the channel and dev delivery is off.
var ErrNoProvider = errors.New("no delivery provider configured")

// Unavailable returns a Sender that always fails with an error wrapping
// ErrNoProvider that names the channel and pool.
func Unavailable() Sender { return unavailable{} }

type unavailable struct{}

func (unavailable) Send(_ context.Context, m Message) error {
	return &noProviderError{channel: m.Channel, pool: m.PoolID}
}

// CanSend reports false: nothing can be delivered.
func (unavailable) CanSend(string, Channel) bool { return false }

type noProviderError struct {
	channel Channel
	pool    string
}

func (e *noProviderError) Error() string {
	return fmt.Sprintf("no %s provider is configured for pool %s and dev delivery is off", e.channel, e.pool)
}

func (e *noProviderError) Unwrap() error { return ErrNoProvider }

// Fanout returns a Sender that sends to every sender in turn, even after one
// fails, so a broken dev sender cannot hide a message from the others. It
// returns the failures joined, or nil.
func Fanout(senders ...Sender) Sender {
	return SenderFunc(func(ctx context.Context, m Message) error {
		var errs []error
		for _, s := range senders {
			if err := s.Send(ctx, m); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}
