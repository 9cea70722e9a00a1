package cognito

import (
	"strings"
	"testing"
)

// TestErrorsStaySmall pins the caps that keep a hostile request from
// producing a huge error: past 100 attributes the entries are not checked
// one by one, and at most 10 problems are listed.
func TestErrorsStaySmall(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"thousands of empty attributes", `{"ClientId":"c","Username":"u","UserAttributes":[` + strings.TrimSuffix(strings.Repeat(`{},`, 5000), ",") + `]}`, "at most 100 entries"},
		{"many bad attribute names", `{"ClientId":"c","Username":"u","UserAttributes":[` + strings.TrimSuffix(strings.Repeat(`{"Name":"`+strings.Repeat("n", 50)+`"},`, 90), ",") + `]}`, "90 validation errors detected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in signUpRequest
			err := decodeRequest([]byte(tt.body), &in)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := toAPIError(err).Message
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message %q lacks %q", msg[:min(len(msg), 200)], tt.want)
			}
			if len(msg) > 4096 {
				t.Errorf("error message is %d bytes", len(msg))
			}
		})
	}
}
