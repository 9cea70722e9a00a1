package pool

import (
	"encoding/json"
	"strings"
)

// Channels a pool delivers codes on, as Delivery and its providers name them.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
)

// Delivery is how a pool delivers its codes: which providers, in which
// order, per channel; the messages' language, templates and autofill lines;
// and test identities. It is stored in the pool's settings, so every node
// sees a change on its next reload (within seconds). A nil *Delivery sends
// through the server's default sender with the built-in templates.
//
// Delivery never holds a provider secret (a password, an auth token, an
// AWS secret key): a provider names where each secret is, an environment
// variable or a file (SecretRef), and each node reads it there when it
// builds the provider. The store, backups and `pools show` therefore hold
// no credentials, and rotating one means changing the variable or file on
// the nodes.
//
// Package deliver/providers validates a Delivery fully (each provider's
// config, the templates, the test identities) and builds senders from it.
type Delivery struct {
	// SMS and Email are the providers of each channel, tried in order: the
	// first that delivers wins, a failure moves on to the next. An empty
	// list uses the server's default sender (the dev outbox with --dev,
	// else none).
	SMS   []Provider `json:"sms,omitempty"`
	Email []Provider `json:"email,omitempty"`
	// DefaultLocale is the BCP 47 tag ("en", "pt-BR") of the language a user
	// without a locale attribute gets; "" means "en".
	DefaultLocale string `json:"default_locale,omitempty"`
	// Templates holds the pool's message templates by locale, in the JSON
	// form of message.Overrides:
	//	{"fr": {"sms": "…{{.Code}}…", "email_subject": "…", "email_text": "…", "email_html": "…"}}
	// It is kept raw here so that pool does not depend on package message.
	Templates json.RawMessage `json:"templates,omitempty"`
	// Autofill adds lines to every SMS that let phones fill the code in.
	Autofill *Autofill `json:"autofill,omitempty"`
	// TestIdentities are destinations with a fixed code that is never
	// sent (for app-store review and automated tests). Off when empty.
	TestIdentities []TestIdentity `json:"test_identities,omitempty"`
}

// Provider is one delivery provider in a channel's list.
type Provider struct {
	// Type is the provider's kind: "sns" or "twilio" for SMS, "ses" or
	// "smtp" for email, "webhook" (a signed CustomSMSSender or
	// CustomEmailSender event) for both, and "log" and "outbox"
	// (development only) for both.
	Type string `json:"type"`
	// Name tells providers apart in logs and errors; "" means Type.
	Name string `json:"name,omitempty"`
	// Config is the provider's settings in its package's JSON form (for
	// example sns.Config), without secrets.
	Config json.RawMessage `json:"config,omitempty"`
	// Secrets says where each of the provider's secrets is, by the name of
	// the config field it fills ("auth_token", "password",
	// "secret_access_key").
	Secrets map[string]SecretRef `json:"secrets,omitempty"`
}

// Label is how logs and errors name p: its Name, else its Type.
func (p Provider) Label() string {
	if p.Name != "" {
		return p.Name
	}
	return p.Type
}

// SecretRef says where a secret is; exactly one field is set. The value
// is read on each node, never stored.
type SecretRef struct {
	// Env is the name of an environment variable holding the secret.
	Env string `json:"env,omitempty"`
	// File is the absolute path of a file holding the secret (a mounted
	// Kubernetes or Docker secret); surrounding white space is trimmed.
	File string `json:"file,omitempty"`
}

// String says where the secret is, never what it is.
func (r SecretRef) String() string {
	switch {
	case r.Env != "" && r.File == "":
		return "env " + r.Env
	case r.File != "" && r.Env == "":
		return "file " + r.File
	}
	return "invalid secret reference"
}

// Autofill are the machine-readable SMS lines of message.Autofill.
type Autofill struct {
	// WebOTPHost adds "@host #code" as the last line, for the WebOTP API.
	WebOTPHost string `json:"webotp_host,omitempty"`
	// AndroidAppHash adds the app's 11-character SMS Retriever hash.
	AndroidAppHash string `json:"android_app_hash,omitempty"`
}

// TestIdentity is a destination whose codes are always Code and are never
// sent. Anyone who knows it can sign in as that account (within the usual
// attempt and guessing limits), so keep such accounts free of real data.
type TestIdentity struct {
	// Destination is an E.164 phone number or a lower-case email address.
	Destination string `json:"destination"`
	// Code is the fixed code, digits, as long as the pool's codes.
	Code string `json:"code"`
}

// Providers returns the providers of a channel (ChannelSMS or
// ChannelEmail). It is safe on a nil Delivery.
func (d *Delivery) Providers(channel string) []Provider {
	if d == nil {
		return nil
	}
	switch channel {
	case ChannelSMS:
		return d.SMS
	case ChannelEmail:
		return d.Email
	}
	return nil
}

// TestCode returns the fixed code of dest, a normalized destination, when
// it is one of the pool's test identities. It is safe on a nil Delivery.
func (d *Delivery) TestCode(dest string) (string, bool) {
	if d == nil || dest == "" {
		return "", false
	}
	for _, t := range d.TestIdentities {
		// Email addresses are stored lower-cased; fold anyway so that a
		// hand-edited store cannot make a test identity silently miss.
		if t.Destination == dest || strings.EqualFold(t.Destination, dest) {
			return t.Code, true
		}
	}
	return "", false
}
