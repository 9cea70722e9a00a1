package hook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
)

// Defaults of WebhookOptions.
const (
	// DefaultTimeout is Cognito's limit for a Lambda trigger's answer.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxResponseBytes bounds the answer read from a hook.
	DefaultMaxResponseBytes = 256 << 10
)

// userAgent identifies Latchkey's hook calls.
const userAgent = "Latchkey-Hooks/1"

// WebhookOptions configure Webhooks. The zero value behaves as Cognito
// does, with the system clock and crypto/rand.
type WebhookOptions struct {
	// Timeout bounds one invocation, answer included: DefaultTimeout when
	// zero.
	Timeout time.Duration
	// MaxResponseBytes bounds an answer; a longer one is an invalid
	// response. DefaultMaxResponseBytes when zero.
	MaxResponseBytes int64
	// Now is the clock of the webhook-timestamp header; time.Now when nil.
	Now func() time.Time
	// Rand is where message ids come from; crypto/rand.Reader when nil.
	// Now and Rand are called from concurrent invocations.
	Rand io.Reader
	// Transport sends the requests; nil uses a transport of the Webhooks'
	// own, tuned to keep connections to hooks open for reuse.
	Transport http.RoundTripper
	// Logger receives one line per invocation (debug) or failure (warn),
	// without URL query, body or secret; nil logs nothing.
	Logger *slog.Logger
}

// Webhooks sends events to webhook URLs. Its one HTTP client is shared by
// every Webhook it makes, so connections are reused across calls and
// pools: make one per process and build each pool's Router from it.
// It is safe for concurrent use.
type Webhooks struct {
	client   *http.Client
	timeout  time.Duration
	maxBytes int64
	now      func() time.Time
	rand     io.Reader
	log      *slog.Logger
}

