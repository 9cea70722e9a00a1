package latchkey_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/latchkey/latchkey"
)

// embedded is a Server under test, served by an httptest server.
type embedded struct {
	srv    *latchkey.Server
	url    string
	client latchkey.Client
	cog    *cip.Client
}

// start runs Latchkey in process with cfg (DataDir and PublicURL filled
// in when empty) and creates a pool.
func start(t *testing.T, cfg latchkey.Config) *embedded {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	if cfg.DataDir == "" && cfg.Store == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ts.Listener.Addr().String()
	}
	srv, err := latchkey.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	// Cleanups run last-in first-out: stop serving, then close.
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	t.Cleanup(ts.Close)
	_, c, err := srv.CreatePool(context.Background(), latchkey.PoolOptions{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	cog := cip.New(cip.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(ts.URL),
		RetryMaxAttempts: 1,
		HTTPClient:       ts.Client(),
	})
	return &embedded{srv: srv, url: ts.URL, client: c, cog: cog}
}

// apiError returns err's Cognito exception name and message.
func apiError(err error) string {
	var ae interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// claims decodes a JWT's payload, unverified.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRefusesBadConfig(t *testing.T) {
	noop := func(context.Context, *latchkey.PreTokenGenerationEvent) error { return nil }
	noopV2 := func(context.Context, *latchkey.PreTokenGenerationV2Event) error { return nil }
	tests := []struct {
		name string
		cfg  latchkey.Config
		want string
	}{
		{"no public URL", latchkey.Config{}, "PublicURL is required"},
		{"relative public URL", latchkey.Config{PublicURL: "auth.example.com"}, "absolute http:// or https://"},
		{"public URL with query", latchkey.Config{PublicURL: "https://auth.example.com/?x=1"}, "no user, query or fragment"},
		{"both token hooks", latchkey.Config{PublicURL: "https://auth.example.com", Hooks: latchkey.Hooks{PreTokenGeneration: noop, PreTokenGenerationV2: noopV2}}, "not both"},
		{"unknown store", latchkey.Config{PublicURL: "https://auth.example.com", Store: "mysql://u:secret-pw@db/x"}, "neither postgres"},
		{"sqlite URL without a file", latchkey.Config{PublicURL: "https://auth.example.com", Store: "sqlite://"}, "names no file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := latchkey.New(context.Background(), tt.cfg)
			if err == nil {
				srv.Close()
				t.Fatal("New accepted the config")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret-pw") {
				t.Errorf("error shows the store's password: %v", err)
			}
		})
	}
}

