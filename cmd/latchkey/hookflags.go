package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// hookFlags are the flags of pools update that set a pool's hooks
// (Cognito's Lambda triggers, as webhooks): see docs/hooks.md. The signing
// secret a pool's webhooks are signed with is shown once, when Latchkey
// makes it, and never again.
type hookFlags struct {
	// triggers are the --trigger values in order; an empty url removes.
	triggers []triggerFlag
	// versions are the --trigger-version values in order.
	versions []triggerFlag
	// secret is --hook-secret (also LATCHKEY_HOOK_SECRET); secretGiven
	// says it was set, even to "".
	secret       string
	secretGiven  bool
	rotate       bool
	dropPrevious bool
}

// triggerFlag is one NAME=VALUE of --trigger or --trigger-version.
type triggerFlag struct{ name, value string }

// parseTriggerFlag splits NAME=VALUE and checks NAME. Its errors never
// repeat VALUE, which may be a URL holding a token.
func parseTriggerFlag(v, want string) (triggerFlag, error) {
	name, value, ok := strings.Cut(v, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return triggerFlag{}, fmt.Errorf("want %s", want)
	}
	if !hook.IsTrigger(name) {
		return triggerFlag{}, fmt.Errorf("unknown trigger %q; want one of %s (Cognito's LambdaConfig keys)", name, strings.Join(hook.Triggers(), ", "))
	}
	return triggerFlag{name: name, value: strings.TrimSpace(value)}, nil
}

func defineHookFlags(fs *flag.FlagSet) *hookFlags {
	hf := &hookFlags{}
	fs.Func("trigger", "replace a step with a webhook, NAME=URL, or go back to the built-in step with NAME= (repeatable, command line only); NAME is Cognito's LambdaConfig key ("+strings.Join(hook.Triggers(), ", ")+"); URL is https, or http to localhost", func(v string) error {
		t, err := parseTriggerFlag(v, "NAME=URL or NAME=")
		if err != nil {
			return err
		}
		hf.triggers = append(hf.triggers, t)
		return nil
	})
	fs.Func("trigger-version", "set a trigger's event version, NAME=V1_0 or NAME=V2_0 (repeatable, command line only; V2_0: PreTokenGeneration only, to customize the access token too)", func(v string) error {
		t, err := parseTriggerFlag(v, "NAME=V1_0 or NAME=V2_0")
		if err != nil {
			return err
		}
		switch t.value {
		case "", hook.LambdaV1, hook.LambdaV2:
		default:
			return fmt.Errorf("version %q: want %s or %s", t.value, hook.LambdaV1, hook.LambdaV2)
		}
		hf.versions = append(hf.versions, t)
		return nil
	})
	fs.StringVar(&hf.secret, "hook-secret", "", "the webhook signing secret to use (whsec_ and base64 of 24-64 bytes) when one is set or rotated, instead of a generated one; prefer LATCHKEY_HOOK_SECRET, which stays out of shell history")
	fs.BoolVar(&hf.rotate, "rotate-hook-secret", false, "start a rotation: a new signing secret (generated and shown once, or --hook-secret) signs alongside the current one until --drop-previous-hook-secret (command line only)")
	fs.BoolVar(&hf.dropPrevious, "drop-previous-hook-secret", false, "end a rotation: stop signing with the previous secret (command line only)")
	return hf
}

// commandLineOnly are the hook flags that act once: taking them from the
// environment would redo them on every pools update run in that shell.
var commandLineOnly = []string{"trigger", "trigger-version", "rotate-hook-secret", "drop-previous-hook-secret"}

// withoutActionEnv returns getenv without the variables of commandLineOnly.
func withoutActionEnv(getenv func(string) string) func(string) string {
	return func(k string) string {
		for _, name := range commandLineOnly {
			if k == config.EnvName(name) {
				return ""
			}
		}
		return getenv(k)
	}
}

// given records whether --hook-secret was set (on the command line or
// from the environment); call it after parsing.
func (hf *hookFlags) given(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "hook-secret" {
			hf.secretGiven = true
		}
	})
}

// hookChange is what apply did: lines a person reads, without secrets or
// URL paths, and the secret to show once ("" when none was made).
type hookChange struct {
	lines     []string
	newSecret string
}

