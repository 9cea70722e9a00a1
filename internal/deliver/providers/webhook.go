package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/hook"
)

// The "webhook" provider: a receiver of Cognito's custom sender events as
// one delivery provider of a channel, in the pool's delivery settings.
//
//	{"type": "webhook", "config": {"url": "https://hooks.example.com/sms"},
//	 "secrets": {"signing_secret": {"env": "SMS_HOOK_SECRET"}}}
//
// It POSTs the CustomSMSSender event for an SMS and the CustomEmailSender
// event for an email, exactly as a pool's custom sender hook gets them
// (custom_sender.go: the same eventSender builds them and classifies the
// failures), signed with the Standard Webhooks scheme under signing_secret
// (hook.Verify checks it). Unlike a custom sender hook, it is one link of a
// Chain: any failure moves on to the next provider. A receiver that cannot
// be reached, does not answer in time, or answers 429, 502, 503 or 504
// (UnexpectedLambda) is a transient failure, which counts against the
// provider's circuit breaker and, when every provider fails, lets the
// outbox try again; any other error answer (UserLambdaValidation) or an
// answer too large (InvalidLambdaResponse) is a permanent failure for this
// message. Neither the code nor the URL is ever in an error.
//
// The event's region is the part of the pool ID before its underscore
// (pool IDs are "<region>_<id>", as Cognito's, and are made from the pool's
// region), so the provider needs nothing from the pool beyond the message.

// secretSigningSecret is the webhook provider's one secret: the Standard
// Webhooks secret ("whsec_…") that signs its requests.
const secretSigningSecret = "signing_secret"

// webhookConfig is the webhook provider's config.
type webhookConfig struct {
	// URL receives the events: https, or http to a loopback host (for
	// development), as the hook package requires of every webhook.
	URL string `json:"url"`
}

// webhookURLs checks webhook URLs with the hook package's own rules
// (*hook.Webhooks.Webhook) when there is no transport to send with:
// validation before storing, and Check. Its transport refuses every
// request, and nothing is ever sent through it.
var webhookURLs = hook.NewWebhooks(hook.WebhookOptions{Transport: refuseTransport{}})

// checkingSecret is a well-formed signing secret (24 zero bytes) that
// stands for the real one when only the URL is checked.
const checkingSecret = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// refuseTransport is an http.RoundTripper that sends nothing.
type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("providers: this webhook transport only checks URLs")
}

// errNoSigningSecret is a webhook provider without its secret.
var errNoSigningSecret = fmt.Errorf(`secret %s is required: set secrets.%s to {"env": "VARIABLE"} or {"file": "/path"} holding a Standard Webhooks secret (whsec_…)`,
	secretSigningSecret, secretSigningSecret)

// parseWebhookConfig decodes and checks a webhook provider's config.
// Errors never repeat the URL, whose path or query may hold a token.
func parseWebhookConfig(raw json.RawMessage) (webhookConfig, error) {
	var c webhookConfig
	if err := decodeStrict(raw, &c, []string{secretSigningSecret}); err != nil {
		return c, err
	}
	if c.URL == "" {
		return c, errors.New("config: url is required: the https URL that receives the events")
	}
	if _, err := webhookURLs.Webhook(c.URL, checkingSecret); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// checkSigningSecret checks the resolved signing secret's form; errors
// never repeat it.
func checkSigningSecret(secret string) error {
	if secret == "" {
		return errNoSigningSecret
	}
	if _, err := hook.Sign(secret, "msg_check", time.Unix(0, 0), nil); err != nil {
		return fmt.Errorf("secret %s: %w", secretSigningSecret, err)
	}
	return nil
}

// webhookKind is the "webhook" provider type, sending on channels.
func (b *Builder) webhookKind(channels []deliver.Channel) Kind {
	return Kind{Channels: channels, Secrets: []string{secretSigningSecret},
		Check: func(raw json.RawMessage, sec map[string]string) error {
			if _, err := parseWebhookConfig(raw); err != nil {
				return err
			}
			// The value is a placeholder when validating before storing:
			// only its presence can be checked.
			if sec[secretSigningSecret] == "" {
				return errNoSigningSecret
			}
			return nil
		},
		New: func(_ context.Context, raw json.RawMessage, sec map[string]string) (deliver.Sender, error) {
			cfg, err := parseWebhookConfig(raw)
			if err != nil {
				return nil, err
			}
			secret := sec[secretSigningSecret]
			if err := checkSigningSecret(secret); err != nil {
				return nil, err
			}
			if b.Webhooks == nil {
				return nil, errors.New(`the "webhook" provider needs the server's webhook transport, and this builder has none`)
			}
			wh, err := b.Webhooks.Webhook(cfg.URL, secret)
			if err != nil {
				return nil, err
			}
			return &webhookSender{events: eventSender{provider: TypeWebhook, invoker: wh, users: b.Users}}, nil
		}}
}

// webhookSender is a built webhook provider.
type webhookSender struct {
	events eventSender
}

// Send hands m's code to the receiver as the custom sender event of
// m.Channel: CustomSMSSender for an SMS, CustomEmailSender for an email.
func (s *webhookSender) Send(ctx context.Context, m deliver.Message) error {
	return s.events.send(ctx, customSenderTrigger(m.Channel), regionOf(m.PoolID), m)
}

// regionOf returns the region of a pool ID "<region>_<id>", or "" for an
// ID without an underscore.
func regionOf(poolID string) string {
	region, _, ok := strings.Cut(poolID, "_")
	if !ok {
		return ""
	}
	return region
}
