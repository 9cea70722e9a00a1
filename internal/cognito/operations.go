package cognito

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey/internal/auth"
)

// Size caps for map and list members. Cognito's model gives map keys and
// values (StringType) 0 to 131072 characters and sets no entry count, and
// gives AttributeListType no length; these caps are Latchkey's own, generous
// for every real client, and keep a request within MaxBodyBytes from costing
// more than its size. maxAttributeName and maxAttributeValue are Cognito's
// (AttributeNameType 1-32, AttributeValueType 0-2048).
const (
	maxMapEntries       = 64
	maxMapKey           = 256
	maxMapValue         = 4096
	maxAuthParamValue   = maxTokenLength
	maxUserAttributes   = 100
	maxAttributeName    = 32
	maxAttributeValue   = 2048
	maxEnumMemberLength = 64
)

// request is a decoded operation input that can check itself against
// Cognito's constraints.
type request interface {
	validate() error
}

// decodeRequest decodes body into in and validates it.
func decodeRequest(body []byte, in request) error {
	if err := decode(body, in); err != nil {
		return err
	}
	return in.validate()
}

type signUpRequest struct {
	ClientId       string
	Username       string
	Password       string
	SecretHash     string
	UserAttributes []attributeType
	ValidationData []attributeType
	ClientMetadata map[string]string
}

type signUpResponse struct {
	UserConfirmed       bool                 `json:"UserConfirmed"`
	UserSub             string               `json:"UserSub"`
	CodeDeliveryDetails *codeDeliveryDetails `json:"CodeDeliveryDetails,omitempty"`
	Session             string               `json:"Session,omitempty"`
}

func (r *signUpRequest) validate() error {
	var v validator
	v.str(r.ClientId, clientIDRule)
	v.str(r.Username, usernameRule)
	v.str(r.SecretHash, secretHashRule)
	v.str(r.Password, passwordRule)
	v.stringMap(r.ClientMetadata, "clientMetadata", maxMapEntries, maxMapValue)
	validateAttributes(&v, r.UserAttributes, "userAttributes", false)
	validateAttributes(&v, r.ValidationData, "validationData", true)
	return v.err()
}

func (h *Handler) signUp(ctx context.Context, body []byte) (any, error) {
	var in signUpRequest
	if err := decodeRequest(body, &in); err != nil {
		return nil, err
	}
	attrs := make(map[string]string, len(in.UserAttributes))
	for _, a := range in.UserAttributes {
		attrs[a.Name] = a.Value
	}
	// Password is accepted and ignored: Latchkey is passwordless, and the
	// classic Cognito recipes send a dummy one.
	var validation map[string]string
	if len(in.ValidationData) > 0 {
		validation = make(map[string]string, len(in.ValidationData))
		for _, a := range in.ValidationData {
			validation[a.Name] = a.Value
		}
	}
	out, err := h.engine.SignUp(ctx, auth.SignUpInput{
		ClientID:       in.ClientId,
		Username:       in.Username,
		SecretHash:     in.SecretHash,
		Attributes:     attrs,
		ValidationData: validation,
		ClientMetadata: in.ClientMetadata,
	})
	if err != nil {
		return nil, err
	}
	return signUpResponse{
		UserConfirmed:       out.UserConfirmed,
		UserSub:             out.UserSub,
		CodeDeliveryDetails: toCodeDeliveryDetails(out.Delivery),
		Session:             out.Session,
	}, nil
}

type confirmSignUpRequest struct {
	ClientId           string
	Username           string
	ConfirmationCode   string
	SecretHash         string
	Session            string
	ForceAliasCreation bool
	ClientMetadata     map[string]string
}

type sessionResponse struct {
	Session string `json:"Session,omitempty"`
}

func (r *confirmSignUpRequest) validate() error {
	var v validator
	v.str(r.ClientId, clientIDRule)
	v.str(r.Username, usernameRule)
	v.str(r.ConfirmationCode, codeRule)
	v.str(r.SecretHash, secretHashRule)
	v.str(r.Session, sessionRule)
	v.stringMap(r.ClientMetadata, "clientMetadata", maxMapEntries, maxMapValue)
	return v.err()
}

