package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/pool"
)

// FuzzOpaqueStrings feeds the engine's public API arbitrary session
// strings, refresh tokens, access tokens and answers: the opaque secrets a
// client sends back. The engine only hashes sessions and refresh tokens
// and looks the hash up, and peeks at an access token's issuer before
// verifying it, so these are its decoding paths. On an engine with one
// user and one live sign-in session, every call must return without
// panicking, without an internal error, without tokens (unless the live
// session and its code were given), and without quoting what was sent.
// Seeds: testdata/fuzz/FuzzOpaqueStrings.
func FuzzOpaqueStrings(f *testing.F) {
	e, c, codes := newEngine(f)
	live := startSMS(f, e, c, phone)
	f.Add(live, "SMS_OTP", "000000")
	f.Add(live+"x", "SMS_OTP", codes.get(phone))
	f.Add(strings.Repeat("A", 64), "SELECT_CHALLENGE", "EMAIL_OTP")
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, secret, challenge, answer string) {
		// check judges one call's outcome.
		check := func(op string, gotTokens bool, err error, mayIssue bool) {
			t.Helper()
			if gotTokens && !mayIssue {
				t.Fatalf("%s issued tokens for %q", op, secret)
			}
			if err == nil {
				return
			}
			if k := pool.KindOf(err); k == pool.KindInternal {
				t.Fatalf("%s: internal error %v", op, err)
			}
			msg := err.Error()
			if len(secret) >= 20 && strings.Contains(msg, secret) {
				t.Fatalf("%s: message %q quotes the secret", op, msg)
			}
			if len(answer) >= 6 && strings.Trim(answer, "0123456789") == "" && !strings.Contains(phone+challenge+c.ID, answer) && strings.Contains(msg, answer) {
				t.Fatalf("%s: message %q quotes the answer", op, msg)
			}
		}
		responses := map[string]string{"USERNAME": phone, "SMS_OTP_CODE": answer, "EMAIL_OTP_CODE": answer, "ANSWER": answer}
		r, err := e.RespondToAuthChallenge(ctx, auth.RespondInput{ClientID: c.ID, ChallengeName: challenge, Session: secret, ChallengeResponses: responses})
		check("RespondToAuthChallenge", r.Tokens != nil, err, secret == live)

		if secret != "" {
			r, err = e.InitiateAuth(ctx, auth.InitiateAuthInput{ClientID: c.ID, AuthFlow: pool.FlowUserAuth,
				AuthParameters: map[string]string{"USERNAME": phone}, Session: secret})
			check("InitiateAuth with Session", r.Tokens != nil, err, false)
		}
		_, err = e.ConfirmSignUp(ctx, auth.ConfirmSignUpInput{ClientID: c.ID, Username: phone, ConfirmationCode: answer, Session: secret})
		check("ConfirmSignUp", false, err, false)

		r, err = e.InitiateAuth(ctx, auth.InitiateAuthInput{ClientID: c.ID, AuthFlow: "REFRESH_TOKEN_AUTH",
			AuthParameters: map[string]string{"REFRESH_TOKEN": secret}})
		check("InitiateAuth REFRESH_TOKEN_AUTH", r.Tokens != nil, err, false)
		tok, err := e.GetTokensFromRefreshToken(ctx, auth.RefreshInput{ClientID: c.ID, RefreshToken: secret})
		check("GetTokensFromRefreshToken", tok != nil, err, false)
		err = e.RevokeToken(ctx, auth.RevokeTokenInput{ClientID: c.ID, Token: secret})
		check("RevokeToken", false, err, true)

		_, err = e.GetUser(ctx, secret)
		if err == nil {
			t.Fatalf("GetUser accepted %q as an access token", secret)
		}
		check("GetUser", false, err, false)
	})
}
