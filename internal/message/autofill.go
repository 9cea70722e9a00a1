package message

import (
	"errors"
	"fmt"
	"strings"
)

// Autofill asks Render to add machine-readable lines to every SMS so that a
// browser or an Android app can pick up the code by itself. A pool sets it
// once, with Templates.WithAutofill. Both may be set; the SMS then ends
//
//	<the message>
//
//	<AndroidAppHash>
//	@<WebOTPHost> #<code>
//
// The origin-bound line comes last because the WebOTP format
// (https://wicg.github.io/sms-one-time-codes/) only reads the last line of
// the message, and that line must begin with "@host". The SMS Retriever API
// (https://developers.google.com/identity/sms-retriever/verify) only needs
// the 11-character hash somewhere in the message (Google's example puts it
// on its own line at the end), so it goes on the line before. A blank line
// separates the machine-readable lines from the text.
//
// The SMS Retriever also requires the whole message to be at most 140 bytes,
// which is exactly one segment (160 GSM-7 septets or 70 UCS-2 code units):
// watch Rendered.Warning.
type Autofill struct {
	// WebOTPHost is the host of the web origin that asks for the code, e.g.
	// "example.com" for https://example.com: an ASCII domain name (IDNs in
	// their xn-- form), without scheme, port, path or trailing dot.
	// "localhost" is allowed for development.
	WebOTPHost string `json:"webotp_host,omitempty"`
	// AndroidAppHash is the app's 11-character SMS Retriever hash string.
	AndroidAppHash string `json:"android_app_hash,omitempty"`
}

// Validate reports whether a's fields are well-formed.
func (a Autofill) Validate() error {
	var errs []error
	if a.WebOTPHost != "" {
		if err := validateHost(a.WebOTPHost); err != nil {
			errs = append(errs, fmt.Errorf("message: webotp_host %q: %w", a.WebOTPHost, err))
		}
	}
	if a.AndroidAppHash != "" {
		if err := validateAppHash(a.AndroidAppHash); err != nil {
			errs = append(errs, fmt.Errorf("message: android_app_hash %q: %w", a.AndroidAppHash, err))
		}
	}
	return errors.Join(errs...)
}

// validateHost checks that h is a plain DNS host name of letters, digits and
// hyphens, as the WebOTP line needs: "@" then the origin's host, and nothing
// else, up to the next space.
func validateHost(h string) error {
	if strings.Contains(h, "://") {
		return errors.New("want a host name, not a URL: leave out the scheme")
	}
	if strings.ContainsAny(h, ":/?#@ \t\r\n") {
		return errors.New("want a bare host name, without port, path or spaces")
	}
	if len(h) > 253 {
		return errors.New("host name longer than 253 characters")
	}
	if strings.HasSuffix(h, ".") {
		return errors.New("host name must not end with a dot")
	}
	if strings.EqualFold(h, "localhost") {
		return nil
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return errors.New("want a fully qualified domain name such as example.com")
	}
	for _, l := range labels {
		if l == "" {
			return errors.New("empty label")
		}
		if len(l) > 63 {
			return fmt.Errorf("label %q longer than 63 characters", l)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with a hyphen", l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				if c >= 0x80 {
					return fmt.Errorf("label %q is not ASCII: use the xn-- (punycode) form", l)
				}
				return fmt.Errorf("label %q has %q: only letters, digits and hyphens are allowed", l, c)
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return errors.New("want a domain name, not an IP address")
	}
	return nil
}

// validateAppHash checks the SMS Retriever hash: the first 11 characters of
// the base64 of a SHA-256, so 11 of [A-Za-z0-9+/].
func validateAppHash(s string) error {
	if len(s) != 11 {
		return fmt.Errorf("want 11 characters, have %d", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return fmt.Errorf("character %q is not one of A-Z a-z 0-9 + /", c)
		}
	}
	return nil
}

// apply appends a's lines to an SMS body.
func (a Autofill) apply(body, code string) (string, error) {
	if a.WebOTPHost == "" && a.AndroidAppHash == "" {
		return body, nil
	}
	var b strings.Builder
	b.WriteString(strings.TrimRight(body, " \t\r\n"))
	b.WriteString("\n")
	if a.AndroidAppHash != "" {
		b.WriteString("\n")
		b.WriteString(a.AndroidAppHash)
	}
	if a.WebOTPHost != "" {
		// The code is read up to the next whitespace, and "#" would start
		// a new field in a future version of the format.
		if strings.ContainsAny(code, " \t\r\n\f\v#") {
			return "", errors.New("message: the code cannot go in a WebOTP line: it contains whitespace or '#'")
		}
		b.WriteString("\n@")
		b.WriteString(a.WebOTPHost)
		b.WriteString(" #")
		b.WriteString(code)
	}
	return b.String(), nil
}
