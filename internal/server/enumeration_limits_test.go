package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/latchkey/latchkey/internal/pool"
)

// TestLimitsRevealNothing drives a known and an unknown identifier, side by
// side on the same clock, through the default limits: the resend cooldown,
// then wrong codes until the account's guessing budget locks it. Every
// response must be the same for both, step by step, limits included.
func TestLimitsRevealNothing(t *testing.T) {
	e := newEnv(t, withLimits(pool.DefaultLimits()))
	const known, unknown = "+14155552671", "+14155559876"
	e.signUp(known)
	sms := map[string]string{"PREFERRED_CHALLENGE": "SMS_OTP"}
	initiate := func(username string) outcome {
		params := map[string]string{"USERNAME": username}
		for k, v := range sms {
			params[k] = v
		}
		out, err := e.initiate(types.AuthFlowTypeUserAuth, params)
		o := initOutcome(out, err)
		if err == nil {
			o.params["session"] = aws.ToString(out.Session)
		}
		return o
	}
	// strip leaves out the session string, which is random.
	strip := func(o outcome) outcome {
		params := make(map[string]string, len(o.params))
		for k, v := range o.params {
			if k != "session" {
				params[k] = v
			}
		}
		o.params = params
		return o
	}

	// A second code within the cooldown is refused the same way.
	k, u := initiate(known), initiate(unknown)
	sameOutcome(t, "first code", strip(k), strip(u))
	k2, u2 := initiate(known), initiate(unknown)
	sameOutcome(t, "second code within the cooldown", k2, u2)
	if k2.errType != "LimitExceededException" {
		t.Fatalf("second code within the cooldown: %+v, want LimitExceededException", k2)
	}

	// Wrong codes, three per session, until both are locked.
	sessions := map[string]string{known: k.params["session"], unknown: u.params["session"]}
	locked := false
	for step := 0; step < 40 && !locked; step++ {
		var outs [2]outcome
		for i, username := range []string{known, unknown} {
			out, err := e.respond(types.ChallengeNameTypeSmsOtp, sessions[username], map[string]string{"USERNAME": username, "SMS_OTP_CODE": "000000"})
			outs[i] = respondOutcome(out, err)
			if outs[i].errType == "NotAuthorizedException" {
				// The session's attempts are used up: a new code, once the
				// per-destination limits allow one for both.
				sessions[username] = ""
			}
		}
		sameOutcome(t, "wrong code", outs[0], outs[1])
		if outs[0].errType == "TooManyFailedAttemptsException" {
			locked = true
			break
		}
		if sessions[known] == "" {
			e.clock.Advance(15 * time.Minute)
			ko, uo := initiate(known), initiate(unknown)
			sameOutcome(t, "new code", strip(ko), strip(uo))
			if ko.errType != "" {
				if ko.errType != "TooManyFailedAttemptsException" {
					t.Fatalf("new code: %+v", ko)
				}
				locked = true
				break
			}
			sessions[known], sessions[unknown] = ko.params["session"], uo.params["session"]
		}
	}
	if !locked {
		t.Fatal("neither account was locked by the guessing budget")
	}
	if n := len(e.outbox.Messages(unknown)); n != 0 {
		t.Errorf("%d messages were sent to the unknown number", n)
	}
}

// TestConfirmSignUpRevealsNothing: with confirmation codes, a wrong code
// for an UNCONFIRMED user and for an unknown one, and a resend for either,
// answer alike.
func TestConfirmSignUpRevealsNothing(t *testing.T) {
	e := newEnv(t, withSettings(func(s *pool.Settings) { s.AutoConfirm = false }))
	const known, unknown = "+14155552671", "+14155559876"
	e.signUp(known)
	ctx := context.Background()
	confirm := func(username string) outcome {
		_, err := e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(username), ConfirmationCode: aws.String("000000")})
		if err == nil {
			return outcome{}
		}
		return errOutcome(err)
	}
	for i := 0; i < 2; i++ {
		sameOutcome(t, "wrong confirmation code", confirm(known), confirm(unknown))
	}
	e.clock.Advance(time.Minute)
	resend := func(username string) (string, outcome) {
		out, err := e.cog.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(e.client.ID), Username: aws.String(username)})
		if err != nil {
			return "", errOutcome(err)
		}
		return string(out.CodeDeliveryDetails.DeliveryMedium) + " " + aws.ToString(out.CodeDeliveryDetails.AttributeName), outcome{}
	}
	kd, ko := resend(known)
	ud, uo := resend(unknown)
	sameOutcome(t, "resend", ko, uo)
	if kd != ud {
		t.Errorf("resend delivery: known %q, unknown %q", kd, ud)
	}
}

// TestRevokeTokenRevealsNothing: revoking a token that never existed and
// one already revoked both succeed, as RFC 7009 asks.
func TestRevokeTokenRevealsNothing(t *testing.T) {
	e := newEnv(t)
	const user = "+14155552671"
	e.signUp(user)
	res := e.signIn(user, types.ChallengeNameTypeSmsOtp, user)
	ctx := context.Background()
	for _, tok := range []string{aws.ToString(res.RefreshToken), aws.ToString(res.RefreshToken), "not-a-token-that-ever-existed"} {
		if _, err := e.cog.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: aws.String(e.client.ID), Token: aws.String(tok)}); err != nil {
			t.Errorf("RevokeToken: %v", err)
		}
	}
}

// TestSignUpOfATakenUsername pins the one place Cognito's wire behaviour
// tells that an account exists: SignUp with a CONFIRMED user's username
// answers UsernameExistsException (Cognito does the same, even with
// PreventUserExistenceErrors). docs/security.md explains it.
func TestSignUpOfATakenUsername(t *testing.T) {
	e := newEnv(t)
	const user = "+14155552671"
	e.signUp(user)
	_, err := e.cog.SignUp(context.Background(), &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(user), Password: aws.String("ignored-Passw0rd")})
	apiErr(t, err, "UsernameExistsException", "An account with the given phone_number already exists.")
}
