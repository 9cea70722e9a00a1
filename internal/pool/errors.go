package pool

import (
	"errors"
	"fmt"
)

// Kind classifies an error in the terms clients see. Front doors map each
// Kind to their own vocabulary (Cognito's __type, OAuth's error codes).
type Kind int

const (
	KindInternal Kind = iota
	KindInvalidParameter
	KindNotAuthorized
	KindUserNotFound
	KindUsernameExists
	KindUserNotConfirmed
	KindCodeMismatch
	KindExpiredCode
	KindTooManyFailedAttempts
	KindLimitExceeded
	KindTooManyRequests
	KindCodeDeliveryFailure
	KindResourceNotFound
	KindUnsupportedOperation
	KindUnsupportedTokenType
	KindInvalidUserPoolConfiguration
	KindUnauthorized
	// KindAliasExists: an email or phone number is already another
	// account's verified sign-in alias.
	KindAliasExists
	// Hook (Lambda trigger) failures, as Cognito names them: the hook
	// answered with an error, could not be reached in time, or answered
	// something that is not a valid event.
	KindUserLambdaValidation
	KindUnexpectedLambda
	KindInvalidLambdaResponse
)

// Error is an error a client caused or may see, with a message that says
// what is wrong. Messages never contain secrets.
type Error struct {
	Kind    Kind
	Message string
	// Err is an optional cause kept for logs; it is never shown to clients.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of the given kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the Kind of err, or KindInternal when err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Storage errors every store backend returns the same way.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
	// ErrNoAttemptsLeft means a code or session has used all its attempts.
	ErrNoAttemptsLeft = errors.New("no attempts left")
	// ErrExpired means a session or code is past its expiry.
	ErrExpired = errors.New("expired")
)
