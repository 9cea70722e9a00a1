package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	// startTimeout bounds a node's start-up: migrations, the first pool,
	// and the listener.
	startTimeout = 30 * time.Second
	// stopTimeout bounds a graceful stop before the harness gives up and
	// kills the node.
	stopTimeout = 15 * time.Second
	// requestTimeout bounds every HTTP request, so a hung node fails a test
	// instead of stalling it until go test's own timeout.
	requestTimeout = 20 * time.Second
)

// cleanEnv is the test's environment without LATCHKEY_* variables: a
// developer's shell settings must not change how the nodes run; only the
// flags the test passes count.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LATCHKEY_") {
			env = append(env, kv)
		}
	}
	return env
}

// nodeSeq numbers nodes across the package, so logs name them uniquely.
var nodeSeq atomic.Int64

// logBuffer collects a process's output for failure messages. It is safe
// for the writer (exec's copying goroutine) and readers at once.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// line is the unfinished last line, passed to onLine once complete.
	line   []byte
	onLine func(line []byte)
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if l.onLine == nil {
		return len(p), nil
	}
	l.line = append(l.line, p...)
	for {
		i := bytes.IndexByte(l.line, '\n')
		if i < 0 {
			break
		}
		l.onLine(l.line[:i])
		l.line = l.line[i+1:]
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// node is one `latchkey serve` process listening on 127.0.0.1.
type node struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdout *logBuffer
	stderr *logBuffer

	ready chan struct{} // closed when the "listening" line is seen
	addr  string        // host:port from that line; set before ready closes

	done    chan struct{} // closed when the process has exited
	waitErr error         // cmd.Wait's result; set before done closes

	url string      // http://addr, valid once ready
	cog *cip.Client // Cognito client for this node, valid once ready

	// cluster lists the nodes sharing this node's store, itself included;
	// nil for a node alone. Any of them may deliver a code this node
	// queued, so lastCode asks them all.
	cluster []*node
}

// formCluster tells each node about the others on its store.
func formCluster(nodes ...*node) {
	for _, n := range nodes {
		n.cluster = nodes
	}
}

// startNode starts `latchkey serve` on storeURL with the given public URL
// and waits until it listens. The node is killed at the end of the test if
// still running, and its logs are printed if the test failed.
func startNode(t testing.TB, storeURL, publicURL string) *node {
	t.Helper()
	n := launchNode(t, storeURL, publicURL)
	if err := n.waitReady(startTimeout); err != nil {
		t.Fatalf("%v\n%s", err, n.logs())
	}
	return n
}

// launchNode starts the process without waiting for it, so a test can start
// several nodes at the same moment. Call waitReady before using it.
func launchNode(t testing.TB, storeURL, publicURL string) *node {
	t.Helper()
	n := &node{
		t:      t,
		name:   fmt.Sprintf("node%d", nodeSeq.Add(1)),
		stdout: &logBuffer{},
		stderr: &logBuffer{},
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
	}
	var once sync.Once
	n.stderr.onLine = func(line []byte) {
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
			once.Do(func() {
				n.addr = rec.Addr
				close(n.ready)
			})
		}
	}
	n.cmd = exec.Command(latchkeyBin, "serve",
		"--addr", "127.0.0.1:0",
		"--store", storeURL,
		// --store wins over --data; a temporary --data keeps a stray
		// default ./latchkey-data from ever appearing in the source tree.
		"--data", t.TempDir(),
		"--public-url", publicURL,
		"--dev=true",
		"--log-format", "json",
		"--log-level", "info",
	)
	n.cmd.Env = cleanEnv()
	n.cmd.Stdout = n.stdout
	n.cmd.Stderr = n.stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", latchkeyBin, err)
	}
	n.name = fmt.Sprintf("%s (pid %d)", n.name, n.cmd.Process.Pid)
	go func() {
		n.waitErr = n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("%s", n.logs())
		}
	})
	return n
}

// waitReady waits for the "listening" log line, the process's exit, or the
// timeout, whichever comes first.
func (n *node) waitReady(timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-n.ready:
	case <-n.done:
		return fmt.Errorf("%s exited before listening: %v", n.name, n.waitErr)
	case <-timer.C:
		return fmt.Errorf("%s did not log \"listening\" within %v", n.name, timeout)
	}
	n.url = "http://" + n.addr
	n.cog = newCognito(n.t, n.url)
	return nil
}

// running reports whether the process has not exited yet.
func (n *node) running() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// kill ends the node with SIGKILL, as a crash or an OOM kill would, and
// waits for it. Killing an exited node does nothing.
func (n *node) kill() {
	if !n.running() {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-n.done:
	case <-time.After(stopTimeout):
		n.t.Errorf("%s still running %v after SIGKILL", n.name, stopTimeout)
	}
}

