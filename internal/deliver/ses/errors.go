package ses

import (
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/awserr"
)

// transientCodes are the AWS error codes worth trying again.
// TooManyRequestsException (HTTP 429) is SES v2's rate limit;
// LimitExceededException is an account limit rather than a fault of the
// message, and the SDK's own retryer treats it as throttling, so it counts as
// transient too; ThrottlingException and the rest are AWS-wide codes. Every
// other code (BadRequestException, MessageRejected,
// MailFromDomainNotVerifiedException, AccountSuspendedException,
// SendingPausedException, NotFoundException, AccessDeniedException…) is
// permanent unless its HTTP status is 5xx or 429.
var transientCodes = map[string]bool{
	"TooManyRequestsException":      true,
	"LimitExceededException":        true,
	"ThrottlingException":           true,
	"Throttling":                    true,
	"RequestThrottled":              true,
	"InternalServiceErrorException": true,
	"InternalFailure":               true,
	"InternalError":                 true,
	"ServiceUnavailable":            true,
	"ServiceUnavailableException":   true,
	"RequestTimeout":                true,
	"RequestTimeoutException":       true,
}

// service is what this package shares with the other AWS senders.
var service = awserr.Service{
	Provider:        Provider,
	TransientCodes:  transientCodes,
	ExampleEndpoint: "https://email.example.com",
}

// providerError classifies err, the failure of operation op sending m, and
// describes it without m's code or body.
func providerError(op string, err error, m deliver.Message) *deliver.ProviderError {
	return service.Error(op, err, m)
}
