// Package awserr is what the AWS senders (internal/deliver/ses and
// internal/deliver/sns) share: classifying AWS SDK errors into transient or
// permanent *deliver.ProviderError values whose text never shows the
// message; parsing and checking the region and endpoint of a sender's
// configuration; and building a service client that makes one attempt per
// send and never logs request bodies.
//
// What differs between services, the provider name and which AWS error
// codes are worth trying again, is a [Service]; the operation name is an
// argument of [Service.Error].
package awserr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/latchkey/latchkey/internal/deliver"
)

// Service is one AWS service a sender calls.
type Service struct {
	// Provider is the ProviderError.Provider of the service's errors, and
	// the prefix of the configuration errors New returns ("ses", "sns").
	Provider string
	// TransientCodes are the AWS error codes worth trying again. Every other
	// code is permanent unless its HTTP status is 5xx or 429.
	TransientCodes map[string]bool
	// ExampleEndpoint is the endpoint URL that configuration errors give as
	// an example, such as https://sns.example.com.
	ExampleEndpoint string
}

// maxMessageLen bounds the AWS error message kept in an error.
const maxMessageLen = 256

// Error classifies err, the failure of operation op (such as "Publish")
// sending m, and describes it without m's code or body.
func (s Service) Error(op string, err error, m deliver.Message) *deliver.ProviderError {
	se := &sendError{op: op, status: httpStatus(err)}
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &apiErr):
		se.code = oneLine(apiErr.ErrorCode(), 64)
		se.msg = redact(apiErr.ErrorMessage(), m)
		if se.msg == se.code {
			se.msg = "" // the SDK's placeholder when the response had no message
		}
		// Unwrap to a copy whose message is redacted too, so that a caller
		// printing the cause cannot leak what Error hides.
		se.err = &smithy.GenericAPIError{Code: se.code, Message: se.msg, Fault: apiErr.ErrorFault()}
	default:
		se.msg = redact(detail(err), m)
		se.err = err
	}
	return &deliver.ProviderError{Provider: s.Provider, Transient: s.transient(err, se.code, se.status), Err: se}
}

func (s Service) transient(err error, code string, status int) bool {
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// Our side gave up or ran out of time, not the provider: the
		// message itself may well go through on another try.
		return true
	case errors.As(err, &verr), errors.As(err, &uerr), errors.As(err, &herr), errors.As(err, &cerr):
		return false // a misconfigured endpoint or trust store; the SDK calls it a connection error
	case code != "":
		return s.TransientCodes[code] || status >= 500 || status == 429
	case status >= 500 || status == 429:
		return true
	}
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return true
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}

// detail is the text of err without the SDK's wrappers, which only repeat
// the operation and a status of 0.
func detail(err error) string {
	var opErr *smithy.OperationError
	if errors.As(err, &opErr) && opErr.Err != nil {
		err = opErr.Err
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.Err != nil {
		err = respErr.Err
	}
	return err.Error()
}

func httpStatus(err error) int {
	var h interface{ HTTPStatusCode() int }
	if errors.As(err, &h) {
		return h.HTTPStatusCode()
	}
	return 0
}

// redact removes from s any copy of m's code, body or HTML, and makes it a
// short single line fit for a log.
func redact(s string, m deliver.Message) string {
	for _, secret := range []string{m.Body, m.HTML, m.Code} {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return oneLine(s, maxMessageLen)
}

// oneLine replaces control characters with spaces and cuts s to at most n
// bytes, at a rune boundary.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// sendError is a failed call: the operation, the HTTP status and the AWS
// error code and message, never the text that was sent.
type sendError struct {
	op     string
	status int    // 0 if no response arrived
	code   string // "" unless AWS answered with an error code
	msg    string // redacted
	err    error
}

func (e *sendError) Error() string {
	var b strings.Builder
	b.WriteString(e.op)
	if e.status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.status)
	}
	if e.code != "" {
		b.WriteString(": " + e.code)
	}
	if e.msg != "" {
		b.WriteString(": " + e.msg)
	}
	return b.String()
}

func (e *sendError) Unwrap() error { return e.err }

// HTTPStatusCode is the status of the response, 0 if none arrived.
func (e *sendError) HTTPStatusCode() int { return e.status }
