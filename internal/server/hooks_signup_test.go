package server_test

// Hooks at sign-up (PreSignUp, PostConfirmation), driven through the
// Cognito API with the AWS SDK against webhook receivers that verify every
// request's signature. This file also holds the environment and receiver
// the other hooks_*_test.go files share.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/latchkey/latchkey/internal/deliver/providers"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// trigAnswer answers one hook call: it may edit ev.Response (the answer is
// then the event) or write its own answer to w and return true.
type trigAnswer func(ev *hook.Event, w http.ResponseWriter, r *http.Request) (written bool)

// trigReceiver is a pool's webhook receiver: it verifies each request's
// signature (and refuses a replayed id), records the verified events and
// answers each trigger as the test says (by default, the event unchanged).
type trigReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	guard  *hook.ReplayGuard

	mu      sync.Mutex
	events  []hook.Event
	answers map[string]trigAnswer
	bad     []string
}

func newTrigReceiver(t *testing.T) *trigReceiver {
	t.Helper()
	secret, err := hook.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tr := &trigReceiver{t: t, secret: secret, guard: hook.NewReplayGuard(0), answers: map[string]trigAnswer{}}
	tr.srv = httptest.NewServer(http.HandlerFunc(tr.serve))
	t.Cleanup(tr.srv.Close)
	if !strings.HasPrefix(tr.srv.URL, "http://127.0.0.1:") {
		t.Fatalf("receiver listens on %s, want 127.0.0.1", tr.srv.URL)
	}
	t.Cleanup(func() {
		if bad := tr.problems(); len(bad) > 0 {
			t.Errorf("receiver refused requests Latchkey signed: %q", bad)
		}
	})
	return tr
}

func (tr *trigReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read", http.StatusBadRequest)
		return
	}
	if err := tr.guard.Verify(tr.secret, r.Header, body, time.Now()); err != nil {
		tr.complain("signature: " + err.Error())
		http.Error(w, "forbidden", http.StatusUnauthorized)
		return
	}
	var ev hook.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		tr.complain("not an event: " + err.Error())
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	trigger := strings.TrimPrefix(r.URL.Path, "/")
	if got := hook.TriggerOf(ev.TriggerSource); got != trigger {
		tr.complain("event " + ev.TriggerSource + " sent to /" + trigger)
	}
	tr.mu.Lock()
	tr.events = append(tr.events, ev)
	answer := tr.answers[trigger]
	tr.mu.Unlock()
	if answer != nil && answer(&ev, w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(ev)
}

func (tr *trigReceiver) complain(s string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.bad = append(tr.bad, s)
}

func (tr *trigReceiver) problems() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.bad...)
}

// url is the receiver's URL for trigger.
func (tr *trigReceiver) url(trigger string) string { return tr.srv.URL + "/" + trigger }

// answer sets how trigger is answered; nil answers the event unchanged.
func (tr *trigReceiver) answer(trigger string, a trigAnswer) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.answers[trigger] = a
}

// received returns the events of trigger received so far, oldest first.
func (tr *trigReceiver) received(trigger string) []hook.Event {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []hook.Event
	for _, ev := range tr.events {
		if hook.TriggerOf(ev.TriggerSource) == trigger {
			out = append(out, ev)
		}
	}
	return out
}

// respond answers with the event, its response set to resp.
func trigRespond(resp any) trigAnswer {
	return func(ev *hook.Event, _ http.ResponseWriter, _ *http.Request) bool {
		b, err := json.Marshal(resp)
		if err != nil {
			panic(err)
		}
		ev.Response = b
		return false
	}
}

// fail answers with status and body as they are.
func trigFail(status int, contentType, body string) trigAnswer {
	return func(_ *hook.Event, w http.ResponseWriter, _ *http.Request) bool {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
		return true
	}
}

// hang answers nothing until the caller gives up.
func trigHang() trigAnswer {
	return func(_ *hook.Event, _ http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return true
	}
}