func (h *Handler) confirmSignUp(ctx context.Context, body []byte) (any, error) {
	var in confirmSignUpRequest
	if err := decodeRequest(body, &in); err != nil {
		return nil, err
	}
	session, err := h.engine.ConfirmSignUp(ctx, auth.ConfirmSignUpInput{
		ClientID:         in.ClientId,
		Username:         in.Username,
		ConfirmationCode: in.ConfirmationCode,
		SecretHash:       in.SecretHash,
		Session:          in.Session,
		ClientMetadata:   in.ClientMetadata,
	})
	if err != nil {
		return nil, err
	}
	return sessionResponse{Session: session}, nil
}

type resendConfirmationCodeRequest struct {
	ClientId       string
	Username       string
	SecretHash     string
	ClientMetadata map[string]string
}

type codeDeliveryResponse struct {
	CodeDeliveryDetails *codeDeliveryDetails `json:"CodeDeliveryDetails,omitempty"`
}

func (r *resendConfirmationCodeRequest) validate() error {
	var v validator
	v.str(r.ClientId, clientIDRule)
	v.str(r.Username, usernameRule)
	v.str(r.SecretHash, secretHashRule)
	v.stringMap(r.ClientMetadata, "clientMetadata", maxMapEntries, maxMapValue)
	return v.err()
}

func (h *Handler) resendConfirmationCode(ctx context.Context, body []byte) (any, error) {
	var in resendConfirmationCodeRequest
	if err := decodeRequest(body, &in); err != nil {
		return nil, err
	}
	d, err := h.engine.ResendConfirmationCode(ctx, auth.ResendConfirmationCodeInput{
		ClientID:   in.ClientId,
		Username:   in.Username,
		SecretHash: in.SecretHash,
	})
	if err != nil {
		return nil, err
	}
	return codeDeliveryResponse{CodeDeliveryDetails: toCodeDeliveryDetails(&d)}, nil
}

type initiateAuthRequest struct {
	AuthFlow       string
	ClientId       string
	AuthParameters map[string]string
	ClientMetadata map[string]string
	Session        string
}

func (r *initiateAuthRequest) validate() error {
	var v validator
	v.str(r.AuthFlow, strRule{member: "authFlow", required: true, max: maxEnumMemberLength})
	v.str(r.ClientId, clientIDRule)
	v.str(r.Session, sessionRule)
	v.stringMap(r.AuthParameters, "authParameters", maxMapEntries, maxAuthParamValue)
	v.stringMap(r.ClientMetadata, "clientMetadata", maxMapEntries, maxMapValue)
	return v.err()
}

func (h *Handler) initiateAuth(ctx context.Context, body []byte) (any, error) {
	var in initiateAuthRequest
	if err := decodeRequest(body, &in); err != nil {
		return nil, err
	}
	r, err := h.engine.InitiateAuth(ctx, auth.InitiateAuthInput{
		ClientID:       in.ClientId,
		AuthFlow:       in.AuthFlow,
		AuthParameters: in.AuthParameters,
		Session:        in.Session,
		ClientMetadata: in.ClientMetadata,
	})
	if err != nil {
		return nil, err
	}
	return toAuthResponse(r), nil
}

type respondToAuthChallengeRequest struct {
	ClientId           string
	ChallengeName      string
	Session            string
	ChallengeResponses map[string]string
	ClientMetadata     map[string]string
}

func (r *respondToAuthChallengeRequest) validate() error {
	var v validator
	v.str(r.ClientId, clientIDRule)
	v.str(r.ChallengeName, strRule{member: "challengeName", required: true, max: maxEnumMemberLength})
	v.str(r.Session, sessionRule)
	v.stringMap(r.ChallengeResponses, "challengeResponses", maxMapEntries, maxMapValue)
	v.stringMap(r.ClientMetadata, "clientMetadata", maxMapEntries, maxMapValue)
	return v.err()
}

func (h *Handler) respondToAuthChallenge(ctx context.Context, body []byte) (any, error) {
	var in respondToAuthChallengeRequest
	if err := decodeRequest(body, &in); err != nil {
		return nil, err
	}
	r, err := h.engine.RespondToAuthChallenge(ctx, auth.RespondInput{
		ClientID:           in.ClientId,
		ChallengeName:      in.ChallengeName,
		Session:            in.Session,
		ChallengeResponses: in.ChallengeResponses,
		ClientMetadata:     in.ClientMetadata,
	})
	if err != nil {
		return nil, err
	}
	return toAuthResponse(r), nil
}

