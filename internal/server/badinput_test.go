package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestBadInputs sends malformed and hostile requests over HTTP: each gets
// its Cognito error type with status 400, never a 500, and the server keeps
// serving.
func TestBadInputs(t *testing.T) {
	e := newEnv(t)
	e.signUp(testPhone)
	const target = "AWSCognitoIdentityProviderService."
	cid := e.client.ID
	forged := "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJpc3MiOiJ4In0.c2ln"
	tests := []struct {
		name, op, body string
		wantType       string
		wantInMessage  string
	}{
		{"malformed json", "SignUp", `{"ClientId":`, "SerializationException", "not valid JSON"},
		{"not an object", "SignUp", `["a"]`, "SerializationException", "JSON object"},
		{"trailing data", "SignUp", `{} {}`, "SerializationException", "after the JSON object"},
		{"wrong type", "SignUp", `{"ClientId":42,"Username":"+14155550000"}`, "SerializationException", "ClientId"},
		{"wrong map value type", "InitiateAuth", `{"ClientId":"` + cid + `","AuthFlow":"CUSTOM_AUTH","AuthParameters":{"USERNAME":7}}`, "SerializationException", "AuthParameters"},
		{"deep nesting", "SignUp", `{"ClientMetadata":` + strings.Repeat(`{"a":`, 50) + `1` + strings.Repeat(`}`, 50) + `}`, "SerializationException", "nests deeper"},
		{"missing client id", "SignUp", `{"Username":"+14155550000"}`, "InvalidParameterException", "'clientId'"},
		{"missing username", "SignUp", `{"ClientId":"` + cid + `"}`, "InvalidParameterException", "'username'"},
		{"client id pattern", "SignUp", `{"ClientId":"a b","Username":"+14155550000"}`, "InvalidParameterException", "regular expression"},
		{"unknown client", "SignUp", `{"ClientId":"nosuchclient","Username":"+14155550000"}`, "ResourceNotFoundException", "nosuchclient"},
		{"bad phone", "SignUp", `{"ClientId":"` + cid + `","Username":"+1-555"}`, "InvalidParameterException", "phone"},
		{"bad email", "SignUp", `{"ClientId":"` + cid + `","Username":"a@b"}`, "InvalidParameterException", "email"},
		{"neither phone nor email", "SignUp", `{"ClientId":"` + cid + `","Username":"alice"}`, "InvalidParameterException", "email or a phone number"},
		{"unknown attribute", "SignUp", `{"ClientId":"` + cid + `","Username":"b@example.com","UserAttributes":[{"Name":"shoe_size","Value":"9"}]}`, "InvalidParameterException", "shoe_size"},
		{"protected attribute", "SignUp", `{"ClientId":"` + cid + `","Username":"b@example.com","UserAttributes":[{"Name":"email_verified","Value":"true"}]}`, "InvalidParameterException", "email_verified"},
		{"taken username", "SignUp", `{"ClientId":"` + cid + `","Username":"+1-415-555-2671"}`, "UsernameExistsException", "phone_number"},
		{"unknown auth flow", "InitiateAuth", `{"ClientId":"` + cid + `","AuthFlow":"MAGIC","AuthParameters":{"USERNAME":"+14155552671"}}`, "InvalidParameterException", "authFlow"},
		{"password flow", "InitiateAuth", `{"ClientId":"` + cid + `","AuthFlow":"USER_PASSWORD_AUTH","AuthParameters":{"USERNAME":"+14155552671","PASSWORD":"x"}}`, "InvalidParameterException", "passwordless"},
		{"custom auth with SRP (Amplify CUSTOM_WITH_SRP)", "InitiateAuth", `{"ClientId":"` + cid + `","AuthFlow":"CUSTOM_AUTH","AuthParameters":{"USERNAME":"+14155552671","SRP_A":"abcd1234","CHALLENGE_NAME":"SRP_A"}}`, "InvalidParameterException", "CUSTOM_WITHOUT_SRP"},
		{"missing USERNAME", "InitiateAuth", `{"ClientId":"` + cid + `","AuthFlow":"CUSTOM_AUTH"}`, "InvalidParameterException", "USERNAME"},
		{"missing refresh token", "InitiateAuth", `{"ClientId":"` + cid + `","AuthFlow":"REFRESH_TOKEN_AUTH"}`, "InvalidParameterException", "REFRESH_TOKEN"},
		{"forged refresh token", "InitiateAuth", `{"ClientId":"` + cid + `","AuthFlow":"REFRESH_TOKEN_AUTH","AuthParameters":{"REFRESH_TOKEN":"forged"}}`, "NotAuthorizedException", "Invalid Refresh Token."},
		{"forged session", "RespondToAuthChallenge", `{"ClientId":"` + cid + `","ChallengeName":"SMS_OTP","Session":"` + strings.Repeat("A", 64) + `","ChallengeResponses":{"USERNAME":"+14155552671","SMS_OTP_CODE":"123456"}}`, "NotAuthorizedException", "Invalid session for the user."},
		{"short session", "RespondToAuthChallenge", `{"ClientId":"` + cid + `","ChallengeName":"SMS_OTP","Session":"abc","ChallengeResponses":{"USERNAME":"+14155552671","SMS_OTP_CODE":"123456"}}`, "InvalidParameterException", "'session'"},
		{"missing session", "RespondToAuthChallenge", `{"ClientId":"` + cid + `","ChallengeName":"SMS_OTP","ChallengeResponses":{"USERNAME":"+14155552671","SMS_OTP_CODE":"123456"}}`, "InvalidParameterException", "Session"},
		{"missing code", "RespondToAuthChallenge", `{"ClientId":"` + cid + `","ChallengeName":"SMS_OTP","Session":"` + strings.Repeat("A", 64) + `","ChallengeResponses":{"USERNAME":"+14155552671"}}`, "InvalidParameterException", "SMS_OTP_CODE"},
		{"unsupported challenge", "RespondToAuthChallenge", `{"ClientId":"` + cid + `","ChallengeName":"PASSWORD_VERIFIER","Session":"` + strings.Repeat("A", 64) + `","ChallengeResponses":{"USERNAME":"+14155552671"}}`, "InvalidParameterException", "not supported"},
		{"garbage access token", "GetUser", `{"AccessToken":"garbage"}`, "NotAuthorizedException", "Invalid Access Token"},
		{"forged access token", "GetUser", `{"AccessToken":"` + forged + `"}`, "NotAuthorizedException", "Invalid Access Token"},
		{"access token with spaces", "GetUser", `{"AccessToken":"a b"}`, "InvalidParameterException", "'accessToken'"},
		{"missing access token", "GlobalSignOut", `{}`, "InvalidParameterException", "'accessToken'"},
		{"revoke an access token", "RevokeToken", `{"ClientId":"` + cid + `","Token":"` + forged + `"}`, "UnsupportedTokenTypeException", "refresh tokens"},
		{"refresh with unknown client", "GetTokensFromRefreshToken", `{"ClientId":"nosuchclient","RefreshToken":"abc"}`, "ResourceNotFoundException", "nosuchclient"},
		{"unknown operation", "AdminCreateUser", `{}`, "UnknownOperationException", "AdminCreateUser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, hdr := e.post(target+tt.op, "application/x-amz-json-1.1", tt.body)
			var got struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("status %d, body %q is not JSON", status, body)
			}
			if status != http.StatusBadRequest || got.Type != tt.wantType {
				t.Fatalf("got %d %s %q, want 400 %s", status, got.Type, got.Message, tt.wantType)
			}
			if !strings.Contains(strings.ToLower(got.Message), strings.ToLower(tt.wantInMessage)) {
				t.Errorf("message %q does not mention %q", got.Message, tt.wantInMessage)
			}
			if hdr.Get("X-Amzn-ErrorType") != tt.wantType+":" {
				t.Errorf("X-Amzn-ErrorType = %q", hdr.Get("X-Amzn-ErrorType"))
			}
		})
	}
	t.Run("oversized body", func(t *testing.T) {
		body := fmt.Sprintf(`{"ClientId":"%s","Username":"%s"}`, cid, strings.Repeat("x", 300<<10))
		status, resp, _ := e.post(target+"SignUp", "application/x-amz-json-1.1", body)
		if status != http.StatusBadRequest || !strings.Contains(resp, "SerializationException") {
			t.Fatalf("oversized body: %d %s", status, resp)
		}
	})
	if n := len(e.outbox.Messages(testPhone)); n != 0 {
		t.Errorf("%d codes were sent by rejected requests", n)
	}
	// Nothing stored was lost and the server still serves.
	e.signIn(testPhone, "SMS_OTP", testPhone)
}

