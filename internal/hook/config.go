package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
)

// maxURLLen bounds a hook URL.
const maxURLLen = 2048

// Config is a pool's hooks in the JSON form stored in its settings, so
// that every node sees a change:
//
//	{
//	  "triggers": {
//	    "DefineAuthChallenge": {"url": "https://auth.example.com/hooks/define"},
//	    "PreTokenGeneration": {"url": "https://auth.example.com/hooks/tokens", "lambda_version": "V2_0"}
//	  },
//	  "secret": "whsec_…"
//	}
//
// A trigger without an entry runs Latchkey's built-in default. The secret
// signs every request (see Verify); while it is rotated, PreviousSecret
// adds a second signature so receivers can switch keys without downtime.
// Secrets are stored as they are and are never shown: String, GoString and
// LogValue leave them (and URL paths and queries) out.
type Config struct {
	// Triggers maps a trigger name (Cognito's LambdaConfig key, such as
	// "PreSignUp") to its hook.
	Triggers map[string]TriggerConfig `json:"triggers,omitempty"`
	// Secret is the signing secret: "whsec_" and the base64 of 24 to 64
	// random bytes (NewSecret makes one). Required when Triggers is not
	// empty.
	Secret string `json:"secret,omitempty"`
	// PreviousSecret, when set, also signs requests during a rotation.
	PreviousSecret string `json:"previous_secret,omitempty"`
}

// TriggerConfig is one trigger's hook.
type TriggerConfig struct {
	// URL receives the event: https, or http to a loopback host (for
	// development). It must not hold a user name or password.
	URL string `json:"url"`
	// LambdaVersion is the event version: LambdaV1 (when empty) or, for
	// PreTokenGeneration, LambdaV2.
	LambdaVersion string `json:"lambda_version,omitempty"`
}

// ParseConfig reads a Config from its JSON form and validates it. Unknown
// fields are refused, so a misspelled key is not silently ignored. An empty
// or null document is a Config with no hooks.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return c, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("hooks: %w", err)
	}
	if dec.More() {
		return Config{}, errors.New("hooks: data after the configuration")
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks trigger names, URLs, Lambda versions and secrets. Its
// errors never repeat a URL or a secret.
func (c Config) Validate() error {
	for _, name := range c.names() {
		t := c.Triggers[name]
		if !IsTrigger(name) {
			return fmt.Errorf("hooks: unknown trigger %s; want one of %s", quote(name), strings.Join(Triggers(), ", "))
		}
		if _, err := checkURL(t.URL); err != nil {
			return fmt.Errorf("hooks: trigger %s: %w", name, err)
		}
		if err := checkLambdaVersion(name, t.LambdaVersion); err != nil {
			return fmt.Errorf("hooks: %w", err)
		}
	}
	if len(c.Triggers) > 0 && c.Secret == "" {
		return errors.New("hooks: a signing secret is required when a trigger has a hook")
	}
	if c.Secret != "" {
		if _, err := parseSecret(c.Secret); err != nil {
			return fmt.Errorf("hooks: secret: %w", err)
		}
	}
	if c.PreviousSecret != "" {
		if c.Secret == "" {
			return errors.New("hooks: previous_secret is set without secret")
		}
		if _, err := parseSecret(c.PreviousSecret); err != nil {
			return fmt.Errorf("hooks: previous_secret: %w", err)
		}
	}
	return nil
}

// SetTrigger points trigger name at rawURL, keeping its Lambda version; an
// empty rawURL removes the trigger's hook (back to the default). It is the
// CLI's --trigger NAME=URL.
func (c *Config) SetTrigger(name, rawURL string) error {
	if !IsTrigger(name) {
		return fmt.Errorf("hooks: unknown trigger %s; want one of %s", quote(name), strings.Join(Triggers(), ", "))
	}
	if rawURL == "" {
		delete(c.Triggers, name)
		return nil
	}
	if _, err := checkURL(rawURL); err != nil {
		return fmt.Errorf("hooks: trigger %s: %w", name, err)
	}
	if c.Triggers == nil {
		c.Triggers = make(map[string]TriggerConfig)
	}
	t := c.Triggers[name]
	t.URL = rawURL
	c.Triggers[name] = t
	return nil
}

// secrets returns the secrets that sign requests, current first.
func (c Config) secrets() []string {
	if c.PreviousSecret != "" {
		return []string{c.Secret, c.PreviousSecret}
	}
	return []string{c.Secret}
}

// names returns the configured trigger names, sorted.
func (c Config) names() []string {
	names := make([]string, 0, len(c.Triggers))
	for name := range c.Triggers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// String lists the triggers and their hosts, without secrets, paths or
// queries.
func (c Config) String() string {
	parts := make([]string, 0, len(c.Triggers)+1)
	for _, name := range c.names() {
		parts = append(parts, name+"→"+hostOf(c.Triggers[name].URL))
	}
	if c.Secret != "" {
		parts = append(parts, "secret set")
	}
	if len(parts) == 0 {
		return "no hooks"
	}
	return strings.Join(parts, ", ")
}

// GoString keeps %#v from printing the secrets.
func (c Config) GoString() string { return "hook.Config{" + c.String() + "}" }

// LogValue keeps slog from logging the secrets.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// hostOf returns a URL's host, or "?" when it has none.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "?"
	}
	return u.Host
}

// checkURL checks a hook URL. Its errors do not repeat the URL, whose path
// or query may hold a token.
func checkURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("url is empty")
	}
	if len(raw) > maxURLLen {
		return nil, fmt.Errorf("url is longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("url cannot be parsed")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, errors.New("url must start with https://")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return nil, errors.New("url must be absolute, with a host")
	case u.User != nil:
		return nil, errors.New("url must not hold a user name or password; the request signature authenticates Latchkey")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, errors.New("url must not have a #fragment")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, errors.New("url must use https (http only to localhost or a loopback address)")
	}
	return u, nil
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
