package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/internal/pool"
)

const (
	testPhone = "+14155552671"
	testEmail = "alice@example.com"
)

func (e *env) signUp(username string, attrs ...types.AttributeType) *cip.SignUpOutput {
	e.t.Helper()
	out, err := e.cog.SignUp(context.Background(), &cip.SignUpInput{
		ClientId:       aws.String(e.client.ID),
		Username:       aws.String(username),
		Password:       aws.String("Dummy-password-1!"), // ignored, as the classic recipes send one
		UserAttributes: attrs,
	})
	if err != nil {
		e.t.Fatalf("SignUp(%s): %v", username, err)
	}
	return out
}

func (e *env) initiate(flow types.AuthFlowType, params map[string]string) (*cip.InitiateAuthOutput, error) {
	return e.cog.InitiateAuth(context.Background(), &cip.InitiateAuthInput{
		ClientId:       aws.String(e.client.ID),
		AuthFlow:       flow,
		AuthParameters: params,
	})
}

func (e *env) respond(challenge types.ChallengeNameType, session string, responses map[string]string) (*cip.RespondToAuthChallengeOutput, error) {
	return e.cog.RespondToAuthChallenge(context.Background(), &cip.RespondToAuthChallengeInput{
		ClientId:           aws.String(e.client.ID),
		ChallengeName:      challenge,
		Session:            aws.String(session),
		ChallengeResponses: responses,
	})
}

// signIn runs USER_AUTH with a preferred OTP channel and returns the tokens.
func (e *env) signIn(username string, challenge types.ChallengeNameType, dest string) *types.AuthenticationResultType {
	e.t.Helper()
	init, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": username, "PREFERRED_CHALLENGE": string(challenge)})
	if err != nil {
		e.t.Fatalf("InitiateAuth: %v", err)
	}
	codeKey := "SMS_OTP_CODE"
	if challenge == types.ChallengeNameTypeEmailOtp {
		codeKey = "EMAIL_OTP_CODE"
	}
	out, err := e.respond(challenge, aws.ToString(init.Session), map[string]string{"USERNAME": username, codeKey: e.lastCode(dest)})
	if err != nil {
		e.t.Fatalf("RespondToAuthChallenge: %v", err)
	}
	if out.AuthenticationResult == nil {
		e.t.Fatalf("no tokens after the right code: %+v", out)
	}
	return out.AuthenticationResult
}

// tokenClaims verifies the ID and access tokens' signatures through the
// served JWKS with go-jose, as any JWT library would, allowing only the
// pool's signing algorithm, and their iss and exp, and returns their
// claims.
func (e *env) tokenClaims(res *types.AuthenticationResultType) (idClaims, accessClaims map[string]any) {
	e.t.Helper()
	resp, err := http.Get(e.url + "/" + e.pool.ID + "/.well-known/jwks.json")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		e.t.Fatalf("decode JWKS: %v", err)
	}
	wantIss := e.url + "/" + e.pool.ID
	parse := func(raw string) map[string]any {
		alg := jose.SignatureAlgorithm(e.pool.Settings.EffectiveSigningAlgorithm())
		tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{alg})
		if err != nil {
			e.t.Fatalf("parse token: %v", err)
		}
		var std jwt.Claims
		all := map[string]any{}
		if err := tok.Claims(jwks, &std, &all); err != nil {
			e.t.Fatalf("verify token with the JWKS: %v", err)
		}
		if err := std.ValidateWithLeeway(jwt.Expected{Issuer: wantIss, Time: e.clock.Now()}, 0); err != nil {
			e.t.Fatalf("validate claims: %v", err)
		}
		return all
	}
	return parse(aws.ToString(res.IdToken)), parse(aws.ToString(res.AccessToken))
}

