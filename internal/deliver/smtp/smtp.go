// Package smtp sends email codes through an SMTP server (a mail provider's
// submission endpoint, or a local relay), building and sending the message
// with github.com/wneessen/go-mail.
//
// Each Send opens one connection, says EHLO, secures the connection,
// authenticates, sends one message and quits. The message has From (with an
// optional display name), To, an optional Reply-To, Subject, Date and
// Message-ID headers, and is UTF-8 with quoted-printable parts: text/plain
// alone, or multipart/alternative with text/plain (Message.Body) and
// text/html (Message.HTML) when the message has HTML.
//
// # Settings
//
// Config is stored per pool as JSON (snake_case keys). The password is
// resolved by the caller, from the environment or a file, before New is
// called; Config holds its value.
//
//   - host: the server's host name (or IP address). Required. The server's
//     certificate must be valid for it.
//   - port: the TCP port. Default 587 for "starttls", 465 for "implicit",
//     25 for "none".
//   - tls: how the connection is secured.
//     "starttls" (the default): connect in clear and upgrade with STARTTLS,
//     which is required; a server that does not offer it is an error.
//     "implicit": TLS from the first byte ("SMTPS", usually port 465).
//     "none": no TLS at all, for a development server on a loopback address
//     (localhost, 127.0.0.1, ::1) only.
//     Certificates are always verified, against the system roots unless New
//     is given WithTLSConfig, and must match host.
//   - username, password: credentials for SMTP AUTH. No username means no
//     authentication.
//   - auth: the SASL mechanism, "plain" (the default when a username is set)
//     or "login" (for servers that only offer LOGIN).
//   - from: the sender address, a bare address such as
//     "no-reply@example.com". Required. It is also the envelope sender and
//     gives Message-IDs their domain.
//   - from_name: the sender's display name ("Example"); non-ASCII names are
//     encoded.
//   - reply_to: an optional Reply-To address.
//   - helo_name: the name to introduce the client with in EHLO; default the
//     machine's host name.
//   - timeout: bounds a whole send (connect, TLS, AUTH, DATA, QUIT), on top
//     of the caller's context. Default 15s. In JSON, a Go duration string
//     ("10s") or a number of nanoseconds (as time.Duration marshals).
//
// # Errors
//
// Failures are *deliver.ProviderError with Provider "smtp", wrapping an
// *Error that carries the server's reply code when there was one. Refused or
// dropped connections, timeouts and 4xx replies (451 try again later, 421,
// 454) are transient; 5xx replies (550 mailbox unavailable, 535
// authentication failed, 554) are permanent, as are TLS certificate
// problems and configuration mismatches (STARTTLS or the auth mechanism not
// offered). Error strings never contain the password, the code or the body.
package smtp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	mail "github.com/wneessen/go-mail"

	"github.com/latchkey/latchkey/internal/deliver"
)

// TLS modes of Config.TLS.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "implicit"
	TLSNone     = "none"
)

// Auth mechanisms of Config.Auth.
const (
	AuthPlain = "plain"
	AuthLogin = "login"
)

// DefaultTimeout bounds a send when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// minTimeout catches a timeout written as a bare JSON number of seconds,
// which time.Duration reads as nanoseconds.
const minTimeout = 100 * time.Millisecond

const provider = "smtp"

// Config is a pool's SMTP settings. See the package documentation.
type Config struct {
	Host     string        `json:"host"`
	Port     int           `json:"port,omitempty"`
	TLS      string        `json:"tls,omitempty"`
	Username string        `json:"username,omitempty"`
	Password string        `json:"password,omitempty"`
	Auth     string        `json:"auth,omitempty"`
	From     string        `json:"from"`
	FromName string        `json:"from_name,omitempty"`
	ReplyTo  string        `json:"reply_to,omitempty"`
	HeloName string        `json:"helo_name,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
}

// UnmarshalJSON reads Config, accepting timeout as a duration string ("10s")
// or a number of nanoseconds.
func (c *Config) UnmarshalJSON(data []byte) error {
	type plain Config // drops this method to avoid recursion
	var v struct {
		plain
		Timeout json.RawMessage `json:"timeout,omitempty"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*c = Config(v.plain)
	c.Timeout = 0
	raw := strings.TrimSpace(string(v.Timeout))
	switch {
	case raw == "" || raw == "null":
	case strings.HasPrefix(raw, `"`):
		var s string
		if err := json.Unmarshal(v.Timeout, &s); err != nil {
			return fmt.Errorf("smtp: timeout: %w", err)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("smtp: timeout %q is not a duration such as \"10s\"", s)
		}
		c.Timeout = d
	default:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("smtp: timeout %s is not a duration such as \"10s\" or a number of nanoseconds", raw)
		}
		c.Timeout = time.Duration(n)
	}
	return nil
}