// TestGoHooksSignIn signs up and in through the AWS SDK against an
// embedded server whose PreSignUp and PreTokenGeneration are Go functions
// and whose codes go to Config.Send.
func TestGoHooksSignIn(t *testing.T) {
	codes := make(chan latchkey.Message, 4)
	var mu sync.Mutex
	var events []string
	record := func(h latchkey.Header) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, h.TriggerSource+" "+h.UserName+" "+h.CallerContext.ClientID)
	}
	e := start(t, latchkey.Config{
		Send: func(ctx context.Context, m latchkey.Message) error {
			codes <- m
			return nil
		},
		Hooks: latchkey.Hooks{
			PreSignUp: func(ctx context.Context, ev *latchkey.PreSignUpEvent) error {
				record(ev.Header)
				if _, ok := ctx.Deadline(); !ok {
					return errors.New("the hook's context has no deadline")
				}
				if ev.Request.ClientMetadata["plan"] != "gold" {
					return errors.New("clientMetadata did not reach the hook")
				}
				ev.Response.AutoConfirmUser = true
				ev.Response.AutoVerifyEmail = true
				return nil
			},
			PreTokenGeneration: func(ctx context.Context, ev *latchkey.PreTokenGenerationEvent) error {
				record(ev.Header)
				ev.Response.ClaimsOverrideDetails = &latchkey.ClaimsOverrideDetails{
					ClaimsToAddOrOverride: map[string]string{"plan": "gold"},
					ClaimsToSuppress:      []string{"email"},
				}
				return nil
			},
		},
	})
	ctx := context.Background()
	const user = "ada@example.com"
	up, err := e.cog.SignUp(ctx, &cip.SignUpInput{
		ClientId:       aws.String(e.client.ID),
		Username:       aws.String(user),
		ClientMetadata: map[string]string{"plan": "gold"},
	})
	if err != nil {
		t.Fatalf("SignUp: %s", apiError(err))
	}
	if !up.UserConfirmed {
		t.Fatal("the PreSignUp hook's autoConfirmUser was not applied")
	}
	started, err := e.cog.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId:       aws.String(e.client.ID),
		AuthFlow:       types.AuthFlowTypeUserAuth,
		AuthParameters: map[string]string{"USERNAME": user, "PREFERRED_CHALLENGE": "EMAIL_OTP"},
	})
	if err != nil {
		t.Fatalf("InitiateAuth: %s", apiError(err))
	}
	var m latchkey.Message
	select {
	case m = <-codes:
	case <-time.After(10 * time.Second):
		t.Fatal("no code reached Config.Send")
	}
	if m.Channel != "email" || m.To != user || m.Code == "" || !strings.Contains(m.Body, m.Code) {
		t.Fatalf("Send got %v", m)
	}
	if strings.Contains(m.String(), m.Code) {
		t.Error("Message.String shows the code")
	}
	done, err := e.cog.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{
		ClientId:           aws.String(e.client.ID),
		ChallengeName:      types.ChallengeNameTypeEmailOtp,
		Session:            started.Session,
		ChallengeResponses: map[string]string{"USERNAME": user, "EMAIL_OTP_CODE": m.Code},
	})
	if err != nil {
		t.Fatalf("RespondToAuthChallenge: %s", apiError(err))
	}
	id := claims(t, aws.ToString(done.AuthenticationResult.IdToken))
	if id["plan"] != "gold" {
		t.Errorf("ID token lacks the hook's claim: %v", id)
	}
	if _, ok := id["email"]; ok {
		t.Errorf("ID token keeps the claim the hook suppressed: %v", id)
	}
	if id["email_verified"] != true {
		t.Errorf("autoVerifyEmail did not mark the email verified: %v", id["email_verified"])
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		"PreSignUp_SignUp " + user + " " + e.client.ID,
		"TokenGeneration_Authentication " + user + " " + e.client.ID,
	}
	if strings.Join(events, "\n") != strings.Join(want, "\n") {
		t.Errorf("hook calls:\n%s\nwant:\n%s", strings.Join(events, "\n"), strings.Join(want, "\n"))
	}
}

// TestGoHookFailures checks that a Go hook's error, overrun and panic
// reach the client as Cognito's exceptions, and the server keeps serving.
func TestGoHookFailures(t *testing.T) {
	e := start(t, latchkey.Config{
		HookTimeout: 50 * time.Millisecond,
		Hooks: latchkey.Hooks{
			PreSignUp: func(ctx context.Context, ev *latchkey.PreSignUpEvent) error {
				switch ev.UserName {
				case "slow@example.com":
					<-ctx.Done()
					return ctx.Err()
				case "sleepy@example.com":
					time.Sleep(100 * time.Millisecond) // ignores ctx
					ev.Response.AutoConfirmUser = true
					return nil
				case "panic@example.com":
					panic("the hook's own bug")
				case "refused@example.com":
					return errors.New("Not on the guest list")
				}
				ev.Response.AutoConfirmUser = true
				return nil
			},
		},
	})
	tests := []struct{ user, want string }{
		{"slow@example.com", "UnexpectedLambdaException: PreSignUp invocation failed: the hook did not answer in time."},
		{"sleepy@example.com", "UnexpectedLambdaException: PreSignUp invocation failed: the hook did not answer in time."},
		{"panic@example.com", "UnexpectedLambdaException: PreSignUp invocation failed: the hook function panicked."},
		{"refused@example.com", "UserLambdaValidationException: PreSignUp failed with error Not on the guest list."},
		{"fine@example.com", "no error"},
	}
	for _, tt := range tests {
		_, err := e.cog.SignUp(context.Background(), &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(tt.user)})
		if got := apiError(err); got != tt.want {
			t.Errorf("SignUp(%s) = %s, want %s", tt.user, got, tt.want)
		}
	}
}

