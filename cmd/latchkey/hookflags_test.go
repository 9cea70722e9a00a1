package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// secretLine finds the secret pools update shows once.
var secretLine = regexp.MustCompile(`Signing secret \(shown once\): (whsec_[A-Za-z0-9+/=]+)`)

// storedHooks reads a pool's hook configuration from the store, as the
// server does.
func storedHooks(t *testing.T, dir, poolID string) hook.Config {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.GetPool(context.Background(), poolID)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := hook.ParseConfig(p.Settings.Hooks)
	if err != nil {
		t.Fatalf("stored hooks do not parse: %v", err)
	}
	return cfg
}

// mustCLI runs latchkey and fails the test unless it exits 0.
func mustCLI(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	code, out, errOut := cli(t, env, args...)
	if code != 0 {
		t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestPoolsUpdateTriggers(t *testing.T) {
	dir := t.TempDir()
	poolID := createPool(t, dir)
	const define = "https://hooks.example.com/cognito/define?token=url-token-value"

	out := mustCLI(t, nil, "pools", "update", poolID, "--data", dir,
		"--trigger", "DefineAuthChallenge="+define,
		"--trigger", "CreateAuthChallenge=https://hooks.example.com/create",
		"--trigger", "VerifyAuthChallengeResponse=http://127.0.0.1:9000/verify")
	m := secretLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the first trigger shows no secret:\n%s", out)
	}
	secret := m[1]
	for _, want := range []string{
		"DefineAuthChallenge: webhook at hooks.example.com (was: built-in)",
		"CreateAuthChallenge: webhook at hooks.example.com (was: built-in)",
		"VerifyAuthChallengeResponse: webhook at 127.0.0.1:9000 (was: built-in)",
		"signing secret: generated",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "url-token-value") || strings.Contains(out, "/cognito/define") {
		t.Errorf("output shows a URL's path or query:\n%s", out)
	}
	if strings.Count(out, secret) != 1 {
		t.Errorf("the secret is shown %d times, want once", strings.Count(out, secret))
	}

	cfg := storedHooks(t, dir, poolID)
	if cfg.Secret != secret || cfg.PreviousSecret != "" {
		t.Errorf("stored secret differs from the one shown")
	}
	if cfg.Triggers["DefineAuthChallenge"].URL != define || len(cfg.Triggers) != 3 {
		t.Errorf("stored triggers = %v", cfg)
	}
	// The stored secret signs what a receiver verifies with the shown one.
	sig, err := hook.Sign(cfg.Secret, "msg_1", time.Unix(1700000000, 0), []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(hook.HeaderID, "msg_1")
	h.Set(hook.HeaderTimestamp, "1700000000")
	h.Set(hook.HeaderSignature, sig)
	if err := hook.Verify(secret, h, []byte("{}"), time.Unix(1700000000, 0), 0); err != nil {
		t.Errorf("a request signed with the stored secret does not verify with the shown one: %v", err)
	}

	// pools show: trigger names, hosts and "set", never the secret or a
	// URL's path or query.
	shown := mustCLI(t, nil, "pools", "show", poolID, "--data", dir)
	for _, leak := range []string{secret, strings.TrimPrefix(secret, "whsec_"), "url-token-value", "/cognito/define", "/verify"} {
		if strings.Contains(shown, leak) {
			t.Errorf("pools show leaks %q:\n%s", leak, shown)
		}
	}
	var detail struct {
		Settings struct {
			Hooks struct {
				Triggers map[string]struct {
					Host          string `json:"host"`
					LambdaVersion string `json:"lambda_version"`
				} `json:"triggers"`
				Secret string `json:"secret"`
			} `json:"hooks"`
		} `json:"settings"`
	}
	if err := json.Unmarshal([]byte(shown), &detail); err != nil {
		t.Fatalf("pools show: %v\n%s", err, shown)
	}
	hk := detail.Settings.Hooks
	if hk.Secret != "set" || hk.Triggers["DefineAuthChallenge"].Host != "hooks.example.com" ||
		hk.Triggers["VerifyAuthChallengeResponse"].Host != "127.0.0.1:9000" || hk.Triggers["CreateAuthChallenge"].LambdaVersion != "V1_0" {
		t.Errorf("pools show hooks = %+v", hk)
	}

	// Another trigger: the secret stays, and is not shown again.
	out = mustCLI(t, nil, "pools", "update", poolID, "--data", dir,
		"--trigger", "PreTokenGeneration=https://tokens.example.com/pre", "--trigger-version", "PreTokenGeneration=V2_0")
	if strings.Contains(out, "whsec_") || strings.Contains(out, "Signing secret") {
		t.Errorf("a later update shows a secret:\n%s", out)
	}
	if !strings.Contains(out, "PreTokenGeneration: webhook at tokens.example.com, event version V2_0 (was: built-in)") {
		t.Errorf("output:\n%s", out)
	}
	cfg = storedHooks(t, dir, poolID)
	if cfg.Secret != secret || cfg.Triggers["PreTokenGeneration"].LambdaVersion != hook.LambdaV2 {
		t.Errorf("after adding a trigger: %v, version %q", cfg, cfg.Triggers["PreTokenGeneration"].LambdaVersion)
	}

	// Back to V1_0, then remove one trigger: the others and the secret stay.
	out = mustCLI(t, nil, "pools", "update", poolID, "--data", dir, "--trigger-version", "PreTokenGeneration=V1_0")
	if !strings.Contains(out, "PreTokenGeneration: event version V1_0 (was: V2_0)") {
		t.Errorf("output:\n%s", out)
	}
	out = mustCLI(t, nil, "pools", "update", poolID, "--data", dir, "--trigger", "DefineAuthChallenge=")
	if !strings.Contains(out, "DefineAuthChallenge: built-in (was: webhook at hooks.example.com)") {
		t.Errorf("output:\n%s", out)
	}
	cfg = storedHooks(t, dir, poolID)
	if _, ok := cfg.Triggers["DefineAuthChallenge"]; ok || len(cfg.Triggers) != 3 || cfg.Secret != secret {
		t.Errorf("after removing a trigger: %v", cfg)
	}

	// An update without hook flags leaves the hooks alone.
	mustCLI(t, nil, "pools", "update", poolID, "--data", dir, "--name", "renamed")
	if got := storedHooks(t, dir, poolID); got.Secret != secret || len(got.Triggers) != 3 {
		t.Errorf("a rename changed the hooks: %v", got)
	}
}

func TestPoolsUpdateTriggerErrors(t *testing.T) {
	dir := t.TempDir()
	poolID := createPool(t, dir)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
		leak     string
	}{
		{"unknown trigger", []string{"--trigger", "PreSignup=https://h.example.com"}, 2, `unknown trigger "PreSignup"`, ""},
		{"no equals", []string{"--trigger", "PreSignUp"}, 2, "want NAME=URL", ""},
		{"plain http", []string{"--trigger", "PreSignUp=http://hooks.example.com/x"}, 1, "url must use https", ""},
		{"credentials", []string{"--trigger", "PreSignUp=https://user:hunter2@hooks.example.com/x"}, 1, "must not hold a user name or password", "hunter2"},
		{"not a URL", []string{"--trigger", "PreSignUp=hooks.example.com"}, 1, "url must", ""},
		{"V2 for PreSignUp", []string{"--trigger", "PreSignUp=https://h.example.com", "--trigger-version", "PreSignUp=V2_0"}, 1, "only V1_0 exists", ""},
		{"bad version", []string{"--trigger-version", "PreTokenGeneration=V3_0"}, 2, `version "V3_0"`, ""},
		{"version without hook", []string{"--trigger-version", "PreTokenGeneration=V2_0"}, 1, "the trigger has no hook", ""},
		{"bad secret", []string{"--trigger", "PreSignUp=https://h.example.com", "--hook-secret", "whsec_not-base64-secret-value!"}, 1, "secret", "not-base64-secret-value"},
		{"rotate without secret", []string{"--rotate-hook-secret"}, 1, "no signing secret to rotate", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"pools", "update", poolID, "--data", dir}, tt.args...)
			code, out, errOut := cli(t, nil, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errOut)
			}
			if tt.leak != "" && strings.Contains(out+errOut, tt.leak) {
				t.Errorf("output repeats %q:\n%s%s", tt.leak, out, errOut)
			}
		})
	}
	// Nothing was stored by any of them.
	if cfg := storedHooks(t, dir, poolID); len(cfg.Triggers) != 0 || cfg.Secret != "" {
		t.Errorf("a refused update stored hooks: %v", cfg)
	}
}