// verifyTokens checks the ID and access tokens (see tokenClaims) and their
// claims.
func (e *env) verifyTokens(res *types.AuthenticationResultType, wantUsername string) (idClaims, accessClaims map[string]any) {
	e.t.Helper()
	idClaims, accessClaims = e.tokenClaims(res)
	checks := []struct {
		claims map[string]any
		name   string
		want   any
	}{
		{idClaims, "token_use", "id"},
		{idClaims, "aud", e.client.ID},
		{idClaims, "cognito:username", wantUsername},
		{accessClaims, "token_use", "access"},
		{accessClaims, "client_id", e.client.ID},
		{accessClaims, "username", wantUsername},
		{accessClaims, "scope", "aws.cognito.signin.user.admin"},
	}
	for _, c := range checks {
		if c.claims[c.name] != c.want {
			e.t.Errorf("claim %s = %v, want %v", c.name, c.claims[c.name], c.want)
		}
	}
	for _, name := range []string{"sub", "iat", "exp", "auth_time", "jti", "origin_jti"} {
		if idClaims[name] == nil || accessClaims[name] == nil {
			e.t.Errorf("claim %s missing: id %v, access %v", name, idClaims[name], accessClaims[name])
		}
	}
	if _, has := accessClaims["aud"]; has {
		e.t.Error("access token has aud; Cognito's access tokens carry client_id instead")
	}
	if exp, iat := accessClaims["exp"].(float64), accessClaims["iat"].(float64); exp-iat != float64(aws.ToInt32(&res.ExpiresIn)) {
		e.t.Errorf("exp-iat = %v, ExpiresIn = %d", exp-iat, res.ExpiresIn)
	}
	if aws.ToString(res.TokenType) != "Bearer" {
		e.t.Errorf("TokenType = %q", aws.ToString(res.TokenType))
	}
	return idClaims, accessClaims
}

func TestSignUpAndCustomAuthByPhone(t *testing.T) {
	e := newEnv(t)
	up := e.signUp(testPhone)
	if !up.UserConfirmed || aws.ToString(up.UserSub) == "" || aws.ToString(up.Session) == "" {
		t.Fatalf("SignUp = %+v, want a confirmed user with a sub and a session", up)
	}
	init, err := e.initiate(types.AuthFlowTypeCustomAuth, map[string]string{"USERNAME": testPhone})
	if err != nil {
		t.Fatal(err)
	}
	if init.ChallengeName != types.ChallengeNameTypeCustomChallenge {
		t.Fatalf("ChallengeName = %s", init.ChallengeName)
	}
	wantParams := map[string]string{"USERNAME": testPhone, "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS", "CODE_DELIVERY_DESTINATION": "+*******2671"}
	for k, v := range wantParams {
		if init.ChallengeParameters[k] != v {
			t.Errorf("ChallengeParameters[%s] = %q, want %q", k, init.ChallengeParameters[k], v)
		}
	}
	code := e.lastCode(testPhone)
	if len(code) != 6 {
		t.Fatalf("code %q is not 6 digits", code)
	}
	session := aws.ToString(init.Session)
	// Two wrong answers: each returns the same challenge under a new
	// session, and the previous session stops working.
	for i := 0; i < 2; i++ {
		out, err := e.respond(types.ChallengeNameTypeCustomChallenge, session, map[string]string{"USERNAME": testPhone, "ANSWER": wrongCode(code)})
		if err != nil {
			t.Fatalf("wrong answer %d: %v", i+1, err)
		}
		if out.ChallengeName != types.ChallengeNameTypeCustomChallenge || out.AuthenticationResult != nil {
			t.Fatalf("wrong answer %d gave %+v", i+1, out)
		}
		next := aws.ToString(out.Session)
		if next == session {
			t.Fatal("session was not rotated after a wrong answer")
		}
		_, err = e.respond(types.ChallengeNameTypeCustomChallenge, session, map[string]string{"USERNAME": testPhone, "ANSWER": code})
		apiErr(t, err, "NotAuthorizedException", "Invalid session for the user.")
		session = next
	}
	if n := len(e.outbox.Messages(testPhone)); n != 1 {
		t.Fatalf("%d messages sent; wrong answers must reuse the same code", n)
	}
	out, err := e.respond(types.ChallengeNameTypeCustomChallenge, session, map[string]string{"USERNAME": testPhone, "ANSWER": code})
	if err != nil {
		t.Fatal(err)
	}
	idc, _ := e.verifyTokens(out.AuthenticationResult, testPhone)
	if idc["phone_number"] != testPhone || idc["phone_number_verified"] != true {
		t.Errorf("phone claims = %v %v, want the number, verified by the sign-in", idc["phone_number"], idc["phone_number_verified"])
	}
	if idc["sub"] != aws.ToString(up.UserSub) {
		t.Errorf("sub = %v, want %s", idc["sub"], aws.ToString(up.UserSub))
	}
	// Single use: the session that produced tokens is gone.
	_, err = e.respond(types.ChallengeNameTypeCustomChallenge, session, map[string]string{"USERNAME": testPhone, "ANSWER": code})
	apiErr(t, err, "NotAuthorizedException", "Invalid session for the user.")
}

