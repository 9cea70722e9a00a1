package auth

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/token"
)

// The PreTokenGeneration hook point: before ID and access tokens are
// minted, at sign-in (TokenGeneration_Authentication) and refresh
// (TokenGeneration_RefreshTokens), a pool's hook may add, override and
// suppress claims, replace the user's groups and, with V2_0, change the
// access token's claims and scopes.
//
// Reserved claims. As Cognito, Latchkey does not let a hook add, change or
// suppress the claims that identify the token, its subject, its audience
// and its lifetime (reservedClaim lists them: iss, sub, aud, client_id,
// token_use, exp, iat, auth_time, jti, origin_jti, event_id, username,
// cognito:username, scope, …, and every cognito: claim; groups change only
// through groupOverrideDetails, scopes only through scopesToAdd and
// scopesToSuppress). A hook that names one is not an error: the change is
// ignored, the token is issued with Latchkey's value, and a warning naming
// the claims is logged for the pool's owner. Cognito documents these
// claims as ones a function cannot modify and issues the token without the
// change; refusing the sign-in instead would lock every user out over a
// handler's typo.

// tokenOverrides is a PreTokenGeneration hook's answer, ready to apply.
type tokenOverrides struct {
	idAdd          map[string]any
	idSuppress     []string
	accessAdd      map[string]any
	accessSuppress []string
	scopesAdd      []string
	scopesSuppress []string
	// groups, when set, replaces the user's groups (cognito:groups in both
	// tokens) and roles (cognito:roles, cognito:preferred_role in the ID
	// token).
	groups *hook.GroupConfiguration
}

// preTokenGeneration runs the pool's PreTokenGeneration hook, if any, for
// tokens about to be minted for u. nil overrides mean no hook: the tokens
// carry Latchkey's claims unchanged.
func (e *Engine) preTokenGeneration(ctx context.Context, p pool.Pool, c pool.Client, u pool.User, source string, clientMetadata map[string]string) (*tokenOverrides, error) {
	r, err := e.hooks(p)
	if err != nil {
		return nil, err
	}
	if !r.Configured(hook.PreTokenGeneration) {
		return nil, nil
	}
	v2 := r.LambdaVersion(hook.PreTokenGeneration) == hook.LambdaV2
	req := hook.PreTokenGenerationRequest{
		UserAttributes: userEventAttributes(u),
		// Latchkey has no groups or IAM roles: both lists are empty.
		GroupConfiguration: hook.GroupConfiguration{},
		ClientMetadata:     metadataOrNil(clientMetadata),
	}
	if v2 {
		req.Scopes = defaultScopes()
	}
	raw, _, err := e.runHook(ctx, r, hookCall{
		pool: p, clientID: c.ID, trigger: hook.PreTokenGeneration, source: source,
		userName: u.Username, request: req,
	})
	if err != nil {
		return nil, err
	}
	o := &tokenOverrides{}
	if !v2 {
		resp, err := hook.DecodePreTokenGeneration(raw)
		if err != nil {
			return nil, err
		}
		if d := resp.ClaimsOverrideDetails; d != nil {
			if len(d.ClaimsToAddOrOverride) > 0 {
				o.idAdd = make(map[string]any, len(d.ClaimsToAddOrOverride))
				for k, v := range d.ClaimsToAddOrOverride {
					o.idAdd[k] = v
				}
			}
			o.idSuppress = d.ClaimsToSuppress
			o.groups = d.GroupOverrideDetails
		}
		return o, nil
	}
	resp, err := hook.DecodePreTokenGenerationV2(raw)
	if err != nil {
		return nil, err
	}
	if d := resp.ClaimsAndScopeOverrideDetails; d != nil {
		if g := d.IDTokenGeneration; g != nil {
			o.idAdd, o.idSuppress = g.ClaimsToAddOrOverride, g.ClaimsToSuppress
		}
		if g := d.AccessTokenGeneration; g != nil {
			o.accessAdd, o.accessSuppress = g.ClaimsToAddOrOverride, g.ClaimsToSuppress
			o.scopesAdd, o.scopesSuppress = g.ScopesToAdd, g.ScopesToSuppress
		}
		o.groups = d.GroupOverrideDetails
	}
	return o, nil
}