func TestPoolsUpdateHookSecretRotation(t *testing.T) {
	dir := t.TempDir()
	poolID := createPool(t, dir)
	given, err := hook.NewSecret(strings.NewReader(strings.Repeat("g", 32)))
	if err != nil {
		t.Fatal(err)
	}
	// A given secret is used, and not shown back.
	out := mustCLI(t, nil, "pools", "update", poolID, "--data", dir, "--trigger", "PreSignUp=https://h.example.com/pre", "--hook-secret", given)
	if strings.Contains(out, given) || strings.Contains(out, "shown once") || !strings.Contains(out, "signing secret: set (the one given)") {
		t.Errorf("output:\n%s", out)
	}
	if cfg := storedHooks(t, dir, poolID); cfg.Secret != given {
		t.Fatal("the given secret was not stored")
	}
	// The same secret again changes nothing; another one is refused: a
	// secret changes by rotation only.
	mustCLI(t, nil, "pools", "update", poolID, "--data", dir, "--hook-secret", given)
	other, _ := hook.NewSecret(strings.NewReader(strings.Repeat("o", 32)))
	code, _, errOut := cli(t, nil, "pools", "update", poolID, "--data", dir, "--hook-secret", other)
	if code != 1 || !strings.Contains(errOut, "--rotate-hook-secret") || strings.Contains(errOut, other) {
		t.Fatalf("a different secret without rotation: exit %d: %s", code, errOut)
	}

	// Rotation: a new secret, shown once; the old one still signs.
	out = mustCLI(t, nil, "pools", "update", poolID, "--data", dir, "--rotate-hook-secret")
	m := secretLine.FindStringSubmatch(out)
	if m == nil || m[1] == given {
		t.Fatalf("rotation shows no new secret:\n%s", out)
	}
	cfg := storedHooks(t, dir, poolID)
	if cfg.Secret != m[1] || cfg.PreviousSecret != given {
		t.Fatal("after rotation the stored secrets are not (new, previous)")
	}
	// Both secrets verify what the pool's webhook sends.
	var got http.Header
	var body []byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		body, _ = io.ReadAll(r.Body)
		io.WriteString(w, `{"response":{}}`)
	}))
	defer recv.Close()
	wh, err := hook.NewWebhooks(hook.WebhookOptions{}).Webhook(recv.URL, cfg.Secret, cfg.PreviousSecret)
	if err != nil {
		t.Fatal(err)
	}
	ev := &hook.Event{Header: hook.Header{Version: "1", TriggerSource: hook.SourcePostConfirmationConfirmSignUp}, Request: json.RawMessage(`{"userAttributes":{}}`), Response: json.RawMessage(`{}`)}
	if err := wh.Invoke(context.Background(), hook.PostConfirmation, ev); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{m[1], given} {
		if err := hook.Verify(s, got, body, time.Now(), 0); err != nil {
			t.Errorf("during rotation a receiver with one of the secrets refuses the request: %v", err)
		}
	}

	// Rotation to a given secret.
	third, _ := hook.NewSecret(strings.NewReader(strings.Repeat("t", 32)))
	out = mustCLI(t, map[string]string{"LATCHKEY_HOOK_SECRET": third}, "pools", "update", poolID, "--data", dir, "--rotate-hook-secret")
	if strings.Contains(out, third) || strings.Contains(out, "shown once") {
		t.Errorf("a given secret is shown back:\n%s", out)
	}
	if cfg := storedHooks(t, dir, poolID); cfg.Secret != third || cfg.PreviousSecret != m[1] {
		t.Fatal("rotation to LATCHKEY_HOOK_SECRET did not store (given, previous)")
	}

	// Ending the rotation; and neither action comes from the environment.
	env := map[string]string{"LATCHKEY_ROTATE_HOOK_SECRET": "true", "LATCHKEY_TRIGGER": "PreSignUp="}
	out = mustCLI(t, env, "pools", "update", poolID, "--data", dir, "--drop-previous-hook-secret")
	if !strings.Contains(out, "rotation finished") || strings.Contains(out, "shown once") {
		t.Errorf("output:\n%s", out)
	}
	cfg = storedHooks(t, dir, poolID)
	if cfg.Secret != third || cfg.PreviousSecret != "" || len(cfg.Triggers) != 1 {
		t.Errorf("after --drop-previous-hook-secret: %v (previous set: %t)", cfg, cfg.PreviousSecret != "")
	}
	code, _, errOut = cli(t, nil, "pools", "update", poolID, "--data", dir, "--rotate-hook-secret", "--drop-previous-hook-secret")
	if code != 1 || !strings.Contains(errOut, "two steps") {
		t.Errorf("rotate and drop at once: exit %d: %s", code, errOut)
	}
}

