package message

import (
	"strings"
	"testing"
	"time"
)

// parseWebOTP parses an origin-bound one-time code message as
// https://wicg.github.io/sms-one-time-codes/#parsing does: the last line
// must be "@host #code", optionally followed by more fields.
func parseWebOTP(msg string) (host, code string, ok bool) {
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(msg, "\n")
	line := lines[len(lines)-1]
	token := func(marker byte) (string, bool) {
		if line == "" || line[0] != marker {
			return "", false
		}
		line = line[1:]
		i := strings.IndexAny(line, " \t\n\f\r")
		if i < 0 {
			i = len(line)
		}
		tok := line[:i]
		line = line[i:]
		return tok, tok != ""
	}
	if host, ok = token('@'); !ok {
		return "", "", false
	}
	if line == "" || line[0] != ' ' {
		return "", "", false
	}
	line = line[1:]
	if code, ok = token('#'); !ok {
		return "", "", false
	}
	return host, code, true
}

func TestAutofillLines(t *testing.T) {
	const code = "12345678"
	tests := []struct {
		name string
		a    Autofill
		tail string // the end of the SMS, after the text
	}{
		{"none", Autofill{}, "anyone."},
		{"webotp", Autofill{WebOTPHost: "example.com"}, "anyone.\n\n@example.com #12345678"},
		{"webotp host lower-cased", Autofill{WebOTPHost: "Login.Example.COM"}, "anyone.\n\n@login.example.com #12345678"},
		{"app hash", Autofill{AndroidAppHash: "FA+9qCX9VSu"}, "anyone.\n\nFA+9qCX9VSu"},
		{"both: hash, then the WebOTP line last", Autofill{WebOTPHost: "example.com", AndroidAppHash: "FA+9qCX9VSu"}, "anyone.\n\nFA+9qCX9VSu\n@example.com #12345678"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := (*Templates)(nil).WithAutofill(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			r, err := tpl.Render("en", ChannelSMS, Data{Code: code, AppName: "Acme", Expiry: 5 * time.Minute, Purpose: PurposeSignIn})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(r.Text, "12345678 is your Acme sign-in code.") || !strings.HasSuffix(r.Text, tt.tail) {
				t.Errorf("SMS = %q, want it to end %q", r.Text, tt.tail)
			}
			if r.SMS != AnalyzeSMS(r.Text) {
				t.Errorf("SMS info %+v does not describe the text", r.SMS)
			}
			host, got, ok := parseWebOTP(r.Text)
			if tt.a.WebOTPHost == "" {
				if ok {
					t.Errorf("SMS %q parses as a WebOTP message", r.Text)
				}
				return
			}
			if !ok || host != strings.ToLower(tt.a.WebOTPHost) || got != code {
				t.Errorf("WebOTP parse of %q = %q, %q, %v", r.Text, host, got, ok)
			}
		})
	}
}

// Every built-in SMS, with both autofill lines, is a valid WebOTP message
// and keeps the app hash on a line of its own.
func TestAutofillBuiltins(t *testing.T) {
	tpl, err := New("en", nil)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err = tpl.WithAutofill(Autofill{WebOTPHost: "example.com", AndroidAppHash: "FA+9qCX9VSu"})
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range BuiltinLocales() {
		for _, p := range purposes {
			r, err := tpl.Render(loc, ChannelSMS, Data{Code: "12345678", AppName: "Acme", Expiry: 10 * time.Minute, Purpose: p})
			if err != nil {
				t.Fatal(err)
			}
			if host, code, ok := parseWebOTP(r.Text); !ok || host != "example.com" || code != "12345678" {
				t.Errorf("%s %s: %q does not parse as WebOTP", loc, p, r.Text)
			}
			lines := strings.Split(r.Text, "\n")
			if lines[len(lines)-2] != "FA+9qCX9VSu" {
				t.Errorf("%s %s: app hash not on the line before the WebOTP line: %q", loc, p, r.Text)
			}
		}
	}
}