func TestThreeWrongCodesEndTheSession(t *testing.T) {
	for _, tc := range []struct {
		name      string
		flow      types.AuthFlowType
		challenge types.ChallengeNameType
		answerKey string
	}{
		{"custom", types.AuthFlowTypeCustomAuth, types.ChallengeNameTypeCustomChallenge, "ANSWER"},
		{"sms otp", types.AuthFlowTypeUserAuth, types.ChallengeNameTypeSmsOtp, "SMS_OTP_CODE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.signUp(testPhone)
			init, err := e.initiate(tc.flow, map[string]string{"USERNAME": testPhone, "PREFERRED_CHALLENGE": "SMS_OTP"})
			if err != nil {
				t.Fatal(err)
			}
			code := e.lastCode(testPhone)
			session := aws.ToString(init.Session)
			for i := 1; i <= 3; i++ {
				out, err := e.respond(tc.challenge, session, map[string]string{"USERNAME": testPhone, tc.answerKey: wrongCode(code)})
				switch {
				case i == 3:
					apiErr(t, err, "NotAuthorizedException", "Incorrect username or password.")
				case tc.challenge == types.ChallengeNameTypeCustomChallenge:
					if err != nil {
						t.Fatalf("wrong answer %d: %v", i, err)
					}
					session = aws.ToString(out.Session)
				default:
					// Native OTP: CodeMismatch, and the same session may retry.
					apiErr(t, err, "CodeMismatchException", "Invalid code or auth state for the user.")
				}
			}
			_, err = e.respond(tc.challenge, session, map[string]string{"USERNAME": testPhone, tc.answerKey: code})
			apiErr(t, err, "NotAuthorizedException", "")
		})
	}
}

func TestUserAuthOTP(t *testing.T) {
	e := newEnv(t)
	e.signUp(testEmail, types.AttributeType{Name: aws.String("phone_number"), Value: aws.String("+1 (415) 555-2671")})
	for _, tc := range []struct {
		challenge  types.ChallengeNameType
		dest       string
		medium     string
		maskedDest string
	}{
		{types.ChallengeNameTypeEmailOtp, testEmail, "EMAIL", "a***@e***"},
		{types.ChallengeNameTypeSmsOtp, testPhone, "SMS", "+*******2671"},
	} {
		t.Run(string(tc.challenge), func(t *testing.T) {
			init, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": "Alice@Example.com", "PREFERRED_CHALLENGE": string(tc.challenge)})
			if err != nil {
				t.Fatal(err)
			}
			if init.ChallengeName != tc.challenge {
				t.Fatalf("ChallengeName = %s, want %s", init.ChallengeName, tc.challenge)
			}
			if got := init.ChallengeParameters["CODE_DELIVERY_DELIVERY_MEDIUM"]; got != tc.medium {
				t.Errorf("medium = %q", got)
			}
			if got := init.ChallengeParameters["CODE_DELIVERY_DESTINATION"]; got != tc.maskedDest {
				t.Errorf("destination = %q, want %q", got, tc.maskedDest)
			}
			codeKey := string(tc.challenge) + "_CODE"
			code := e.lastCode(tc.dest)
			_, err = e.respond(tc.challenge, aws.ToString(init.Session), map[string]string{"USERNAME": testEmail, codeKey: wrongCode(code)})
			apiErr(t, err, "CodeMismatchException", "")
			out, err := e.respond(tc.challenge, aws.ToString(init.Session), map[string]string{"USERNAME": testEmail, codeKey: code})
			if err != nil {
				t.Fatalf("right code after a wrong one on the same session: %v", err)
			}
			idc, _ := e.verifyTokens(out.AuthenticationResult, testEmail)
			if idc["email"] != testEmail {
				t.Errorf("email claim = %v", idc["email"])
			}
		})
	}
}

