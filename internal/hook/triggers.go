package hook

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// The events of each trigger, with Cognito's request and response shapes.
// Optional request fields Cognito leaves out when empty (clientMetadata,
// validationData) are left out here too.
type (
	PreSignUpEvent                   = TypedEvent[PreSignUpRequest, PreSignUpResponse]
	PostConfirmationEvent            = TypedEvent[PostConfirmationRequest, EmptyResponse]
	PreAuthenticationEvent           = TypedEvent[PreAuthenticationRequest, EmptyResponse]
	PostAuthenticationEvent          = TypedEvent[PostAuthenticationRequest, EmptyResponse]
	DefineAuthChallengeEvent         = TypedEvent[DefineAuthChallengeRequest, DefineAuthChallengeResponse]
	CreateAuthChallengeEvent         = TypedEvent[CreateAuthChallengeRequest, CreateAuthChallengeResponse]
	VerifyAuthChallengeResponseEvent = TypedEvent[VerifyAuthChallengeRequest, VerifyAuthChallengeResult]
	// PreTokenGenerationEvent is the V1_0 event (version "1").
	PreTokenGenerationEvent = TypedEvent[PreTokenGenerationRequest, PreTokenGenerationResponse]
	// PreTokenGenerationV2Event is the V2_0 event (version "2").
	PreTokenGenerationV2Event = TypedEvent[PreTokenGenerationRequest, PreTokenGenerationV2Response]
	CustomSMSSenderEvent      = TypedEvent[CustomSenderRequest, EmptyResponse]
	CustomEmailSenderEvent    = TypedEvent[CustomSenderRequest, EmptyResponse]
)

// EmptyResponse is the response of the triggers whose answer Cognito reads
// nothing from: PostConfirmation, PreAuthentication, PostAuthentication and
// the custom senders. It marshals as {}.
type EmptyResponse struct{}

// PreSignUpRequest is PreSignUp's request: the attributes of the user
// about to be created.
type PreSignUpRequest struct {
	UserAttributes StringMap `json:"userAttributes"`
	// ValidationData is the ValidationData of SignUp or AdminCreateUser.
	ValidationData map[string]string `json:"validationData,omitempty"`
	// ClientMetadata is the caller's ClientMetadata.
	ClientMetadata map[string]string `json:"clientMetadata,omitempty"`
}

// PreSignUpResponse is PreSignUp's answer. A hook rejects a sign-up by
// answering with an error.
type PreSignUpResponse struct {
	// AutoConfirmUser confirms the user at once (no confirmation code).
	AutoConfirmUser bool `json:"autoConfirmUser"`
	// AutoVerifyEmail marks the email attribute verified.
	AutoVerifyEmail bool `json:"autoVerifyEmail"`
	// AutoVerifyPhone marks the phone_number attribute verified.
	AutoVerifyPhone bool `json:"autoVerifyPhone"`
}

// PostConfirmationRequest is PostConfirmation's request: the confirmed
// user's attributes.
type PostConfirmationRequest struct {
	UserAttributes StringMap         `json:"userAttributes"`
	ClientMetadata map[string]string `json:"clientMetadata,omitempty"`
}

// PreAuthenticationRequest is PreAuthentication's request. A hook rejects
// a sign-in by answering with an error.
type PreAuthenticationRequest struct {
	UserAttributes StringMap `json:"userAttributes"`
	// ValidationData is the ClientMetadata of InitiateAuth, as Cognito
	// passes it to this trigger.
	ValidationData map[string]string `json:"validationData,omitempty"`
	// UserNotFound is true when the username matches no user and the pool
	// hides that (the sign-in goes on with a decoy).
	UserNotFound bool `json:"userNotFound"`
}

// PostAuthenticationRequest is PostAuthentication's request, after a
// successful sign-in.
type PostAuthenticationRequest struct {
	// NewDeviceUsed says the sign-in came from a device not seen before.
	NewDeviceUsed  bool              `json:"newDeviceUsed"`
	UserAttributes StringMap         `json:"userAttributes"`
	ClientMetadata map[string]string `json:"clientMetadata,omitempty"`
}

// ChallengeResult is one answered challenge of a sign-in session: an
// element of the session array of the challenge triggers.
type ChallengeResult struct {
	ChallengeName string `json:"challengeName"`
	// ChallengeResult says whether the answer was right.
	ChallengeResult bool `json:"challengeResult"`
	// ChallengeMetadata is what CreateAuthChallenge answered as
	// challengeMetadata for this challenge.
	ChallengeMetadata string `json:"challengeMetadata,omitempty"`
}