func TestAutofillValidate(t *testing.T) {
	tests := []struct {
		a       Autofill
		wantErr string
	}{
		{Autofill{}, ""},
		{Autofill{WebOTPHost: "example.com"}, ""},
		{Autofill{WebOTPHost: "login.example.co.uk"}, ""},
		{Autofill{WebOTPHost: "xn--bcher-kva.example"}, ""},
		{Autofill{WebOTPHost: "localhost"}, ""},
		{Autofill{WebOTPHost: "a-b.example"}, ""},
		{Autofill{WebOTPHost: "https://example.com"}, "scheme"},
		{Autofill{WebOTPHost: "example.com:443"}, "port"},
		{Autofill{WebOTPHost: "example.com/login"}, "path"},
		{Autofill{WebOTPHost: "example.com #1"}, "spaces"},
		{Autofill{WebOTPHost: "example"}, "fully qualified"},
		{Autofill{WebOTPHost: "example.com."}, "dot"},
		{Autofill{WebOTPHost: "a..example"}, "empty label"},
		{Autofill{WebOTPHost: "-a.example"}, "hyphen"},
		{Autofill{WebOTPHost: "a-.example"}, "hyphen"},
		{Autofill{WebOTPHost: "a_b.example"}, "letters, digits and hyphens"},
		{Autofill{WebOTPHost: "bücher.example"}, "xn--"},
		{Autofill{WebOTPHost: "192.168.0.1"}, "IP address"},
		{Autofill{WebOTPHost: strings.Repeat("a", 64) + ".example"}, "63"},
		{Autofill{WebOTPHost: strings.Repeat("abcdefghi.", 26) + "example"}, "253"},
		{Autofill{AndroidAppHash: "FA+9qCX9VSu"}, ""},
		{Autofill{AndroidAppHash: "abc/DEF0129"}, ""},
		{Autofill{AndroidAppHash: "FA+9qCX9VS"}, "11 characters"},
		{Autofill{AndroidAppHash: "FA+9qCX9VSuu"}, "11 characters"},
		{Autofill{AndroidAppHash: "FA+9qCX9VS="}, "'='"},
		{Autofill{AndroidAppHash: "FA-9qCX9VSu"}, "'-'"},
	}
	for _, tt := range tests {
		err := tt.a.Validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%+v: %v", tt.a, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%+v: error %v, want one mentioning %q", tt.a, err, tt.wantErr)
		}
		if _, werr := (*Templates)(nil).WithAutofill(tt.a); (werr == nil) != (err == nil) {
			t.Errorf("%+v: WithAutofill error %v, Validate error %v", tt.a, werr, err)
		}
	}
}

func TestAutofillCodeUnfitForWebOTP(t *testing.T) {
	tpl, err := (*Templates)(nil).WithAutofill(Autofill{WebOTPHost: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"123 456", "123#456", "123\n456"} {
		if _, err := tpl.Render("en", ChannelSMS, Data{Code: code, AppName: "Acme", Purpose: PurposeSignIn}); err == nil {
			t.Errorf("code %q: no error", code)
		}
	}
	// Email is untouched by autofill.
	if _, err := tpl.Render("en", ChannelEmail, Data{Code: "123 456", AppName: "Acme", Purpose: PurposeSignIn}); err != nil {
		t.Errorf("email: %v", err)
	}
}

func TestWithAutofillKeepsOriginal(t *testing.T) {
	base, err := New("de", nil)
	if err != nil {
		t.Fatal(err)
	}
	withLines, err := base.WithAutofill(Autofill{WebOTPHost: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if base.Autofill() != (Autofill{}) || withLines.Autofill().WebOTPHost != "example.com" || withLines.DefaultLocale() != "de" {
		t.Errorf("WithAutofill: base %+v, copy %+v (%s)", base.Autofill(), withLines.Autofill(), withLines.DefaultLocale())
	}
}
