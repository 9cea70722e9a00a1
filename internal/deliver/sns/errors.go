package sns

import (
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/awserr"
)

// transientCodes are the AWS error codes worth trying again. Publish models
// none of them, so they arrive as generic API errors: SNS's own throttling
// code is "Throttled" (ThrottledException), the AWS-wide one for Query APIs
// is "Throttling". Every other code is permanent unless its HTTP status is
// 5xx or 429.
var transientCodes = map[string]bool{
	"Throttled":                true,
	"ThrottledException":       true,
	"Throttling":               true,
	"ThrottlingException":      true,
	"RequestThrottled":         true,
	"RequestLimitExceeded":     true,
	"TooManyRequestsException": true,
	"KMSThrottling":            true,
	"InternalError":            true,
	"InternalFailure":          true,
	"ServiceUnavailable":       true,
	"RequestTimeout":           true,
	"RequestTimeoutException":  true,
}

// service is what this package shares with the other AWS senders.
var service = awserr.Service{
	Provider:        Provider,
	TransientCodes:  transientCodes,
	ExampleEndpoint: "https://sns.example.com",
}

// providerError classifies err, the failure of operation op sending m, and
// describes it without m's code or body.
func providerError(op string, err error, m deliver.Message) *deliver.ProviderError {
	return service.Error(op, err, m)
}
