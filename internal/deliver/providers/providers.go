// Package providers builds a pool's delivery providers from its settings
// (pool.Delivery) and puts them behind one deliver.Sender.
//
// A Builder turns each configured provider into a deliver.Sender with the
// provider's own package (sns, twilio, ses, smtp; webhook sends the custom
// sender events of package hook), reading its secrets from the environment
// or files on this node (never from the store). A Chain
// tries a channel's providers in order and fails over on any failure; each
// provider has a circuit breaker. A Router is the server's one Sender: for
// each message it finds the pool's chain for the channel (reloading the
// pool's settings every few seconds, so a change made on any node is picked
// up everywhere), or the server's default sender when the pool configures
// none, and it tells the engine, before a code is made, whether the channel
// can deliver at all.
//
// Validate checks a Delivery fully before it is stored; `latchkey pools
// update --delivery-file` calls it.
package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/ses"
	"github.com/latchkey/latchkey/internal/deliver/smtp"
	"github.com/latchkey/latchkey/internal/deliver/sns"
	"github.com/latchkey/latchkey/internal/deliver/twilio"
	"github.com/latchkey/latchkey/internal/email"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/message"
	"github.com/latchkey/latchkey/internal/phone"
	"github.com/latchkey/latchkey/internal/pool"
)

// Provider types of pool.Provider.Type.
const (
	TypeSNS    = "sns"
	TypeTwilio = "twilio"
	TypeSES    = "ses"
	TypeSMTP   = "smtp"
	// TypeWebhook sends Cognito's CustomSMSSender and CustomEmailSender
	// events, signed, to a URL (see webhook.go).
	TypeWebhook = "webhook"
	// TypeLog and TypeOutbox are the development senders: they reveal
	// codes, so they are built only on a server running with --dev.
	TypeLog    = "log"
	TypeOutbox = "outbox"
)

// Limits on a Delivery, to keep a typo from storing something absurd.
const (
	maxProviders      = 8
	maxTestIdentities = 100
)

// Secret names of the AWS providers: static credentials for a pool whose
// provider uses another account than the server's default credentials.
const (
	secretAccessKeyID     = "access_key_id"
	secretSecretAccessKey = "secret_access_key"
	secretSessionToken    = "session_token"
)

// Kind is a type of provider: what it sends, which secrets it takes, and
// how it is checked and built.
type Kind struct {
	// Channels are the channels it can send on.
	Channels []deliver.Channel
	// Secrets names the settings that are secrets. They are never in the
	// stored config, only in Provider.Secrets as references.
	Secrets []string
	// Check validates config with the given secrets (placeholders when
	// validating before storing); nil checks nothing.
	Check func(config json.RawMessage, secrets map[string]string) error
	// New builds a sender from config and the resolved secrets.
	New func(ctx context.Context, config json.RawMessage, secrets map[string]string) (deliver.Sender, error)
}

// Builder builds senders from pool.Provider settings. The zero Builder
// builds the real providers with the process's environment, files and
// default AWS credentials.
type Builder struct {
	// Getenv and ReadFile resolve secret references; os.Getenv and
	// os.ReadFile when nil.
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	// LoadAWSConfig loads the AWS settings the SNS and SES providers start
	// from (credentials, region, HTTP client); the SDK's default chain
	// (environment, shared files, instance or task role) when nil.
	LoadAWSConfig func(ctx context.Context) (aws.Config, error)
	// HTTPClient is Twilio's HTTP client; nil means its default.
	HTTPClient *http.Client
	// SMTPOptions are passed to every SMTP provider (tests give a TLS
	// config that trusts their server).
	SMTPOptions []smtp.Option
	// Dev allows the "log" and "outbox" providers, which reveal codes.
	Dev bool
	// Outbox is the dev outbox the "outbox" provider writes to.
	Outbox *deliver.Outbox
	// Logger is the "log" provider's; discarded when nil.
	Logger *slog.Logger
	// Webhooks is the transport of the "webhook" providers: the process's
	// one *hook.Webhooks. Without it a webhook provider cannot be built
	// (validating one does not need it). NewRouter sets it to
	// RouterConfig.Webhooks when nil.
	Webhooks *hook.Webhooks
	// Users finds the user a webhook provider's event is for (its userName
	// and userAttributes); nil sends the destination alone. NewRouter sets
	// it to the Router's users when nil.
	Users Users
	// Kinds adds provider types, or replaces built-in ones (tests).
	Kinds map[string]Kind
}

