package auth

import (
	"reflect"
	"slices"
	"testing"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/token"
)

func baseClaims() (idc, ac token.Claims) {
	idc = token.Claims{
		"sub": "s", "iss": "i", "aud": "c", "token_use": "id", "exp": int64(2), "iat": int64(1),
		"auth_time": int64(1), "jti": "j1", "origin_jti": "o", "event_id": "e",
		"cognito:username": "u", "email": "a@example.com", "name": "A",
	}
	ac = token.Claims{
		"sub": "s", "iss": "i", "client_id": "c", "token_use": "access", "exp": int64(2), "iat": int64(1),
		"auth_time": int64(1), "jti": "j2", "origin_jti": "o", "event_id": "e",
		"username": "u", "scope": adminScope,
	}
	return idc, ac
}

func TestTokenOverridesApply(t *testing.T) {
	idc, ac := baseClaims()
	wantID, wantAccess := baseClaims()
	o := &tokenOverrides{
		idAdd:          map[string]any{"tenant": "acme", "name": "B", "both": "x", "sub": "forged", "cognito:groups": "g"},
		idSuppress:     []string{"email", "both", "exp", "cognito:username"},
		accessAdd:      map[string]any{"level": 3, "scope": "everything", "client_id": "forged"},
		accessSuppress: []string{"jti", "username"},
		scopesAdd:      []string{"a", "b", "a", adminScope},
		scopesSuppress: []string{"b"},
		groups:         &hook.GroupConfiguration{GroupsToOverride: hook.Strings{"g1"}, PreferredRole: "r"},
	}
	ignored := o.apply(idc, ac)

	wantID["tenant"], wantID["name"] = "acme", "B"
	delete(wantID, "email")
	wantID["cognito:groups"] = []string{"g1"}
	wantID["cognito:preferred_role"] = "r"
	wantAccess["level"] = 3
	wantAccess["scope"] = adminScope + " a"
	wantAccess["cognito:groups"] = []string{"g1"}
	if !reflect.DeepEqual(idc, wantID) {
		t.Errorf("ID claims\n got %v\nwant %v", idc, wantID)
	}
	if !reflect.DeepEqual(ac, wantAccess) {
		t.Errorf("access claims\n got %v\nwant %v", ac, wantAccess)
	}
	slices.Sort(ignored)
	want := []string{"client_id", "cognito:groups", "cognito:username", "exp", "jti", "scope", "sub", "username"}
	if !reflect.DeepEqual(ignored, want) {
		t.Errorf("ignored = %v, want %v", ignored, want)
	}
}

func TestTokenOverridesGroupsAndScopes(t *testing.T) {
	// An empty groupOverrideDetails removes the groups, as Cognito's docs
	// say; suppressing every scope removes the claim.
	idc, ac := baseClaims()
	idc["cognito:groups"], ac["cognito:groups"] = []string{"old"}, []string{"old"}
	idc["cognito:roles"] = []string{"role"}
	o := &tokenOverrides{groups: &hook.GroupConfiguration{}, scopesSuppress: []string{adminScope}}
	if ignored := o.apply(idc, ac); len(ignored) != 0 {
		t.Errorf("ignored %v", ignored)
	}
	for _, c := range []token.Claims{idc, ac} {
		if _, has := c["cognito:groups"]; has {
			t.Errorf("groups kept: %v", c)
		}
	}
	if _, has := idc["cognito:roles"]; has {
		t.Error("roles kept")
	}
	if _, has := ac["scope"]; has {
		t.Errorf("scope = %v, want none", ac["scope"])
	}

	// No overrides: nothing changes.
	idc, ac = baseClaims()
	wantID, wantAccess := baseClaims()
	var none *tokenOverrides
	if ignored := none.apply(idc, ac); ignored != nil || !reflect.DeepEqual(idc, wantID) || !reflect.DeepEqual(ac, wantAccess) {
		t.Error("nil overrides changed the claims")
	}
}

func TestReservedClaims(t *testing.T) {
	for _, name := range []string{"iss", "sub", "aud", "token_use", "exp", "iat", "auth_time", "jti", "origin_jti",
		"event_id", "client_id", "username", "cognito:username", "cognito:groups", "cognito:anything", "scope", "nbf", "nonce", "acr", "amr", "azp", "at_hash", "identities", "version"} {
		if !reservedClaim(name) {
			t.Errorf("%s is not reserved", name)
		}
	}
	for _, name := range []string{"email", "email_verified", "name", "custom:tenant", "tenant", "phone_number"} {
		if reservedClaim(name) {
			t.Errorf("%s is reserved", name)
		}
	}
}