// NewWebhooks returns a Webhooks with opts.
func NewWebhooks(opts WebhookOptions) *Webhooks {
	w := &Webhooks{
		timeout:  opts.Timeout,
		maxBytes: opts.MaxResponseBytes,
		now:      opts.Now,
		rand:     opts.Rand,
		log:      opts.Logger,
	}
	if w.timeout <= 0 {
		w.timeout = DefaultTimeout
	}
	if w.maxBytes <= 0 {
		w.maxBytes = DefaultMaxResponseBytes
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.rand == nil {
		w.rand = rand.Reader
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	transport := opts.Transport
	if transport == nil {
		transport = newTransport()
	}
	w.client = &http.Client{
		Transport: transport,
		// A hook answers itself: following a redirect would re-send the
		// event, signed, somewhere the pool did not configure.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return w
}

// newTransport is http.DefaultTransport's configuration with more idle
// connections per host, as every call of a pool goes to the same few hosts.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// CloseIdleConnections closes the idle connections of the shared client.
func (w *Webhooks) CloseIdleConnections() { w.client.CloseIdleConnections() }

// Webhook returns the hook at rawURL, signing with secrets: the current
// one first, then any being rotated out (each adds a signature). The URL
// must be https, or http to a loopback host.
func (w *Webhooks) Webhook(rawURL string, secrets ...string) (*Webhook, error) {
	u, err := checkURL(rawURL)
	if err != nil {
		return nil, err
	}
	if len(secrets) == 0 {
		return nil, errors.New("hook: a webhook needs a signing secret")
	}
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		key, err := parseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("hook: %w", err)
		}
		keys = append(keys, key)
	}
	return &Webhook{w: w, url: u.String(), host: u.Host, keys: keys}, nil
}

// Routes returns a route per trigger of c, each a Webhook at its URL. A
// library embedding Latchkey may add or replace routes (with Funcs) before
// passing them to NewRouter.
func (w *Webhooks) Routes(c Config) (map[string]Route, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	secrets := c.secrets()
	routes := make(map[string]Route, len(c.Triggers))
	for name, t := range c.Triggers {
		wh, err := w.Webhook(t.URL, secrets...)
		if err != nil {
			return nil, fmt.Errorf("hook: %s: %w", name, err)
		}
		routes[name] = Route{Invoker: wh, LambdaVersion: t.LambdaVersion}
	}
	return routes, nil
}

// Router returns the pool's Invoker for c: its triggers go to their
// webhooks, the others are left to the built-in defaults. It is cheap; the
// connections live in w.
func (w *Webhooks) Router(c Config) (*Router, error) {
	routes, err := w.Routes(c)
	if err != nil {
		return nil, err
	}
	return NewRouter(routes)
}

// Webhook is one hook URL; it implements Invoker by POSTing the event JSON,
// signed, and reading the answer: the event with its response filled.
type Webhook struct {
	w    *Webhooks
	url  string
	host string
	keys [][]byte
}

// String names the hook by its host only: the URL's path or query may
// hold a token.
func (h *Webhook) String() string { return "webhook at " + h.host }

// Invoke sends ev to the hook and fills ev.Response from its answer.
//
// A 2xx answer must be the event JSON (the custom senders' answer is not
// read). Any other answer is the hook's error: its message is taken from a
// JSON body {"errorMessage": …} (as a Lambda function's error) or
// {"message": …}, or a plain-text body, and becomes
// UserLambdaValidationException. A redirect, 429, 502, 503, 504, a
// timeout or a failed connection is UnexpectedLambdaException.
func (h *Webhook) Invoke(ctx context.Context, trigger string, ev *Event) error {
	if err := checkInvocation(trigger, ev); err != nil {
		return err
	}
	start := h.w.now()
	status, err := h.invoke(ctx, trigger, ev)
	log := h.w.log.With(
		slog.String("trigger", trigger),
		slog.String("pool", ev.UserPoolID),
		slog.String("host", h.host),
		slog.Int("status", status),
		slog.Duration("duration", h.w.now().Sub(start)),
	)
	if err != nil {
		msg := err.Error()
		if trigger == CustomSMSSender || trigger == CustomEmailSender {
			// The hook's own message may echo the code it was sent.
			msg = "kind " + fmt.Sprint(pool.KindOf(err)) + "; message withheld (a custom sender's answer may hold the code)"
		}
		log.LogAttrs(ctx, slog.LevelWarn, "hook failed", slog.String("error", msg))
		return err
	}
	log.LogAttrs(ctx, slog.LevelDebug, "hook answered")
	return nil
}

// invoke does Invoke's work, also returning the answer's status (0 when
// there was none).
func (h *Webhook) invoke(ctx context.Context, trigger string, ev *Event) (int, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, fmt.Errorf("hook: encoding %s event: %w", trigger, err)
	}
	id, err := newMessageID(h.w.rand)
	if err != nil {
		return 0, fmt.Errorf("hook: %s: %w", trigger, err)
	}
	ts := h.w.now().Unix()
	sigs := make([]string, len(h.keys))
	for i, key := range h.keys {
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac(key, id, ts, body))
	}

	ctx, cancel := context.WithTimeout(ctx, h.w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("hook: %s: building the request for %s", trigger, h)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, strings.Join(sigs, " "))

	resp, err := h.w.client.Do(req)
	if err != nil {
		return 0, h.callError(ctx, trigger, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, h.w.maxBytes+1))
	if err != nil {
		return resp.StatusCode, h.callError(ctx, trigger, err)
	}
	if int64(len(answer)) > h.w.maxBytes {
		return resp.StatusCode, invalidError(trigger, fmt.Sprintf("the answer is larger than %d bytes", h.w.maxBytes))
	}

	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		if trigger == CustomSMSSender || trigger == CustomEmailSender {
			ev.Response = emptyObject()
			return code, nil
		}
		raw, err := answerResponse(trigger, answer)
		if err != nil {
			return code, err
		}
		if err := checkResponse(trigger, ev.Version, raw); err != nil {
			return code, err
		}
		ev.Response = raw
		return code, nil
	case code >= 300 && code < 400:
		return code, unexpectedError(trigger, fmt.Sprintf("the hook answered with a redirect (HTTP %d); configure the URL it redirects to", code), nil)
	case code == http.StatusTooManyRequests || code == http.StatusBadGateway ||
		code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		return code, unexpectedError(trigger, fmt.Sprintf("the hook is unavailable (HTTP %d)", code), nil)
	}
	return code, failedError(trigger, failureMessage(resp, answer), fmt.Errorf("HTTP %d", code))
}

// callError maps a failed call to UnexpectedLambda. The URL is dropped
// from the cause (its query may hold a token); what remains, such as
// "dial tcp 10.0.0.1:443: connection refused", is for logs only.
func (h *Webhook) callError(ctx context.Context, trigger string, err error) *pool.Error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var nerr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) ||
		(errors.As(err, &nerr) && nerr.Timeout()):
		return unexpectedError(trigger, "the hook did not answer in time", err)
	case errors.Is(err, context.Canceled):
		return unexpectedError(trigger, "the call was canceled", err)
	}
	return unexpectedError(trigger, "the hook could not be reached", err)
}

// failureMessage is the hook's message in an error answer: the
// errorMessage or message of a JSON body, else a plain-text body, else the
// status text.
func failureMessage(resp *http.Response, body []byte) string {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var m struct {
			ErrorMessage any `json:"errorMessage"`
			Message      any `json:"message"`
		}
		if json.Unmarshal(trimmed, &m) == nil {
			for _, v := range []any{m.ErrorMessage, m.Message} {
				if s, ok := v.(string); ok && strings.TrimSpace(s) != "" {
					return s
				}
			}
		}
	} else if (mt == "" || mt == "text/plain") && len(trimmed) > 0 && trimmed[0] != '<' {
		return string(trimmed)
	}
	if t := http.StatusText(resp.StatusCode); t != "" {
		return t
	}
	return fmt.Sprintf("HTTP %d", resp.StatusCode)
}

// newMessageID returns a unique message id: "msg_" and 16 random bytes in
// unpadded base64url (no '.', so the signed content stays unambiguous).
func newMessageID(rand io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	return "msg_" + base64.RawURLEncoding.EncodeToString(b), nil
}
