package server_test

// CustomSMSSender and CustomEmailSender: codes go to the pool's hook,
// through the durable outbox and its dispatcher, and never to its
// providers (see also hooks_signup_test.go for the environment and the
// receiver).

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/latchkey/latchkey/internal/deliver/providers"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// withTrigTwilioSMS gives the pool a Twilio SMS provider (a local fake), which
// a custom SMS sender must keep from ever being called.
func withTrigTwilioSMS(twilio *dlProvider) []envOption {
	return []envOption{
		withSettings(func(s *pool.Settings) {
			s.Delivery = &pool.Delivery{SMS: []pool.Provider{{
				Type: "twilio", Name: "primary",
				Config:  json.RawMessage(`{"account_sid":"` + dlTwilioSID + `","from":"+14155550000","base_url":"` + twilio.srv.URL + `"}`),
				Secrets: map[string]pool.SecretRef{"auth_token": {Env: "DL_TWILIO_TOKEN"}},
			}}}
		}),
		withRouter(providers.RouterConfig{Builder: &providers.Builder{Getenv: func(k string) string {
			if k == "DL_TWILIO_TOKEN" {
				return dlTwilioToken
			}
			return ""
		}}}),
	}
}

var trigCodePattern = regexp.MustCompile(`^[0-9]{6}$`)

// senderEvent returns the i-th event of a custom sender trigger and its
// request, checking the parts every one has.
func (e *trigEnv) senderEvent(trigger string, i int, source, userName string) hook.CustomSenderRequest {
	e.t.Helper()
	evs := e.recv.received(trigger)
	if len(evs) <= i {
		e.t.Fatalf("%d %s events, want at least %d", len(evs), trigger, i+1)
	}
	ev := evs[i]
	if ev.TriggerSource != source || ev.Version != "1" || ev.UserPoolID != e.pool.ID || ev.Region != e.pool.Region ||
		ev.UserName != userName || ev.CallerContext.AWSSDKVersion == "" {
		e.t.Errorf("envelope = %+v, want source %s for %s", ev.Header, source, userName)
	}
	var req hook.CustomSenderRequest
	trigDecode(e.t, ev, &req)
	wantType := hook.CustomSMSSenderRequestV1
	if trigger == hook.CustomEmailSender {
		wantType = hook.CustomEmailSenderRequestV1
	}
	if req.Type != wantType || !trigCodePattern.MatchString(req.Code) {
		e.t.Errorf("request: type %q, code %q", req.Type, req.Code)
	}
	if string(ev.Response) != "{}" {
		e.t.Errorf("response = %s, want {}", ev.Response)
	}
	return req
}

