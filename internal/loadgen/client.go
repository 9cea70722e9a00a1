package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client calls a Latchkey server's Cognito API (AWS JSON 1.1) and its dev
// outbox over HTTP. The few request and response shapes it needs are
// written out here: plain JSON costs the generator less than an SDK would,
// and what is measured is the server.
type client struct {
	endpoint string // without a trailing slash
	http     *http.Client
}

// newClient returns a client that keeps up to conns idle connections to the
// endpoint, one per worker, so no request waits for a new connection.
func newClient(endpoint string, conns int, timeout time.Duration) *client {
	tr := &http.Transport{
		Proxy:               nil, // the endpoint is reached directly
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &client{endpoint: strings.TrimRight(endpoint, "/"), http: &http.Client{Transport: tr, Timeout: timeout}}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// APIError is an error answer of the Cognito API.
type APIError struct {
	Type    string // the __type, without any "namespace#" prefix
	Message string
	Status  int
}

func (e *APIError) Error() string { return e.Type + ": " + e.Message }

// localError is a failure seen by the generator rather than answered by
// the API, named like an API error type so both are counted alike.
type localError struct {
	kind string
	msg  string
}

func (e *localError) Error() string { return e.kind + ": " + e.msg }

// Kinds of localError.
const (
	errConnection       = "ConnectionError"    // no HTTP answer
	errTimeout          = "Timeout"            // no answer in time
	errBadResponse      = "BadResponse"        // an answer that is not the expected JSON
	errUnexpected       = "UnexpectedResponse" // valid JSON, but not the next step
	errCodeNotDelivered = "CodeNotDelivered"   // no new code in the dev outbox
	errOutboxNotFound   = "OutboxNotFound"     // no dev outbox: dev delivery is off
	errOutbox           = "OutboxError"        // the dev outbox answered an error
)

// errorType names err for the report: the API's __type, or a local kind.
func errorType(err error) string {
	var api *APIError
	if errors.As(err, &api) {
		return api.Type
	}
	var local *localError
	if errors.As(err, &local) {
		return local.kind
	}
	return "Error"
}

// transportError classifies a failed round trip.
func transportError(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &localError{errTimeout, err.Error()}
	}
	return &localError{errConnection, err.Error()}
}

// call sends one Cognito operation with in as its JSON body and decodes the
// answer into out.
func (c *client) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService."+op)
	status, data, err := c.do(req)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return apiError(status, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &localError{errBadResponse, fmt.Sprintf("%s answer: %v", op, err)}
	}
	return nil
}

// do sends req and reads the whole answer, so the connection is reused.
func (c *client) do(req *http.Request) (int, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, transportError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, nil, transportError(err)
	}
	return resp.StatusCode, data, nil
}

// apiError reads a Cognito error answer: {"__type": "...", "message": "..."}.
func apiError(status int, data []byte) error {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	if json.Unmarshal(data, &e) != nil || e.Type == "" {
		return &APIError{Type: fmt.Sprintf("HTTP%d", status), Message: snippet(data), Status: status}
	}
	if i := strings.LastIndexByte(e.Type, '#'); i >= 0 {
		e.Type = e.Type[i+1:]
	}
	if e.Message == "" {
		e.Message = e.MessageU
	}
	return &APIError{Type: e.Type, Message: e.Message, Status: status}
}

func snippet(data []byte) string {
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// The request and response shapes of the operations the flows use.

type signUpInput struct {
	ClientID string `json:"ClientId"`
	Username string `json:"Username"`
}

type signUpOutput struct {
	UserConfirmed bool   `json:"UserConfirmed"`
	UserSub       string `json:"UserSub"`
	Session       string `json:"Session"`
}

type initiateAuthInput struct {
	ClientID       string            `json:"ClientId"`
	AuthFlow       string            `json:"AuthFlow"`
	AuthParameters map[string]string `json:"AuthParameters"`
	Session        string            `json:"Session,omitempty"`
}

type respondInput struct {
	ClientID           string            `json:"ClientId"`
	ChallengeName      string            `json:"ChallengeName"`
	Session            string            `json:"Session"`
	ChallengeResponses map[string]string `json:"ChallengeResponses"`
}

// authOutput is the answer of InitiateAuth and RespondToAuthChallenge: a
// challenge, or tokens.
type authOutput struct {
	ChallengeName        string `json:"ChallengeName"`
	Session              string `json:"Session"`
	AuthenticationResult *struct {
		IDToken      string `json:"IdToken"`
		AccessToken  string `json:"AccessToken"`
		RefreshToken string `json:"RefreshToken"`
	} `json:"AuthenticationResult"`
}

// outboxMessage is a message as GET /_dev/outbox shows it.
type outboxMessage struct {
	To        string `json:"to"`
	Purpose   string `json:"purpose"`
	Code      string `json:"code"`
	CreatedAt string `json:"created_at"`
}

// outbox reads the dev outbox's messages to to, newest first. The server
// delivers what was queued before answering.
func (c *client) outbox(ctx context.Context, to string) ([]outboxMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"/_dev/outbox?to="+url.QueryEscape(to), nil)
	if err != nil {
		return nil, err
	}
	status, data, err := c.do(req)
	if err != nil {
		return nil, err
	}
	switch status {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, &localError{errOutboxNotFound, "GET /_dev/outbox: 404: is dev delivery on (latchkey serve --dev)?"}
	default:
		return nil, &localError{errOutbox, fmt.Sprintf("GET /_dev/outbox: %d: %s", status, snippet(data))}
	}
	var out struct {
		Messages []outboxMessage `json:"messages"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, &localError{errBadResponse, fmt.Sprintf("dev outbox answer: %v", err)}
	}
	return out.Messages, nil
}

// get fetches path (under the endpoint) and returns its body when the
// status is 200.
func (c *client) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+path, nil)
	if err != nil {
		return nil, err
	}
	status, data, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d: %s", path, status, snippet(data))
	}
	return data, nil
}