// trigEnv is newEnv (harness_test.go) with a webhook transport and the
// providers Router as serve wires them, whose pool sends triggers to a
// trigReceiver. The router's fallback sender is the dev outbox.
type trigEnv struct {
	*env
	recv *trigReceiver
}

// withTrig sends trigger to the receiver.
func withTrig(trigger string) envOption {
	return func(c *envConfig) { c.triggers[trigger] = hook.TriggerConfig{} }
}

// withTrigV2 sends trigger to the receiver with Lambda version V2_0.
func withTrigV2(trigger string) envOption {
	return func(c *envConfig) { c.triggers[trigger] = hook.TriggerConfig{LambdaVersion: hook.LambdaV2} }
}

// withTrigURL sends trigger to url rather than to the receiver.
func withTrigURL(trigger, url string) envOption {
	return func(c *envConfig) { c.triggers[trigger] = hook.TriggerConfig{URL: url} }
}

// newTrigEnv takes newEnv's options. It gives the environment a webhook
// transport and a Router, each with default options, which a withWebhooks
// or withRouter option replaces.
func newTrigEnv(t *testing.T, opts ...envOption) *trigEnv {
	t.Helper()
	recv := newTrigReceiver(t)
	opts = append([]envOption{withWebhooks(hook.WebhookOptions{}), withRouter(providers.RouterConfig{})}, opts...)
	// Last: the pool's hook configuration, once every trigger is known.
	opts = append(opts, func(c *envConfig) {
		hc := hook.Config{Triggers: map[string]hook.TriggerConfig{}, Secret: recv.secret}
		for name, tc := range c.triggers {
			if tc.URL == "" {
				tc.URL = recv.url(name)
			}
			hc.Triggers[name] = tc
		}
		raw, err := json.Marshal(hc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hook.ParseConfig(raw); err != nil {
			t.Fatal(err)
		}
		c.settings.Hooks = raw
	})
	return &trigEnv{env: newEnv(t, opts...), recv: recv}
}

// noUser asserts that no user holds username.
func (e *trigEnv) noUser(username string) {
	e.t.Helper()
	if u, err := e.store.GetUser(context.Background(), e.pool.ID, username); !errors.Is(err, pool.ErrNotFound) {
		e.t.Fatalf("user %s stored (status %s, err %v), want none", username, u.Status, err)
	}
}

// user returns the stored user with username.
func (e *trigEnv) user(username string) pool.User {
	e.t.Helper()
	u, err := e.store.GetUser(context.Background(), e.pool.ID, username)
	if err != nil {
		e.t.Fatalf("user %s: %v", username, err)
	}
	return u
}

// signUpWith calls SignUp with validation data and client metadata.
func (e *trigEnv) signUpWith(username string, attrs map[string]string, validation, metadata map[string]string) (*cip.SignUpOutput, error) {
	in := &cip.SignUpInput{
		ClientId: aws.String(e.client.ID), Username: aws.String(username),
		Password: aws.String("Dummy-password-1!"), ClientMetadata: metadata,
	}
	for k, v := range attrs {
		in.UserAttributes = append(in.UserAttributes, types.AttributeType{Name: aws.String(k), Value: aws.String(v)})
	}
	for k, v := range validation {
		in.ValidationData = append(in.ValidationData, types.AttributeType{Name: aws.String(k), Value: aws.String(v)})
	}
	return e.cog.SignUp(context.Background(), in)
}

// decodeRequest reads an event's request into v.
func trigDecode(t *testing.T, ev hook.Event, v any) {
	t.Helper()
	if err := json.Unmarshal(ev.Request, v); err != nil {
		t.Fatalf("%s request: %v", ev.TriggerSource, err)
	}
}

// checkEnvelope checks an event's envelope.
func (e *trigEnv) checkEnvelope(ev hook.Event, source, version, userName string) {
	e.t.Helper()
	if ev.TriggerSource != source || ev.Version != version || ev.UserPoolID != e.pool.ID || ev.Region != e.pool.Region ||
		ev.UserName != userName || ev.CallerContext.ClientID != e.client.ID || ev.CallerContext.AWSSDKVersion == "" {
		e.t.Errorf("envelope = %+v, want source %s, version %s, pool %s (region %s), user %s, client %s",
			ev.Header, source, version, e.pool.ID, e.pool.Region, userName, e.client.ID)
	}
}

// trigRejectOutsiders is a PreSignUp handler as teams write them: only
// example.com addresses may sign up.
func trigRejectOutsiders(ev *hook.Event, w http.ResponseWriter, _ *http.Request) bool {
	var req hook.PreSignUpRequest
	if err := json.Unmarshal(ev.Request, &req); err != nil {
		panic(err)
	}
	if strings.HasSuffix(req.UserAttributes["email"], "@example.com") {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, `{"errorType": "Error", "errorMessage": "Sign-up is for example.com addresses"}`)
	return true
}

// TestPreSignUpRejectsASignUp: the hook's error reaches the AWS SDK as
// Cognito's UserLambdaValidationException, nothing is stored or sent, and
// the hook saw the sign-up's attributes, validation data and metadata.
func TestPreSignUpRejectsASignUp(t *testing.T) {
	e := newTrigEnv(t, withTrig(hook.PreSignUp), withSettings(func(s *pool.Settings) { s.AutoConfirm = false }))
	e.recv.answer(hook.PreSignUp, trigRejectOutsiders)

	_, err := e.signUpWith("mallory@evil.test", map[string]string{"name": "Mallory"},
		map[string]string{"captcha": "tok-1"}, map[string]string{"campaign": "spring"})
	apiErr(t, err, "UserLambdaValidationException", "PreSignUp failed with error Sign-up is for example.com addresses.")
	e.noUser("mallory@evil.test")
	if msgs := e.outbox.Messages("mallory@evil.test"); len(msgs) != 0 {
		t.Fatalf("%d messages sent for a rejected sign-up", len(msgs))
	}

	evs := e.recv.received(hook.PreSignUp)
	if len(evs) != 1 {
		t.Fatalf("%d PreSignUp events, want 1", len(evs))
	}
	e.checkEnvelope(evs[0], hook.SourcePreSignUpSignUp, "1", "mallory@evil.test")
	var req hook.PreSignUpRequest
	trigDecode(t, evs[0], &req)
	if req.UserAttributes["email"] != "mallory@evil.test" || req.UserAttributes["name"] != "Mallory" ||
		req.ValidationData["captcha"] != "tok-1" || req.ClientMetadata["campaign"] != "spring" {
		t.Errorf("request = %+v", req)
	}
	if _, has := req.UserAttributes["email_verified"]; has {
		t.Errorf("userAttributes carry email_verified: %v", req.UserAttributes)
	}

	// The server keeps serving, and an accepted sign-up follows the pool's
	// settings only as far as the hook says: no autoConfirmUser, so a
	// confirmation code goes out.
	up, err := e.signUpWith(testEmail, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if up.UserConfirmed || up.CodeDeliveryDetails == nil || len(e.outbox.Messages(testEmail)) != 1 {
		t.Fatalf("accepted sign-up: confirmed %v, delivery %+v", up.UserConfirmed, up.CodeDeliveryDetails)
	}
	if e.user(testEmail).Status != pool.StatusUnconfirmed {
		t.Fatal("user not stored UNCONFIRMED")
	}
	var second hook.PreSignUpRequest
	trigDecode(t, e.recv.received(hook.PreSignUp)[1], &second)
	if second.ValidationData != nil || second.ClientMetadata != nil {
		t.Errorf("validationData / clientMetadata sent when the caller sent none: %+v", second)
	}
}

// TestPreSignUpAutoConfirmsAndVerifies: autoConfirmUser confirms without a
// code even where the pool requires confirmation; autoVerifyEmail and
// autoVerifyPhone mark the attributes verified, so the email signs in as
// an alias. A hook answering no autoConfirmUser where the pool
// auto-confirms leaves the user to confirm with a code.
func TestPreSignUpAutoConfirmsAndVerifies(t *testing.T) {
	e := newTrigEnv(t, withTrig(hook.PreSignUp), withTrig(hook.PostConfirmation),
		withSettings(func(s *pool.Settings) { s.AutoConfirm = false }))
	e.recv.answer(hook.PreSignUp, trigRespond(hook.PreSignUpResponse{AutoConfirmUser: true, AutoVerifyEmail: true, AutoVerifyPhone: true}))

	up, err := e.signUpWith(testPhone, map[string]string{"email": testEmail}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !up.UserConfirmed || up.CodeDeliveryDetails != nil {
		t.Fatalf("UserConfirmed %v, CodeDeliveryDetails %+v; want confirmed without a code", up.UserConfirmed, up.CodeDeliveryDetails)
	}
	if n := len(e.outbox.Messages(testPhone)) + len(e.outbox.Messages(testEmail)); n != 0 {
		t.Fatalf("%d codes sent to an auto-confirmed user", n)
	}
	u := e.user(testPhone)
	if u.Status != pool.StatusConfirmed || !u.Verified(pool.AttrEmail) || !u.Verified(pool.AttrPhoneNumber) {
		t.Fatalf("stored user: status %s, attributes %v", u.Status, u.Attributes)
	}
	if n := len(e.recv.received(hook.PostConfirmation)); n != 0 {
		t.Errorf("PostConfirmation called %d times for an auto-confirmed sign-up; Cognito calls it only on ConfirmSignUp", n)
	}
	// The verified email is an alias: it signs the user in.
	res := e.signIn(testEmail, types.ChallengeNameTypeEmailOtp, testEmail)
	idc, _ := e.verifyTokens(res, testPhone)
	if idc["email_verified"] != true || idc["phone_number_verified"] != true {
		t.Errorf("ID token: email_verified %v, phone_number_verified %v", idc["email_verified"], idc["phone_number_verified"])
	}

	// Verifying without confirming is not something Cognito does.
	e.recv.answer(hook.PreSignUp, trigRespond(hook.PreSignUpResponse{AutoVerifyEmail: true}))
	_, err = e.signUpWith("bob@example.com", nil, nil, nil)
	apiErr(t, err, "InvalidLambdaResponseException", "Invalid PreSignUp response: autoVerifyEmail and autoVerifyPhone need autoConfirmUser true.")
	e.noUser("bob@example.com")
	// Nor verifying an attribute the user does not have.
	e.recv.answer(hook.PreSignUp, trigRespond(hook.PreSignUpResponse{AutoConfirmUser: true, AutoVerifyPhone: true}))
	_, err = e.signUpWith("bob@example.com", nil, nil, nil)
	apiErr(t, err, "InvalidLambdaResponseException", "Invalid PreSignUp response: autoVerifyPhone is true but the user has no phone_number.")
	e.noUser("bob@example.com")
	// A verified alias belongs to one user: auto-verifying another user's
	// is refused and stores nothing.
	e.recv.answer(hook.PreSignUp, trigRespond(hook.PreSignUpResponse{AutoConfirmUser: true, AutoVerifyEmail: true}))
	_, err = e.signUpWith("+14155550199", map[string]string{"email": testEmail}, nil, nil)
	apiErr(t, err, "AliasExistsException", "An account with the given email already exists.")
	e.noUser("+14155550199")

	// The hook, not the pool's setting, decides: here the pool
	// auto-confirms but the hook does not.
	e2 := newTrigEnv(t, withTrig(hook.PreSignUp))
	e2.recv.answer(hook.PreSignUp, trigRespond(hook.PreSignUpResponse{}))
	up, err = e2.signUpWith(testEmail, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if up.UserConfirmed || up.CodeDeliveryDetails == nil || len(e2.outbox.Messages(testEmail)) != 1 {
		t.Fatalf("UserConfirmed %v, CodeDeliveryDetails %+v; want a confirmation code", up.UserConfirmed, up.CodeDeliveryDetails)
	}
}

// TestPostConfirmation: called once, after ConfirmSignUp succeeds, with the
// confirmed user's attributes and the call's ClientMetadata; its error
// reaches the client and the user stays confirmed, as in Cognito.
func TestPostConfirmation(t *testing.T) {
	ctx := context.Background()
	e := newTrigEnv(t, withTrig(hook.PostConfirmation), withSettings(func(s *pool.Settings) { s.AutoConfirm = false }))
	up, err := e.signUpWith(testEmail, map[string]string{"given_name": "Alice"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	code := e.lastCode(testEmail)
	if n := len(e.recv.received(hook.PostConfirmation)); n != 0 {
		t.Fatalf("PostConfirmation called %d times before confirmation", n)
	}
	// A wrong code confirms nothing and calls nothing.
	_, err = e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testEmail), ConfirmationCode: aws.String(wrongCode(code))})
	apiErr(t, err, "CodeMismatchException", "")
	conf, err := e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{
		ClientId: aws.String(e.client.ID), Username: aws.String(testEmail), ConfirmationCode: aws.String(code),
		Session: up.Session, ClientMetadata: map[string]string{"source": "web"},
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := e.recv.received(hook.PostConfirmation)
	if len(evs) != 1 {
		t.Fatalf("%d PostConfirmation events, want 1", len(evs))
	}
	e.checkEnvelope(evs[0], hook.SourcePostConfirmationConfirmSignUp, "1", testEmail)
	var req hook.PostConfirmationRequest
	trigDecode(t, evs[0], &req)
	want := map[string]string{
		"sub": aws.ToString(up.UserSub), "email": testEmail, "email_verified": "true",
		"given_name": "Alice", "cognito:user_status": "CONFIRMED",
	}
	for k, v := range want {
		if req.UserAttributes[k] != v {
			t.Errorf("userAttributes[%s] = %q, want %q (all: %v)", k, req.UserAttributes[k], v, req.UserAttributes)
		}
	}
	if req.ClientMetadata["source"] != "web" {
		t.Errorf("clientMetadata = %v", req.ClientMetadata)
	}
	// The Session signs the user in.
	out, err := e.cog.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId: aws.String(e.client.ID), AuthFlow: types.AuthFlowTypeUserAuth,
		AuthParameters: map[string]string{"USERNAME": testEmail}, Session: conf.Session,
	})
	if err != nil || out.AuthenticationResult == nil {
		t.Fatalf("sign-in after confirmation: %v", err)
	}

	// A failing hook: the client sees its error, the user is confirmed
	// anyway and signs in.
	e.recv.answer(hook.PostConfirmation, trigFail(http.StatusInternalServerError, "application/json", `{"errorMessage": "CRM is down"}`))
	const bob = "bob@example.com"
	if _, err := e.signUpWith(bob, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	_, err = e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(bob), ConfirmationCode: aws.String(e.lastCode(bob))})
	apiErr(t, err, "UserLambdaValidationException", "PostConfirmation failed with error CRM is down.")
	if u := e.user(bob); u.Status != pool.StatusConfirmed || !u.Verified(pool.AttrEmail) {
		t.Fatalf("after a failed PostConfirmation: status %s, attributes %v; want confirmed", u.Status, u.Attributes)
	}
	if n := len(e.recv.received(hook.PostConfirmation)); n != 2 {
		t.Errorf("%d PostConfirmation events, want 2", n)
	}
	e.signIn(bob, types.ChallengeNameTypeEmailOtp, bob)
}

// TestHookFailuresMapToCognitoErrors: a PreSignUp hook that times out,
// fails, is unavailable, cannot be reached or answers something that is
// not the event makes the documented exception, stores nothing, and the
// server goes on serving.
func TestHookFailuresMapToCognitoErrors(t *testing.T) {
	// A URL where nothing listens.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/PreSignUp"
	dead.Close()

	e := newTrigEnv(t, withTrig(hook.PreSignUp), withWebhooks(hook.WebhookOptions{Timeout: 300 * time.Millisecond}))
	cases := []struct {
		name     string
		answer   trigAnswer
		wantType string
		wantMsg  string
	}{
		{"timeout", trigHang(), "UnexpectedLambdaException", "PreSignUp invocation failed: the hook did not answer in time."},
		{"500 with a Lambda error", trigFail(500, "application/json", `{"errorType":"Error","errorMessage":"Database   unavailable\n"}`),
			"UserLambdaValidationException", "PreSignUp failed with error Database unavailable."},
		{"500 with text", trigFail(500, "text/plain", "boom"), "UserLambdaValidationException", "PreSignUp failed with error boom."},
		{"500 with HTML", trigFail(500, "text/html", "<html><body>oops</body></html>"), "UserLambdaValidationException", "PreSignUp failed with error Internal Server Error."},
		{"503", trigFail(503, "", ""), "UnexpectedLambdaException", "PreSignUp invocation failed: the hook is unavailable (HTTP 503)."},
		{"redirect", func(_ *hook.Event, w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, "https://example.com/elsewhere", http.StatusFound)
			return true
		}, "UnexpectedLambdaException", "PreSignUp invocation failed: the hook answered with a redirect (HTTP 302); configure the URL it redirects to."},
		{"not JSON", trigFail(200, "text/plain", "ok"), "InvalidLambdaResponseException",
			"Invalid PreSignUp response: the answer is not JSON; answer with the event, its response filled."},
		{"empty", trigFail(200, "", ""), "InvalidLambdaResponseException",
			"Invalid PreSignUp response: the answer is empty; answer with the event, its response filled."},
		{"array", trigFail(200, "application/json", `[1, 2]`), "InvalidLambdaResponseException",
			"Invalid PreSignUp response: the answer must be the event (a JSON object), not an array."},
		{"wrong shape", trigFail(200, "application/json", `{"response": {"autoConfirmUser": "yes"}}`), "InvalidLambdaResponseException",
			"Invalid PreSignUp response: autoConfirmUser must be a boolean, not a string."},
		{"response not an object", trigFail(200, "application/json", `{"response": true}`), "InvalidLambdaResponseException",
			"Invalid PreSignUp response: response must be a JSON object, not a boolean."},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.recv.answer(hook.PreSignUp, c.answer)
			username := "user" + string(rune('a'+i)) + "@example.com"
			_, err := e.signUpWith(username, nil, nil, nil)
			apiErr(t, err, c.wantType, c.wantMsg)
			e.noUser(username)
			// The server still serves: a sign-up the hook accepts works.
			e.recv.answer(hook.PreSignUp, nil)
			if _, err := e.signUpWith("ok"+username, nil, nil, nil); err != nil {
				t.Fatalf("sign-up after the failure: %v", err)
			}
		})
	}
	for _, leak := range []string{e.recv.secret, e.recv.srv.URL + "/PreSignUp"} {
		if strings.Contains(e.logs.String(), leak) {
			t.Errorf("the logs show %q", leak)
		}
	}

	// A hook that cannot be reached.
	e2 := newTrigEnv(t, withTrigURL(hook.PreSignUp, deadURL))
	_, err := e2.signUpWith(testEmail, nil, nil, nil)
	apiErr(t, err, "UnexpectedLambdaException", "PreSignUp invocation failed: the hook could not be reached.")
	e2.noUser(testEmail)
}