// TestCustomSMSSenderDeliversTheCodes: with a CustomSMSSender hook, the
// sign-up and sign-in codes go to the hook, through the outbox and the
// dispatcher, and the sign-in completes with the code the hook received;
// the pool's SMS provider is never called, nor the server's fallback.
// Email, without a custom sender, still goes the usual way.
func TestCustomSMSSenderDeliversTheCodes(t *testing.T) {
	ctx := context.Background()
	twilio := newFakeTwilio(t)
	opts := append(withTrigTwilioSMS(twilio), withQueue(), withTrig(hook.CustomSMSSender),
		withSettings(func(s *pool.Settings) { s.AutoConfirm = false }))
	e := newTrigEnv(t, opts...)

	// Sign-up: CustomSMSSender_SignUp, for the unconfirmed user.
	up, err := e.signUpWith(testPhone, map[string]string{"given_name": "Alice"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := up.CodeDeliveryDetails; d == nil || d.DeliveryMedium != types.DeliveryMediumTypeSms {
		t.Fatalf("CodeDeliveryDetails = %+v", up.CodeDeliveryDetails)
	}
	if n := len(e.recv.received(hook.CustomSMSSender)); n != 0 {
		t.Fatalf("hook called %d times before the dispatcher ran: the code must go through the outbox", n)
	}
	e.flush()
	req := e.senderEvent(hook.CustomSMSSender, 0, hook.SourceCustomSMSSenderSignUp, testPhone)
	if req.UserAttributes["phone_number"] != testPhone || req.UserAttributes["given_name"] != "Alice" ||
		req.UserAttributes["sub"] != aws.ToString(up.UserSub) || req.UserAttributes["cognito:user_status"] != "UNCONFIRMED" {
		t.Errorf("userAttributes = %v", req.UserAttributes)
	}
	if _, err := e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{
		ClientId: aws.String(e.client.ID), Username: aws.String(testPhone), ConfirmationCode: aws.String(req.Code),
	}); err != nil {
		t.Fatalf("ConfirmSignUp with the code the hook received: %v", err)
	}

	// Sign-in: CustomSMSSender_Authentication; the code signs in.
	init, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": testPhone, "PREFERRED_CHALLENGE": "SMS_OTP"})
	if err != nil {
		t.Fatal(err)
	}
	e.flush()
	req = e.senderEvent(hook.CustomSMSSender, 1, hook.SourceCustomSMSSenderAuthentication, testPhone)
	if req.UserAttributes["cognito:user_status"] != "CONFIRMED" || req.UserAttributes["phone_number_verified"] != "true" {
		t.Errorf("userAttributes = %v", req.UserAttributes)
	}
	out, err := e.respond(types.ChallengeNameTypeSmsOtp, aws.ToString(init.Session), map[string]string{"USERNAME": testPhone, "SMS_OTP_CODE": req.Code})
	if err != nil || out.AuthenticationResult == nil {
		t.Fatalf("sign-in with the code the hook received: %v", err)
	}
	e.verifyTokens(out.AuthenticationResult, testPhone)

	// Nothing reached the providers or the fallback.
	if calls, _, _ := twilio.stats(); calls != 0 {
		t.Errorf("Twilio called %d times; a custom sender replaces the providers", calls)
	}
	if msgs := e.outbox.Messages(testPhone); len(msgs) != 0 {
		t.Errorf("%d messages reached the fallback sender", len(msgs))
	}
	// No code in the logs.
	for _, ev := range e.recv.received(hook.CustomSMSSender) {
		var r hook.CustomSenderRequest
		trigDecode(t, ev, &r)
		if strings.Contains(e.logs.String(), r.Code) {
			t.Errorf("a code is in the logs")
		}
	}

	// Email has no custom sender here: its codes go the usual way.
	e.signUpWith(testEmail, nil, nil, nil)
	e.flush()
	if msgs := e.outbox.Messages(testEmail); len(msgs) != 1 {
		t.Fatalf("%d email messages in the fallback outbox, want 1", len(msgs))
	}
	if n := len(e.recv.received(hook.CustomEmailSender)); n != 0 {
		t.Errorf("CustomEmailSender called %d times without being configured", n)
	}
	if st := e.queue.Stats(); st.Failed != 0 || st.Sent != 3 {
		t.Errorf("dispatcher stats %+v, want 3 sent, none failed", st)
	}
}

// TestCustomEmailSenderVerifiesAnAttribute: the email custom sender gets
// a verification code as CustomEmailSender_VerifyUserAttribute, with the
// new address, and the code verifies it.
func TestCustomEmailSenderVerifiesAnAttribute(t *testing.T) {
	ctx := context.Background()
	e := newTrigEnv(t, withQueue(), withTrig(hook.CustomEmailSender))
	e.signUp(testPhone)
	init, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": testPhone, "PREFERRED_CHALLENGE": "SMS_OTP"})
	if err != nil {
		t.Fatal(err)
	}
	e.flush()
	out, err := e.respond(types.ChallengeNameTypeSmsOtp, aws.ToString(init.Session), map[string]string{"USERNAME": testPhone, "SMS_OTP_CODE": e.lastCode(testPhone)})
	if err != nil {
		t.Fatal(err)
	}
	access := out.AuthenticationResult.AccessToken
	if _, err := e.cog.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{
		AccessToken:    access,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(testEmail)}},
	}); err != nil {
		t.Fatal(err)
	}
	e.flush()
	req := e.senderEvent(hook.CustomEmailSender, 0, hook.SourceCustomEmailSenderVerifyUserAttribute, testEmail)
	if req.UserAttributes["email"] != testEmail {
		t.Errorf("userAttributes = %v", req.UserAttributes)
	}
	if _, err := e.cog.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: access, AttributeName: aws.String("email"), Code: aws.String(req.Code)}); err != nil {
		t.Fatalf("VerifyUserAttribute with the code the hook received: %v", err)
	}
	if msgs := e.outbox.Messages(testEmail); len(msgs) != 0 {
		t.Errorf("%d email messages reached the fallback sender", len(msgs))
	}
}