// kinds returns the provider types b can build.
func (b *Builder) kinds() map[string]Kind {
	sms := []deliver.Channel{deliver.ChannelSMS}
	mail := []deliver.Channel{deliver.ChannelEmail}
	both := []deliver.Channel{deliver.ChannelSMS, deliver.ChannelEmail}
	awsSecrets := []string{secretAccessKeyID, secretSecretAccessKey, secretSessionToken}
	k := map[string]Kind{
		TypeSNS: {Channels: sms, Secrets: awsSecrets,
			Check: func(raw json.RawMessage, sec map[string]string) error {
				if _, err := snsConfig(raw); err != nil {
					return err
				}
				return checkAWSSecrets(sec)
			},
			New: func(ctx context.Context, raw json.RawMessage, sec map[string]string) (deliver.Sender, error) {
				cfg, err := snsConfig(raw)
				if err != nil {
					return nil, err
				}
				awsCfg, err := b.awsConfig(ctx, sec)
				if err != nil {
					return nil, err
				}
				return sns.New(cfg, awsCfg)
			}},
		TypeSES: {Channels: mail, Secrets: awsSecrets,
			Check: func(raw json.RawMessage, sec map[string]string) error {
				if _, err := sesConfig(raw); err != nil {
					return err
				}
				return checkAWSSecrets(sec)
			},
			New: func(ctx context.Context, raw json.RawMessage, sec map[string]string) (deliver.Sender, error) {
				cfg, err := sesConfig(raw)
				if err != nil {
					return nil, err
				}
				awsCfg, err := b.awsConfig(ctx, sec)
				if err != nil {
					return nil, err
				}
				return ses.New(cfg, awsCfg)
			}},
		TypeTwilio: {Channels: sms, Secrets: []string{"auth_token", "api_key_secret"},
			Check: func(raw json.RawMessage, sec map[string]string) error {
				cfg, err := twilioConfig(raw, sec)
				if err != nil {
					return err
				}
				return cfg.Validate()
			},
			New: func(_ context.Context, raw json.RawMessage, sec map[string]string) (deliver.Sender, error) {
				cfg, err := twilioConfig(raw, sec)
				if err != nil {
					return nil, err
				}
				return twilio.New(cfg, b.HTTPClient)
			}},
		TypeSMTP: {Channels: mail, Secrets: []string{"password"},
			Check: func(raw json.RawMessage, sec map[string]string) error {
				cfg, err := smtpConfig(raw, sec)
				if err != nil {
					return err
				}
				return cfg.Validate()
			},
			New: func(_ context.Context, raw json.RawMessage, sec map[string]string) (deliver.Sender, error) {
				cfg, err := smtpConfig(raw, sec)
				if err != nil {
					return nil, err
				}
				return smtp.New(cfg, b.SMTPOptions...)
			}},
		TypeWebhook: b.webhookKind(both),
		TypeLog: {Channels: both,
			Check: func(raw json.RawMessage, _ map[string]string) error { return decodeStrict(raw, &struct{}{}, nil) },
			New: func(context.Context, json.RawMessage, map[string]string) (deliver.Sender, error) {
				if !b.Dev {
					return nil, errors.New(`the "log" provider writes codes to the log and is for development only: run the server with --dev`)
				}
				log := b.Logger
				if log == nil {
					log = slog.New(slog.DiscardHandler)
				}
				return deliver.NewLogSender(log), nil
			}},
		TypeOutbox: {Channels: both,
			Check: func(raw json.RawMessage, _ map[string]string) error { return decodeStrict(raw, &struct{}{}, nil) },
			New: func(context.Context, json.RawMessage, map[string]string) (deliver.Sender, error) {
				if !b.Dev || b.Outbox == nil {
					return nil, errors.New(`the "outbox" provider keeps codes for GET /_dev/outbox and is for development only: run the server with --dev`)
				}
				return b.Outbox, nil
			}},
	}
	for name, kind := range b.Kinds {
		k[name] = kind
	}
	return k
}

