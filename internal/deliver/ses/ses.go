// Package ses sends one-time codes by email through Amazon SES, with the SES
// v2 SendEmail operation and a simple (SES-assembled) message: a subject, a
// plain-text part and, when the message has one, an HTML part, all UTF-8.
//
// # Configuration
//
// A pool stores a [Config] as JSON:
//
//	{"region": "eu-west-1", "from": "no-reply@example.com", "from_name": "Example"}
//
// Its fields:
//
//   - region: the AWS region; "" uses the region of the aws.Config given to [New].
//   - endpoint: overrides the service endpoint (a private gateway, a test
//     server); "" uses the regional AWS endpoint.
//   - from: the sender address, required. It, or its domain, must be a
//     verified SES identity. Plain ASCII: SES needs internationalised
//     domains in Punycode.
//   - from_name: an optional display name; non-ASCII names are encoded as
//     RFC 2047 encoded-words, as SES requires.
//   - configuration_set: an optional SES configuration set (event
//     publishing, dedicated IP pools).
//   - reply_to: an optional Reply-To address.
//
// Credentials never come from the Config: they come from the aws.Config the
// caller loads (environment, shared files, instance or task role).
//
// # IAM
//
// The credentials need ses:SendEmail on the sending identity, and on the
// configuration set if one is used:
//
//	{"Effect": "Allow", "Action": "ses:SendEmail", "Resource": [
//	  "arn:aws:ses:REGION:ACCOUNT:identity/example.com",
//	  "arn:aws:ses:REGION:ACCOUNT:configuration-set/NAME"]}
//
// # Errors
//
// Send returns a *deliver.ProviderError with Provider "ses". It is transient
// for TooManyRequestsException (429), LimitExceededException,
// ThrottlingException, InternalServiceErrorException, any HTTP 5xx or 429,
// network errors, timeouts and a cancelled context (the caller gave up,
// not the provider); it is permanent for everything else, such as
// BadRequestException, MessageRejected, MailFromDomainNotVerifiedException,
// AccountSuspendedException, SendingPausedException, NotFoundException, bad
// credentials and TLS certificate errors. The error's text names the
// operation, the HTTP status and the AWS error code and message; it never
// contains the message's body or code, and any copy of them an AWS message
// might echo is redacted.
//
// The SDK's own retries are off: the caller fails over and backs off itself,
// and a retrying client would multiply its attempts and delays.
package ses

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/awserr"
)

// Provider is the ProviderError.Provider of this package's errors.
const Provider = "ses"

const charset = "UTF-8"

// Config is one pool's SES settings, stored as JSON. See the package
// documentation for what each field means.
type Config struct {
	Region           string `json:"region,omitempty"`
	Endpoint         string `json:"endpoint,omitempty"`
	From             string `json:"from"`
	FromName         string `json:"from_name,omitempty"`
	ConfigurationSet string `json:"configuration_set,omitempty"`
	ReplyTo          string `json:"reply_to,omitempty"`
}

// ParseConfig decodes a Config from JSON, rejecting unknown fields (a typo
// would otherwise be silently ignored), and validates it.
func ParseConfig(data []byte) (Config, error) {
	return awserr.ParseConfig[Config](service, data)
}

var configSetPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// maxFromNameLen bounds the display name, in bytes, before encoding.
const maxFromNameLen = 128

