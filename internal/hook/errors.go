package hook

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/pool"
)

// maxMessageRunes bounds a hook's error message as clients see it.
const maxMessageRunes = 256

// ErrNotConfigured is wrapped by the error of a Router or Funcs asked for a
// trigger it has no hook for: the caller should have used the built-in
// default.
var ErrNotConfigured = errors.New("no hook configured for this trigger")

// failedError is a hook's own error, as Cognito reports it:
// UserLambdaValidationException "<Trigger> failed with error <message>.".
// The message is the hook's, meant for the client; cause is kept for logs.
func failedError(trigger, message string, cause error) *pool.Error {
	return &pool.Error{
		Kind:    pool.KindUserLambdaValidation,
		Message: fmt.Sprintf("%s failed with error %s.", trigger, cleanMessage(message)),
		Err:     cause,
	}
}

// unexpectedError is a hook that could not be reached, did not answer in
// time, or crashed: UnexpectedLambdaException. reason must hold no URL, body
// or secret; cause (for logs) must hold no URL either.
func unexpectedError(trigger, reason string, cause error) *pool.Error {
	return &pool.Error{
		Kind:    pool.KindUnexpectedLambda,
		Message: fmt.Sprintf("%s invocation failed: %s.", trigger, reason),
		Err:     cause,
	}
}

// invalidError is an answer that is not a valid event for the trigger:
// InvalidLambdaResponseException "Invalid <Trigger> response: <what>.".
func invalidError(trigger, what string) *pool.Error {
	return &pool.Error{
		Kind:    pool.KindInvalidLambdaResponse,
		Message: fmt.Sprintf("Invalid %s response: %s.", trigger, what),
	}
}

// cleanMessage makes a hook's message fit for a client: control characters
// and runs of white space become one space, invalid UTF-8 is replaced, and
// it is cut to maxMessageRunes.
func cleanMessage(s string) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if n == maxMessageRunes {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
			if n == maxMessageRunes {
				b.WriteString("…")
				break
			}
		}
		b.WriteRune(r)
		n++
	}
	if b.Len() == 0 {
		return "(no message)"
	}
	return b.String()
}

// quote shows a value from a hook's answer in an error: quoted and cut
// short.
func quote(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
