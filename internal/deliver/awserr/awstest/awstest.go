// Package awstest holds test helpers for the AWS senders (internal/deliver/ses
// and internal/deliver/sns): static test credentials, a loopback server for
// fake AWS endpoints, a SigV4 signature check and a check that errors do not
// leak what was sent.
//
// It is for tests only: nothing outside _test.go files may import it.
package awstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The region and static credentials of [Config].
const (
	Region          = "us-west-2"
	AccessKeyID     = "AKID"
	SecretAccessKey = "SECRET"
)

// Config returns an aws.Config with Region and static credentials, and
// nothing else: no retry, logging or endpoint settings.
func Config() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	}
}

// NewServer starts an HTTP server for h on 127.0.0.1, closed when the test
// ends. It fails the test if the server listens anywhere else.
func NewServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if host, _, _ := net.SplitHostPort(srv.Listener.Addr().String()); host != "127.0.0.1" {
		t.Fatalf("fake server listens on %s, want 127.0.0.1", host)
	}
	return srv
}

// CheckSigV4 checks that r, whose body was body, carries a SigV4 signature
// by AccessKeyID for service in region, and that the signature is right: it
// signs a copy of the request with the same signed headers and time and
// compares.
func CheckSigV4(r *http.Request, body []byte, service, region string) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("Authorization %q is not AWS4-HMAC-SHA256", auth)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ", ") {
		k, v, _ := strings.Cut(part, "=")
		fields[k] = v
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signingTime, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return fmt.Errorf("X-Amz-Date %q: %v", amzDate, err)
	}
	wantScope := strings.Join([]string{AccessKeyID, amzDate[:8], region, service, "aws4_request"}, "/")
	if fields["Credential"] != wantScope {
		return fmt.Errorf("credential scope %q, want %q", fields["Credential"], wantScope)
	}
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	req, err := http.NewRequest(r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	for h := range strings.SplitSeq(fields["SignedHeaders"], ";") {
		if h != "host" && h != "content-length" {
			req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, signingTime); err != nil {
		return err
	}
	if got := req.Header.Get("Authorization"); got != auth {
		return fmt.Errorf("signature mismatch:\n got %s\nwant %s", auth, got)
	}
	return nil
}

// CheckNoSecrets fails the test if err, or anything it wraps, shows any of
// secrets (a message's code, body or HTML) in its text or its %+v and %#v
// forms.
func CheckNoSecrets(t testing.TB, err error, secrets ...string) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)} {
			for _, secret := range secrets {
				if secret != "" && strings.Contains(s, secret) {
					t.Errorf("error text %q contains the code or body", s)
					break
				}
			}
		}
	}
}