func TestCORSPreflight(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodOptions, e.url+"/", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-amz-target,x-amz-user-agent,amz-sdk-invocation-id,amz-sdk-request,cache-control")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"x-amz-target", "x-amz-user-agent", "amz-sdk-invocation-id", "amz-sdk-request", "cache-control", "content-type"} {
		if !strings.Contains(allowed, h) {
			t.Errorf("preflight does not allow %s: %q", h, allowed)
		}
	}
}

// TestNoSecretsInLogs runs a complete flow with debug logging and checks
// that no code, session, refresh, access or ID token reached the log. The
// test server delivers to the outbox only; the dev log sender, which writes
// codes to the log on purpose, is not part of it.
func TestNoSecretsInLogs(t *testing.T) {
	e := newEnv(t)
	e.signUp(testPhone)
	init, err := e.initiate("USER_AUTH", map[string]string{"USERNAME": testPhone, "PREFERRED_CHALLENGE": "SMS_OTP"})
	if err != nil {
		t.Fatal(err)
	}
	code := e.lastCode(testPhone)
	e.respond("SMS_OTP", *init.Session, map[string]string{"USERNAME": testPhone, "SMS_OTP_CODE": wrongCode(code)})
	out, err := e.respond("SMS_OTP", *init.Session, map[string]string{"USERNAME": testPhone, "SMS_OTP_CODE": code})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{code, *init.Session, *out.AuthenticationResult.RefreshToken, *out.AuthenticationResult.AccessToken, *out.AuthenticationResult.IdToken}
	e.post("AWSCognitoIdentityProviderService.GetUser", "", `{"AccessToken":"`+*out.AuthenticationResult.AccessToken+`x"}`)
	logs := e.logs.String()
	if logs == "" {
		t.Fatal("no logs were captured")
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("a secret (%d chars) appears in the logs", len(s))
		}
	}
}
