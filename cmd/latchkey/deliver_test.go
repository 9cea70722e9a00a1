package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	cliTwilioSID   = "AC0123456789abcdef0123456789abcdef"
	cliTwilioToken = "cli-twilio-token-value"
)

// cliTwilio is a local fake of Twilio's Messages API.
type cliTwilio struct {
	srv  *httptest.Server
	mu   sync.Mutex
	down bool
	sent []url.Values
}

func newCLITwilio(t *testing.T, down bool) *cliTwilio {
	t.Helper()
	f := &cliTwilio{down: down}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		user, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case user != cliTwilioSID || pass != cliTwilioToken:
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"code": 20003, "message": "Authenticate", "status": 401}`)
		case f.down:
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"code": 20503, "message": "Service unavailable", "status": 503}`)
		default:
			f.sent = append(f.sent, form)
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"sid": "SM1", "status": "queued"}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *cliTwilio) messages() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.sent...)
}

func (f *cliTwilio) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// cli runs latchkey with args and env, and returns its exit code and output.
func cli(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func createPool(t *testing.T, dir string) string {
	t.Helper()
	code, out, errOut := cli(t, nil, "pools", "create", "--data", dir, "--name", "shop", "--json")
	if code != 0 {
		t.Fatalf("pools create: exit %d: %s", code, errOut)
	}
	var created struct{ ID string }
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	return created.ID
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func twilioProvider(name, baseURL string) string {
	return `{"type": "twilio", "name": "` + name + `",
	  "config": {"account_sid": "` + cliTwilioSID + `", "from": "+14155550000", "base_url": "` + baseURL + `"},
	  "secrets": {"auth_token": {"env": "TW_TOKEN"}}}`
}

func TestPoolsUpdateDeliveryFile(t *testing.T) {
	dir := t.TempDir()
	id := createPool(t, dir)
	file := writeFile(t, dir, "delivery.json", `{"sms": [`+twilioProvider("primary", "http://127.0.0.1:1")+`],
	  "default_locale": "fr", "autofill": {"webotp_host": "example.com"}}`)

	// Without the variable here, it is stored with a note: the nodes need it.
	code, out, errOut := cli(t, nil, "pools", "update", id, "--data", dir, "--delivery-file", file)
	if code != 0 {
		t.Fatalf("pools update: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Updated user pool " + id,
		`sms providers: twilio "primary" [auth_token from env TW_TOKEN] (was: none (the server's default sender))`,
		"default locale: fr (was: en)",
		"autofill: webotp_host=example.com (was: none)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "note: sms[0] (primary) secret auth_token: environment variable TW_TOKEN is not set or empty on this machine; every server node needs it") {
		t.Errorf("no note about the missing secret:\n%s", errOut)
	}

	// pools show has the references, never a value.
	_, shown, _ := cli(t, nil, "pools", "show", id, "--data", dir)
	if !strings.Contains(shown, `"env": "TW_TOKEN"`) || !strings.Contains(shown, `"webotp_host": "example.com"`) {
		t.Errorf("pools show:\n%s", shown)
	}

	// A secret written into the config is refused, and nothing changes.
	bad := writeFile(t, dir, "bad.json", `{"sms": [{"type": "twilio", "config": {"account_sid": "`+cliTwilioSID+
		`", "from": "+14155550000", "auth_token": "hunter2"}}]}`)
	code, out, errOut = cli(t, nil, "pools", "update", id, "--data", dir, "--delivery-file", bad)
	if code != 1 || !strings.Contains(errOut, `sms[0] (twilio): config field "auth_token" is a secret`) {
		t.Fatalf("secret in config: exit %d:\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "hunter2") {
		t.Error("the refused secret was echoed")
	}
	_, after, _ := cli(t, nil, "pools", "show", id, "--data", dir)
	if after != shown {
		t.Errorf("a refused update changed the pool:\n%s", after)
	}

	// Unknown fields in the file itself are refused too.
	typo := writeFile(t, dir, "typo.json", `{"smss": []}`)
	if code, _, errOut := cli(t, nil, "pools", "update", id, "--data", dir, "--delivery-file", typo); code != 1 || !strings.Contains(errOut, `unknown field "smss"`) {
		t.Errorf("typo: exit %d: %s", code, errOut)
	}

	// null removes the delivery settings.
	none := writeFile(t, dir, "none.json", "null")
	code, out, errOut = cli(t, nil, "pools", "update", id, "--data", dir, "--delivery-file", none)
	if code != 0 || !strings.Contains(out, "sms providers: none (the server's default sender) (was: twilio") {
		t.Errorf("null: exit %d:\n%s%s", code, out, errOut)
	}
}

func TestPoolsUpdateTestIdentities(t *testing.T) {
	dir := t.TempDir()
	id := createPool(t, dir)
	code, out, errOut := cli(t, nil, "pools", "update", id, "--data", dir,
		"--test-identity", "+1 415 555 0100=123456", "--test-identity", "Review@Example.com=654321")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"test identity added: +14155550100", "test identity added: review@example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "123456") {
		t.Error("the test code was printed")
	}
	_, shown, _ := cli(t, nil, "pools", "show", id, "--data", dir)
	if !strings.Contains(shown, `"destination": "+14155550100"`) || !strings.Contains(shown, `"destination": "review@example.com"`) {
		t.Errorf("pools show:\n%s", shown)
	}

	code, out, _ = cli(t, nil, "pools", "update", id, "--data", dir, "--test-identity", "+14155550100=111111", "--test-identity", "review@example.com=")
	if code != 0 || !strings.Contains(out, "test identity code changed: +14155550100") || !strings.Contains(out, "test identity removed: review@example.com") {
		t.Errorf("change and remove: exit %d:\n%s", code, out)
	}

	// The code must be as long as the pool's codes (6 by default).
	code, _, errOut = cli(t, nil, "pools", "update", id, "--data", dir, "--test-identity", "+14155550101=1234")
	if code != 1 || !strings.Contains(errOut, "must be 6 digits") {
		t.Errorf("short code: exit %d: %s", code, errOut)
	}
	code, _, errOut = cli(t, nil, "pools", "update", id, "--data", dir, "--test-identity", "not-a-number=123456")
	if code != 2 || !strings.Contains(errOut, "phone number") {
		t.Errorf("bad destination: exit %d: %s", code, errOut)
	}
}

func TestDeliverTest(t *testing.T) {
	dir := t.TempDir()
	id := createPool(t, dir)
	primary, backup := newCLITwilio(t, true), newCLITwilio(t, false)
	file := writeFile(t, dir, "delivery.json", `{"sms": [`+twilioProvider("primary", primary.srv.URL)+`, `+twilioProvider("backup", backup.srv.URL)+`]}`)
	env := map[string]string{"TW_TOKEN": cliTwilioToken}
	if code, _, errOut := cli(t, env, "pools", "update", id, "--data", dir, "--delivery-file", file); code != 0 {
		t.Fatalf("pools update: %s", errOut)
	}

	// The first provider is down: the second delivers.
	code, out, errOut := cli(t, env, "deliver", "test", "--pool", id, "--to", "+1 (415) 555-2671", "--data", dir)
	if code != 0 {
		t.Fatalf("deliver test: exit %d:\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"sms[0] primary (twilio): failed (transient) after",
		"HTTP 503",
		"sms[1] backup (twilio): delivered in",
		"Delivered to +14155552671 by sms[1] backup (twilio).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	msgs := backup.messages()
	if len(msgs) != 1 || msgs[0].Get("To") != "+14155552671" || !strings.Contains(msgs[0].Get("Body"), "Latchkey delivery test for shop") {
		t.Errorf("backup received %v", msgs)
	}
	if strings.Contains(out+errOut, cliTwilioToken) {
		t.Error("the output contains the auth token")
	}

	// All down: each failure is reported and the command fails.
	backup.setDown(true)
	code, out, errOut = cli(t, env, "deliver", "test", "--pool", id, "--to", "+14155552671", "--data", dir)
	if code != 1 || !strings.Contains(errOut, "no provider delivered the test message") || strings.Count(out, "failed (transient)") != 2 {
		t.Errorf("all down: exit %d:\n%s%s", code, out, errOut)
	}

	// A missing secret is reported as such, before any request.
	code, out, _ = cli(t, nil, "deliver", "test", "--pool", id, "--to", "+14155552671", "--data", dir)
	if code != 1 || !strings.Contains(out, "sms[0] primary (twilio): skipped: not configured: secret auth_token: environment variable TW_TOKEN is not set or empty") {
		t.Errorf("missing secret: exit %d:\n%s", code, out)
	}

	// No email provider: nothing to test.
	code, _, errOut = cli(t, env, "deliver", "test", "--pool", id, "--to", "a@example.com", "--data", dir)
	if code != 1 || !strings.Contains(errOut, "configures no email provider") {
		t.Errorf("no email provider: exit %d: %s", code, errOut)
	}
	// Usage errors.
	if code, _, _ := cli(t, env, "deliver", "test", "--pool", id, "--data", dir); code != 2 {
		t.Errorf("missing --to: exit %d", code)
	}
	if code, _, _ := cli(t, env, "deliver", "test", "--pool", id, "--to", "x", "--channel", "fax", "--data", dir); code != 2 {
		t.Errorf("bad --channel: exit %d", code)
	}
}
