package hook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/hook"
)

func TestParseConfig(t *testing.T) {
	secret := testSecret(t)
	doc := fmt.Sprintf(`{
		"triggers": {
			"DefineAuthChallenge": {"url": "https://auth.example.com/hooks/define"},
			"PreTokenGeneration": {"url": "https://auth.example.com/hooks/tokens", "lambda_version": "V2_0"},
			"PreSignUp": {"url": "http://127.0.0.1:8080/signup"}
		},
		"secret": %q
	}`, secret)
	c, err := hook.ParseConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Triggers) != 3 || c.Triggers[hook.PreTokenGeneration].LambdaVersion != hook.LambdaV2 || c.Secret != secret {
		t.Fatalf("parsed %#v", c.Triggers)
	}
	// It round-trips through its JSON form.
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	again, err := hook.ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again.Triggers) != fmt.Sprint(c.Triggers) || again.Secret != c.Secret {
		t.Errorf("round trip: %s", data)
	}
	for _, empty := range []string{"", "null", " {} "} {
		c, err := hook.ParseConfig([]byte(empty))
		if err != nil || len(c.Triggers) != 0 {
			t.Errorf("ParseConfig(%q) = %v, %v", empty, c, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	secret := testSecret(t)
	tests := []struct {
		name string
		doc  string
		want string // part of the error; "" for valid
	}{
		{"valid", `{"triggers":{"PreSignUp":{"url":"https://h.example.com/x?token=abc"}},"secret":"` + secret + `"}`, ""},
		{"localhost http", `{"triggers":{"PreSignUp":{"url":"http://localhost:3000/x"}},"secret":"` + secret + `"}`, ""},
		{"ipv6 loopback http", `{"triggers":{"PreSignUp":{"url":"http://[::1]:3000/x"}},"secret":"` + secret + `"}`, ""},
		{"secret alone", `{"secret":"` + secret + `"}`, ""},
		{"unknown trigger", `{"triggers":{"CustomMessage":{"url":"https://h.example.com"}},"secret":"` + secret + `"}`, `unknown trigger "CustomMessage"; want one of PreSignUp,`},
		{"lower-case trigger", `{"triggers":{"presignup":{"url":"https://h.example.com"}},"secret":"` + secret + `"}`, `unknown trigger "presignup"`},
		{"http to a remote host", `{"triggers":{"PreSignUp":{"url":"http://h.example.com/x"}},"secret":"` + secret + `"}`, "url must use https (http only to localhost or a loopback address)"},
		{"http to a private address", `{"triggers":{"PreSignUp":{"url":"http://10.0.0.8/x"}},"secret":"` + secret + `"}`, "url must use https"},
		{"userinfo", `{"triggers":{"PreSignUp":{"url":"https://bob:hunter2@h.example.com/x"}},"secret":"` + secret + `"}`, "must not hold a user name or password"},
		{"fragment", `{"triggers":{"PreSignUp":{"url":"https://h.example.com/x#y"}},"secret":"` + secret + `"}`, "#fragment"},
		{"relative", `{"triggers":{"PreSignUp":{"url":"/hooks"}},"secret":"` + secret + `"}`, "url must start with https://"},
		{"no host", `{"triggers":{"PreSignUp":{"url":"https:///hooks"}},"secret":"` + secret + `"}`, "url must be absolute, with a host"},
		{"empty url", `{"triggers":{"PreSignUp":{"url":""}},"secret":"` + secret + `"}`, "url is empty"},
		{"v2 on presignup", `{"triggers":{"PreSignUp":{"url":"https://h.example.com","lambda_version":"V2_0"}},"secret":"` + secret + `"}`, "only V1_0 exists"},
		{"unknown token version", `{"triggers":{"PreTokenGeneration":{"url":"https://h.example.com","lambda_version":"V9_0"}},"secret":"` + secret + `"}`, "want V1_0 or V2_0"},
		{"no secret", `{"triggers":{"PreSignUp":{"url":"https://h.example.com"}}}`, "a signing secret is required"},
		{"short secret", `{"triggers":{"PreSignUp":{"url":"https://h.example.com"}},"secret":"whsec_c2hvcnQ="}`, "secret: webhook secret must be whsec_"},
		{"previous without current", `{"previous_secret":"` + secret + `"}`, "previous_secret is set without secret"},
		{"bad previous", `{"secret":"` + secret + `","previous_secret":"whsec_!"}`, "previous_secret: webhook secret must be"},
		{"unknown field", `{"trigers":{}}`, `unknown field "trigers"`},
		{"trailing data", `{} {}`, "data after the configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := hook.ParseConfig([]byte(tt.doc))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if err != nil {
				for _, secretPart := range []string{"hunter2", secret, "token=abc"} {
					if strings.Contains(err.Error(), secretPart) {
						t.Errorf("the error shows %q: %v", secretPart, err)
					}
				}
			}
		})
	}
}

func TestConfigSetTrigger(t *testing.T) {
	var c hook.Config
	if err := c.SetTrigger(hook.DefineAuthChallenge, "https://h.example.com/define"); err != nil {
		t.Fatal(err)
	}
	c.Triggers[hook.DefineAuthChallenge] = hook.TriggerConfig{URL: c.Triggers[hook.DefineAuthChallenge].URL, LambdaVersion: hook.LambdaV1}
	if err := c.SetTrigger(hook.DefineAuthChallenge, "https://h.example.com/define2"); err != nil {
		t.Fatal(err)
	}
	if got := c.Triggers[hook.DefineAuthChallenge]; got.URL != "https://h.example.com/define2" || got.LambdaVersion != hook.LambdaV1 {
		t.Errorf("after a second set: %+v", got)
	}
	if err := c.SetTrigger(hook.DefineAuthChallenge, ""); err != nil || len(c.Triggers) != 0 {
		t.Errorf("removing: %v, %v", err, c.Triggers)
	}
	if err := c.SetTrigger("Define", "https://h.example.com"); err == nil {
		t.Error("an unknown trigger was set")
	}
	if err := c.SetTrigger(hook.PreSignUp, "http://h.example.com"); err == nil {
		t.Error("an http URL was set")
	}
}

func TestConfigHidesSecrets(t *testing.T) {
	secret := testSecret(t)
	c := hook.Config{
		Triggers: map[string]hook.TriggerConfig{hook.PreSignUp: {URL: "https://h.example.com/p4th?token=t0k3n"}},
		Secret:   secret, PreviousSecret: testSecret(t),
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "hooks", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v %#v %s", c, c, c), logs.String()} {
		for _, secretPart := range []string{secret, c.PreviousSecret, "t0k3n", "p4th"} {
			if strings.Contains(s, secretPart) {
				t.Errorf("%q shows %q", s, secretPart)
			}
		}
		if !strings.Contains(s, "PreSignUp→h.example.com") {
			t.Errorf("%q does not say where the hook is", s)
		}
	}
}
