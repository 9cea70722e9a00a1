package cognito

import (
	"errors"
	"net/http"

	"github.com/latchkey/latchkey/internal/pool"
)

// apiError is an error in Cognito's wire form.
type apiError struct {
	Type    string
	Message string
	Status  int
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

// exceptionTypes maps the domain's error kinds to Cognito's __type names.
var exceptionTypes = map[pool.Kind]string{
	pool.KindInvalidParameter:             "InvalidParameterException",
	pool.KindNotAuthorized:                "NotAuthorizedException",
	pool.KindUserNotFound:                 "UserNotFoundException",
	pool.KindUsernameExists:               "UsernameExistsException",
	pool.KindUserNotConfirmed:             "UserNotConfirmedException",
	pool.KindCodeMismatch:                 "CodeMismatchException",
	pool.KindExpiredCode:                  "ExpiredCodeException",
	pool.KindTooManyFailedAttempts:        "TooManyFailedAttemptsException",
	pool.KindLimitExceeded:                "LimitExceededException",
	pool.KindTooManyRequests:              "TooManyRequestsException",
	pool.KindCodeDeliveryFailure:          "CodeDeliveryFailureException",
	pool.KindResourceNotFound:             "ResourceNotFoundException",
	pool.KindUnsupportedOperation:         "UnsupportedOperationException",
	pool.KindUnsupportedTokenType:         "UnsupportedTokenTypeException",
	pool.KindInvalidUserPoolConfiguration: "InvalidUserPoolConfigurationException",
	pool.KindUnauthorized:                 "UnauthorizedException",
	pool.KindAliasExists:                  "AliasExistsException",
	pool.KindUserLambdaValidation:         "UserLambdaValidationException",
	pool.KindUnexpectedLambda:             "UnexpectedLambdaException",
	pool.KindInvalidLambdaResponse:        "InvalidLambdaResponseException",
}

// toAPIError turns any error into its wire form. Client errors are 400, as
// the real service answers (a 5xx would make SDKs retry); only unexpected
// failures are 500, with a generic message.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var pe *pool.Error
	if errors.As(err, &pe) {
		if t, ok := exceptionTypes[pe.Kind]; ok {
			status := http.StatusBadRequest
			if pe.Kind == pool.KindTooManyRequests {
				status = http.StatusTooManyRequests
			}
			return &apiError{Type: t, Message: pe.Message, Status: status}
		}
	}
	return &apiError{Type: "InternalErrorException", Message: "An internal error occurred; try again.", Status: http.StatusInternalServerError}
}

func serializationError(msg string) *apiError {
	return &apiError{Type: "SerializationException", Message: msg, Status: http.StatusBadRequest}
}

func invalidParameter(msg string) *apiError {
	return &apiError{Type: "InvalidParameterException", Message: msg, Status: http.StatusBadRequest}
}