// defaultScopes are the scopes of an access token from the user-pool API.
func defaultScopes() []string { return []string{adminScope} }

// reservedClaim reports whether a hook may not add, change or suppress
// claim name (see the comment at the top of this file).
func reservedClaim(name string) bool {
	if strings.HasPrefix(name, "cognito:") {
		return true
	}
	switch name {
	case "acr", "amr", "at_hash", "aud", "auth_time", "azp", "client_id", "event_id", "exp", "iat",
		"identities", "iss", "jti", "nbf", "nonce", "origin_jti", "scope", "sub", "token_use",
		"username", "version":
		return true
	}
	return false
}

// apply changes the claims of a token pair as the hook answered: additions
// and overrides first, then suppressions (a claim both added and
// suppressed is suppressed, as in Cognito), then groups and scopes. It
// returns the reserved claims the hook named, which were left alone.
func (o *tokenOverrides) apply(idc, ac token.Claims) (ignored []string) {
	if o == nil {
		return nil
	}
	ignore := func(name string) bool {
		if reservedClaim(name) {
			if !slices.Contains(ignored, name) {
				ignored = append(ignored, name)
			}
			return true
		}
		return false
	}
	edit := func(c token.Claims, add map[string]any, suppress []string) {
		for _, name := range sortedClaimNames(add) {
			if !ignore(name) {
				c[name] = add[name]
			}
		}
		for _, name := range suppress {
			if !ignore(name) {
				delete(c, name)
			}
		}
	}
	edit(idc, o.idAdd, o.idSuppress)
	edit(ac, o.accessAdd, o.accessSuppress)

	if g := o.groups; g != nil {
		for _, c := range []token.Claims{idc, ac} {
			delete(c, "cognito:groups")
			if len(g.GroupsToOverride) > 0 {
				c["cognito:groups"] = slices.Clone([]string(g.GroupsToOverride))
			}
		}
		delete(idc, "cognito:roles")
		delete(idc, "cognito:preferred_role")
		if len(g.IAMRolesToOverride) > 0 {
			idc["cognito:roles"] = slices.Clone([]string(g.IAMRolesToOverride))
		}
		if g.PreferredRole != "" {
			idc["cognito:preferred_role"] = g.PreferredRole
		}
	}

	if len(o.scopesAdd) > 0 || len(o.scopesSuppress) > 0 {
		scopes := strings.Fields(ac.String("scope"))
		for _, s := range o.scopesAdd {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
		scopes = slices.DeleteFunc(scopes, func(s string) bool { return slices.Contains(o.scopesSuppress, s) })
		if len(scopes) == 0 {
			delete(ac, "scope")
		} else {
			ac["scope"] = strings.Join(scopes, " ")
		}
	}
	return ignored
}

// sortedClaimNames returns m's keys in order, so claims are applied the same way
// every time.
func sortedClaimNames(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// applyTokenOverrides applies o to a token pair and logs the reserved
// claims the hook tried to change.
func (e *Engine) applyTokenOverrides(ctx context.Context, p pool.Pool, o *tokenOverrides, idc, ac token.Claims) {
	ignored := o.apply(idc, ac)
	if len(ignored) == 0 {
		return
	}
	names := make([]string, 0, len(ignored))
	for i, n := range ignored {
		if i == 16 {
			names = append(names, "…")
			break
		}
		if r := []rune(n); len(r) > 64 {
			n = string(r[:64]) + "…"
		}
		names = append(names, strconv.Quote(n))
	}
	e.log.WarnContext(ctx, "PreTokenGeneration hook named reserved claims; they were left unchanged",
		"pool", p.ID, "claims", strings.Join(names, ", "))
}