// Session is the challenge history of a sign-in, oldest first. A nil
// Session marshals as [], as handlers expect.
type Session []ChallengeResult

// MarshalJSON writes s, or [] when s is nil.
func (s Session) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]ChallengeResult(s))
}

// DefineAuthChallengeRequest is DefineAuthChallenge's request: the session
// so far, from which the hook decides the next step.
type DefineAuthChallengeRequest struct {
	UserAttributes StringMap         `json:"userAttributes"`
	Session        Session           `json:"session"`
	ClientMetadata map[string]string `json:"clientMetadata,omitempty"`
	UserNotFound   bool              `json:"userNotFound"`
}

// DefineAuthChallengeResponse is DefineAuthChallenge's answer: issue
// tokens, fail, or ask ChallengeName. FailAuthentication wins over
// IssueTokens when both are set.
type DefineAuthChallengeResponse struct {
	// ChallengeName is the next challenge when neither IssueTokens nor
	// FailAuthentication is set; it must be ChallengeCustom.
	ChallengeName      string `json:"challengeName,omitempty"`
	IssueTokens        bool   `json:"issueTokens"`
	FailAuthentication bool   `json:"failAuthentication"`
}

// CreateAuthChallengeRequest is CreateAuthChallenge's request.
type CreateAuthChallengeRequest struct {
	UserAttributes StringMap `json:"userAttributes"`
	// ChallengeName is the challenge DefineAuthChallenge asked for.
	ChallengeName  string            `json:"challengeName"`
	Session        Session           `json:"session"`
	ClientMetadata map[string]string `json:"clientMetadata,omitempty"`
	UserNotFound   bool              `json:"userNotFound"`
}

// CreateAuthChallengeResponse is CreateAuthChallenge's answer.
type CreateAuthChallengeResponse struct {
	// PublicChallengeParameters go to the client as ChallengeParameters.
	PublicChallengeParameters StringMap `json:"publicChallengeParameters"`
	// PrivateChallengeParameters stay on the server and reach
	// VerifyAuthChallengeResponse (typically the expected answer).
	PrivateChallengeParameters StringMap `json:"privateChallengeParameters"`
	// ChallengeMetadata is recorded in the session for later triggers
	// (the classic passwordless handlers keep "CODE-<code>" here).
	ChallengeMetadata string `json:"challengeMetadata,omitempty"`
}

// String leaves out the private parameters, which often hold the answer.
func (r CreateAuthChallengeResponse) String() string {
	return fmt.Sprintf("create challenge response (%d public parameters)", len(r.PublicChallengeParameters))
}

// GoString keeps %#v from printing the private parameters.
func (r CreateAuthChallengeResponse) GoString() string {
	return "hook.CreateAuthChallengeResponse{" + r.String() + "}"
}

// LogValue keeps slog from logging the private parameters.
func (r CreateAuthChallengeResponse) LogValue() slog.Value { return slog.StringValue(r.String()) }

// VerifyAuthChallengeRequest is VerifyAuthChallengeResponse's request: the
// user's answer and the challenge's private parameters.
type VerifyAuthChallengeRequest struct {
	UserAttributes             StringMap         `json:"userAttributes"`
	PrivateChallengeParameters StringMap         `json:"privateChallengeParameters"`
	ChallengeAnswer            string            `json:"challengeAnswer"`
	ClientMetadata             map[string]string `json:"clientMetadata,omitempty"`
	UserNotFound               bool              `json:"userNotFound"`
}

// String leaves out the private parameters and the answer.
func (r VerifyAuthChallengeRequest) String() string {
	return fmt.Sprintf("verify challenge request (user not found: %t)", r.UserNotFound)
}

// GoString keeps %#v from printing the private parameters or the answer.
func (r VerifyAuthChallengeRequest) GoString() string {
	return "hook.VerifyAuthChallengeRequest{" + r.String() + "}"
}

// LogValue keeps slog from logging the private parameters or the answer.
func (r VerifyAuthChallengeRequest) LogValue() slog.Value { return slog.StringValue(r.String()) }

// VerifyAuthChallengeResult is VerifyAuthChallengeResponse's answer (the
// trigger's name is taken by the constant).
type VerifyAuthChallengeResult struct {
	AnswerCorrect bool `json:"answerCorrect"`
}

