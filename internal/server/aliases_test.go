package server_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// TestAliases pins Cognito's alias rules: a verified email or phone number
// signs its user in like the username does, belongs to one user only, and
// the username's own attribute can change, moving the sign-in identifier
// once the new value is verified.
func TestAliases(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const phone, email = "+14155552671", "ada@example.com"
	attr := func(name, value string) types.AttributeType {
		return types.AttributeType{Name: aws.String(name), Value: aws.String(value)}
	}
	sub := aws.ToString(e.signUp(phone, attr("email", email)).UserSub)
	res := e.signIn(phone, types.ChallengeNameTypeSmsOtp, phone)

	// Before verification the email is no identifier: an unknown user.
	init, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": email, "PREFERRED_CHALLENGE": "EMAIL_OTP"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.outbox.Messages(email)); n != 0 {
		t.Fatalf("an unverified email got %d sign-in codes", n)
	}
	_ = init

	// Verify the email: now it signs the same user in.
	if _, err := e.cog.GetUserAttributeVerificationCode(ctx, &cip.GetUserAttributeVerificationCodeInput{AccessToken: res.AccessToken, AttributeName: aws.String("email")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cog.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: res.AccessToken, AttributeName: aws.String("email"), Code: aws.String(e.lastCode(email))}); err != nil {
		t.Fatal(err)
	}
	byEmail := e.signIn(email, types.ChallengeNameTypeEmailOtp, email)
	idClaims, _ := e.verifyTokens(byEmail, phone)
	if idClaims["sub"] != sub {
		t.Fatalf("signing in by the verified email gave sub %v, want %s", idClaims["sub"], sub)
	}

	// The alias is taken: no sign-up with it, no other user may verify it.
	_, err = e.cog.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(email)})
	apiErr(t, err, "UsernameExistsException", "An account with the given email already exists.")
	const other = "+14155550199"
	e.signUp(other, attr("email", email))
	otherRes := e.signIn(other, types.ChallengeNameTypeSmsOtp, other)
	if _, err := e.cog.GetUserAttributeVerificationCode(ctx, &cip.GetUserAttributeVerificationCodeInput{AccessToken: otherRes.AccessToken, AttributeName: aws.String("email")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.cog.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: otherRes.AccessToken, AttributeName: aws.String("email"), Code: aws.String(e.lastCode(email))})
	apiErr(t, err, "AliasExistsException", "An account with the given email already exists.")
}

// TestChangeTheUsernameAttribute: an email-username user changes their
// email. They sign in by the old address until the new one is verified,
// then by the new one only; the old address is free for someone else.
func TestChangeTheUsernameAttribute(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const old, next = "old@example.com", "new@example.com"
	sub := aws.ToString(e.signUp(old).UserSub)
	res := e.signIn(old, types.ChallengeNameTypeEmailOtp, old)
	attr := types.AttributeType{Name: aws.String("email"), Value: aws.String(next)}
	out, err := e.cog.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: res.AccessToken, UserAttributes: []types.AttributeType{attr}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.CodeDeliveryDetailsList) != 1 {
		t.Fatalf("deliveries %+v, want one code to the new email", out.CodeDeliveryDetailsList)
	}
	// Not verified yet: the old address still signs in, and its code goes there.
	e.signIn(old, types.ChallengeNameTypeEmailOtp, old)
	if _, err := e.cog.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: res.AccessToken, AttributeName: aws.String("email"), Code: aws.String(e.lastCode(next))}); err != nil {
		t.Fatal(err)
	}
	byNew := e.signIn(next, types.ChallengeNameTypeEmailOtp, next)
	idClaims, _ := e.verifyTokens(byNew, next)
	if idClaims["sub"] != sub || idClaims["email"] != next || idClaims["email_verified"] != true {
		t.Fatalf("claims after the change: %v", idClaims)
	}
	// The old address is free again.
	if _, err := e.cog.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(old)}); err != nil {
		t.Fatalf("signing up the old address: %v", err)
	}
}
