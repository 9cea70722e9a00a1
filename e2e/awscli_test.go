package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAWSCLI drives the real AWS CLI (`aws cognito-idp …`) against a
// `latchkey serve` node on SQLite, the way the README's quickstart does:
// sign-up, a CUSTOM_AUTH sign-in with a wrong answer and then the right one,
// a reused session, and get-user. It parses the CLI's own JSON output, so it
// checks what a shell script built on the CLI would see.
//
// Without `aws` on PATH the test skips, except in CI (CI=true), which
// installs the CLI and so must run it.
func TestAWSCLI(t *testing.T) {
	skipShort(t)
	cli := findAWSCLI(t)

	// The node's public URL is a recording proxy in front of it: it notes
	// whether the CLI signs these public operations. It does not have to
	// (Cognito's API marks them unsigned), and Latchkey ignores a signature
	// on them if it does; the dummy credentials below make the CLI sign if
	// it wants to, so either way the flow must work.
	wire := startWireLog(t)
	storeURL := "sqlite://" + filepath.Join(t.TempDir(), "latchkey.db")
	n := startNode(t, storeURL, wire.url)
	wire.setTarget(t, n.url)
	a := onlyApp(t, storeURL)
	relaxSendLimits(t, storeURL, a.poolID)
	cli.endpoint = wire.url

	const phone = "+14155550123"

	// 1. Sign up. The CLI insists on --password; Latchkey ignores it.
	var signUpOut struct {
		UserConfirmed bool
		UserSub       string
	}
	cli.mustRun(t, &signUpOut, "sign-up",
		"--client-id", a.clientID,
		"--username", phone,
		"--password", "Dummy-passw0rd!")
	if !signUpOut.UserConfirmed || signUpOut.UserSub == "" {
		t.Fatalf("sign-up = %+v, want a confirmed user with a sub", signUpOut)
	}

	// 2. Start a CUSTOM_AUTH sign-in: the code goes to the phone.
	type challengeOut struct {
		ChallengeName        string
		Session              string
		ChallengeParameters  map[string]string
		AuthenticationResult *struct {
			AccessToken  string
			IdToken      string
			RefreshToken string
			TokenType    string
			ExpiresIn    int
		}
	}
	var started challengeOut
	cli.mustRun(t, &started, "initiate-auth",
		"--client-id", a.clientID,
		"--auth-flow", "CUSTOM_AUTH",
		"--auth-parameters", "USERNAME="+phone)
	if started.ChallengeName != "CUSTOM_CHALLENGE" || started.Session == "" {
		t.Fatalf("initiate-auth = %+v, want CUSTOM_CHALLENGE and a session", started)
	}
	wantParams := map[string]string{
		"USERNAME":                      phone,
		"CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
		"CODE_DELIVERY_DESTINATION":     "+*******0123",
	}
	for k, want := range wantParams {
		if got := started.ChallengeParameters[k]; got != want {
			t.Errorf("initiate-auth ChallengeParameters[%s] = %q, want %q", k, got, want)
		}
	}
	code := n.mustCode(t, phone)

	answer := func(session, answer string) []string {
		return []string{"respond-to-auth-challenge",
			"--client-id", a.clientID,
			"--challenge-name", "CUSTOM_CHALLENGE",
			"--session", session,
			"--challenge-responses", "USERNAME=" + phone + ",ANSWER=" + answer}
	}

	// 3. A wrong answer: the same challenge again, under a new session.
	var retry challengeOut
	cli.mustRun(t, &retry, answer(started.Session, wrongCode(code))...)
	if retry.ChallengeName != "CUSTOM_CHALLENGE" || retry.Session == "" || retry.AuthenticationResult != nil {
		t.Fatalf("wrong answer: respond-to-auth-challenge = %+v, want CUSTOM_CHALLENGE again with a new session and no tokens", retry)
	}
	if retry.Session == started.Session {
		t.Fatal("wrong answer: respond-to-auth-challenge returned the old session, want a new one")
	}

	// 4. The old session is spent: even the right code fails, the CLI exits
	// non-zero and names the exception.
	exit, stderr := cli.mustFail(t, answer(started.Session, code)...)
	if !strings.Contains(stderr, "NotAuthorizedException") || !strings.Contains(stderr, "Invalid session for the user.") {
		t.Fatalf("reused session: aws exited %d with stderr %q, want NotAuthorizedException \"Invalid session for the user.\"", exit, stderr)
	}

	// 5. The right code with the new session: tokens.
	var done challengeOut
	cli.mustRun(t, &done, answer(retry.Session, code)...)
	res := done.AuthenticationResult
	if res == nil || res.AccessToken == "" || res.IdToken == "" || res.RefreshToken == "" {
		t.Fatalf("right answer: respond-to-auth-challenge = %+v, want tokens", done)
	}
	if res.TokenType != "Bearer" || res.ExpiresIn != 3600 {
		t.Errorf("right answer: TokenType %q, ExpiresIn %d; want Bearer, 3600", res.TokenType, res.ExpiresIn)
	}
	iss := wire.url + "/" + a.poolID
	claims := verifyJWT(t, jwks(t, wire.url, a.poolID), res.IdToken, iss)
	if claims["cognito:username"] != phone || claims["sub"] != signUpOut.UserSub {
		t.Errorf("ID token cognito:username %v, sub %v; want %s, %s", claims["cognito:username"], claims["sub"], phone, signUpOut.UserSub)
	}

	// 6. Who am I? The username is the E.164 number, and the code sign-in
	// verified it.
	var user struct {
		Username       string
		UserAttributes []struct{ Name, Value string }
	}
	cli.mustRun(t, &user, "get-user", "--access-token", res.AccessToken)
	attrs := map[string]string{}
	for _, at := range user.UserAttributes {
		attrs[at.Name] = at.Value
	}
	if user.Username != phone || attrs["sub"] != signUpOut.UserSub || attrs["phone_number"] != phone || attrs["phone_number_verified"] != "true" {
		t.Fatalf("get-user = %+v, want username and phone_number %s, sub %s, phone_number_verified true", user, phone, signUpOut.UserSub)
	}

	// Every call above reached the server; say whether the CLI signed them.
	reqs := wire.requests()
	if len(reqs) == 0 {
		t.Fatal("the recording proxy saw no request from the CLI")
	}
	var signed []string
	for _, r := range reqs {
		if r.signed {
			signed = append(signed, r.op)
		}
	}
	if len(signed) == 0 {
		t.Logf("%s sent no Authorization header on %d public operations", cli.version, len(reqs))
	} else {
		t.Logf("%s signed %d of %d public operations (%s); Latchkey ignored the signatures", cli.version, len(signed), len(reqs), strings.Join(signed, ", "))
	}
}

