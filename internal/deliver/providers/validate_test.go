package providers

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/pool"
)

func TestResolveSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("  file-secret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SET": " env-secret-value ", "BLANK": "  "}
	b := &Builder{Getenv: func(k string) string { return env[k] }}

	tests := []struct {
		name    string
		ref     pool.SecretRef
		want    string
		wantErr string
	}{
		{"env", pool.SecretRef{Env: "SET"}, "env-secret-value", ""},
		{"file, trimmed", pool.SecretRef{File: file}, "file-secret-value", ""},
		{"env unset", pool.SecretRef{Env: "UNSET"}, "", "environment variable UNSET is not set or empty"},
		{"env blank", pool.SecretRef{Env: "BLANK"}, "", "environment variable BLANK is not set or empty"},
		{"file missing", pool.SecretRef{File: filepath.Join(dir, "nope")}, "", "no such file"},
		{"file empty", pool.SecretRef{File: empty}, "", "is empty"},
		{"both", pool.SecretRef{Env: "SET", File: file}, "", "only one of env and file"},
		{"neither", pool.SecretRef{}, "", `want {"env"`},
		{"relative file", pool.SecretRef{File: "token"}, "", "absolute path"},
		{"bad env name", pool.SecretRef{Env: "A-B"}, "", "not an environment variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.resolveSecrets(map[string]pool.SecretRef{"auth_token": tt.ref})
			if tt.wantErr == "" {
				if err != nil || got["auth_token"] != tt.want {
					t.Fatalf("resolve = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "secret auth_token") {
				t.Fatalf("resolve error = %v, want one naming the secret and containing %q", err, tt.wantErr)
			}
			for _, secret := range []string{"env-secret-value", "file-secret-value"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		})
	}
}

func TestResolveSecretsReadError(t *testing.T) {
	b := &Builder{ReadFile: func(string) ([]byte, error) {
		return nil, &fs.PathError{Op: "open", Path: "/run/secrets/x", Err: fs.ErrPermission}
	}}
	_, err := b.resolveSecrets(map[string]pool.SecretRef{"password": {File: "/run/secrets/x"}})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("err = %v", err)
	}
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func validDelivery() *pool.Delivery {
	return &pool.Delivery{
		SMS: []pool.Provider{
			{Type: "twilio", Name: "primary", Config: raw(`{"account_sid":"AC0123456789abcdef0123456789abcdef","messaging_service_sid":"MG0123456789abcdef0123456789abcdef"}`),
				Secrets: map[string]pool.SecretRef{"auth_token": {Env: "TWILIO_AUTH_TOKEN"}}},
			{Type: "sns", Config: raw(`{"region":"us-east-1","sender_id":"Example"}`)},
		},
		Email: []pool.Provider{
			{Type: "ses", Config: raw(`{"region":"eu-west-1","from":"no-reply@example.com"}`),
				Secrets: map[string]pool.SecretRef{"access_key_id": {Env: "SES_KEY_ID"}, "secret_access_key": {File: "/run/secrets/ses"}}},
			{Type: "smtp", Config: raw(`{"host":"smtp.example.com","username":"apikey","from":"no-reply@example.com","timeout":"10s"}`),
				Secrets: map[string]pool.SecretRef{"password": {File: "/run/secrets/smtp"}}},
		},
		DefaultLocale:  "fr",
		Templates:      raw(`{"fr":{"sms":"Code {{.Code}} pour {{.AppName}}"}}`),
		Autofill:       &pool.Autofill{WebOTPHost: "example.com", AndroidAppHash: "FA+9qCX9VSu"},
		TestIdentities: []pool.TestIdentity{{Destination: "+14155550100", Code: "123456"}, {Destination: "review@example.com", Code: "654321"}},
	}
}

func TestValidateAcceptsAFullDelivery(t *testing.T) {
	if err := Validate(validDelivery(), pool.DefaultSettings()); err != nil {
		t.Fatal(err)
	}
	if err := Validate(nil, pool.DefaultSettings()); err != nil {
		t.Fatalf("Validate(nil) = %v", err)
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(d *pool.Delivery)
		want   string
	}{
		{"unknown type", func(d *pool.Delivery) { d.SMS[1].Type = "carrier-pigeon" }, `sms[1] (carrier-pigeon): unknown type "carrier-pigeon"`},
		{"missing type", func(d *pool.Delivery) { d.SMS[1].Type = "" }, `sms[1] (): type is required`},
		{"email provider on sms", func(d *pool.Delivery) { d.SMS[1].Type = "ses" }, `sms[1] (ses): type "ses" cannot send sms`},
		{"unknown field", func(d *pool.Delivery) { d.SMS[1].Config = raw(`{"regoin":"us-east-1"}`) }, `sms[1] (sns): config: unknown field "regoin"`},
		{"invalid field", func(d *pool.Delivery) { d.SMS[1].Config = raw(`{"sms_type":"Urgent"}`) }, `sms[1] (sns): sns: config: unknown sms_type "Urgent"`},
		{"secret in config", func(d *pool.Delivery) {
			d.SMS[0].Config = raw(`{"account_sid":"AC0123456789abcdef0123456789abcdef","from":"+14155550100","auth_token":"hunter2"}`)
		}, `sms[0] (primary): config field "auth_token" is a secret and is never stored`},
		{"twilio without credentials", func(d *pool.Delivery) { d.SMS[0].Secrets = nil }, `sms[0] (primary): twilio: credentials missing`},
		{"unknown secret", func(d *pool.Delivery) { d.SMS[1].Secrets = map[string]pool.SecretRef{"password": {Env: "X"}} }, `sms[1] (sns): secret "password": provider type "sns" takes only access_key_id, secret_access_key, session_token`},
		{"half an AWS key", func(d *pool.Delivery) { delete(d.Email[0].Secrets, "secret_access_key") }, `email[0] (ses): secrets access_key_id and secret_access_key go together`},
		{"bad secret ref", func(d *pool.Delivery) { d.Email[1].Secrets["password"] = pool.SecretRef{File: "relative"} }, `email[1] (smtp): secret password: file "relative" must be an absolute path`},
		{"smtp missing from", func(d *pool.Delivery) { d.Email[1].Config = raw(`{"host":"smtp.example.com","username":"apikey"}`) }, `email[1] (smtp): smtp: from is required`},
		{"smtp secret in config", func(d *pool.Delivery) {
			d.Email[1].Config = raw(`{"host":"smtp.example.com","from":"a@example.com","password":"x"}`)
		}, `config field "password" is a secret`},
		{"config not an object", func(d *pool.Delivery) { d.Email[0].Config = raw(`["x"]`) }, `email[0] (ses): config is not a JSON object`},
		{"dev provider takes no config", func(d *pool.Delivery) { d.SMS[1] = pool.Provider{Type: "log", Config: raw(`{"level":"debug"}`)} }, `sms[1] (log): config: unknown field "level"`},
		{"bad template", func(d *pool.Delivery) { d.Templates = raw(`{"fr":{"sms":"no code here"}}`) }, `delivery: templates:`},
		{"unknown template field", func(d *pool.Delivery) { d.Templates = raw(`{"fr":{"body":"{{.Code}}"}}`) }, `unknown field "body"`},
		{"bad locale", func(d *pool.Delivery) { d.DefaultLocale = "not a locale" }, `default locale`},
		{"bad autofill", func(d *pool.Delivery) { d.Autofill.WebOTPHost = "https://example.com" }, `autofill: message: webotp_host`},
		{"test code too short", func(d *pool.Delivery) { d.TestIdentities[0].Code = "1234" }, `test_identities[0]: code for +14155550100 must be 6 digits`},
		{"test code not digits", func(d *pool.Delivery) { d.TestIdentities[0].Code = "12345a" }, `must be 6 digits`},
		{"test destination not normal", func(d *pool.Delivery) { d.TestIdentities[1].Destination = "Review@Example.com" }, `write it as "review@example.com"`},
		{"test destination invalid", func(d *pool.Delivery) { d.TestIdentities[0].Destination = "12" }, `test_identities[0]: destination:`},
		{"test destination twice", func(d *pool.Delivery) {
			d.TestIdentities = append(d.TestIdentities, pool.TestIdentity{Destination: "+14155550100", Code: "111111"})
		}, `test_identities[2]: destination "+14155550100" is listed twice`},
		{"too many providers", func(d *pool.Delivery) {
			for range maxProviders {
				d.SMS = append(d.SMS, d.SMS[1])
			}
		}, `sms: 10 providers, at most 8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDelivery()
			tt.change(d)
			err := Validate(d, pool.DefaultSettings())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v\nwant an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q reveals a secret", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	d := validDelivery()
	d.SMS[0].Type = "nope"
	d.Email[1].Config = raw(`{}`)
	d.TestIdentities[0].Code = "1"
	err := Validate(d, pool.DefaultSettings())
	for _, want := range []string{"sms[0]", "email[1]", "test_identities[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to mention %s", err, want)
		}
	}
}

func TestLinksBuildRealProviders(t *testing.T) {
	env := map[string]string{"TWILIO_AUTH_TOKEN": "token", "SES_KEY_ID": "AKID"}
	b := &Builder{
		Getenv:   func(k string) string { return env[k] },
		ReadFile: func(string) ([]byte, error) { return []byte("secret\n"), nil },
		LoadAWSConfig: func(context.Context) (aws.Config, error) {
			return aws.Config{}, nil
		},
	}
	d := validDelivery()
	ctx := context.Background()
	for _, l := range append(b.Links(ctx, deliver.ChannelSMS, d.SMS), b.Links(ctx, deliver.ChannelEmail, d.Email)...) {
		switch {
		case strings.Contains(l.Name, "sns"):
			// The default chain gave no credentials and the pool none.
			if l.Err == nil || !strings.Contains(l.Err.Error(), "no AWS credentials") {
				t.Errorf("%s: err = %v, want no AWS credentials", l.Name, l.Err)
			}
		case l.Err != nil || l.Sender == nil:
			t.Errorf("%s: not built: %v", l.Name, l.Err)
		}
	}
	if got := b.Links(ctx, deliver.ChannelSMS, d.SMS)[0].Name; got != "sms[0] primary (twilio)" {
		t.Errorf("link name %q", got)
	}

	// Dev providers need a dev server.
	devOnly := []pool.Provider{{Type: "log"}, {Type: "outbox"}}
	for _, l := range b.Links(ctx, deliver.ChannelSMS, devOnly) {
		if l.Err == nil || !strings.Contains(l.Err.Error(), "--dev") {
			t.Errorf("%s built without --dev: %v", l.Name, l.Err)
		}
	}
	dev := &Builder{Dev: true, Outbox: deliver.NewOutbox(1, nil)}
	for _, l := range dev.Links(ctx, deliver.ChannelSMS, devOnly) {
		if l.Err != nil {
			t.Errorf("%s with --dev: %v", l.Name, l.Err)
		}
	}
}

func TestUnresolved(t *testing.T) {
	b := &Builder{Getenv: func(string) string { return "" }, ReadFile: func(string) ([]byte, error) { return nil, errors.New("nope") }}
	got := strings.Join(b.Unresolved(validDelivery()), "\n")
	for _, want := range []string{"sms[0] (primary) secret auth_token: environment variable TWILIO_AUTH_TOKEN", "email[0] (ses)", "email[1] (smtp) secret password: file /run/secrets/smtp"} {
		if !strings.Contains(got, want) {
			t.Errorf("Unresolved =\n%s\nwant a line containing %q", got, want)
		}
	}
}

// TestDocsExamplesValidate keeps docs/delivery.md honest: every block
// fenced as "json delivery-file" is a whole delivery file that validates.
func TestDocsExamplesValidate(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/delivery.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json delivery-file\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 4 {
		t.Fatalf("found %d delivery-file examples in docs/delivery.md, want one per provider at least", len(blocks))
	}
	types := map[string]bool{}
	for i, b := range blocks {
		dec := json.NewDecoder(strings.NewReader(string(b[1])))
		dec.DisallowUnknownFields()
		var d pool.Delivery
		if err := dec.Decode(&d); err != nil {
			t.Errorf("example %d does not decode: %v\n%s", i, err, b[1])
			continue
		}
		if err := Validate(&d, pool.DefaultSettings()); err != nil {
			t.Errorf("example %d does not validate: %v\n%s", i, err, b[1])
		}
		for _, p := range append(d.SMS, d.Email...) {
			types[p.Type] = true
		}
	}
	for _, typ := range []string{TypeSNS, TypeTwilio, TypeSES, TypeSMTP, TypeWebhook} {
		if !types[typ] {
			t.Errorf("docs/delivery.md has no worked example for %s", typ)
		}
	}
}
