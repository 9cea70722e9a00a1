package server_test

// PreTokenGeneration, V1_0 and V2_0, seen in the tokens the AWS SDK gets
// and verified with the served JWKS (see also hooks_signup_test.go for the
// environment and the receiver).

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/latchkey/latchkey/internal/hook"
)

// TestPreTokenGenerationV1 adds, overrides and suppresses ID token claims
// and replaces the groups; reserved claims keep Latchkey's values; refresh
// calls the hook again as TokenGeneration_RefreshTokens.
func TestPreTokenGenerationV1(t *testing.T) {
	ctx := context.Background()
	e := newTrigEnv(t, withTrig(hook.PreTokenGeneration))
	e.recv.answer(hook.PreTokenGeneration, trigRespond(hook.PreTokenGenerationResponse{
		ClaimsOverrideDetails: &hook.ClaimsOverrideDetails{
			ClaimsToAddOrOverride: map[string]string{
				"tenant":           "acme",
				"given_name":       "Overridden",
				"suppressed":       "added then suppressed",
				"sub":              "forged-sub",
				"iss":              "https://evil.example",
				"token_use":        "access",
				"aud":              "another-client",
				"exp":              "99999999999",
				"auth_time":        "0",
				"origin_jti":       "forged",
				"event_id":         "forged",
				"jti":              "forged",
				"client_id":        "forged",
				"username":         "forged",
				"scope":            "admin",
				"cognito:username": "mallory",
				"cognito:groups":   "admins",
			},
			ClaimsToSuppress: []string{"email", "suppressed", "iat", "sub", "cognito:username"},
			GroupOverrideDetails: &hook.GroupConfiguration{
				GroupsToOverride:   hook.Strings{"staff", "beta"},
				IAMRolesToOverride: hook.Strings{"arn:aws:iam::123456789012:role/staff"},
				PreferredRole:      "arn:aws:iam::123456789012:role/staff",
			},
		},
	}))
	up := e.signUp(testPhone,
		types.AttributeType{Name: aws.String("email"), Value: aws.String(testEmail)},
		types.AttributeType{Name: aws.String("given_name"), Value: aws.String("Alice")})
	res := e.signIn(testPhone, types.ChallengeNameTypeSmsOtp, testPhone)
	idc, ac := e.verifyTokens(res, testPhone)

	if idc["tenant"] != "acme" || idc["given_name"] != "Overridden" {
		t.Errorf("added claims: tenant %v, given_name %v", idc["tenant"], idc["given_name"])
	}
	for _, gone := range []string{"email", "suppressed"} {
		if _, has := idc[gone]; has {
			t.Errorf("ID token still has suppressed claim %s", gone)
		}
	}
	// Reserved claims are Latchkey's, whatever the hook said.
	reserved := map[string]any{
		"sub": aws.ToString(up.UserSub), "iss": e.url + "/" + e.pool.ID, "token_use": "id", "aud": e.client.ID,
		"cognito:username": testPhone,
	}
	for k, v := range reserved {
		if idc[k] != v {
			t.Errorf("ID token %s = %v, want %v", k, idc[k], v)
		}
	}
	for _, k := range []string{"iat", "exp", "auth_time", "jti", "origin_jti", "event_id"} {
		if _, ok := idc[k].(float64); !ok && k != "jti" && k != "origin_jti" && k != "event_id" {
			t.Errorf("ID token %s = %#v, want a number", k, idc[k])
		}
		if s, ok := idc[k].(string); ok && s == "forged" {
			t.Errorf("ID token %s forged", k)
		}
	}
	if idc["exp"].(float64)-idc["iat"].(float64) != 3600 {
		t.Errorf("ID token lifetime changed: exp %v, iat %v", idc["exp"], idc["iat"])
	}
	for _, k := range []string{"client_id", "username", "scope"} {
		if _, has := idc[k]; has {
			t.Errorf("ID token gained reserved claim %s = %v", k, idc[k])
		}
	}
	// Groups go to both tokens, roles to the ID token.
	wantGroups := []any{"staff", "beta"}
	if !reflect.DeepEqual(idc["cognito:groups"], wantGroups) || !reflect.DeepEqual(ac["cognito:groups"], wantGroups) {
		t.Errorf("cognito:groups: id %v, access %v; want %v", idc["cognito:groups"], ac["cognito:groups"], wantGroups)
	}
	if !reflect.DeepEqual(idc["cognito:roles"], []any{"arn:aws:iam::123456789012:role/staff"}) || idc["cognito:preferred_role"] != "arn:aws:iam::123456789012:role/staff" {
		t.Errorf("roles: %v, preferred %v", idc["cognito:roles"], idc["cognito:preferred_role"])
	}
	// V1 leaves the access token's own claims alone.
	if _, has := ac["tenant"]; has {
		t.Error("a V1 hook changed the access token")
	}
	if !strings.Contains(e.logs.String(), "PreTokenGeneration hook named reserved claims") {
		t.Error("no warning about the reserved claims")
	}

	evs := e.recv.received(hook.PreTokenGeneration)
	if len(evs) != 1 {
		t.Fatalf("%d PreTokenGeneration events, want 1", len(evs))
	}
	e.checkEnvelope(evs[0], hook.SourceTokenGenerationAuthentication, "1", testPhone)
	var req struct {
		UserAttributes     map[string]string `json:"userAttributes"`
		GroupConfiguration map[string]any    `json:"groupConfiguration"`
		Scopes             []string          `json:"scopes"`
		ClientMetadata     map[string]string `json:"clientMetadata"`
	}
	trigDecode(t, evs[0], &req)
	if req.UserAttributes["sub"] != aws.ToString(up.UserSub) || req.UserAttributes["email"] != testEmail ||
		req.UserAttributes["phone_number_verified"] != "true" || req.UserAttributes["cognito:user_status"] != "CONFIRMED" {
		t.Errorf("userAttributes = %v", req.UserAttributes)
	}
	if g, ok := req.GroupConfiguration["groupsToOverride"].([]any); !ok || len(g) != 0 {
		t.Errorf("groupConfiguration = %v, want empty lists", req.GroupConfiguration)
	}
	if req.Scopes != nil || req.ClientMetadata != nil {
		t.Errorf("a V1 event has scopes %v or clientMetadata %v", req.Scopes, req.ClientMetadata)
	}

	// Refresh, by both operations: the hook runs again, with the
	// refresh's trigger source and ClientMetadata.
	e.recv.answer(hook.PreTokenGeneration, trigRespond(hook.PreTokenGenerationResponse{
		ClaimsOverrideDetails: &hook.ClaimsOverrideDetails{ClaimsToAddOrOverride: map[string]string{"tenant": "refreshed"}},
	}))
	ref, err := e.cog.GetTokensFromRefreshToken(ctx, &cip.GetTokensFromRefreshTokenInput{
		ClientId: aws.String(e.client.ID), RefreshToken: res.RefreshToken, ClientMetadata: map[string]string{"app": "v2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	idc, _ = e.verifyTokens(ref.AuthenticationResult, testPhone)
	if idc["tenant"] != "refreshed" {
		t.Errorf("refreshed ID token tenant = %v", idc["tenant"])
	}
	evs = e.recv.received(hook.PreTokenGeneration)
	if len(evs) != 2 {
		t.Fatalf("%d PreTokenGeneration events, want 2", len(evs))
	}
	e.checkEnvelope(evs[1], hook.SourceTokenGenerationRefreshTokens, "1", testPhone)
	trigDecode(t, evs[1], &req)
	if req.ClientMetadata["app"] != "v2" {
		t.Errorf("refresh clientMetadata = %v", req.ClientMetadata)
	}
	init, err := e.initiate(types.AuthFlowTypeRefreshTokenAuth, map[string]string{"REFRESH_TOKEN": aws.ToString(res.RefreshToken)})
	if err != nil {
		t.Fatal(err)
	}
	e.verifyTokens(init.AuthenticationResult, testPhone)
	evs = e.recv.received(hook.PreTokenGeneration)
	if len(evs) != 3 || evs[2].TriggerSource != hook.SourceTokenGenerationRefreshTokens {
		t.Fatalf("REFRESH_TOKEN_AUTH: %d events, last %v", len(evs), evs[len(evs)-1].Header)
	}
}

// TestPreTokenGenerationV2 customizes the access token's claims and scopes
// too; the access token keeps working with the self-service operations
// while it keeps their scope, and stops when a hook suppresses it.
func TestPreTokenGenerationV2(t *testing.T) {
	ctx := context.Background()
	e := newTrigEnv(t, withTrigV2(hook.PreTokenGeneration))
	e.recv.answer(hook.PreTokenGeneration, trigRespond(map[string]any{
		"claimsAndScopeOverrideDetails": map[string]any{
			"idTokenGeneration": map[string]any{
				"claimsToAddOrOverride": map[string]any{"plan": map[string]any{"name": "pro", "seats": 5}},
				"claimsToSuppress":      []string{"email"},
			},
			"accessTokenGeneration": map[string]any{
				"claimsToAddOrOverride": map[string]any{
					"tenant": "acme", "level": 3, "admin": true, "roles": []string{"reader", "writer"},
					"client_id": "forged", "username": "forged", "scope": "forged", "token_use": "id",
				},
				"claimsToSuppress": []string{"origin_jti", "sub", "auth_time"},
				"scopesToAdd":      []string{"orders/read", "orders/write", "aws.cognito.signin.user.admin"},
				"scopesToSuppress": []string{"orders/write"},
			},
			"groupOverrideDetails": map[string]any{"groupsToOverride": []string{"ops"}},
		},
	}))
	e.signUp(testEmail, types.AttributeType{Name: aws.String("name"), Value: aws.String("Alice")})
	res := e.signIn(testEmail, types.ChallengeNameTypeEmailOtp, testEmail)

	// verifyTokens checks the reserved claims (token_use, client_id,
	// username, iss, sub, …) except scope, which the hook changed.
	idc, ac := e.verifyTokensScoped(res, testEmail, "aws.cognito.signin.user.admin orders/read")
	if _, has := idc["email"]; has {
		t.Error("ID token still has email")
	}
	if !reflect.DeepEqual(idc["plan"], map[string]any{"name": "pro", "seats": float64(5)}) {
		t.Errorf("ID token plan = %#v", idc["plan"])
	}
	if ac["tenant"] != "acme" || ac["level"] != float64(3) || ac["admin"] != true || !reflect.DeepEqual(ac["roles"], []any{"reader", "writer"}) {
		t.Errorf("access token claims: tenant %v, level %v, admin %v, roles %v", ac["tenant"], ac["level"], ac["admin"], ac["roles"])
	}
	for _, k := range []string{"origin_jti", "sub", "auth_time"} {
		if ac[k] == nil {
			t.Errorf("reserved claim %s was suppressed from the access token", k)
		}
	}
	if !reflect.DeepEqual(ac["cognito:groups"], []any{"ops"}) || !reflect.DeepEqual(idc["cognito:groups"], []any{"ops"}) {
		t.Errorf("cognito:groups: id %v, access %v", idc["cognito:groups"], ac["cognito:groups"])
	}
	// The access token still works with GetUser: its family and scope are
	// intact.
	if _, err := e.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: res.AccessToken}); err != nil {
		t.Fatalf("GetUser with the customized access token: %v", err)
	}

	evs := e.recv.received(hook.PreTokenGeneration)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	e.checkEnvelope(evs[0], hook.SourceTokenGenerationAuthentication, "2", testEmail)
	var req hook.PreTokenGenerationRequest
	trigDecode(t, evs[0], &req)
	if !reflect.DeepEqual(req.Scopes, []string{"aws.cognito.signin.user.admin"}) {
		t.Errorf("scopes = %v", req.Scopes)
	}

	// Suppressing the user-pool scope takes the self-service operations
	// away, as in Cognito.
	e.recv.answer(hook.PreTokenGeneration, trigRespond(hook.PreTokenGenerationV2Response{
		ClaimsAndScopeOverrideDetails: &hook.ClaimsAndScopeOverrideDetails{
			AccessTokenGeneration: &hook.AccessTokenGeneration{ScopesToSuppress: []string{"aws.cognito.signin.user.admin"}},
		},
	}))
	ref, err := e.cog.GetTokensFromRefreshToken(ctx, &cip.GetTokensFromRefreshTokenInput{ClientId: aws.String(e.client.ID), RefreshToken: res.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	_, ac = e.verifyTokensScoped(ref.AuthenticationResult, testEmail, "")
	if _, has := ac["scope"]; has {
		t.Errorf("scope = %v, want none", ac["scope"])
	}
	_, err = e.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: ref.AuthenticationResult.AccessToken})
	apiErr(t, err, "NotAuthorizedException", "Access Token does not have required scopes")
}

// verifyTokensScoped checks a token pair as verifyTokens does (signature,
// iss and exp with tokenClaims, token_use, aud, client_id, the usernames,
// the identifying claims) for an access token whose scope a hook changed:
// want is its expected scope ("" for none).
func (e *trigEnv) verifyTokensScoped(res *types.AuthenticationResultType, wantUsername, want string) (idc, ac map[string]any) {
	e.t.Helper()
	idc, ac = e.tokenClaims(res)
	for _, c := range []struct {
		claims map[string]any
		name   string
		want   any
	}{
		{idc, "token_use", "id"}, {idc, "aud", e.client.ID}, {idc, "cognito:username", wantUsername},
		{ac, "token_use", "access"}, {ac, "client_id", e.client.ID}, {ac, "username", wantUsername},
		{ac, "sub", idc["sub"]}, {ac, "origin_jti", idc["origin_jti"]},
	} {
		if c.claims[c.name] != c.want {
			e.t.Errorf("claim %s = %v, want %v", c.name, c.claims[c.name], c.want)
		}
	}
	for _, name := range []string{"sub", "iat", "exp", "auth_time", "jti", "origin_jti", "event_id"} {
		if idc[name] == nil || ac[name] == nil {
			e.t.Errorf("claim %s missing: id %v, access %v", name, idc[name], ac[name])
		}
	}
	if got, _ := ac["scope"].(string); got != want {
		e.t.Errorf("access token scope = %q, want %q", got, want)
	}
	return idc, ac
}

// TestPreTokenGenerationFailures: a failing hook fails the sign-in and the
// refresh with Cognito's exceptions, issues nothing, and the server keeps
// serving.
func TestPreTokenGenerationFailures(t *testing.T) {
	ctx := context.Background()
	e := newTrigEnv(t, withTrig(hook.PreTokenGeneration))
	e.signUp(testPhone)
	res := e.signIn(testPhone, types.ChallengeNameTypeSmsOtp, testPhone)

	e.recv.answer(hook.PreTokenGeneration, trigFail(http.StatusInternalServerError, "application/json", `{"errorMessage":"entitlements service down"}`))
	_, err := e.cog.GetTokensFromRefreshToken(ctx, &cip.GetTokensFromRefreshTokenInput{ClientId: aws.String(e.client.ID), RefreshToken: res.RefreshToken})
	apiErr(t, err, "UserLambdaValidationException", "PreTokenGeneration failed with error entitlements service down.")

	init, err := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": testPhone, "PREFERRED_CHALLENGE": "SMS_OTP"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.respond(types.ChallengeNameTypeSmsOtp, aws.ToString(init.Session), map[string]string{"USERNAME": testPhone, "SMS_OTP_CODE": e.lastCode(testPhone)})
	apiErr(t, err, "UserLambdaValidationException", "PreTokenGeneration failed with error entitlements service down.")

	e.recv.answer(hook.PreTokenGeneration, trigRespond(map[string]any{"claimsOverrideDetails": map[string]any{"claimsToAddOrOverride": map[string]any{"n": 1}}}))
	_, err = e.cog.GetTokensFromRefreshToken(ctx, &cip.GetTokensFromRefreshTokenInput{ClientId: aws.String(e.client.ID), RefreshToken: res.RefreshToken})
	apiErr(t, err, "InvalidLambdaResponseException", "Invalid PreTokenGeneration response: claimsOverrideDetails.claimsToAddOrOverride values must be a string, not a number.")

	// Back to a working hook: refresh works again.
	e.recv.answer(hook.PreTokenGeneration, nil)
	ref, err := e.cog.GetTokensFromRefreshToken(ctx, &cip.GetTokensFromRefreshTokenInput{ClientId: aws.String(e.client.ID), RefreshToken: res.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	e.verifyTokens(ref.AuthenticationResult, testPhone)
}
