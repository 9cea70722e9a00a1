// Package twilio sends SMS codes through Twilio's Programmable Messaging
// REST API, with net/http and no Twilio SDK.
//
// A send is one request:
//
//	POST {BaseURL}/2010-04-01/Accounts/{AccountSID}/Messages.json
//	To=<E.164>&Body=<text>&From=<sender>   (or MessagingServiceSid=<MG…>)
//
// authenticated with HTTP basic auth.
//
// # Settings
//
// Config is stored per pool as JSON (snake_case keys). Secrets (auth_token,
// api_key_secret) are resolved by the caller, from the environment or files,
// before New is called; Config holds their values.
//
//   - account_sid: the account, "AC" and 32 hex digits. Required.
//   - auth_token: the account's auth token. Used for basic auth
//     (AccountSID:AuthToken) unless an API key is configured.
//   - api_key_sid, api_key_secret: an API key ("SK" and 32 hex digits) and its
//     secret. When set, basic auth is APIKeySID:APIKeySecret, which Twilio
//     recommends over the auth token because a key can be revoked alone.
//   - from: the sender, an E.164 number ("+14155552671"), a short code
//     ("12345") or an alphanumeric sender ID ("Latchkey", at most 11
//     characters, at least one letter).
//   - messaging_service_sid: a Messaging Service ("MG" and 32 hex digits)
//     that picks the sender. Exactly one of from and messaging_service_sid.
//   - base_url: the API's origin, https://api.twilio.com when empty. Plain
//     http is accepted only for loopback hosts (tests).
//
// # Errors
//
// Failures are *deliver.ProviderError with Provider "twilio". Throttling
// (429), Twilio server errors (5xx), 408, network errors and timeouts
// (including the context's) are transient; TLS certificate failures and
// other responses (400 such as 21211 invalid "To" or 21610
// unsubscribed recipient, 401 bad credentials, 403, 404) are permanent. When
// Twilio answered, the ProviderError wraps an *APIError with its HTTP status
// and Twilio error code. Error strings never contain the message body, the
// code or the credentials.
package twilio

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/latchkey/latchkey/internal/deliver"
)

// DefaultBaseURL is Twilio's REST API origin.
const DefaultBaseURL = "https://api.twilio.com"

// DefaultTimeout bounds a request when New is given no *http.Client.
const DefaultTimeout = 15 * time.Second

// provider is the ProviderError.Provider of this package's errors.
const provider = "twilio"

// maxErrorBody is how much of an error response is read and parsed.
const maxErrorBody = 64 << 10

// maxDrain is how much of a response is read to let the connection be reused.
const maxDrain = 256 << 10

