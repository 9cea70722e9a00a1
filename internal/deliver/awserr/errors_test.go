package awserr

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/latchkey/latchkey/internal/deliver"
)

func TestErrorUsesServiceCodes(t *testing.T) {
	svc := Service{Provider: "test", TransientCodes: map[string]bool{"SlowDown": true}}
	m := deliver.Message{Body: "code 123456", Code: "123456"}
	for _, tt := range []struct {
		err       error
		transient bool
		want      string
	}{
		{&smithy.GenericAPIError{Code: "SlowDown", Message: "slow down"}, true, "Send: SlowDown: slow down"},
		{&smithy.GenericAPIError{Code: "Throttling", Message: "x"}, false, "Send: Throttling: x"},
		{&smithy.GenericAPIError{Code: "Bad", Message: "rejected 123456"}, false, "Send: Bad: rejected [redacted]"},
		{context.Canceled, true, "Send: context canceled"},
		{errors.New("line\none"), false, "Send: line one"},
	} {
		pe := svc.Error("Send", tt.err, m)
		if pe.Provider != "test" || pe.Transient != tt.transient || pe.Err.Error() != tt.want {
			t.Errorf("Error(%v) = %q, %v, %q; want test, %v, %q", tt.err, pe.Provider, pe.Transient, pe.Err, tt.transient, tt.want)
		}
	}
}

func TestOneLineCutsAtRuneBoundary(t *testing.T) {
	if got := oneLine("aé", 2); got != "a…" {
		t.Errorf("oneLine = %q, want %q", got, "a…")
	}
	if got := oneLine(strings.Repeat("x", 10), 10); got != strings.Repeat("x", 10) {
		t.Errorf("oneLine = %q", got)
	}
}

func TestValidateRegionEndpoint(t *testing.T) {
	svc := Service{Provider: "test", ExampleEndpoint: "https://test.example.com"}
	for _, tt := range []struct{ region, endpoint, want string }{
		{"", "", ""},
		{"eu-west-1", "http://127.0.0.1:4566", ""},
		{"EU", "", `test: config: region "EU"`},
		{"", "ftp://x", "such as https://test.example.com"},
		{"", "https://u:p@x", "endpoint"},
	} {
		err := svc.ValidateRegionEndpoint(tt.region, tt.endpoint)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("ValidateRegionEndpoint(%q, %q) = %v, want %q", tt.region, tt.endpoint, err, tt.want)
		}
	}
}