func TestSelectChallenge(t *testing.T) {
	e := newEnv(t)
	e.signUp(testPhone)
	init, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": testPhone})
	if err != nil {
		t.Fatal(err)
	}
	if init.ChallengeName != types.ChallengeNameTypeSelectChallenge {
		t.Fatalf("ChallengeName = %s", init.ChallengeName)
	}
	if got := init.AvailableChallenges; len(got) != 2 || got[0] != types.ChallengeNameTypeEmailOtp || got[1] != types.ChallengeNameTypeSmsOtp {
		t.Fatalf("AvailableChallenges = %v", got)
	}
	if n := len(e.outbox.Messages(testPhone)); n != 0 {
		t.Fatalf("a code was sent before a challenge was chosen")
	}
	_, err = e.respond(types.ChallengeNameTypeSelectChallenge, aws.ToString(init.Session), map[string]string{"USERNAME": testPhone, "ANSWER": "PASSWORD"})
	apiErr(t, err, "InvalidParameterException", "")
	sel, err := e.respond(types.ChallengeNameTypeSelectChallenge, aws.ToString(init.Session), map[string]string{"USERNAME": testPhone, "ANSWER": "SMS_OTP"})
	if err != nil {
		t.Fatal(err)
	}
	if sel.ChallengeName != types.ChallengeNameTypeSmsOtp || sel.ChallengeParameters["CODE_DELIVERY_DESTINATION"] != "+*******2671" {
		t.Fatalf("after selecting SMS_OTP: %+v", sel)
	}
	out, err := e.respond(types.ChallengeNameTypeSmsOtp, aws.ToString(sel.Session), map[string]string{"USERNAME": testPhone, "SMS_OTP_CODE": e.lastCode(testPhone)})
	if err != nil {
		t.Fatal(err)
	}
	e.verifyTokens(out.AuthenticationResult, testPhone)
}

func TestExpiredSession(t *testing.T) {
	e := newEnv(t)
	e.signUp(testPhone)
	init, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": testPhone, "PREFERRED_CHALLENGE": "SMS_OTP"})
	if err != nil {
		t.Fatal(err)
	}
	code := e.lastCode(testPhone)
	e.clock.Advance(3 * time.Minute)
	_, err = e.respond(types.ChallengeNameTypeSmsOtp, aws.ToString(init.Session), map[string]string{"USERNAME": testPhone, "SMS_OTP_CODE": code})
	apiErr(t, err, "NotAuthorizedException", "Invalid session for the user, session is expired.")
}

// TestRefreshSignOutRevokeAndDelete runs for a pool of each signing
// algorithm: every token it gets is verified through the served JWKS.
func TestRefreshSignOutRevokeAndDelete(t *testing.T) {
	for _, alg := range pool.SigningAlgorithms() {
		t.Run(alg, func(t *testing.T) {
			testRefreshSignOutRevokeAndDelete(t, newEnv(t, withSettings(func(s *pool.Settings) { s.SigningAlgorithm = alg })))
		})
	}
}