// stop asks the node to shut down with SIGTERM, as an orchestrator does,
// and fails the test unless it exits cleanly in time.
func (n *node) stop() {
	n.t.Helper()
	if !n.running() {
		n.t.Errorf("%s had already exited: %v", n.name, n.waitErr)
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
		if n.waitErr != nil {
			n.t.Errorf("%s exited with %v after SIGTERM, want a clean exit", n.name, n.waitErr)
		}
	case <-time.After(stopTimeout):
		n.t.Errorf("%s did not stop within %v of SIGTERM; killing it", n.name, stopTimeout)
		n.kill()
	}
}

// logs renders the node's output for a failure message: its stdout, every
// ERROR line, and the tail of its log (the whole log of a busy node is
// thousands of access-log lines).
func (n *node) logs() string {
	const tail = 30
	lines := strings.Split(strings.TrimRight(n.stderr.String(), "\n"), "\n")
	var errs []string
	for _, l := range lines {
		if strings.Contains(l, `"level":"ERROR"`) {
			errs = append(errs, l)
		}
	}
	if len(errs) > tail {
		errs = append(errs[:tail], fmt.Sprintf("… and %d more ERROR lines", len(errs)-tail))
	}
	if len(lines) > tail {
		lines = append([]string{fmt.Sprintf("… %d earlier lines", len(lines)-tail)}, lines[len(lines)-tail:]...)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "==== %s at %s\n", n.name, n.url)
	fmt.Fprintf(&b, "---- stdout:\n%s\n", strings.TrimSpace(n.stdout.String()))
	if len(errs) > 0 {
		fmt.Fprintf(&b, "---- ERROR lines:\n%s\n", strings.Join(errs, "\n"))
	}
	fmt.Fprintf(&b, "---- stderr (tail):\n%s\n", strings.Join(lines, "\n"))
	return b.String()
}

// httpClient is shared by every Cognito client and plain request. Its
// transport keeps enough idle connections for the parallel workers, so a
// busy test does not open (and leave in TIME_WAIT) a connection per request.
var httpClient = &http.Client{
	Timeout: requestTimeout,
	Transport: &http.Transport{
		Proxy:               nil, // all traffic is to 127.0.0.1; ignore HTTP_PROXY
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	},
}

// newCognito returns an AWS SDK Cognito client for baseURL.
func newCognito(t testing.TB, baseURL string) *cip.Client {
	t.Cleanup(httpClient.CloseIdleConnections)
	return cip.New(cip.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(baseURL),
		// One attempt: a retried request would hide a failure, and could
		// turn one acknowledged write into two.
		RetryMaxAttempts: 1,
		HTTPClient:       httpClient,
	})
}

// app names the pool and app client the tests sign in to.
type app struct {
	poolID   string
	clientID string
}

type clientSummary struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type poolSummary struct {
	ID      string          `json:"id"`
	Name    string          `json:"name"`
	Clients []clientSummary `json:"clients"`
}

// listPools runs `latchkey pools list --store URL --json`, the documented
// way to read the ids of the pool created at first start.
func listPools(t testing.TB, storeURL string) []poolSummary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, latchkeyBin, "pools", "list", "--store", storeURL, "--json")
	cmd.Env = cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("latchkey pools list: %v\nstderr: %s", err, stderr.String())
	}
	var pools []poolSummary
	if err := json.Unmarshal(stdout.Bytes(), &pools); err != nil {
		t.Fatalf("latchkey pools list --json printed %q: %v", stdout.String(), err)
	}
	return pools
}

// relaxSendLimits turns off the pool's per-destination, per-range and
// per-address send limits with `latchkey pools update`, for tests that send
// many codes to one number range from one address in a few seconds. The
// guessing budget stays on.
func relaxSendLimits(t testing.TB, storeURL, poolID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	args := []string{"pools", "update", poolID, "--store", storeURL}
	for _, name := range []string{"destination_cooldown", "destination_hourly", "destination_daily", "prefix_hourly", "prefix_daily", "ip_hourly", "ip_daily", "new_sms_hourly", "new_sms_daily"} {
		args = append(args, "--limit", name+"=off")
	}
	cmd := exec.CommandContext(ctx, latchkeyBin, args...)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("latchkey pools update: %v\n%s", err, out)
	}
}

// onlyApp returns the single pool and client of a store, failing unless
// there is exactly one of each.
func onlyApp(t testing.TB, storeURL string) app {
	t.Helper()
	pools := listPools(t, storeURL)
	if len(pools) != 1 || len(pools[0].Clients) != 1 {
		t.Fatalf("store has pools %+v, want exactly one pool with one app client", pools)
	}
	return app{poolID: pools[0].ID, clientID: pools[0].Clients[0].ID}
}