// GroupConfiguration is the user's groups and IAM roles, in the request of
// PreTokenGeneration, and their replacement in its answer.
type GroupConfiguration struct {
	GroupsToOverride   Strings `json:"groupsToOverride"`
	IAMRolesToOverride Strings `json:"iamRolesToOverride"`
	PreferredRole      string  `json:"preferredRole,omitempty"`
}

// PreTokenGenerationRequest is PreTokenGeneration's request, for both
// versions.
type PreTokenGenerationRequest struct {
	UserAttributes     StringMap          `json:"userAttributes"`
	GroupConfiguration GroupConfiguration `json:"groupConfiguration"`
	// Scopes are the access token's scopes: V2_0 events only.
	Scopes         []string          `json:"scopes,omitempty"`
	ClientMetadata map[string]string `json:"clientMetadata,omitempty"`
}

// PreTokenGenerationResponse is the V1_0 answer, which customizes the ID
// token.
type PreTokenGenerationResponse struct {
	ClaimsOverrideDetails *ClaimsOverrideDetails `json:"claimsOverrideDetails,omitempty"`
}

// ClaimsOverrideDetails is the V1_0 customization of the ID token.
type ClaimsOverrideDetails struct {
	// ClaimsToAddOrOverride sets claims; V1_0 values are strings.
	ClaimsToAddOrOverride map[string]string `json:"claimsToAddOrOverride,omitempty"`
	// ClaimsToSuppress removes claims.
	ClaimsToSuppress []string `json:"claimsToSuppress,omitempty"`
	// GroupOverrideDetails, when set, replaces the user's groups and roles.
	GroupOverrideDetails *GroupConfiguration `json:"groupOverrideDetails,omitempty"`
}

// PreTokenGenerationV2Response is the V2_0 answer, which customizes both
// tokens.
type PreTokenGenerationV2Response struct {
	ClaimsAndScopeOverrideDetails *ClaimsAndScopeOverrideDetails `json:"claimsAndScopeOverrideDetails,omitempty"`
}

// ClaimsAndScopeOverrideDetails is the V2_0 customization of both tokens.
type ClaimsAndScopeOverrideDetails struct {
	IDTokenGeneration     *IDTokenGeneration     `json:"idTokenGeneration,omitempty"`
	AccessTokenGeneration *AccessTokenGeneration `json:"accessTokenGeneration,omitempty"`
	GroupOverrideDetails  *GroupConfiguration    `json:"groupOverrideDetails,omitempty"`
}

// IDTokenGeneration customizes the ID token. V2_0 claim values may be any
// JSON: strings, numbers, booleans, arrays or objects (numbers decode as
// json.Number, so they keep their exact digits).
type IDTokenGeneration struct {
	ClaimsToAddOrOverride map[string]any `json:"claimsToAddOrOverride,omitempty"`
	ClaimsToSuppress      []string       `json:"claimsToSuppress,omitempty"`
}

// AccessTokenGeneration customizes the access token's claims and scopes.
type AccessTokenGeneration struct {
	ClaimsToAddOrOverride map[string]any `json:"claimsToAddOrOverride,omitempty"`
	ClaimsToSuppress      []string       `json:"claimsToSuppress,omitempty"`
	ScopesToAdd           []string       `json:"scopesToAdd,omitempty"`
	ScopesToSuppress      []string       `json:"scopesToSuppress,omitempty"`
}

// Custom sender request types, the request's "type" field.
const (
	CustomSMSSenderRequestV1   = "customSMSSenderRequestV1"
	CustomEmailSenderRequestV1 = "customEmailSenderRequestV1"
)

// CustomSenderRequest is the request of CustomSMSSender and
// CustomEmailSender: a code to deliver. Their answer is not read.
//
// Cognito encrypts Code with the pool's KMS key; Latchkey sends the code
// itself, protected by HTTPS and the request signature. Code is a secret:
// String, GoString and LogValue leave it out.
type CustomSenderRequest struct {
	// Type is CustomSMSSenderRequestV1 or CustomEmailSenderRequestV1.
	Type           string            `json:"type"`
	Code           string            `json:"code"`
	ClientMetadata map[string]string `json:"clientMetadata,omitempty"`
	UserAttributes StringMap         `json:"userAttributes"`
}

// String describes r without its code.
func (r CustomSenderRequest) String() string { return r.Type + " (code withheld)" }

// GoString keeps %#v from printing the code.
func (r CustomSenderRequest) GoString() string { return "hook.CustomSenderRequest{" + r.String() + "}" }

// LogValue keeps slog from logging the code.
func (r CustomSenderRequest) LogValue() slog.Value { return slog.StringValue(r.String()) }