// TestCloseAndReopen checks that Close is idempotent and that the store
// outlives the Server: a second Server on the same directory finds the
// pools (so Bootstrap creates nothing).
func TestCloseAndReopen(t *testing.T) {
	dir := t.TempDir()
	cfg := latchkey.Config{DataDir: dir, PublicURL: "http://127.0.0.1:1/"}
	srv, err := latchkey.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, c, created, err := srv.Bootstrap(context.Background())
	if err != nil || !created || !strings.HasPrefix(p.ID, "local_") || p.Name != "latchkey" || c.PoolID != p.ID || len(c.ID) != 26 || c.Secret != "" {
		t.Fatalf("Bootstrap = %+v %+v %v %v", p, c, created, err)
	}
	if _, _, err := srv.CreatePool(context.Background(), latchkey.PoolOptions{}); err == nil {
		t.Error("CreatePool without a name succeeded")
	}
	p2, _, err := srv.CreatePool(context.Background(), latchkey.PoolOptions{Name: "second", Region: "eu-west-1"})
	if err != nil || !strings.HasPrefix(p2.ID, "eu-west-1_") {
		t.Fatalf("CreatePool = %+v, %v", p2, err)
	}

	// A pool of each signing algorithm publishes a key of that algorithm;
	// anything else is refused, naming the allowed ones.
	for alg, kty := range map[string]string{"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"} {
		p, _, err := srv.CreatePool(context.Background(), latchkey.PoolOptions{Name: alg, SigningAlgorithm: alg})
		if err != nil {
			t.Fatalf("CreatePool(%s): %v", alg, err)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+p.ID+"/.well-known/jwks.json", nil))
		var set struct{ Keys []struct{ Alg, Kty string } }
		if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || len(set.Keys) != 1 || set.Keys[0].Alg != alg || set.Keys[0].Kty != kty {
			t.Errorf("JWKS of a %s pool: %s (%v)", alg, rec.Body.String(), err)
		}
	}
	if _, _, err := srv.CreatePool(context.Background(), latchkey.PoolOptions{Name: "hmac", SigningAlgorithm: "HS256"}); err == nil || !strings.Contains(err.Error(), "RS256, ES256, EdDSA") {
		t.Errorf("CreatePool with HS256: %v, want an error naming the allowed algorithms", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	srv, err = latchkey.New(context.Background(), latchkey.Config{Store: "sqlite://" + filepath.Join(dir, "latchkey.db"), PublicURL: cfg.PublicURL})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, _, created, err := srv.Bootstrap(context.Background()); err != nil || created {
		t.Errorf("Bootstrap on a store with pools: created %v, %v", created, err)
	}
	// The pool's discovery document names the public URL, without its
	// trailing slash, as the issuer.
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+p.ID+"/.well-known/openid-configuration", nil))
	var disc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &disc); err != nil || disc.Issuer != "http://127.0.0.1:1/"+p.ID {
		t.Errorf("discovery: %d %s", rec.Code, rec.Body.String())
	}
}

