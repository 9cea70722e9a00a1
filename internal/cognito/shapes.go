package cognito

import (
	"sort"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/pool"
)

// Wire shapes, with Cognito's member names. Absent members are omitted,
// never sent as null.

type attributeType struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type codeDeliveryDetails struct {
	Destination    string `json:"Destination,omitempty"`
	DeliveryMedium string `json:"DeliveryMedium,omitempty"`
	AttributeName  string `json:"AttributeName,omitempty"`
}

func toCodeDeliveryDetails(d *auth.CodeDelivery) *codeDeliveryDetails {
	if d == nil {
		return nil
	}
	return &codeDeliveryDetails{Destination: d.Destination, DeliveryMedium: d.DeliveryMedium, AttributeName: d.AttributeName}
}

type authenticationResult struct {
	AccessToken  string `json:"AccessToken"`
	ExpiresIn    int    `json:"ExpiresIn"`
	IdToken      string `json:"IdToken"`
	RefreshToken string `json:"RefreshToken,omitempty"`
	TokenType    string `json:"TokenType"`
}

func toAuthenticationResult(t *auth.Tokens) *authenticationResult {
	if t == nil {
		return nil
	}
	return &authenticationResult{AccessToken: t.AccessToken, ExpiresIn: t.ExpiresIn, IdToken: t.IDToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType}
}

// authResponse is the output of InitiateAuth and RespondToAuthChallenge.
type authResponse struct {
	ChallengeName        string                `json:"ChallengeName,omitempty"`
	Session              string                `json:"Session,omitempty"`
	ChallengeParameters  map[string]string     `json:"ChallengeParameters"`
	AuthenticationResult *authenticationResult `json:"AuthenticationResult,omitempty"`
	AvailableChallenges  []string              `json:"AvailableChallenges,omitempty"`
}

func toAuthResponse(r auth.AuthResult) authResponse {
	out := authResponse{
		ChallengeName:        r.ChallengeName,
		Session:              r.Session,
		ChallengeParameters:  r.ChallengeParameters,
		AuthenticationResult: toAuthenticationResult(r.Tokens),
		AvailableChallenges:  r.AvailableChallenges,
	}
	if out.ChallengeParameters == nil {
		// The real service always sends the member, as {} alongside tokens.
		out.ChallengeParameters = map[string]string{}
	}
	return out
}

// userAttributes lists attributes sub first, then by name, as a stable order.
func userAttributes(u pool.User) []attributeType {
	out := make([]attributeType, 0, len(u.Attributes))
	for name, value := range u.Attributes {
		out = append(out, attributeType{Name: name, Value: value})
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Name == pool.AttrSub) != (out[j].Name == pool.AttrSub) {
			return out[i].Name == pool.AttrSub
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// empty is the output of operations that return nothing.
type empty struct{}