// String describes c without its password.
func (c Config) String() string {
	pw := ""
	if c.Password != "" {
		pw = "[redacted]"
	}
	return fmt.Sprintf("smtp.Config{Host:%s Port:%d TLS:%s Username:%s Password:%s Auth:%s From:%s FromName:%s ReplyTo:%s HeloName:%s Timeout:%v}",
		c.Host, c.Port, c.TLS, c.Username, pw, c.Auth, c.From, c.FromName, c.ReplyTo, c.HeloName, c.Timeout)
}

// GoString keeps %#v from printing the password.
func (c Config) GoString() string { return c.String() }

// LogValue keeps slog from logging the password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host),
		slog.Int("port", c.Port),
		slog.String("tls", c.TLS),
		slog.String("username", c.Username),
		slog.Bool("password_set", c.Password != ""),
		slog.String("auth", c.Auth),
		slog.String("from", c.From),
		slog.String("from_name", c.FromName),
		slog.String("reply_to", c.ReplyTo),
		slog.String("helo_name", c.HeloName),
		slog.Duration("timeout", c.Timeout),
	)
}

// Validate reports the first problem with c, or nil.
func (c Config) Validate() error {
	_, err := c.normalize()
	return err
}

// normalize validates c and returns it with defaults filled in.
func (c Config) normalize() (Config, error) {
	switch {
	case c.Host == "":
		return c, errors.New("smtp: host is required")
	case strings.ContainsAny(c.Host, "/ \t\r\n@"):
		return c, fmt.Errorf("smtp: host %q must be a bare host name or IP address", c.Host)
	}
	if h, p, err := net.SplitHostPort(c.Host); err == nil {
		return c, fmt.Errorf("smtp: host %q includes a port: set host %q and port %s", c.Host, h, p)
	}
	c.Host = strings.TrimSuffix(strings.TrimPrefix(c.Host, "["), "]")

	c.TLS = strings.ToLower(c.TLS)
	defaultPort := 0
	switch c.TLS {
	case "", TLSStartTLS:
		c.TLS, defaultPort = TLSStartTLS, 587
	case TLSImplicit:
		defaultPort = 465
	case TLSNone:
		defaultPort = 25
		if !isLoopback(c.Host) {
			return c, fmt.Errorf("smtp: tls %q is only allowed for a server on a loopback address (localhost, 127.0.0.1, ::1), not %q; use %q or %q",
				TLSNone, c.Host, TLSStartTLS, TLSImplicit)
		}
	default:
		return c, fmt.Errorf("smtp: tls %q must be %q, %q or %q", c.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	switch {
	case c.Port == 0:
		c.Port = defaultPort
	case c.Port < 1 || c.Port > 65535:
		return c, fmt.Errorf("smtp: port %d is out of range", c.Port)
	}

	c.Auth = strings.ToLower(c.Auth)
	switch {
	case c.Username == "" && c.Auth != "":
		return c, fmt.Errorf("smtp: auth %q is set but username is empty", c.Auth)
	case c.Username == "" && c.Password != "":
		return c, errors.New("smtp: password is set but username is empty")
	case c.Username != "" && c.Password == "":
		return c, errors.New("smtp: username is set but password is empty")
	case c.Username != "" && c.Auth == "":
		c.Auth = AuthPlain
	}
	if c.Auth != "" && c.Auth != AuthPlain && c.Auth != AuthLogin {
		return c, fmt.Errorf("smtp: auth %q must be %q or %q", c.Auth, AuthPlain, AuthLogin)
	}
	if hasLineBreak(c.Username) || hasLineBreak(c.Password) {
		return c, errors.New("smtp: username and password must not contain line breaks")
	}

	if c.From == "" {
		return c, errors.New("smtp: from is required")
	}
	if err := bareAddress("from", c.From); err != nil {
		return c, err
	}
	if c.ReplyTo != "" {
		if err := bareAddress("reply_to", c.ReplyTo); err != nil {
			return c, err
		}
	}
	if hasLineBreak(c.FromName) {
		return c, errors.New("smtp: from_name must not contain line breaks")
	}
	if c.HeloName != "" && strings.IndexFunc(c.HeloName, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return c, fmt.Errorf("smtp: helo_name %q must be a host name", c.HeloName)
	}

	switch {
	case c.Timeout == 0:
		c.Timeout = DefaultTimeout
	case c.Timeout < minTimeout:
		return c, fmt.Errorf("smtp: timeout %v is too short (a JSON number is nanoseconds; write a duration such as \"10s\")", c.Timeout)
	}
	return c, nil
}

func bareAddress(field, s string) error {
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fmt.Errorf("smtp: %s %q must be a bare email address such as no-reply@example.com (put a display name in from_name)", field, s)
	}
	return nil
}

func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n") }

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Option configures New.
type Option func(*options)

type options struct {
	tlsConfig *tls.Config
}

// WithTLSConfig makes the sender verify servers with c (tests pass a
// RootCAs pool holding their certificate) instead of the system roots. c is
// cloned; its ServerName defaults to Config.Host, its MinVersion is raised to
// TLS 1.2, and InsecureSkipVerify is refused.
func WithTLSConfig(c *tls.Config) Option {
	return func(o *options) { o.tlsConfig = c }
}

// Sender sends email over SMTP. It is safe for concurrent use; each Send has
// its own connection.
type Sender struct {
	cfg       Config // normalized
	tlsConfig *tls.Config
	msgDomain string // the domain of Message-IDs
}

var _ deliver.Sender = (*Sender)(nil)

// New returns a Sender for cfg after validating it.
func New(cfg Config, opts ...Option) (*Sender, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	tc := &tls.Config{}
	if o.tlsConfig != nil {
		if o.tlsConfig.InsecureSkipVerify {
			return nil, errors.New("smtp: a TLS config with InsecureSkipVerify is not allowed; add the server's CA to RootCAs instead")
		}
		tc = o.tlsConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = cfg.Host
	}
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	return &Sender{
		cfg:       cfg,
		tlsConfig: tc,
		msgDomain: cfg.From[strings.LastIndexByte(cfg.From, '@')+1:],
	}, nil
}

// Send sends m (Subject, Body and, if set, HTML) to m.To. m.Channel must be
// deliver.ChannelEmail and m.Body must not be empty. The send ends when ctx
// does or after Config.Timeout, whichever comes first. Failures of the server or the network are
// *deliver.ProviderError; see the package documentation.
func (s *Sender) Send(ctx context.Context, m deliver.Message) error {
	if m.Channel != deliver.ChannelEmail {
		return fmt.Errorf("smtp: cannot send a %q message, only email", m.Channel)
	}
	msg, err := s.message(m)
	if err != nil {
		return err
	}

	// go-mail applies its timeout to each exchange and uses the context
	// only to dial; the whole send is bounded here, and the connection is
	// closed when ctx ends.
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var (
		mu    sync.Mutex
		stops []func() bool
	)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, stop := range stops {
			stop()
		}
	}()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var conn net.Conn
		var err error
		if s.cfg.TLS == TLSImplicit {
			conn, err = (&tls.Dialer{NetDialer: d, Config: s.tlsConfig}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		stops = append(stops, context.AfterFunc(ctx, func() { _ = conn.Close() }))
		mu.Unlock()
		return conn, nil
	}

	client, err := mail.NewClient(s.cfg.Host, s.clientOptions(dial)...)
	if err != nil {
		return fmt.Errorf("smtp: configuring the client: %w", err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err == nil || msg.IsDelivered() {
		// A failed QUIT or RSET after the server accepted the message
		// must not make the caller send the code again.
		return nil
	}
	return s.providerError(ctx, err, m)
}

func (s *Sender) clientOptions(dial mail.DialContextFunc) []mail.Option {
	opts := []mail.Option{
		mail.WithPort(s.cfg.Port),
		mail.WithTimeout(s.cfg.Timeout),
		mail.WithTLSConfig(s.tlsConfig),
		mail.WithDialContextFunc(dial),
		mail.WithoutNoop(),
	}
	switch s.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, mail.WithSSL()) // the dialer does the TLS
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.cfg.HeloName != "" {
		opts = append(opts, mail.WithHELO(s.cfg.HeloName))
	}
	if s.cfg.Username != "" {
		mech := mail.SMTPAuthPlain
		if s.cfg.Auth == AuthLogin {
			mech = mail.SMTPAuthLogin
		}
		opts = append(opts, mail.WithSMTPAuth(mech), mail.WithUsername(s.cfg.Username), mail.WithPassword(s.cfg.Password))
	}
	return opts
}

// message builds the MIME message for m.
func (s *Sender) message(m deliver.Message) (*mail.Msg, error) {
	if m.To == "" {
		return nil, errors.New("smtp: message has no recipient")
	}
	if m.Body == "" {
		return nil, errors.New("smtp: message has no body")
	}
	if hasLineBreak(m.Subject) {
		return nil, errors.New("smtp: subject must not contain line breaks")
	}
	msg := mail.NewMsg(
		mail.WithCharset(mail.CharsetUTF8),
		mail.WithEncoding(mail.EncodingQP),
		mail.WithNoDefaultUserAgent(),
	)
	msg.FromMailAddress(&netmail.Address{Name: s.cfg.FromName, Address: s.cfg.From})
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("smtp: recipient %q is not a valid email address", m.To)
	}
	if s.cfg.ReplyTo != "" {
		if err := msg.ReplyTo(s.cfg.ReplyTo); err != nil {
			return nil, fmt.Errorf("smtp: reply_to: %w", err)
		}
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	id, err := messageID(s.msgDomain)
	if err != nil {
		return nil, err
	}
	msg.SetMessageIDWithValue(id)
	msg.SetBodyString(mail.TypeTextPlain, m.Body)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// messageID returns a new Message-ID (without angle brackets) in domain.
func messageID(domain string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("smtp: message ID: %w", err)
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	return strings.ToLower(enc.EncodeToString(b[:])) + "@" + domain, nil
}

// Error is a failed SMTP send. Its text has the password, code and body
// removed; Unwrap gives the underlying error.
type Error struct {
	// Code is the server's SMTP reply code (451, 535, 550…), or 0 when
	// the failure was not a reply (a network or TLS error).
	Code int
	msg  string
	err  error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// providerError classifies err (from go-mail) for the send of m.
func (s *Sender) providerError(ctx context.Context, err error, m deliver.Message) error {
	transient, code := classify(ctx, err)
	text := err.Error()
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		// The connection was closed under go-mail; say why.
		err = errors.Join(ctxErr, err)
		text = ctxErr.Error() + ": " + text
	}
	for _, secret := range []string{s.cfg.Password, m.Body, m.HTML, m.Code} {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "[redacted]")
		}
	}
	return &deliver.ProviderError{
		Provider:  provider,
		Transient: transient,
		Err:       &Error{Code: code, msg: clean(text, 500), err: err},
	}
}

// classify reports whether err may pass if tried again, and the SMTP reply
// code in it, if any.
func classify(ctx context.Context, err error) (transient bool, code int) {
	var se *mail.SendError
	if errors.As(err, &se) {
		code = se.ErrorCode()
	}
	var te *textproto.Error
	if code == 0 && errors.As(err, &te) {
		code = te.Code
	}
	switch {
	case code >= 400 && code < 500:
		return true, code
	case code >= 500 && code < 600:
		return false, code
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true, 0
	}
	if certificateError(err) {
		return false, 0
	}
	if se != nil {
		switch se.Reason {
		case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
			return false, 0
		}
		// Anything else after the connection was set up is the
		// connection failing.
		return true, 0
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound, 0
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true, 0
	}
	for _, e := range []error{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ETIMEDOUT,
		io.EOF, io.ErrUnexpectedEOF, net.ErrClosed,
	} {
		if errors.Is(err, e) {
			return true, 0
		}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true, 0
	}
	// What is left are mismatches between the configuration and the
	// server (no STARTTLS, auth mechanism not offered, ...).
	return false, 0
}

// certificateError reports whether err is a TLS verification failure or a
// TLS handshake with something that does not speak TLS: the configuration
// is wrong, and trying again will not help.
func certificateError(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
		rerr tls.RecordHeaderError
	)
	return errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) ||
		errors.As(err, &cerr) || errors.As(err, &rerr)
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
		for cut > 0 && text[cut]&0xC0 == 0x80 {
			cut--
		}
		text = text[:cut] + "…"
	}
	return strings.TrimSpace(text)
}