// TestCustomSenderFailures: a hook that is unavailable or does not answer
// in time is retried by the dispatcher while the code lives, and the
// retried message carries the same code; a hook's own error drops the
// message (and audits the failure). The server keeps serving.
func TestCustomSenderFailures(t *testing.T) {
	e := newTrigEnv(t, withQueue(), withTrig(hook.CustomSMSSender), withWebhooks(hook.WebhookOptions{Timeout: 300 * time.Millisecond}))
	e.signUp(testPhone)

	for _, c := range []struct {
		name   string
		answer trigAnswer
	}{
		{"unavailable", trigFail(http.StatusServiceUnavailable, "", "")},
		{"timeout", trigHang()},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.recv.answer(hook.CustomSMSSender, c.answer)
			before := len(e.recv.received(hook.CustomSMSSender))
			stats := e.queue.Stats()
			init, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": testPhone, "PREFERRED_CHALLENGE": "SMS_OTP"})
			if err != nil {
				t.Fatalf("InitiateAuth while the hook fails: %v", err)
			}
			e.flush()
			if st := e.queue.Stats(); st.Retried != stats.Retried+1 || st.Sent != stats.Sent || st.Failed != stats.Failed {
				t.Fatalf("stats %+v after a transient failure (before %+v), want one retry", st, stats)
			}
			// The hook is back: the retry delivers the same code.
			e.recv.answer(hook.CustomSMSSender, nil)
			e.clock.Advance(5 * time.Second)
			e.flush()
			evs := e.recv.received(hook.CustomSMSSender)
			if len(evs) != before+2 {
				t.Fatalf("%d events after the retry, want %d", len(evs), before+2)
			}
			var first, second hook.CustomSenderRequest
			trigDecode(t, evs[before], &first)
			trigDecode(t, evs[before+1], &second)
			if first.Code != second.Code {
				t.Error("the retry carries another code")
			}
			out, err := e.respond(types.ChallengeNameTypeSmsOtp, aws.ToString(init.Session), map[string]string{"USERNAME": testPhone, "SMS_OTP_CODE": second.Code})
			if err != nil || out.AuthenticationResult == nil {
				t.Fatalf("sign-in with the retried code: %v", err)
			}
		})
	}

	// The hook's own error is permanent: the message is dropped.
	e.recv.answer(hook.CustomSMSSender, trigFail(http.StatusBadRequest, "application/json", `{"errorMessage":"number blocked"}`))
	stats := e.queue.Stats()
	if _, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": testPhone, "PREFERRED_CHALLENGE": "SMS_OTP"}); err != nil {
		t.Fatal(err)
	}
	e.flush()
	if st := e.queue.Stats(); st.Failed != stats.Failed+1 || st.Retried != stats.Retried {
		t.Fatalf("stats %+v after a permanent failure (before %+v), want one dropped", st, stats)
	}
	if !strings.Contains(e.logs.String(), "CustomSMSSender failed with error number blocked.") {
		t.Error("the hook's error is not in the logs")
	}
	// The server keeps serving.
	e.recv.answer(hook.CustomSMSSender, nil)
	e.clock.Advance(time.Minute)
	init, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": testPhone, "PREFERRED_CHALLENGE": "SMS_OTP"})
	if err != nil {
		t.Fatal(err)
	}
	e.flush()
	evs := e.recv.received(hook.CustomSMSSender)
	var last hook.CustomSenderRequest
	trigDecode(t, evs[len(evs)-1], &last)
	if _, err := e.respond(types.ChallengeNameTypeSmsOtp, aws.ToString(init.Session), map[string]string{"USERNAME": testPhone, "SMS_OTP_CODE": last.Code}); err != nil {
		t.Fatal(err)
	}
}