// TestDevOutbox checks that Dev serves the outbox and that without it the
// outbox is not there.
func TestDevOutbox(t *testing.T) {
	for _, dev := range []bool{true, false} {
		e := start(t, latchkey.Config{Dev: dev, Hooks: latchkey.Hooks{
			PreSignUp: func(ctx context.Context, ev *latchkey.PreSignUpEvent) error { return nil }, // not confirmed: a code goes out
		}})
		_, err := e.cog.SignUp(context.Background(), &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String("bob@example.com")})
		if dev && err != nil {
			t.Fatalf("SignUp: %s", apiError(err))
		}
		resp, err := http.Get(e.url + "/_dev/outbox?to=bob@example.com")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case dev && (resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"code"`)):
			t.Errorf("dev outbox: %d %s", resp.StatusCode, body)
		case !dev && resp.StatusCode != http.StatusNotFound:
			t.Errorf("outbox without Dev: %d %s", resp.StatusCode, body)
		}
	}
}

func TestVerifyWebhook(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	// The Standard Webhooks specification's test vector.
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	now := time.Unix(1614265330, 0)
	if err := latchkey.VerifyWebhook(secret, h, body, now, 0); err != nil {
		t.Fatalf("the specification's example does not verify: %v", err)
	}
	if err := latchkey.VerifyWebhook(secret, h, []byte(`{"test": 1}`), now, 0); err == nil {
		t.Error("a tampered body verifies")
	}
	if err := latchkey.VerifyWebhook(secret, h, body, now.Add(6*time.Minute), 0); err == nil {
		t.Error("an old request verifies")
	}
	g := latchkey.NewReplayGuard(0)
	if err := g.Verify(secret, h, body, now); err != nil {
		t.Fatal(err)
	}
	if err := g.Verify(secret, h, body, now); err == nil {
		t.Error("a replayed request verifies")
	}
}

// TestGoChallengeHooks runs a sign-in whose challenge is defined, created
// and verified by Go functions (the classic passwordless handlers, with a
// question instead of a code), through the AWS SDK's CUSTOM_AUTH flow.
func TestGoChallengeHooks(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	record := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, s)
	}
	e := start(t, latchkey.Config{
		Hooks: latchkey.Hooks{
			PreSignUp: func(ctx context.Context, ev *latchkey.PreSignUpEvent) error {
				ev.Response.AutoConfirmUser = true
				return nil
			},
			PreAuthentication: func(ctx context.Context, ev *latchkey.PreAuthenticationEvent) error {
				record("pre-authentication")
				return nil
			},
			DefineAuthChallenge: func(ctx context.Context, ev *latchkey.DefineAuthChallengeEvent) error {
				s := ev.Request.Session
				switch {
				case len(s) > 0 && s[len(s)-1].ChallengeResult:
					ev.Response.IssueTokens = true
				case len(s) >= 3:
					ev.Response.FailAuthentication = true
				default:
					ev.Response.ChallengeName = latchkey.ChallengeCustom
				}
				record("define " + string(rune('0'+len(s))))
				return nil
			},
			CreateAuthChallenge: func(ctx context.Context, ev *latchkey.CreateAuthChallengeEvent) error {
				// The same question across attempts, carried in the
				// session's metadata as the classic handlers carry the code.
				q := "colour"
				if s := ev.Request.Session; len(s) > 0 {
					q = strings.TrimPrefix(s[len(s)-1].ChallengeMetadata, "QUESTION-")
				}
				ev.Response.PublicChallengeParameters = latchkey.StringMap{"question": "Favourite " + q + "?"}
				ev.Response.PrivateChallengeParameters = latchkey.StringMap{"answer": "blue"}
				ev.Response.ChallengeMetadata = "QUESTION-" + q
				return nil
			},
			VerifyAuthChallengeResponse: func(ctx context.Context, ev *latchkey.VerifyAuthChallengeResponseEvent) error {
				ev.Response.AnswerCorrect = ev.Request.ChallengeAnswer == ev.Request.PrivateChallengeParameters["answer"]
				return nil
			},
			PostAuthentication: func(ctx context.Context, ev *latchkey.PostAuthenticationEvent) error {
				record("post-authentication")
				return nil
			},
		},
	})
	ctx := context.Background()
	const user = "ada@example.com"
	if _, err := e.cog.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(user)}); err != nil {
		t.Fatalf("SignUp: %s", apiError(err))
	}
	started, err := e.cog.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId:       aws.String(e.client.ID),
		AuthFlow:       types.AuthFlowTypeCustomAuth,
		AuthParameters: map[string]string{"USERNAME": user},
	})
	if err != nil {
		t.Fatalf("InitiateAuth: %s", apiError(err))
	}
	if started.ChallengeName != types.ChallengeNameTypeCustomChallenge || started.ChallengeParameters["question"] != "Favourite colour?" {
		t.Fatalf("InitiateAuth = %s %v", started.ChallengeName, started.ChallengeParameters)
	}
	answer := func(session *string, a string) *cip.RespondToAuthChallengeOutput {
		t.Helper()
		out, err := e.cog.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{
			ClientId:           aws.String(e.client.ID),
			ChallengeName:      types.ChallengeNameTypeCustomChallenge,
			Session:            session,
			ChallengeResponses: map[string]string{"USERNAME": user, "ANSWER": a},
		})
		if err != nil {
			t.Fatalf("RespondToAuthChallenge(%s): %s", a, apiError(err))
		}
		return out
	}
	again := answer(started.Session, "red")
	if again.AuthenticationResult != nil || again.ChallengeParameters["question"] != "Favourite colour?" {
		t.Fatalf("a wrong answer: %+v", again)
	}
	done := answer(again.Session, "blue")
	if done.AuthenticationResult == nil || aws.ToString(done.AuthenticationResult.IdToken) == "" {
		t.Fatalf("the right answer issued no tokens: %+v", done)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "pre-authentication,define 0,define 1,define 2,post-authentication"
	if got := strings.Join(calls, ","); got != want {
		t.Errorf("hook calls %s, want %s", got, want)
	}
}