// apply changes the pool's hook configuration in s by the flags that were
// given, validates the result, and stores it back in s. newSecret makes a
// signing secret (hook.NewSecret over crypto/rand in production). Without
// hook flags it changes nothing.
func (hf *hookFlags) apply(s *pool.Settings, newSecret func() (string, error)) (hookChange, error) {
	var ch hookChange
	if len(hf.triggers) == 0 && len(hf.versions) == 0 && !hf.secretGiven && !hf.rotate && !hf.dropPrevious {
		return ch, nil
	}
	if hf.rotate && hf.dropPrevious {
		return ch, errors.New("--rotate-hook-secret and --drop-previous-hook-secret: start a rotation and end it in two steps, once every receiver has the new secret")
	}
	cfg, err := hook.ParseConfig(s.Hooks)
	if err != nil {
		return ch, fmt.Errorf("the pool's stored hook configuration cannot be read: %w", err)
	}
	before := cloneHookConfig(cfg)

	for _, t := range hf.triggers {
		if err := cfg.SetTrigger(t.name, t.value); err != nil {
			return ch, fmt.Errorf("--trigger %s: %w", t.name, err)
		}
	}
	for _, v := range hf.versions {
		tc, ok := cfg.Triggers[v.name]
		if !ok {
			return ch, fmt.Errorf("--trigger-version %s: the trigger has no hook; give --trigger %s=URL too", v.name, v.name)
		}
		tc.LambdaVersion = v.value
		if tc.LambdaVersion == hook.LambdaV1 {
			tc.LambdaVersion = "" // the default, stored as such
		}
		cfg.Triggers[v.name] = tc
	}

	secretLine := ""
	given := strings.TrimSpace(hf.secret)
	if hf.secretGiven && given == "" {
		return ch, errors.New("--hook-secret is empty")
	}
	switch {
	case hf.rotate:
		if cfg.Secret == "" {
			return ch, errors.New("--rotate-hook-secret: the pool has no signing secret to rotate yet; set a trigger first")
		}
		next := given
		if next == "" {
			if next, err = newSecret(); err != nil {
				return ch, err
			}
			ch.newSecret = next
		}
		if next == cfg.Secret {
			return ch, errors.New("--rotate-hook-secret: the new secret is the current one")
		}
		if cfg.PreviousSecret != "" {
			secretLine = "signing secret: rotated; the secret before the previous one no longer signs"
		} else {
			secretLine = "signing secret: rotated; requests carry two signatures (new and previous) until --drop-previous-hook-secret"
		}
		cfg.PreviousSecret, cfg.Secret = cfg.Secret, next
	case hf.secretGiven && cfg.Secret == "":
		cfg.Secret = given
		secretLine = "signing secret: set (the one given)"
	case hf.secretGiven && given != cfg.Secret:
		// Replacing the secret outright would break every receiver at
		// once; a rotation lets them switch at their own pace.
		return ch, errors.New("--hook-secret (or LATCHKEY_HOOK_SECRET) differs from the pool's signing secret; to change it, add --rotate-hook-secret (the current one keeps signing until --drop-previous-hook-secret)")
	}
	if hf.dropPrevious {
		if cfg.PreviousSecret != "" {
			cfg.PreviousSecret = ""
			secretLine = "signing secret: rotation finished; only the current secret signs"
		}
	}
	if len(cfg.Triggers) > 0 && cfg.Secret == "" {
		next, err := newSecret()
		if err != nil {
			return ch, err
		}
		cfg.Secret, ch.newSecret = next, next
		secretLine = "signing secret: generated"
	}
	if err := cfg.Validate(); err != nil {
		return ch, err
	}
	raw, err := encodeHookConfig(cfg)
	if err != nil {
		return ch, err
	}
	s.Hooks = raw
	ch.lines = hookChanges(before, cfg)
	if secretLine != "" {
		ch.lines = append(ch.lines, secretLine)
	}
	return ch, nil
}