func testRefreshSignOutRevokeAndDelete(t *testing.T, e *env) {
	ctx := context.Background()
	e.signUp(testPhone)
	first := e.signIn(testPhone, types.ChallengeNameTypeSmsOtp, testPhone)
	_, firstAccess := e.verifyTokens(first, testPhone)

	e.clock.Advance(10 * time.Minute)
	viaInitiate, err := e.initiate(types.AuthFlowTypeRefreshTokenAuth, map[string]string{"REFRESH_TOKEN": aws.ToString(first.RefreshToken)})
	if err != nil {
		t.Fatal(err)
	}
	if viaInitiate.AuthenticationResult.RefreshToken != nil {
		t.Error("REFRESH_TOKEN_AUTH returned a new refresh token; Cognito does not")
	}
	_, refreshedAccess := e.verifyTokens(viaInitiate.AuthenticationResult, testPhone)
	if refreshedAccess["origin_jti"] != firstAccess["origin_jti"] || refreshedAccess["auth_time"] != firstAccess["auth_time"] {
		t.Error("refreshed tokens must keep origin_jti and auth_time")
	}
	if refreshedAccess["iat"] == firstAccess["iat"] {
		t.Error("refreshed access token has the old iat")
	}
	viaGetTokens, err := e.cog.GetTokensFromRefreshToken(ctx, &cip.GetTokensFromRefreshTokenInput{ClientId: aws.String(e.client.ID), RefreshToken: first.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	e.verifyTokens(viaGetTokens.AuthenticationResult, testPhone)

	user, err := e.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: viaGetTokens.AuthenticationResult.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	for _, a := range user.UserAttributes {
		attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	if aws.ToString(user.Username) != testPhone || attrs["phone_number"] != testPhone || attrs["phone_number_verified"] != "true" || attrs["sub"] == "" {
		t.Errorf("GetUser = %s %v", aws.ToString(user.Username), attrs)
	}

	// RevokeToken ends one family: its refresh token and access tokens.
	second := e.signIn(testPhone, types.ChallengeNameTypeSmsOtp, testPhone)
	if _, err := e.cog.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: aws.String(e.client.ID), Token: second.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	_, err = e.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: second.AccessToken})
	apiErr(t, err, "NotAuthorizedException", "Access Token has been revoked")
	_, err = e.cog.GetTokensFromRefreshToken(ctx, &cip.GetTokensFromRefreshTokenInput{ClientId: aws.String(e.client.ID), RefreshToken: second.RefreshToken})
	apiErr(t, err, "NotAuthorizedException", "Refresh Token has been revoked")
	if _, err := e.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: first.AccessToken}); err != nil {
		t.Fatalf("revoking one family touched another: %v", err)
	}

	// GlobalSignOut ends every family of the user.
	third := e.signIn(testPhone, types.ChallengeNameTypeSmsOtp, testPhone)
	if _, err := e.cog.GlobalSignOut(ctx, &cip.GlobalSignOutInput{AccessToken: third.AccessToken}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []*string{first.AccessToken, third.AccessToken, viaGetTokens.AuthenticationResult.AccessToken} {
		_, err = e.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: tok})
		apiErr(t, err, "NotAuthorizedException", "Access Token has been revoked")
	}
	for _, rt := range []*string{first.RefreshToken, third.RefreshToken} {
		_, err = e.initiate(types.AuthFlowTypeRefreshTokenAuth, map[string]string{"REFRESH_TOKEN": aws.ToString(rt)})
		apiErr(t, err, "NotAuthorizedException", "Refresh Token has been revoked")
	}

	// DeleteUser removes the account; the number can sign up again.
	fourth := e.signIn(testPhone, types.ChallengeNameTypeSmsOtp, testPhone)
	if _, err := e.cog.DeleteUser(ctx, &cip.DeleteUserInput{AccessToken: fourth.AccessToken}); err != nil {
		t.Fatal(err)
	}
	_, err = e.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: fourth.AccessToken})
	apiErr(t, err, "NotAuthorizedException", "")
	_, err = e.cog.GetTokensFromRefreshToken(ctx, &cip.GetTokensFromRefreshTokenInput{ClientId: aws.String(e.client.ID), RefreshToken: fourth.RefreshToken})
	apiErr(t, err, "NotAuthorizedException", "Invalid Refresh Token.")
	e.signUp(testPhone)
}

func TestAccessTokenExpires(t *testing.T) {
	e := newEnv(t)
	e.signUp(testPhone)
	res := e.signIn(testPhone, types.ChallengeNameTypeSmsOtp, testPhone)
	e.clock.Advance(time.Hour)
	_, err := e.cog.GetUser(context.Background(), &cip.GetUserInput{AccessToken: res.AccessToken})
	apiErr(t, err, "NotAuthorizedException", "Access Token has expired")
}

func TestDeliveryFailsClearlyWithoutProvider(t *testing.T) {
	e := newEnv(t, withoutDev())
	e.signUp(testPhone)
	_, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": testPhone, "PREFERRED_CHALLENGE": "SMS_OTP"})
	apiErr(t, err, "CodeDeliveryFailureException", "Cannot deliver the code: no sms provider is configured and dev delivery is off.")
	status, _, _ := e.post("", "", "")
	if status == http.StatusInternalServerError {
		t.Fatal("server broke after a delivery failure")
	}
	resp, err := http.Get(e.url + "/_dev/outbox?to=%2B14155552671")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("dev outbox served with dev delivery off: %d", resp.StatusCode)
	}
}

