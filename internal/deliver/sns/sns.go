// Package sns sends one-time codes by SMS through Amazon SNS: one Publish
// call per message, straight to the phone number (no topic).
//
// # Configuration
//
// A pool stores a [Config] as JSON:
//
//	{"region": "eu-west-1", "sms_type": "Transactional", "sender_id": "Latchkey"}
//
// Its fields:
//
//   - region: the AWS region; "" uses the region of the aws.Config given to [New].
//   - endpoint: overrides the service endpoint (a private gateway, a test
//     server); "" uses the regional AWS endpoint.
//   - sms_type: "Transactional" (the default: optimised for reliability, which
//     is what one-time codes need) or "Promotional" (cheaper).
//   - sender_id: an alphanumeric sender ID (1 to 11 letters and digits, at
//     least one letter), for the countries that support them.
//   - origination_number: the number to send from, in E.164 form (+ and up to
//     15 digits); it must belong to the account.
//   - max_price: the most, in USD, to spend on one message, e.g. "0.05".
//
// Credentials never come from the Config: they come from the aws.Config the
// caller loads (environment, shared files, instance or task role).
//
// # IAM
//
// The credentials need sns:Publish. Publishing straight to phone numbers has
// no resource ARN, so the policy's Resource is "*":
//
//	{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}
//
// # Errors
//
// Send returns a *deliver.ProviderError with Provider "sns". It is transient
// for throttling (Throttled, Throttling, ThrottlingException,
// KMSThrottling…), InternalError, ServiceUnavailable, any HTTP 5xx or 429,
// network errors, timeouts and a cancelled context (the caller gave up, not
// the provider); it is permanent for everything else, such as
// InvalidParameter, ParameterValueInvalid (InvalidParameterValue),
// AuthorizationError, OptedOut, EndpointDisabled, bad credentials and TLS
// certificate errors. The error's text names the operation, the HTTP status
// and the AWS error code and message; it never contains the message body or
// the code, and any copy of them an AWS message might echo is redacted.
//
// The SDK's own retries are off: the caller fails over and backs off itself,
// and a retrying client would multiply its attempts and delays.
package sns

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/awserr"
)

// Provider is the ProviderError.Provider of this package's errors.
const Provider = "sns"

// SMS types, the values of Config.SMSType.
const (
	Transactional = "Transactional"
	Promotional   = "Promotional"
)

// Message attribute names Publish understands for SMS.
const (
	attrSMSType           = "AWS.SNS.SMS.SMSType"
	attrSenderID          = "AWS.SNS.SMS.SenderID"
	attrOriginationNumber = "AWS.MM.SMS.OriginationNumber"
	attrMaxPrice          = "AWS.SNS.SMS.MaxPrice"
)

// Config is one pool's SNS settings, stored as JSON. See the package
// documentation for what each field means.
type Config struct {
	Region            string `json:"region,omitempty"`
	Endpoint          string `json:"endpoint,omitempty"`
	SMSType           string `json:"sms_type,omitempty"`
	SenderID          string `json:"sender_id,omitempty"`
	OriginationNumber string `json:"origination_number,omitempty"`
	MaxPrice          string `json:"max_price,omitempty"`
}

// ParseConfig decodes a Config from JSON, rejecting unknown fields (a typo
// would otherwise be silently ignored), and validates it.
func ParseConfig(data []byte) (Config, error) {
	return awserr.ParseConfig[Config](service, data)
}

