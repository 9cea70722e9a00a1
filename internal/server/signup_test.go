package server_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/latchkey/latchkey/internal/pool"
)

func requireConfirmation() envOption {
	return withSettings(func(s *pool.Settings) { s.AutoConfirm = false })
}

func TestSignUpWithConfirmationThenSignInWithoutSecondCode(t *testing.T) {
	e := newEnv(t, requireConfirmation())
	ctx := context.Background()
	up := e.signUp(testEmail)
	if up.UserConfirmed {
		t.Fatal("user confirmed without a code in a pool that requires confirmation")
	}
	if d := up.CodeDeliveryDetails; d == nil || aws.ToString(d.Destination) != "a***@e***" || d.DeliveryMedium != types.DeliveryMediumTypeEmail || aws.ToString(d.AttributeName) != "email" {
		t.Fatalf("CodeDeliveryDetails = %+v", up.CodeDeliveryDetails)
	}
	code := e.lastCode(testEmail)

	// An unconfirmed user cannot sign in yet.
	_, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": testEmail, "PREFERRED_CHALLENGE": "EMAIL_OTP"})
	apiErr(t, err, "UserNotConfirmedException", "User is not confirmed.")

	_, err = e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testEmail), ConfirmationCode: aws.String(wrongCode(code))})
	apiErr(t, err, "CodeMismatchException", "")
	conf, err := e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testEmail), ConfirmationCode: aws.String(code), Session: up.Session})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testEmail), ConfirmationCode: aws.String(code)})
	apiErr(t, err, "NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")

	// Sign-in after sign-up: the confirmation code was the proof.
	out, err := e.cog.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId: aws.String(e.client.ID), AuthFlow: types.AuthFlowTypeUserAuth,
		AuthParameters: map[string]string{"USERNAME": testEmail}, Session: conf.Session,
	})
	if err != nil {
		t.Fatal(err)
	}
	idc, _ := e.verifyTokens(out.AuthenticationResult, testEmail)
	if idc["email_verified"] != true {
		t.Errorf("email_verified = %v after confirmation", idc["email_verified"])
	}
	// The session is single use.
	_, err = e.cog.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId: aws.String(e.client.ID), AuthFlow: types.AuthFlowTypeUserAuth,
		AuthParameters: map[string]string{"USERNAME": testEmail}, Session: conf.Session,
	})
	apiErr(t, err, "NotAuthorizedException", "Invalid session for the user.")
}

func TestUnconfirmedUserNeverBlocksSignUp(t *testing.T) {
	e := newEnv(t, requireConfirmation())
	first := e.signUp(testPhone)
	firstCode := e.lastCode(testPhone)
	second := e.signUp(testPhone)
	if aws.ToString(first.UserSub) == aws.ToString(second.UserSub) {
		t.Fatal("re-sign-up kept the abandoned account")
	}
	if n := len(e.outbox.Messages(testPhone)); n != 2 {
		t.Fatalf("%d messages, want a new code on re-sign-up", n)
	}
	ctx := context.Background()
	secondCode := e.lastCode(testPhone)
	if firstCode != secondCode { // equal with probability 1e-6
		_, err := e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testPhone), ConfirmationCode: aws.String(firstCode)})
		apiErr(t, err, "CodeMismatchException", "")
	}
	if _, err := e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testPhone), ConfirmationCode: aws.String(secondCode)}); err != nil {
		t.Fatal(err)
	}
	// Once confirmed, the username is taken.
	_, err := e.cog.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testPhone)})
	apiErr(t, err, "UsernameExistsException", "An account with the given phone_number already exists.")
}

func TestResendConfirmationCode(t *testing.T) {
	e := newEnv(t, requireConfirmation())
	ctx := context.Background()
	e.signUp(testPhone)
	old := e.lastCode(testPhone)
	out, err := e.cog.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(e.client.ID), Username: aws.String(testPhone)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.CodeDeliveryDetails.Destination) != "+*******2671" {
		t.Errorf("Destination = %q", aws.ToString(out.CodeDeliveryDetails.Destination))
	}
	fresh := e.lastCode(testPhone)
	if old != fresh {
		// Only the newest code is live.
		_, err = e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testPhone), ConfirmationCode: aws.String(old)})
		apiErr(t, err, "CodeMismatchException", "")
	}
	if _, err := e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testPhone), ConfirmationCode: aws.String(fresh)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.cog.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(e.client.ID), Username: aws.String(testPhone)})
	apiErr(t, err, "InvalidParameterException", "User is already confirmed.")
}

func TestConfirmationCodeBurnsAfterThreeWrongAnswers(t *testing.T) {
	e := newEnv(t, requireConfirmation())
	ctx := context.Background()
	e.signUp(testPhone)
	code := e.lastCode(testPhone)
	for i := 0; i < 3; i++ {
		_, err := e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testPhone), ConfirmationCode: aws.String(wrongCode(code))})
		apiErr(t, err, "CodeMismatchException", "")
	}
	_, err := e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testPhone), ConfirmationCode: aws.String(code)})
	apiErr(t, err, "ExpiredCodeException", "Invalid code provided, please request a code again.")
}

func TestAutoConfirmedSignUpSessionStartsCodeSignIn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	up := e.signUp(testPhone)
	out, err := e.cog.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId: aws.String(e.client.ID), AuthFlow: types.AuthFlowTypeUserAuth,
		AuthParameters: map[string]string{"USERNAME": testPhone}, Session: up.Session,
	})
	if err != nil {
		t.Fatal(err)
	}
	// No code proved the number yet, so the first sign-in asks for one.
	if out.AuthenticationResult != nil || out.ChallengeName != types.ChallengeNameTypeSmsOtp {
		t.Fatalf("InitiateAuth with the sign-up session = %+v, want an SMS_OTP challenge", out)
	}
	res, err := e.respond(types.ChallengeNameTypeSmsOtp, aws.ToString(out.Session), map[string]string{"USERNAME": testPhone, "SMS_OTP_CODE": e.lastCode(testPhone)})
	if err != nil {
		t.Fatal(err)
	}
	e.verifyTokens(res.AuthenticationResult, testPhone)
}

func TestClientSecretHash(t *testing.T) {
	e := newEnv(t, withClientSecret())
	ctx := context.Background()
	_, err := e.cog.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testPhone)})
	apiErr(t, err, "NotAuthorizedException", "Client "+e.client.ID+" is configured with secret but SECRET_HASH was not received")
	_, err = e.cog.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testPhone), SecretHash: aws.String("bm90IHRoZSBoYXNo")})
	apiErr(t, err, "NotAuthorizedException", "Unable to verify secret hash for client "+e.client.ID)
	if _, err := e.cog.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(testPhone), SecretHash: aws.String(secretHash(e.client.Secret, testPhone, e.client.ID))}); err != nil {
		t.Fatal(err)
	}
}