// awsCLI runs `aws cognito-idp` in a clean environment: its own empty HOME
// (no profile, config or credentials of the developer's), dummy
// credentials, no instance-metadata lookups, no pager, no proxy, one
// attempt per call.
type awsCLI struct {
	bin      string
	version  string
	endpoint string
	env      []string
	dir      string
}

// findAWSCLI returns the AWS CLI on PATH, or skips the test (fails it in
// CI) when there is none.
func findAWSCLI(t *testing.T) *awsCLI {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the AWS CLI (aws) is not on PATH; CI must install it (Debian: apt-get install awscli)")
		}
		t.Skip("the AWS CLI (aws) is not on PATH; install it to run this test (Debian: apt-get install awscli)")
	}
	home := t.TempDir()
	c := &awsCLI{
		bin: bin,
		dir: home,
		env: []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + home,
			"LANG=C.UTF-8",
			"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
			"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
			"AWS_ACCESS_KEY_ID=AKIDLATCHKEYTEST0000",
			"AWS_SECRET_ACCESS_KEY=dummy-secret-for-latchkey-tests",
			"AWS_EC2_METADATA_DISABLED=true",
			"AWS_PAGER=",
			"AWS_CLI_AUTO_PROMPT=off",
			// One attempt: a retried RespondToAuthChallenge would spend the
			// session and hide what the first attempt got.
			"AWS_MAX_ATTEMPTS=1",
			"AWS_RETRY_MODE=standard",
		},
	}
	// `aws --version` prints to stdout (v2) or stderr (older v1).
	stdout, stderr, err := c.exec("--version")
	if err != nil {
		t.Fatalf("%s --version: %v\n%s%s", bin, err, stdout, stderr)
	}
	c.version = strings.Fields(strings.TrimSpace(stdout + " " + stderr))[0]
	t.Logf("using %s at %s", strings.TrimSpace(stdout+stderr), bin)
	return c
}

// exec runs the CLI with args and returns its output; err is an
// *exec.ExitError when it exited non-zero.
func (c *awsCLI) exec(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env
	cmd.Dir = c.dir
	cmd.WaitDelay = time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("aws did not finish within %v: %v", requestTimeout, err)
	}
	return out.String(), errOut.String(), err
}

// cognito runs `aws cognito-idp OP ARGS… --endpoint-url … --region
// us-east-1 --output json`.
func (c *awsCLI) cognito(args ...string) (stdout, stderr string, err error) {
	full := append([]string{"cognito-idp"}, args...)
	full = append(full, "--endpoint-url", c.endpoint, "--region", "us-east-1", "--output", "json")
	return c.exec(full...)
}

// mustRun runs one cognito-idp command that must succeed and decodes its
// JSON output into out.
func (c *awsCLI) mustRun(t *testing.T, out any, args ...string) {
	t.Helper()
	stdout, stderr, err := c.cognito(args...)
	if err != nil {
		t.Fatalf("aws cognito-idp %s: %v\nstderr: %s", args[0], err, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("aws cognito-idp %s printed %q, not JSON: %v", args[0], stdout, err)
	}
}

// mustFail runs one cognito-idp command that must exit non-zero, and
// returns its exit code and stderr.
func (c *awsCLI) mustFail(t *testing.T, args ...string) (int, string) {
	t.Helper()
	stdout, stderr, err := c.cognito(args...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("aws cognito-idp %s: %v, want a non-zero exit\nstdout: %s\nstderr: %s", args[0], err, stdout, stderr)
	}
	return ee.ExitCode(), stderr
}

// wireLog is a reverse proxy on 127.0.0.1 in front of one node that notes,
// for each request, the operation and whether it carried an Authorization
// header.
type wireLog struct {
	url    string
	target atomic.Pointer[url.URL]

	mu   sync.Mutex
	reqs []wireRequest
}

type wireRequest struct {
	op     string
	signed bool
}

// startWireLog starts the proxy; setTarget points it at the node once the
// node (which needs the proxy's URL as its public URL) listens.
func startWireLog(t *testing.T) *wireLog {
	t.Helper()
	w := &wireLog{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(w.target.Load())
		},
		Transport: httpClient.Transport,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w.target.Load() == nil {
			http.Error(rw, "no backend yet", http.StatusBadGateway)
			return
		}
		if op := r.Header.Get("X-Amz-Target"); op != "" {
			w.mu.Lock()
			w.reqs = append(w.reqs, wireRequest{
				op:     strings.TrimPrefix(op, "AWSCognitoIdentityProviderService."),
				signed: r.Header.Get("Authorization") != "",
			})
			w.mu.Unlock()
		}
		rp.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

func (w *wireLog) setTarget(t *testing.T, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	w.target.Store(u)
}

func (w *wireLog) requests() []wireRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]wireRequest(nil), w.reqs...)
}