// proxy is a round-robin reverse proxy on 127.0.0.1 in front of the nodes.
// Its URL is the deployment's one public URL: every node puts it in the
// tokens' iss, and, unlike a made-up host, it really reaches a node, so
// clients can follow iss to the JWKS as verifiers do.
type proxy struct {
	url string

	mu       sync.Mutex
	backends []*url.URL
	next     int
}

// startProxy starts a proxy with no backends; setBackends adds them once
// the nodes (which need the proxy's URL to start) listen.
func startProxy(t testing.TB) *proxy {
	t.Helper()
	p := &proxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(r.In.Context().Value(backendKey{}).(*url.URL))
		},
		Transport: httpClient.Transport,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := p.pick()
		if target == nil {
			http.Error(w, "no backend", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, target)))
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

type backendKey struct{}

func (p *proxy) pick() *url.URL {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.backends) == 0 {
		return nil
	}
	u := p.backends[p.next%len(p.backends)]
	p.next++
	return u
}

// setBackends replaces the proxy's backends with the given nodes.
func (p *proxy) setBackends(t testing.TB, nodes ...*node) {
	t.Helper()
	var us []*url.URL
	for _, n := range nodes {
		u, err := url.Parse(n.url)
		if err != nil {
			t.Fatal(err)
		}
		us = append(us, u)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = us
	p.next = 0
}

// otp is the code channel of a username: SMS for a phone, email for an
// email address.
type otp struct {
	challenge types.ChallengeNameType
	codeKey   string // the ChallengeResponses member carrying the code
	attr      string // the attribute a successful sign-in marks verified
}

func otpFor(username string) otp {
	if strings.Contains(username, "@") {
		return otp{types.ChallengeNameTypeEmailOtp, "EMAIL_OTP_CODE", "email"}
	}
	return otp{types.ChallengeNameTypeSmsOtp, "SMS_OTP_CODE", "phone_number"}
}

// signUp creates a user and returns its sub.
func signUp(ctx context.Context, cog *cip.Client, a app, username string) (string, error) {
	out, err := cog.SignUp(ctx, &cip.SignUpInput{
		ClientId: aws.String(a.clientID),
		Username: aws.String(username),
	})
	if err != nil {
		return "", fmt.Errorf("SignUp(%s): %w", username, err)
	}
	if !out.UserConfirmed || aws.ToString(out.UserSub) == "" {
		return "", fmt.Errorf("SignUp(%s) = confirmed %v, sub %q; want a confirmed user with a sub", username, out.UserConfirmed, aws.ToString(out.UserSub))
	}
	return aws.ToString(out.UserSub), nil
}

// initiate starts a USER_AUTH sign-in with the username's own OTP channel
// as the preferred challenge and returns the session.
func initiate(ctx context.Context, cog *cip.Client, a app, username string) (string, error) {
	o := otpFor(username)
	out, err := cog.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId:       aws.String(a.clientID),
		AuthFlow:       types.AuthFlowTypeUserAuth,
		AuthParameters: map[string]string{"USERNAME": username, "PREFERRED_CHALLENGE": string(o.challenge)},
	})
	if err != nil {
		return "", fmt.Errorf("InitiateAuth(%s): %w", username, err)
	}
	if out.ChallengeName != o.challenge || aws.ToString(out.Session) == "" {
		return "", fmt.Errorf("InitiateAuth(%s) = challenge %q, session %q; want %s and a session", username, out.ChallengeName, aws.ToString(out.Session), o.challenge)
	}
	return aws.ToString(out.Session), nil
}

// respond answers the OTP challenge of session with code. It returns the
// tokens, or the API error as the SDK decoded it.
func respond(ctx context.Context, cog *cip.Client, a app, username, session, code string) (*types.AuthenticationResultType, error) {
	o := otpFor(username)
	out, err := cog.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{
		ClientId:           aws.String(a.clientID),
		ChallengeName:      o.challenge,
		Session:            aws.String(session),
		ChallengeResponses: map[string]string{"USERNAME": username, o.codeKey: code},
	})
	if err != nil {
		return nil, err
	}
	if out.AuthenticationResult == nil || aws.ToString(out.AuthenticationResult.AccessToken) == "" || aws.ToString(out.AuthenticationResult.RefreshToken) == "" {
		return nil, fmt.Errorf("RespondToAuthChallenge(%s) answered without tokens: %+v", username, out)
	}
	return out.AuthenticationResult, nil
}

// signIn runs a whole OTP sign-in on one node: initiate, read the code from
// that node's outbox, answer.
func signIn(ctx context.Context, n *node, a app, username string) (*types.AuthenticationResultType, error) {
	session, err := initiate(ctx, n.cog, a, username)
	if err != nil {
		return nil, err
	}
	code, err := n.lastCode(ctx, username)
	if err != nil {
		return nil, err
	}
	res, err := respond(ctx, n.cog, a, username, session, code)
	if err != nil {
		return nil, fmt.Errorf("RespondToAuthChallenge(%s): %w", username, err)
	}
	return res, nil
}