// Validate reports the first problem with c. An empty Region is valid: New
// falls back to the aws.Config's region.
func (c Config) Validate() error {
	if err := service.ValidateRegionEndpoint(c.Region, c.Endpoint); err != nil {
		return err
	}
	if c.From == "" {
		return errors.New("ses: config: from is required")
	}
	if err := checkAddress("from", c.From); err != nil {
		return err
	}
	if len(c.FromName) > maxFromNameLen {
		return fmt.Errorf("ses: config: from_name is longer than %d bytes", maxFromNameLen)
	}
	if strings.TrimSpace(c.FromName) != c.FromName || strings.ContainsFunc(c.FromName, unicode.IsControl) ||
		!utf8Valid(c.FromName) {
		return errors.New("ses: config: from_name must be valid UTF-8 without control characters or surrounding spaces")
	}
	if c.ConfigurationSet != "" && !configSetPattern.MatchString(c.ConfigurationSet) {
		return fmt.Errorf("ses: config: configuration_set %q must be 1 to 64 letters, digits, _ and -", c.ConfigurationSet)
	}
	if c.ReplyTo != "" {
		if err := checkAddress("reply_to", c.ReplyTo); err != nil {
			return err
		}
	}
	return nil
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// checkAddress accepts a bare ASCII address such as no-reply@example.com:
// no display name (that is FromName), no angle brackets, no comments.
func checkAddress(field, addr string) error {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr || !isASCII(addr) {
		return fmt.Errorf("ses: config: %s %q is not a plain ASCII email address such as no-reply@example.com", field, addr)
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Sender sends email with SES v2 SendEmail. It is safe for concurrent use.
type Sender struct {
	client    *sesv2.Client
	from      string // the FromEmailAddress, display name encoded
	configSet string
	replyTo   string
}

var _ deliver.Sender = (*Sender)(nil)

// New validates cfg and returns a Sender that sends with the credentials,
// HTTP client and other settings of awsCfg. cfg.Region overrides
// awsCfg.Region and one of them must be set; cfg.Endpoint, if set, overrides
// the endpoint. The client never retries (see the package documentation).
func New(cfg Config, awsCfg aws.Config) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	region, err := service.Region(cfg.Region, awsCfg)
	if err != nil {
		return nil, err
	}
	client := sesv2.NewFromConfig(awsCfg, func(o *sesv2.Options) {
		awserr.Configure(awserr.ClientOptions{Region: &o.Region, BaseEndpoint: &o.BaseEndpoint,
			Retryer: &o.Retryer, RetryMaxAttempts: &o.RetryMaxAttempts, ClientLogMode: &o.ClientLogMode},
			region, cfg.Endpoint)
	})
	return &Sender{
		client:    client,
		from:      fromAddress(cfg.From, cfg.FromName),
		configSet: cfg.ConfigurationSet,
		replyTo:   cfg.ReplyTo,
	}, nil
}

// fromAddress is the From header value: the bare address, or
// `"Name" <address>` with the name quoted or, if it is not ASCII, encoded as
// an RFC 2047 encoded-word.
func fromAddress(addr, name string) string {
	if name == "" {
		return addr
	}
	return (&mail.Address{Name: name, Address: addr}).String()
}

// Send emails m to m.To: m.Subject, m.Body as the text part and m.HTML, if
// not empty, as the HTML part. It accepts only email messages with a
// recipient, a subject and a body; anything else is a plain error, returned
// before contacting SES. Failures reported by SES, or on the way to it, are
// *deliver.ProviderError.
func (s *Sender) Send(ctx context.Context, m deliver.Message) error {
	if m.Channel != deliver.ChannelEmail {
		return fmt.Errorf("ses: cannot send a %q message: this sender only sends %q", m.Channel, deliver.ChannelEmail)
	}
	if a, err := mail.ParseAddress(m.To); err != nil || a.Name != "" || a.Address != m.To {
		return errors.New("ses: the recipient is not a plain email address")
	}
	if m.Subject == "" {
		return errors.New("ses: the message has no subject")
	}
	if m.Body == "" {
		return errors.New("ses: the message has no body")
	}
	body := &types.Body{Text: content(m.Body)}
	if m.HTML != "" {
		body.Html = content(m.HTML)
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: content(m.Subject),
			Body:    body,
		}},
	}
	if s.configSet != "" {
		in.ConfigurationSetName = aws.String(s.configSet)
	}
	if s.replyTo != "" {
		in.ReplyToAddresses = []string{s.replyTo}
	}
	if _, err := s.client.SendEmail(ctx, in); err != nil {
		return providerError("SendEmail", err, m)
	}
	return nil
}

func content(data string) *types.Content {
	return &types.Content{Data: aws.String(data), Charset: aws.String(charset)}
}