// Config is a pool's Twilio settings. See the package documentation.
type Config struct {
	AccountSID          string `json:"account_sid"`
	AuthToken           string `json:"auth_token,omitempty"`
	APIKeySID           string `json:"api_key_sid,omitempty"`
	APIKeySecret        string `json:"api_key_secret,omitempty"`
	From                string `json:"from,omitempty"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
	BaseURL             string `json:"base_url,omitempty"`
}

var (
	accountSIDRe = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDRe = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	apiKeySIDRe  = regexp.MustCompile(`^SK[0-9a-fA-F]{32}$`)
	e164Re       = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	shortCodeRe  = regexp.MustCompile(`^[0-9]{3,8}$`)
	alphaIDRe    = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
)

// Validate reports the first problem with c, or nil. Error messages name
// fields, never secret values.
func (c Config) Validate() error {
	_, err := c.baseURL()
	return err
}

// baseURL validates c and returns its base URL without a trailing slash.
func (c Config) baseURL() (string, error) {
	switch {
	case c.AccountSID == "":
		return "", errors.New("twilio: account_sid is required")
	case !accountSIDRe.MatchString(c.AccountSID):
		return "", errors.New(`twilio: account_sid must be "AC" followed by 32 hex digits`)
	}
	if c.APIKeySID != "" || c.APIKeySecret != "" {
		switch {
		case c.APIKeySID == "":
			return "", errors.New("twilio: api_key_secret is set but api_key_sid is empty")
		case !apiKeySIDRe.MatchString(c.APIKeySID):
			return "", errors.New(`twilio: api_key_sid must be "SK" followed by 32 hex digits`)
		case c.APIKeySecret == "":
			return "", errors.New("twilio: api_key_sid is set but api_key_secret is empty")
		}
	} else if c.AuthToken == "" {
		return "", errors.New("twilio: credentials missing: set auth_token, or api_key_sid and api_key_secret")
	}
	switch {
	case c.From == "" && c.MessagingServiceSID == "":
		return "", errors.New("twilio: set one of from or messaging_service_sid")
	case c.From != "" && c.MessagingServiceSID != "":
		return "", errors.New("twilio: set only one of from and messaging_service_sid")
	case c.MessagingServiceSID != "" && !serviceSIDRe.MatchString(c.MessagingServiceSID):
		return "", errors.New(`twilio: messaging_service_sid must be "MG" followed by 32 hex digits`)
	case c.From != "" && !validFrom(c.From):
		return "", fmt.Errorf("twilio: from %q must be an E.164 number (+14155552671), a short code or an alphanumeric sender ID of at most 11 characters", c.From)
	}
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("twilio: base_url %q must be an absolute URL such as %s", c.BaseURL, DefaultBaseURL)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("twilio: base_url %q must use https (plain http is for loopback test servers only)", c.BaseURL)
		}
	default:
		return "", fmt.Errorf("twilio: base_url %q must use https", c.BaseURL)
	}
	return base, nil
}

func validFrom(s string) bool {
	if e164Re.MatchString(s) || shortCodeRe.MatchString(s) {
		return true
	}
	return alphaIDRe.MatchString(s) && strings.IndexFunc(s, unicode.IsLetter) >= 0 &&
		strings.TrimSpace(s) == s
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String describes c with its secrets left out.
func (c Config) String() string {
	return fmt.Sprintf("twilio.Config{AccountSID:%s AuthToken:%s APIKeySID:%s APIKeySecret:%s From:%s MessagingServiceSID:%s BaseURL:%s}",
		c.AccountSID, redacted(c.AuthToken), c.APIKeySID, redacted(c.APIKeySecret), c.From, c.MessagingServiceSID, c.BaseURL)
}

// GoString keeps %#v from printing secrets.
func (c Config) GoString() string { return c.String() }

// LogValue keeps slog from logging secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account_sid", c.AccountSID),
		slog.String("auth_token", redacted(c.AuthToken)),
		slog.String("api_key_sid", c.APIKeySID),
		slog.String("api_key_secret", redacted(c.APIKeySecret)),
		slog.String("from", c.From),
		slog.String("messaging_service_sid", c.MessagingServiceSID),
		slog.String("base_url", c.BaseURL),
	)
}

func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "[redacted]"
}

// Sender sends SMS through Twilio. It is safe for concurrent use.
type Sender struct {
	client   *http.Client
	endpoint string // the Messages.json URL
	user     string // basic auth user: the account or API key SID
	pass     string // basic auth password: the auth token or API key secret
	from     string
	service  string
}

var _ deliver.Sender = (*Sender)(nil)

// New returns a Sender for cfg after validating it. client is the HTTP client
// to use; nil means a client with DefaultTimeout over
// http.DefaultTransport, which keeps connections alive between sends.
func New(cfg Config, client *http.Client) (*Sender, error) {
	base, err := cfg.baseURL()
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	s := &Sender{
		client:   client,
		endpoint: base + "/2010-04-01/Accounts/" + cfg.AccountSID + "/Messages.json",
		user:     cfg.AccountSID,
		pass:     cfg.AuthToken,
		from:     cfg.From,
		service:  cfg.MessagingServiceSID,
	}
	if cfg.APIKeySID != "" {
		s.user, s.pass = cfg.APIKeySID, cfg.APIKeySecret
	}
	return s, nil
}

// Send sends m.Body to m.To. m.Channel must be deliver.ChannelSMS. Failures
// reported by Twilio or the network are *deliver.ProviderError; see the
// package documentation for which are transient.
func (s *Sender) Send(ctx context.Context, m deliver.Message) error {
	if m.Channel != deliver.ChannelSMS {
		return fmt.Errorf("twilio: cannot send a %q message, only sms", m.Channel)
	}
	if m.To == "" {
		return errors.New("twilio: message has no recipient")
	}
	if m.Body == "" {
		return errors.New("twilio: message has no body")
	}
	form := url.Values{}
	form.Set("To", m.To)
	form.Set("Body", m.Body)
	if s.service != "" {
		form.Set("MessagingServiceSid", s.service)
	} else {
		form.Set("From", s.from)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("twilio: building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "latchkey")
	req.SetBasicAuth(s.user, s.pass)

	resp, err := s.client.Do(req)
	if err != nil {
		return &deliver.ProviderError{
			Provider:  provider,
			Transient: transportTransient(ctx, err),
			Err:       &sanitizedError{msg: "request failed: " + s.redact(err.Error(), m), err: err},
		}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	apiErr := parseError(resp)
	apiErr.Message = s.redact(apiErr.Message, m)
	apiErr.MoreInfo = s.redact(apiErr.MoreInfo, m)
	return &deliver.ProviderError{Provider: provider, Transient: apiErr.Transient(), Err: apiErr}
}

// redact removes the secrets of a send from text that came from elsewhere
// (Twilio's error message, a transport error) and bounds its length.
func (s *Sender) redact(text string, m deliver.Message) string {
	for _, secret := range []string{m.Body, m.Code, s.pass} {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "[redacted]")
		}
	}
	return clean(text, 300)
}

// clean drops control characters and cuts text to at most n bytes.
func clean(text string, n int) string {
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, text)
	if len(text) > n {
		cut := n
		for cut > 0 && !utf8RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return strings.TrimSpace(text)
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// transportTransient classifies an error from http.Client.Do: certificate
// problems are permanent (a misconfiguration), everything else (refused or
// reset connections, DNS hiccups, timeouts, cancellation) may pass.
func transportTransient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
	)
	if errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr) {
		return false
	}
	return true
}

// APIError is an error response from Twilio.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is Twilio's error code (e.g. 21211 invalid "To" number, 21610
	// unsubscribed recipient, 20003 authentication failed, 20429 too many
	// requests); 0 when the body was not Twilio's JSON error.
	Code int
	// Message is Twilio's message, or a description of an unexpected body.
	Message string
	// MoreInfo is the documentation link Twilio gives for Code.
	MoreInfo string
	// RetryAfter is the Retry-After header's delay, if any.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	if e.Code != 0 {
		fmt.Fprintf(&b, ", error %d", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.MoreInfo != "" {
		fmt.Fprintf(&b, " (%s)", e.MoreInfo)
	}
	return b.String()
}

// Transient reports whether trying again may succeed: throttling (429), a
// request timeout (408) or a Twilio server error (5xx).
func (e *APIError) Transient() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

// parseError reads Twilio's JSON error body:
//
//	{"code": 21211, "message": "The 'To' number … is not a valid phone number.",
//	 "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}
func parseError(resp *http.Response) *APIError {
	e := &APIError{Status: resp.StatusCode}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && secs >= 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			if d := time.Until(t); d > 0 {
				e.RetryAfter = d
			}
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		e.Message = "reading the error response failed"
		return e
	}
	var v struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		MoreInfo string `json:"more_info"`
	}
	if json.Unmarshal(body, &v) == nil && (v.Code != 0 || v.Message != "") {
		e.Code, e.Message, e.MoreInfo = v.Code, v.Message, v.MoreInfo
		return e
	}
	// Not Twilio's JSON (a proxy's HTML page, say): describe it without
	// echoing it.
	e.Message = fmt.Sprintf("%s (unexpected %d-byte %s response)", http.StatusText(resp.StatusCode), len(body), describeContentType(resp.Header.Get("Content-Type")))
	return e
}

// describeContentType names a response's media type for an error message.
// The header comes from whatever answered, so only a well-formed, short
// type/subtype is repeated; anything else is summarised.
func describeContentType(header string) string {
	if header == "" {
		return "no content type"
	}
	ct, _, err := mime.ParseMediaType(header)
	if err != nil || len(ct) > 64 || strings.Count(ct, "/") != 1 {
		return "unrecognized content type"
	}
	return ct
}

// sanitizedError shows a cleaned message but keeps the original error for
// errors.Is and errors.As (context.DeadlineExceeded, net.Error).
type sanitizedError struct {
	msg string
	err error
}

func (e *sanitizedError) Error() string { return e.msg }
func (e *sanitizedError) Unwrap() error { return e.err }