func snsConfig(raw json.RawMessage) (sns.Config, error) {
	var c sns.Config
	if err := decodeStrict(raw, &c, []string{secretAccessKeyID, secretSecretAccessKey, secretSessionToken}); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func sesConfig(raw json.RawMessage) (ses.Config, error) {
	var c ses.Config
	if err := decodeStrict(raw, &c, []string{secretAccessKeyID, secretSecretAccessKey, secretSessionToken}); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func twilioConfig(raw json.RawMessage, sec map[string]string) (twilio.Config, error) {
	var c twilio.Config
	if err := decodeStrict(raw, &c, []string{"auth_token", "api_key_secret"}); err != nil {
		return c, err
	}
	c.AuthToken, c.APIKeySecret = sec["auth_token"], sec["api_key_secret"]
	return c, nil
}

func smtpConfig(raw json.RawMessage, sec map[string]string) (smtp.Config, error) {
	var c smtp.Config
	if err := decodeStrict(raw, &c, []string{"password"}); err != nil {
		return c, err
	}
	c.Password = sec["password"]
	return c, nil
}

// checkAWSSecrets accepts no static credentials (the default chain), or
// an access key ID with its secret and an optional session token.
func checkAWSSecrets(sec map[string]string) error {
	id, key, tok := sec[secretAccessKeyID] != "", sec[secretSecretAccessKey] != "", sec[secretSessionToken] != ""
	switch {
	case id != key:
		return fmt.Errorf("secrets %s and %s go together: set both, or neither to use the default AWS credentials", secretAccessKeyID, secretSecretAccessKey)
	case tok && !id:
		return fmt.Errorf("secret %s needs %s and %s", secretSessionToken, secretAccessKeyID, secretSecretAccessKey)
	}
	return nil
}

// awsConfig loads the AWS settings and puts a pool's static credentials,
// if it has them, in place of the default ones.
func (b *Builder) awsConfig(ctx context.Context, sec map[string]string) (aws.Config, error) {
	if err := checkAWSSecrets(sec); err != nil {
		return aws.Config{}, err
	}
	load := b.LoadAWSConfig
	if load == nil {
		load = func(ctx context.Context) (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) }
	}
	cfg, err := load(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if id := sec[secretAccessKeyID]; id != "" {
		cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, sec[secretSecretAccessKey], sec[secretSessionToken]))
	}
	return cfg, nil
}

// decodeStrict decodes a provider's config into v (a pointer to a struct
// with json tags), refusing unknown fields and, with a message that says
// where they go instead, secret fields. An empty config is {}.
func decodeStrict(raw json.RawMessage, v any, secrets []string) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return fmt.Errorf("config is not a JSON object: %w", err)
	}
	known := jsonFields(v)
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch {
		case slices.Contains(secrets, name):
			return fmt.Errorf(`config field %q is a secret and is never stored: remove it and set secrets.%s to {"env": "VARIABLE"} or {"file": "/path"}`, name, name)
		case !known[name]:
			return fmt.Errorf("config: unknown field %q (known: %s)", name, strings.Join(sortedKeys(known, secrets), ", "))
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// jsonFields returns the JSON names of a struct's fields.
func jsonFields(v any) map[string]bool {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = true
	}
	return out
}