func TestUpdateAndVerifyAttributes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.signUp(testPhone)
	res := e.signIn(testPhone, types.ChallengeNameTypeSmsOtp, testPhone)
	attr := func(name, value string) types.AttributeType {
		return types.AttributeType{Name: aws.String(name), Value: aws.String(value)}
	}
	attrs := func() map[string]string {
		t.Helper()
		u, err := e.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: res.AccessToken})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, a := range u.UserAttributes {
			m[aws.ToString(a.Name)] = aws.ToString(a.Value)
		}
		return m
	}

	// A plain attribute changes at once, with no code.
	up, err := e.cog.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: res.AccessToken, UserAttributes: []types.AttributeType{attr("name", "Ada")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.CodeDeliveryDetailsList) != 0 || attrs()["name"] != "Ada" {
		t.Fatalf("update name: %+v, attrs %v", up.CodeDeliveryDetailsList, attrs())
	}

	// A new email is stored unverified and a code goes to it.
	up, err = e.cog.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: res.AccessToken, UserAttributes: []types.AttributeType{attr("email", "Ada@Example.com")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.CodeDeliveryDetailsList) != 1 || aws.ToString(up.CodeDeliveryDetailsList[0].AttributeName) != "email" || aws.ToString(up.CodeDeliveryDetailsList[0].Destination) != "a***@e***" {
		t.Fatalf("CodeDeliveryDetailsList = %+v", up.CodeDeliveryDetailsList)
	}
	if a := attrs(); a["email"] != "ada@example.com" || a["email_verified"] != "false" {
		t.Fatalf("after email change: %v", a)
	}
	code := e.lastCode("ada@example.com")
	_, err = e.cog.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: res.AccessToken, AttributeName: aws.String("email"), Code: aws.String(wrongCode(code))})
	apiErr(t, err, "CodeMismatchException", "")
	if _, err := e.cog.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: res.AccessToken, AttributeName: aws.String("email"), Code: aws.String(code)}); err != nil {
		t.Fatal(err)
	}
	if a := attrs(); a["email_verified"] != "true" {
		t.Fatalf("after verification: %v", a)
	}
	// The code is single use.
	_, err = e.cog.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: res.AccessToken, AttributeName: aws.String("email"), Code: aws.String(code)})
	apiErr(t, err, "ExpiredCodeException", "")

	// A resend works, and a code for an older value dies with the change.
	if _, err := e.cog.GetUserAttributeVerificationCode(ctx, &cip.GetUserAttributeVerificationCodeInput{AccessToken: res.AccessToken, AttributeName: aws.String("email")}); err != nil {
		t.Fatal(err)
	}
	stale := e.lastCode("ada@example.com")
	if _, err := e.cog.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: res.AccessToken, UserAttributes: []types.AttributeType{attr("email", "lovelace@example.com")}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.cog.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: res.AccessToken, AttributeName: aws.String("email"), Code: aws.String(stale)})
	apiErr(t, err, "CodeMismatchException", "")

	// The username attribute cannot be deleted; protected attributes cannot be set.
	_, err = e.cog.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: res.AccessToken, UserAttributes: []types.AttributeType{attr("phone_number", "")}})
	apiErr(t, err, "InvalidParameterException", "Attribute phone_number is this user's username and cannot be deleted.")
	_, err = e.cog.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: res.AccessToken, UserAttributes: []types.AttributeType{attr("phone_number_verified", "true")}})
	apiErr(t, err, "InvalidParameterException", "")
	_, err = e.cog.GetUserAttributeVerificationCode(ctx, &cip.GetUserAttributeVerificationCodeInput{AccessToken: res.AccessToken, AttributeName: aws.String("name")})
	apiErr(t, err, "InvalidParameterException", "")

	// An empty value deletes an attribute.
	if _, err := e.cog.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: res.AccessToken, UserAttributes: []types.AttributeType{attr("name", "")}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := attrs()["name"]; ok {
		t.Fatal("empty value did not delete the attribute")
	}
}