var (
	e164Pattern     = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	senderIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,11}$`)
	letterPattern   = regexp.MustCompile(`[A-Za-z]`)
	maxPricePattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// Validate reports the first problem with c. An empty Region is valid: New
// falls back to the aws.Config's region.
func (c Config) Validate() error {
	if err := service.ValidateRegionEndpoint(c.Region, c.Endpoint); err != nil {
		return err
	}
	if _, err := smsType(c.SMSType); err != nil {
		return err
	}
	if c.SenderID != "" && (!senderIDPattern.MatchString(c.SenderID) || !letterPattern.MatchString(c.SenderID)) {
		return fmt.Errorf("sns: config: sender_id %q must be 1 to 11 letters and digits with at least one letter", c.SenderID)
	}
	if c.OriginationNumber != "" && !e164Pattern.MatchString(c.OriginationNumber) {
		return fmt.Errorf("sns: config: origination_number %q is not an E.164 number such as +14155550100", c.OriginationNumber)
	}
	if c.MaxPrice != "" {
		p, err := strconv.ParseFloat(c.MaxPrice, 64)
		if !maxPricePattern.MatchString(c.MaxPrice) || err != nil || p <= 0 {
			return fmt.Errorf("sns: config: max_price %q is not a positive amount in USD such as 0.05", c.MaxPrice)
		}
	}
	return nil
}

// smsType returns the canonical spelling of t, "" meaning Transactional.
func smsType(t string) (string, error) {
	switch {
	case t == "", strings.EqualFold(t, Transactional):
		return Transactional, nil
	case strings.EqualFold(t, Promotional):
		return Promotional, nil
	}
	return "", fmt.Errorf("sns: config: unknown sms_type %q: want %q or %q", t, Transactional, Promotional)
}

// Sender sends SMS messages with SNS Publish. It is safe for concurrent use.
type Sender struct {
	client            *awssns.Client
	smsType           string
	senderID          string
	originationNumber string
	maxPrice          string
}

var _ deliver.Sender = (*Sender)(nil)

// New validates cfg and returns a Sender that publishes with the credentials,
// HTTP client and other settings of awsCfg. cfg.Region overrides
// awsCfg.Region and one of them must be set; cfg.Endpoint, if set, overrides
// the endpoint. The client never retries (see the package documentation).
func New(cfg Config, awsCfg aws.Config) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	typ, _ := smsType(cfg.SMSType)
	region, err := service.Region(cfg.Region, awsCfg)
	if err != nil {
		return nil, err
	}
	client := awssns.NewFromConfig(awsCfg, func(o *awssns.Options) {
		awserr.Configure(awserr.ClientOptions{Region: &o.Region, BaseEndpoint: &o.BaseEndpoint,
			Retryer: &o.Retryer, RetryMaxAttempts: &o.RetryMaxAttempts, ClientLogMode: &o.ClientLogMode},
			region, cfg.Endpoint)
	})
	return &Sender{
		client:            client,
		smsType:           typ,
		senderID:          cfg.SenderID,
		originationNumber: cfg.OriginationNumber,
		maxPrice:          cfg.MaxPrice,
	}, nil
}

// Send publishes m.Body to the phone number m.To. It accepts only SMS
// messages to E.164 numbers with a body; anything else is a plain error,
// returned before contacting SNS. Failures reported by SNS, or on the way to
// it, are *deliver.ProviderError.
func (s *Sender) Send(ctx context.Context, m deliver.Message) error {
	if m.Channel != deliver.ChannelSMS {
		return fmt.Errorf("sns: cannot send a %q message: this sender only sends %q", m.Channel, deliver.ChannelSMS)
	}
	if !e164Pattern.MatchString(m.To) {
		return errors.New("sns: the recipient is not an E.164 phone number")
	}
	if m.Body == "" {
		return errors.New("sns: the message has no body")
	}
	_, err := s.client.Publish(ctx, &awssns.PublishInput{
		PhoneNumber:       aws.String(m.To),
		Message:           aws.String(m.Body),
		MessageAttributes: s.attributes(),
	})
	if err != nil {
		return providerError("Publish", err, m)
	}
	return nil
}

func (s *Sender) attributes() map[string]types.MessageAttributeValue {
	str := func(v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	attrs := map[string]types.MessageAttributeValue{attrSMSType: str(s.smsType)}
	if s.senderID != "" {
		attrs[attrSenderID] = str(s.senderID)
	}
	if s.originationNumber != "" {
		attrs[attrOriginationNumber] = str(s.originationNumber)
	}
	if s.maxPrice != "" {
		attrs[attrMaxPrice] = types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(s.maxPrice)}
	}
	return attrs
}