func sortedKeys(m map[string]bool, except []string) []string {
	var out []string
	for k := range m {
		if !slices.Contains(except, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// linkName names the i-th provider of a channel in logs and errors.
func linkName(ch deliver.Channel, i int, p pool.Provider) string {
	if p.Name != "" && p.Name != p.Type {
		return fmt.Sprintf("%s[%d] %s (%s)", ch, i, p.Name, p.Type)
	}
	return fmt.Sprintf("%s[%d] %s", ch, i, p.Type)
}

// Links builds the senders of a channel's providers, in order. A provider
// that cannot be built (a missing secret, an unreachable AWS
// configuration) is a Link with Err set; the others still work.
func (b *Builder) Links(ctx context.Context, ch deliver.Channel, ps []pool.Provider) []Link {
	kinds := b.kinds()
	links := make([]Link, 0, len(ps))
	for i, p := range ps {
		l := Link{Name: linkName(ch, i, p), key: providerKey(p)}
		s, err := b.build(ctx, kinds, ch, p)
		if err != nil {
			l.Err = err
		} else {
			l.Sender = s
		}
		links = append(links, l)
	}
	return links
}

func (b *Builder) build(ctx context.Context, kinds map[string]Kind, ch deliver.Channel, p pool.Provider) (deliver.Sender, error) {
	kind, ok := kinds[p.Type]
	if !ok {
		return nil, fmt.Errorf("unknown provider type %q", p.Type)
	}
	if !slices.Contains(kind.Channels, ch) {
		return nil, fmt.Errorf("provider type %q cannot send %s", p.Type, ch)
	}
	if err := checkSecretNames(kind, p); err != nil {
		return nil, err
	}
	secrets, err := b.resolveSecrets(p.Secrets)
	if err != nil {
		return nil, err
	}
	if kind.New == nil {
		return nil, fmt.Errorf("provider type %q cannot be built", p.Type)
	}
	return kind.New(ctx, p.Config, secrets)
}

func checkSecretNames(kind Kind, p pool.Provider) error {
	names := make([]string, 0, len(p.Secrets))
	for name := range p.Secrets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(kind.Secrets, name) {
			if len(kind.Secrets) == 0 {
				return fmt.Errorf("secret %q: provider type %q takes no secrets", name, p.Type)
			}
			return fmt.Errorf("secret %q: provider type %q takes only %s", name, p.Type, strings.Join(kind.Secrets, ", "))
		}
		if err := checkRef(p.Secrets[name]); err != nil {
			return fmt.Errorf("secret %s: %w", name, err)
		}
	}
	return nil
}

// Validate checks a pool's delivery settings fully before they are stored:
// every provider's type, channel, config and secret references, the
// templates and default locale, the autofill lines and the test
// identities (whose codes must be as long as the pool's). Secrets are not
// read: they need only exist on the server nodes (see Unresolved). Every
// problem is reported, each naming where it is (sms[1] (twilio): …).
func Validate(d *pool.Delivery, s pool.Settings) error {
	return (&Builder{}).Validate(d, s)
}

// placeholder stands for a secret's value while validating.
const placeholder = "placeholder-secret"

// Validate is the package's Validate with b's provider types.
func (b *Builder) Validate(d *pool.Delivery, s pool.Settings) error {
	if d == nil {
		return nil
	}
	kinds := b.kinds()
	var errs []error
	for _, ch := range []deliver.Channel{deliver.ChannelSMS, deliver.ChannelEmail} {
		ps := d.Providers(string(ch))
		if len(ps) > maxProviders {
			errs = append(errs, fmt.Errorf("delivery: %s: %d providers, at most %d", ch, len(ps), maxProviders))
		}
		for i, p := range ps {
			if err := checkProvider(kinds, ch, p); err != nil {
				errs = append(errs, fmt.Errorf("delivery: %s[%d] (%s): %w", ch, i, p.Label(), err))
			}
		}
	}
	if _, err := Templates(d); err != nil {
		errs = append(errs, fmt.Errorf("delivery: %w", err))
	}
	errs = append(errs, checkTestIdentities(d.TestIdentities, s.CodeLength)...)
	return errors.Join(errs...)
}

func checkProvider(kinds map[string]Kind, ch deliver.Channel, p pool.Provider) error {
	if p.Type == "" {
		return errors.New("type is required")
	}
	kind, ok := kinds[p.Type]
	if !ok {
		known := make([]string, 0, len(kinds))
		for name := range kinds {
			known = append(known, name)
		}
		slices.Sort(known)
		return fmt.Errorf("unknown type %q (known: %s)", p.Type, strings.Join(known, ", "))
	}
	if !slices.Contains(kind.Channels, ch) {
		return fmt.Errorf("type %q cannot send %s", p.Type, ch)
	}
	if strings.ContainsFunc(p.Name, func(r rune) bool { return r < ' ' }) || len(p.Name) > 64 {
		return errors.New("name must be at most 64 characters without control characters")
	}
	if err := checkSecretNames(kind, p); err != nil {
		return err
	}
	if kind.Check == nil {
		return nil
	}
	sec := make(map[string]string, len(p.Secrets))
	for name := range p.Secrets {
		sec[name] = placeholder
	}
	return kind.Check(p.Config, sec)
}

var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkRef accepts exactly one of an environment variable name and an
// absolute file path.
func checkRef(r pool.SecretRef) error {
	switch {
	case r.Env != "" && r.File != "":
		return errors.New("set only one of env and file")
	case r.Env != "":
		if !envNamePattern.MatchString(r.Env) {
			return fmt.Errorf("env %q is not an environment variable name", r.Env)
		}
	case r.File != "":
		if !strings.HasPrefix(r.File, "/") || strings.ContainsRune(r.File, 0) {
			return fmt.Errorf("file %q must be an absolute path", r.File)
		}
	default:
		return errors.New(`want {"env": "VARIABLE"} or {"file": "/path"}`)
	}
	return nil
}

// Templates builds a pool's message templates from its delivery settings:
// the built-in templates with its overrides, default locale and autofill
// lines. A nil Delivery gives the built-in templates.
func Templates(d *pool.Delivery) (*message.Templates, error) {
	if d == nil {
		return message.New("", nil)
	}
	var o message.Overrides
	if raw := bytes.TrimSpace(d.Templates); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
	}
	t, err := message.New(d.DefaultLocale, o)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	if d.Autofill == nil {
		return t, nil
	}
	t, err = t.WithAutofill(message.Autofill{WebOTPHost: d.Autofill.WebOTPHost, AndroidAppHash: d.Autofill.AndroidAppHash})
	if err != nil {
		return nil, fmt.Errorf("autofill: %w", err)
	}
	return t, nil
}

// NormalizeDestination returns a test identity's destination in the form
// the engine compares: E.164 for a phone number, lower case for an email.
func NormalizeDestination(dest string) (string, error) {
	if strings.Contains(dest, "@") {
		return email.Normalize(dest)
	}
	return phone.Normalize(dest, "")
}

func checkTestIdentities(ids []pool.TestIdentity, codeLength int) []error {
	var errs []error
	if len(ids) > maxTestIdentities {
		errs = append(errs, fmt.Errorf("delivery: %d test identities, at most %d", len(ids), maxTestIdentities))
	}
	seen := map[string]bool{}
	for i, t := range ids {
		at := fmt.Sprintf("delivery: test_identities[%d]", i)
		norm, err := NormalizeDestination(t.Destination)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: destination: %w", at, err))
		case norm != t.Destination:
			errs = append(errs, fmt.Errorf("%s: destination %q: write it as %q", at, t.Destination, norm))
		case seen[norm]:
			errs = append(errs, fmt.Errorf("%s: destination %q is listed twice", at, t.Destination))
		}
		seen[norm] = true
		if len(t.Code) != codeLength || strings.ContainsFunc(t.Code, func(r rune) bool { return r < '0' || r > '9' }) {
			errs = append(errs, fmt.Errorf("%s: code for %s must be %d digits, as the pool's codes are", at, t.Destination, codeLength))
		}
	}
	return errs
}

// Unresolved lists the secret references of d that cannot be read on this
// machine, as "sms[0] (twilio) secret auth_token: environment variable
// TWILIO_AUTH_TOKEN is not set". The CLI warns about them: the nodes that
// send need them, the machine that configures may not.
func (b *Builder) Unresolved(d *pool.Delivery) []string {
	var out []string
	for _, ch := range []deliver.Channel{deliver.ChannelSMS, deliver.ChannelEmail} {
		for i, p := range d.Providers(string(ch)) {
			if _, err := b.resolveSecrets(p.Secrets); err != nil {
				out = append(out, fmt.Sprintf("%s[%d] (%s) %v", ch, i, p.Label(), err))
			}
		}
	}
	return out
}

func (b *Builder) getenv(name string) string {
	if b.Getenv != nil {
		return b.Getenv(name)
	}
	return os.Getenv(name)
}

func (b *Builder) readFile(name string) ([]byte, error) {
	if b.ReadFile != nil {
		return b.ReadFile(name)
	}
	return os.ReadFile(name)
}