type getTokensFromRefreshTokenRequest struct {
	RefreshToken   string
	ClientId       string
	ClientSecret   string
	DeviceKey      string
	ClientMetadata map[string]string
}

type tokensResponse struct {
	AuthenticationResult *authenticationResult `json:"AuthenticationResult"`
}

func (r *getTokensFromRefreshTokenRequest) validate() error {
	var v validator
	v.str(r.RefreshToken, refreshTokenRule)
	v.str(r.ClientId, clientIDRule)
	v.str(r.ClientSecret, clientSecretRule)
	v.str(r.DeviceKey, deviceKeyRule)
	v.stringMap(r.ClientMetadata, "clientMetadata", maxMapEntries, maxMapValue)
	return v.err()
}

func (h *Handler) getTokensFromRefreshToken(ctx context.Context, body []byte) (any, error) {
	var in getTokensFromRefreshTokenRequest
	if err := decodeRequest(body, &in); err != nil {
		return nil, err
	}
	t, err := h.engine.GetTokensFromRefreshToken(ctx, auth.RefreshInput{
		ClientID:       in.ClientId,
		RefreshToken:   in.RefreshToken,
		ClientSecret:   in.ClientSecret,
		ClientMetadata: in.ClientMetadata,
	})
	if err != nil {
		return nil, err
	}
	return tokensResponse{AuthenticationResult: toAuthenticationResult(t)}, nil
}

type accessTokenRequest struct {
	AccessToken string
}

func (r *accessTokenRequest) validate() error {
	var v validator
	v.str(r.AccessToken, accessTokenRule)
	return v.err()
}

func decodeAccessToken(body []byte) (string, error) {
	var in accessTokenRequest
	if err := decodeRequest(body, &in); err != nil {
		return "", err
	}
	return in.AccessToken, nil
}

type getUserResponse struct {
	Username       string          `json:"Username"`
	UserAttributes []attributeType `json:"UserAttributes"`
}

func (h *Handler) getUser(ctx context.Context, body []byte) (any, error) {
	tok, err := decodeAccessToken(body)
	if err != nil {
		return nil, err
	}
	u, err := h.engine.GetUser(ctx, tok)
	if err != nil {
		return nil, err
	}
	return getUserResponse{Username: u.Username, UserAttributes: userAttributes(u)}, nil
}

func (h *Handler) globalSignOut(ctx context.Context, body []byte) (any, error) {
	tok, err := decodeAccessToken(body)
	if err != nil {
		return nil, err
	}
	return empty{}, h.engine.GlobalSignOut(ctx, tok)
}

func (h *Handler) deleteUser(ctx context.Context, body []byte) (any, error) {
	tok, err := decodeAccessToken(body)
	if err != nil {
		return nil, err
	}
	return empty{}, h.engine.DeleteUser(ctx, tok)
}

type revokeTokenRequest struct {
	Token        string
	ClientId     string
	ClientSecret string
}

func (r *revokeTokenRequest) validate() error {
	var v validator
	v.str(r.Token, strRule{member: "token", required: true, max: maxTokenLength, pattern: tokenPattern, secret: true})
	v.str(r.ClientId, clientIDRule)
	v.str(r.ClientSecret, clientSecretRule)
	return v.err()
}

func (h *Handler) revokeToken(ctx context.Context, body []byte) (any, error) {
	var in revokeTokenRequest
	if err := decodeRequest(body, &in); err != nil {
		return nil, err
	}
	return empty{}, h.engine.RevokeToken(ctx, auth.RevokeTokenInput{
		ClientID:     in.ClientId,
		Token:        in.Token,
		ClientSecret: in.ClientSecret,
	})
}

type updateUserAttributesRequest struct {
	AccessToken    string
	UserAttributes []attributeType
	ClientMetadata map[string]string
}