// encodeHookConfig returns cfg's JSON form, nil for a configuration with
// nothing in it (the pool then has no hooks key at all).
func encodeHookConfig(cfg hook.Config) (json.RawMessage, error) {
	if len(cfg.Triggers) == 0 && cfg.Secret == "" && cfg.PreviousSecret == "" {
		return nil, nil
	}
	if len(cfg.Triggers) == 0 {
		cfg.Triggers = nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cfg); err != nil {
		return nil, fmt.Errorf("encode hooks: %w", err)
	}
	return json.RawMessage(bytes.TrimSpace(buf.Bytes())), nil
}

func cloneHookConfig(c hook.Config) hook.Config {
	out := c
	out.Triggers = make(map[string]hook.TriggerConfig, len(c.Triggers))
	for k, v := range c.Triggers {
		out.Triggers[k] = v
	}
	return out
}

// hookChanges describes the triggers that changed, in the order of a
// sign-up and a sign-in, by host only: a URL's path or query may hold a
// token.
func hookChanges(before, after hook.Config) []string {
	var out []string
	for _, name := range hook.Triggers() {
		b, hadB := before.Triggers[name]
		a, hasA := after.Triggers[name]
		switch {
		case !hadB && !hasA:
		case !hasA:
			out = append(out, fmt.Sprintf("%s: built-in (was: webhook at %s)", name, urlHost(b.URL)))
		case !hadB:
			out = append(out, fmt.Sprintf("%s: webhook at %s%s (was: built-in)", name, urlHost(a.URL), versionNote(name, a.LambdaVersion)))
		case a.URL != b.URL:
			out = append(out, fmt.Sprintf("%s: webhook at %s%s (was: webhook at %s)", name, urlHost(a.URL), versionNote(name, a.LambdaVersion), urlHost(b.URL)))
		case lambdaVersion(a.LambdaVersion) != lambdaVersion(b.LambdaVersion):
			out = append(out, fmt.Sprintf("%s: event version %s (was: %s)", name, lambdaVersion(a.LambdaVersion), lambdaVersion(b.LambdaVersion)))
		}
	}
	return out
}

func lambdaVersion(v string) string {
	if v == "" {
		return hook.LambdaV1
	}
	return v
}

// versionNote names a non-default event version.
func versionNote(name, v string) string {
	if name == hook.PreTokenGeneration || v != "" {
		return ", event version " + lambdaVersion(v)
	}
	return ""
}

// urlHost returns a URL's host, never its path, query or user info.
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Host
}

// hookSummary is a pool's hook configuration as the CLI shows it: trigger
// names, the host of each URL, and whether secrets are set, never the
// secrets themselves nor a URL's path or query.
type hookSummary struct {
	Triggers       map[string]triggerSummary `json:"triggers,omitempty"`
	Secret         string                    `json:"secret,omitempty"`
	PreviousSecret string                    `json:"previous_secret,omitempty"`
	Error          string                    `json:"error,omitempty"`
}

type triggerSummary struct {
	Host          string `json:"host"`
	LambdaVersion string `json:"lambda_version"`
}

// redactHooks returns the JSON that pools show prints for a pool's stored
// hook configuration, nil when it has none.
func redactHooks(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var sum hookSummary
	cfg, err := hook.ParseConfig(raw)
	if err != nil {
		// ParseConfig's errors repeat no secret or URL.
		sum.Error = "invalid: " + err.Error()
	}
	for name, t := range cfg.Triggers {
		if sum.Triggers == nil {
			sum.Triggers = map[string]triggerSummary{}
		}
		sum.Triggers[name] = triggerSummary{Host: urlHost(t.URL), LambdaVersion: lambdaVersion(t.LambdaVersion)}
	}
	if cfg.Secret != "" {
		sum.Secret = "set"
	}
	if cfg.PreviousSecret != "" {
		sum.PreviousSecret = "set (rotation in progress)"
	}
	out, err := json.Marshal(sum)
	if err != nil {
		return json.RawMessage(`{"error":"cannot be shown"}`)
	}
	return out
}

// printHookSecret shows a secret Latchkey made, the only time it is shown.
func printHookSecret(w io.Writer, secret string) {
	if secret == "" {
		return
	}
	fmt.Fprintf(w, "Signing secret (shown once): %s\n", secret)
	fmt.Fprintln(w, "Give it to your hook receivers (LATCHKEY_HOOK_SECRET in docs/hooks.md); it cannot be shown again, only rotated.")
}