// lastCode returns the newest code sent to dest for a request this node
// answered. Codes are queued in the shared store and delivered by whichever
// node claims them, into that node's in-memory dev outbox; each outbox
// delivers what is queued before answering, so asking every node of the
// cluster finds the code.
func (n *node) lastCode(ctx context.Context, dest string) (string, error) {
	peers := n.cluster
	if peers == nil {
		peers = []*node{n}
	}
	var newest outboxEntry
	for _, p := range peers {
		m, err := p.outboxNewest(ctx, dest)
		if err != nil {
			return "", err
		}
		if m.CreatedAt > newest.CreatedAt {
			newest = m
		}
	}
	if newest.Code == "" {
		return "", fmt.Errorf("%s sent no code to %s", n.name, dest)
	}
	return newest.Code, nil
}

type outboxEntry struct {
	Code      string `json:"code"`
	CreatedAt string `json:"created_at"` // fixed-width RFC 3339: sorts as text
}

// outboxNewest reads the newest message to dest in this node's dev outbox.
func (n *node) outboxNewest(ctx context.Context, dest string) (outboxEntry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.url+"/_dev/outbox?to="+url.QueryEscape(dest), nil)
	if err != nil {
		return outboxEntry{}, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return outboxEntry{}, fmt.Errorf("read the outbox of %s: %w", n.name, err)
	}
	defer resp.Body.Close()
	var body struct {
		Messages []outboxEntry `json:"messages"`
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return outboxEntry{}, fmt.Errorf("outbox of %s: %s %s", n.name, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return outboxEntry{}, fmt.Errorf("decode the outbox of %s: %w", n.name, err)
	}
	if len(body.Messages) == 0 {
		return outboxEntry{}, nil
	}
	return body.Messages[0], nil
}

// mustCode is lastCode for the test goroutine.
func (n *node) mustCode(t testing.TB, dest string) string {
	t.Helper()
	code, err := n.lastCode(context.Background(), dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != 6 {
		t.Fatalf("code %q from %s is not 6 digits", code, n.name)
	}
	return code
}

// wrongCode returns a 6-digit code that is not code.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// apiError returns the Cognito error type and message of err, or "" when
// err is nil or not an API error (a connection error, say).
func apiError(err error) (code, message string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", ""
}

// wantAPIError fails unless err is the Cognito error wantType with
// wantMessage (any message when wantMessage is empty).
func wantAPIError(t testing.TB, what string, err error, wantType, wantMessage string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want %s", what, wantType)
	}
	code, msg := apiError(err)
	if code != wantType || (wantMessage != "" && msg != wantMessage) {
		want := wantType
		if wantMessage != "" {
			want += fmt.Sprintf(" %q", wantMessage)
		}
		t.Fatalf("%s: error %v, want %s", what, err, want)
	}
}

// getJSON fetches url and decodes its JSON body into v.
func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
}

// jwks fetches a pool's JSON Web Key Set from baseURL.
func jwks(t testing.TB, baseURL, poolID string) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	getJSON(t, baseURL+"/"+poolID+"/.well-known/jwks.json", &set)
	if len(set.Keys) == 0 {
		t.Fatalf("JWKS of pool %s at %s has no keys", poolID, baseURL)
	}
	return set
}

// verifyJWT checks raw's signature with the key of keys its kid names, in
// that key's algorithm only (RS256, ES256 or EdDSA), and its standard
// claims against iss, as any JOSE library would, and returns all its
// claims.
func verifyJWT(t testing.TB, keys jose.JSONWebKeySet, raw, iss string) map[string]any {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	h := tok.Headers[0]
	key := keys.Key(h.KeyID)
	if len(key) != 1 || key[0].Algorithm != h.Algorithm {
		t.Fatalf("JWT of kid %q and alg %s: the JWKS has %d such keys (alg %v)", h.KeyID, h.Algorithm, len(key), key)
	}
	var std jwt.Claims
	all := map[string]any{}
	if err := tok.Claims(key[0], &std, &all); err != nil {
		t.Fatalf("verify JWT with the JWKS: %v", err)
	}
	if err := std.Validate(jwt.Expected{Issuer: iss, Time: time.Now()}); err != nil {
		t.Fatalf("validate JWT claims (iss %v, want %s): %v", std.Issuer, iss, err)
	}
	return all
}

// linesWith returns the lines of s that contain substr.
func linesWith(s, substr string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			out = append(out, sc.Text())
		}
	}
	return out
}