func (r *updateUserAttributesRequest) validate() error {
	var v validator
	v.str(r.AccessToken, accessTokenRule)
	v.stringMap(r.ClientMetadata, "clientMetadata", maxMapEntries, maxMapValue)
	validateAttributes(&v, r.UserAttributes, "userAttributes", false)
	if len(r.UserAttributes) == 0 {
		v.add(nil, "userAttributes", "Member must not be null")
	}
	return v.err()
}

// validateAttributes checks a list of AttributeType members against
// AttributeNameType (required, 1-32 characters, letters, marks, symbols,
// numbers, punctuation and \t\n\r or space) and AttributeValueType (at
// most 2048 characters). Values are never quoted, as they hold e-mail
// addresses and phone numbers; names are, unless hideNames (ValidationData,
// which only a pre sign-up hook reads, is treated as opaque).
func validateAttributes(v *validator, attrs []attributeType, member string, hideNames bool) {
	if len(attrs) > maxUserAttributes {
		// Checking each of thousands of entries would only bloat the error.
		v.secret(member, fmt.Sprintf("Member must have at most %d entries", maxUserAttributes))
		return
	}
	nameRule := strRule{member: member + ".member.name", required: true, min: 1, max: maxAttributeName, pattern: attrNamePattern, secret: hideNames}
	valueRule := strRule{member: member + ".member.value", max: maxAttributeValue, secret: true}
	for _, a := range attrs {
		v.str(a.Name, nameRule)
		v.str(a.Value, valueRule)
	}
}

type codeDeliveryListResponse struct {
	CodeDeliveryDetailsList []codeDeliveryDetails `json:"CodeDeliveryDetailsList"`
}

func (h *Handler) updateUserAttributes(ctx context.Context, body []byte) (any, error) {
	var in updateUserAttributesRequest
	if err := decodeRequest(body, &in); err != nil {
		return nil, err
	}
	attrs := make(map[string]string, len(in.UserAttributes))
	for _, a := range in.UserAttributes {
		attrs[a.Name] = a.Value
	}
	ds, err := h.engine.UpdateUserAttributes(ctx, in.AccessToken, attrs)
	if err != nil {
		return nil, err
	}
	out := codeDeliveryListResponse{CodeDeliveryDetailsList: make([]codeDeliveryDetails, 0, len(ds))}
	for i := range ds {
		out.CodeDeliveryDetailsList = append(out.CodeDeliveryDetailsList, *toCodeDeliveryDetails(&ds[i]))
	}
	return out, nil
}

var attributeNameRule = strRule{member: "attributeName", required: true, min: 1, max: maxAttributeName, pattern: attrNamePattern}

type getUserAttributeVerificationCodeRequest struct {
	AccessToken    string
	AttributeName  string
	ClientMetadata map[string]string
}

func (r *getUserAttributeVerificationCodeRequest) validate() error {
	var v validator
	v.str(r.AccessToken, accessTokenRule)
	v.str(r.AttributeName, attributeNameRule)
	v.stringMap(r.ClientMetadata, "clientMetadata", maxMapEntries, maxMapValue)
	return v.err()
}

func (h *Handler) getUserAttributeVerificationCode(ctx context.Context, body []byte) (any, error) {
	var in getUserAttributeVerificationCodeRequest
	if err := decodeRequest(body, &in); err != nil {
		return nil, err
	}
	d, err := h.engine.GetUserAttributeVerificationCode(ctx, in.AccessToken, in.AttributeName)
	if err != nil {
		return nil, err
	}
	return codeDeliveryResponse{CodeDeliveryDetails: toCodeDeliveryDetails(&d)}, nil
}

type verifyUserAttributeRequest struct {
	AccessToken   string
	AttributeName string
	Code          string
}

func (r *verifyUserAttributeRequest) validate() error {
	var v validator
	v.str(r.AccessToken, accessTokenRule)
	v.str(r.AttributeName, attributeNameRule)
	v.str(r.Code, strRule{member: "code", required: true, min: codeRule.min, max: codeRule.max, pattern: codeRule.pattern, secret: true})
	return v.err()
}

func (h *Handler) verifyUserAttribute(ctx context.Context, body []byte) (any, error) {
	var in verifyUserAttributeRequest
	if err := decodeRequest(body, &in); err != nil {
		return nil, err
	}
	return empty{}, h.engine.VerifyUserAttribute(ctx, in.AccessToken, in.AttributeName, in.Code)
}