func TestPoolsUpdateTriggerJSON(t *testing.T) {
	dir := t.TempDir()
	poolID := createPool(t, dir)
	out := mustCLI(t, nil, "pools", "update", poolID, "--data", dir, "--trigger", "PreSignUp=https://h.example.com/p", "--json")
	var got struct {
		ID         string `json:"id"`
		HookSecret string `json:"hook_secret"`
		Settings   struct {
			Hooks struct {
				Secret string `json:"secret"`
			} `json:"hooks"`
		} `json:"settings"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if got.ID != poolID || !strings.HasPrefix(got.HookSecret, "whsec_") || got.Settings.Hooks.Secret != "set" {
		t.Fatalf("--json = %s", out)
	}
	if strings.Count(out, got.HookSecret) != 1 {
		t.Errorf("the secret appears more than once in --json")
	}
	if cfg := storedHooks(t, dir, poolID); cfg.Secret != got.HookSecret {
		t.Error("--json shows a secret other than the stored one")
	}
	out = mustCLI(t, nil, "pools", "update", poolID, "--data", dir, "--trigger", "PostConfirmation=https://h.example.com/c", "--json")
	if strings.Contains(out, "hook_secret") || strings.Contains(out, got.HookSecret) {
		t.Errorf("a later --json shows the secret:\n%s", out)
	}
}

// TestServeCallsConfiguredWebhook configures a PreSignUp webhook with the
// CLI, starts serve, and signs up over the Cognito API: the webhook gets
// a request signed with the secret shown once, and its refusal reaches the
// client as Cognito reports a Lambda trigger's.
func TestServeCallsConfiguredWebhook(t *testing.T) {
	dir := t.TempDir()
	var (
		mu       sync.Mutex
		secret   string
		calls    int
		verified int
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls++
		err := hook.Verify(secret, r.Header, body, time.Now(), 0)
		if err == nil {
			verified++
		}
		mu.Unlock()
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev hook.PreSignUpEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		if strings.HasSuffix(ev.UserName, "@blocked.example") {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"errorMessage": "Sign-ups from blocked.example are closed"}`)
			return
		}
		ev.Response.AutoConfirmUser = true
		json.NewEncoder(w).Encode(ev)
	}))
	defer receiver.Close()

	env := map[string]string{"LATCHKEY_DATA": dir, "LATCHKEY_ADDR": "127.0.0.1:0"}
	getenv := func(k string) string { return env[k] }
	// First start: the pool and client are made; then the hook is set.
	var boot bytes.Buffer
	clientID := startServe(t, getenv, &boot, func(string) {})
	var pools []struct{ ID string }
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "pools", "list", "--data", dir, "--json")), &pools); err != nil || len(pools) != 1 {
		t.Fatalf("pools list: %v %v", pools, err)
	}
	out := mustCLI(t, nil, "pools", "update", pools[0].ID, "--data", dir, "--trigger", "PreSignUp="+receiver.URL+"/hooks/pre-sign-up")
	m := secretLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no secret shown:\n%s", out)
	}
	mu.Lock()
	secret = m[1]
	mu.Unlock()

	startServe(t, getenv, &bytes.Buffer{}, func(url string) {
		if got := signUpOverHTTP(t, url, clientID, "ada@example.com"); got != "ok" {
			t.Errorf("allowed sign-up: %s", got)
		}
		want := "UserLambdaValidationException: PreSignUp failed with error Sign-ups from blocked.example are closed."
		if got := signUpOverHTTP(t, url, clientID, "eve@blocked.example"); got != want {
			t.Errorf("refused sign-up: %s, want %s", got, want)
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 || verified != 2 {
		t.Errorf("the webhook got %d calls, %d with a valid signature; want 2 and 2", calls, verified)
	}
}

// startServe runs serve until use returns and returns the app client ID
// it printed on first start ("" on later starts).
func startServe(t *testing.T, getenv func(string) string, stdout *bytes.Buffer, use func(url string)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, nil, stdout, &stderr, getenv, ready) }()
	select {
	case url := <-ready:
		use(url)
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`app client ([a-z0-9]{26})`).FindStringSubmatch(stdout.String())
	if m == nil {
		return ""
	}
	return m[1]
}

// signUpOverHTTP calls SignUp and returns "ok" or "<__type>: <message>".
func signUpOverHTTP(t *testing.T, url, clientID, username string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"ClientId": clientID, "Username": username})
	req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.SignUp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode == http.StatusOK {
		return "ok"
	}
	return e.Type + ": " + e.Message
}
