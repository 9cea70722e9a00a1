package awserr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
)

var regionPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$`)

// ValidateRegionEndpoint checks the region and endpoint of a sender's
// configuration: an empty region is valid (the client falls back to the
// aws.Config's), a set one must look like an AWS region name; an empty
// endpoint is valid (the regional AWS endpoint), a set one must be a plain
// http or https URL.
func (s Service) ValidateRegionEndpoint(region, endpoint string) error {
	if region != "" && !regionPattern.MatchString(region) {
		return fmt.Errorf("%s: config: region %q is not an AWS region name such as us-east-1", s.Provider, region)
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("%s: config: endpoint %q is not an http or https URL such as %s",
				s.Provider, endpoint, s.ExampleEndpoint)
		}
	}
	return nil
}

// Region returns the region a client uses: region, the configured one, or
// else awsCfg's. It fails if neither is set, or if awsCfg has no
// credentials.
func (s Service) Region(region string, awsCfg aws.Config) (string, error) {
	if region == "" {
		region = awsCfg.Region
	}
	if region == "" {
		return "", errors.New(s.Provider + ": config: no region: set region in the config or AWS_REGION in the environment")
	}
	if awsCfg.Credentials == nil {
		return "", errors.New(s.Provider + ": no AWS credentials: load them into the aws.Config (for example with config.LoadDefaultConfig)")
	}
	return region, nil
}

// ClientOptions points at the fields of a service client's Options that
// [Configure] sets. Every AWS SDK service has its own Options type with
// these same fields, for example:
//
//	sns.NewFromConfig(awsCfg, func(o *sns.Options) {
//		awserr.Configure(awserr.ClientOptions{Region: &o.Region, BaseEndpoint: &o.BaseEndpoint,
//			Retryer: &o.Retryer, RetryMaxAttempts: &o.RetryMaxAttempts, ClientLogMode: &o.ClientLogMode},
//			region, endpoint)
//	})
type ClientOptions struct {
	Region           *string
	BaseEndpoint     **string
	Retryer          *aws.Retryer
	RetryMaxAttempts *int
	ClientLogMode    *aws.ClientLogMode
}

// Configure sets a client's region and, if endpoint is not empty, its
// endpoint; turns the SDK's retries off; and keeps SDK debug logging from
// writing request bodies.
func Configure(o ClientOptions, region, endpoint string) {
	*o.Region = region
	if endpoint != "" {
		*o.BaseEndpoint = aws.String(endpoint)
	}
	// One attempt per Send: the caller does failover and backoff, so
	// the SDK's retries (3 attempts by default, with their own backoff
	// and client-side rate limiting) would multiply its attempts and
	// hide throttling from it. RetryMaxAttempts must be 0 too, or the
	// client wraps the retryer to allow that many attempts again.
	*o.Retryer = aws.NopRetryer{}
	*o.RetryMaxAttempts = 0
	// The request body holds the code: never let SDK debug logging
	// (aws.Config.ClientLogMode) write it out.
	*o.ClientLogMode &^= aws.LogRequestWithBody
}

// ParseConfig decodes a sender's configuration C from JSON, rejecting
// unknown fields (a typo would otherwise be silently ignored) and anything
// after the object, and validates it.
func ParseConfig[C interface{ Validate() error }](s Service, data []byte) (C, error) {
	var c, zero C
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return zero, fmt.Errorf("%s: config: %w", s.Provider, err)
	}
	if dec.More() {
		return zero, errors.New(s.Provider + ": config: unexpected data after the JSON object")
	}
	if err := c.Validate(); err != nil {
		return zero, err
	}
	return c, nil
}
