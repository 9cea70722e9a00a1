package hook

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Trigger names: Cognito's LambdaConfig keys. A pool configures hooks by
// these names, and errors name the trigger by them.
const (
	PreSignUp                   = "PreSignUp"
	PostConfirmation            = "PostConfirmation"
	PreAuthentication           = "PreAuthentication"
	PostAuthentication          = "PostAuthentication"
	DefineAuthChallenge         = "DefineAuthChallenge"
	CreateAuthChallenge         = "CreateAuthChallenge"
	VerifyAuthChallengeResponse = "VerifyAuthChallengeResponse"
	PreTokenGeneration          = "PreTokenGeneration"
	CustomSMSSender             = "CustomSMSSender"
	CustomEmailSender           = "CustomEmailSender"
)

// Triggers returns every trigger name, in the order of a sign-up and a
// sign-in.
func Triggers() []string {
	return []string{
		PreSignUp, PostConfirmation, PreAuthentication,
		DefineAuthChallenge, CreateAuthChallenge, VerifyAuthChallengeResponse,
		PreTokenGeneration, PostAuthentication,
		CustomSMSSender, CustomEmailSender,
	}
}

// IsTrigger reports whether name is one of the trigger names.
func IsTrigger(name string) bool {
	_, ok := sourcePrefix(name)
	return ok
}

// Trigger sources: the triggerSource of an event, which says what caused
// it. Each belongs to one trigger (see TriggerOf).
const (
	SourcePreSignUpSignUp          = "PreSignUp_SignUp"
	SourcePreSignUpAdminCreateUser = "PreSignUp_AdminCreateUser"

	SourcePostConfirmationConfirmSignUp = "PostConfirmation_ConfirmSignUp"

	SourcePreAuthentication  = "PreAuthentication_Authentication"
	SourcePostAuthentication = "PostAuthentication_Authentication"

	SourceDefineAuthChallenge         = "DefineAuthChallenge_Authentication"
	SourceCreateAuthChallenge         = "CreateAuthChallenge_Authentication"
	SourceVerifyAuthChallengeResponse = "VerifyAuthChallengeResponse_Authentication"

	SourceTokenGenerationAuthentication       = "TokenGeneration_Authentication"
	SourceTokenGenerationRefreshTokens        = "TokenGeneration_RefreshTokens"
	SourceTokenGenerationNewPasswordChallenge = "TokenGeneration_NewPasswordChallenge"
	SourceTokenGenerationHostedAuth           = "TokenGeneration_HostedAuth"

	SourceCustomSMSSenderSignUp              = "CustomSMSSender_SignUp"
	SourceCustomSMSSenderAuthentication      = "CustomSMSSender_Authentication"
	SourceCustomSMSSenderResendCode          = "CustomSMSSender_ResendCode"
	SourceCustomSMSSenderUpdateUserAttribute = "CustomSMSSender_UpdateUserAttribute"
	SourceCustomSMSSenderVerifyUserAttribute = "CustomSMSSender_VerifyUserAttribute"

	SourceCustomEmailSenderSignUp              = "CustomEmailSender_SignUp"
	SourceCustomEmailSenderAuthentication      = "CustomEmailSender_Authentication"
	SourceCustomEmailSenderResendCode          = "CustomEmailSender_ResendCode"
	SourceCustomEmailSenderUpdateUserAttribute = "CustomEmailSender_UpdateUserAttribute"
	SourceCustomEmailSenderVerifyUserAttribute = "CustomEmailSender_VerifyUserAttribute"
)

// sourcePrefix is the triggerSource prefix of each trigger's sources.
func sourcePrefix(trigger string) (string, bool) {
	switch trigger {
	case PreSignUp, PostConfirmation, PreAuthentication, PostAuthentication,
		DefineAuthChallenge, CreateAuthChallenge, VerifyAuthChallengeResponse,
		CustomSMSSender, CustomEmailSender:
		return trigger + "_", true
	case PreTokenGeneration:
		return "TokenGeneration_", true
	}
	return "", false
}

// TriggerOf returns the trigger a triggerSource belongs to ("PreSignUp" for
// "PreSignUp_SignUp", "PreTokenGeneration" for "TokenGeneration_…"), or ""
// for a source of no known trigger.
func TriggerOf(source string) string {
	for _, t := range Triggers() {
		p, _ := sourcePrefix(t)
		if len(source) > len(p) && source[:len(p)] == p {
			return t
		}
	}
	return ""
}

// Challenge names in a session and in DefineAuthChallenge's answer.
// Latchkey is passwordless: CUSTOM_CHALLENGE is the only challenge a
// DefineAuthChallenge hook may ask for.
const ChallengeCustom = "CUSTOM_CHALLENGE"

// Lambda versions (Cognito's LambdaVersion) of the triggers that have more
// than one event shape: PreTokenGeneration's V1_0 customizes the ID token,
// V2_0 both tokens and the access token's scopes. Custom senders have only
// V1_0.
const (
	LambdaV1 = "V1_0"
	LambdaV2 = "V2_0"
)

// EventVersion returns the event's "version" field for a Lambda version:
// "2" for V2_0, else "1".
func EventVersion(lambdaVersion string) string {
	if lambdaVersion == LambdaV2 {
		return "2"
	}
	return "1"
}

// Header is the envelope every event shares.
type Header struct {
	// Version is "1", or "2" for a PreTokenGeneration V2_0 event.
	Version string `json:"version"`
	// TriggerSource says what caused the event, e.g. "PreSignUp_SignUp".
	TriggerSource string `json:"triggerSource"`
	// Region is the pool's region, the part of its id before "_".
	Region     string `json:"region"`
	UserPoolID string `json:"userPoolId"`
	// UserName is the user's username (the E.164 number or lower-cased
	// email when the pool uses them as usernames).
	UserName      string        `json:"userName"`
	CallerContext CallerContext `json:"callerContext"`
}

// CallerContext says who called the API that caused the event.
type CallerContext struct {
	// AWSSDKVersion is the caller's SDK and version, as Cognito reports it
	// from the User-Agent ("aws-sdk-unknown-unknown" when unknown).
	AWSSDKVersion string `json:"awsSdkVersion"`
	// ClientID is the app client's id; "" for admin calls without one.
	ClientID string `json:"clientId"`
}

// Event is one trigger invocation with its request and response as raw
// JSON: what an Invoker sends and fills. Build one with TypedEvent.Encode;
// read its filled Response with the trigger's Decode function.
//
// The request and response may hold secrets (a custom sender's code, a
// challenge's private parameters), so String, GoString and LogValue show
// only the envelope.
type Event struct {
	Header
	// Request is the trigger's request object.
	Request json.RawMessage `json:"request"`
	// Response is the trigger's response object: its initial value when
	// sent, the hook's answer after Invoke.
	Response json.RawMessage `json:"response"`
}

// String describes e without its request or response.
func (e Event) String() string {
	return fmt.Sprintf("%s event for pool %s, user %q, client %q",
		e.TriggerSource, e.UserPoolID, e.UserName, e.CallerContext.ClientID)
}

// GoString keeps %#v from printing the request or response.
func (e Event) GoString() string { return "hook.Event{" + e.String() + "}" }

// LogValue keeps slog.Any("event", e) from logging the request or response.
func (e Event) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("trigger_source", e.TriggerSource),
		slog.String("pool", e.UserPoolID),
		slog.String("client", e.CallerContext.ClientID),
	)
}

// TypedEvent is an event with Go types for its request and response; the
// aliases below name it per trigger. It marshals to exactly the JSON Cognito
// sends for that trigger.
type TypedEvent[Req, Resp any] struct {
	Header
	Request  Req  `json:"request"`
	Response Resp `json:"response"`
}

// String describes e without its request or response.
func (e TypedEvent[Req, Resp]) String() string { return Event{Header: e.Header}.String() }

// LogValue keeps slog from logging the request or response, which may hold
// secrets.
func (e TypedEvent[Req, Resp]) LogValue() slog.Value { return Event{Header: e.Header}.LogValue() }

// Encode returns e as an Event, ready for an Invoker.
func (e TypedEvent[Req, Resp]) Encode() (*Event, error) {
	req, err := json.Marshal(e.Request)
	if err != nil {
		return nil, fmt.Errorf("hook: encoding %s request: %w", e.TriggerSource, err)
	}
	resp, err := json.Marshal(e.Response)
	if err != nil {
		return nil, fmt.Errorf("hook: encoding %s response: %w", e.TriggerSource, err)
	}
	return &Event{Header: e.Header, Request: req, Response: resp}, nil
}

// DecodeEvent reads an Event into a TypedEvent. The request must be of
// type Req; the response is read as it is, without the checks of the
// trigger's Decode function.
func DecodeEvent[Req, Resp any](ev *Event) (*TypedEvent[Req, Resp], error) {
	te := &TypedEvent[Req, Resp]{Header: ev.Header}
	if err := unmarshalObject(ev.Request, &te.Request); err != nil {
		return nil, fmt.Errorf("hook: decoding %s request: %w", ev.TriggerSource, err)
	}
	if err := unmarshalObject(ev.Response, &te.Response); err != nil {
		return nil, fmt.Errorf("hook: decoding %s response: %w", ev.TriggerSource, err)
	}
	return te, nil
}

// unmarshalObject unmarshals raw into v, treating an empty raw as {}.
func unmarshalObject(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// StringMap is a JSON object of strings (user attributes, challenge
// parameters). A nil StringMap marshals as {}, never null, as Cognito
// sends it and as handlers expect.
type StringMap map[string]string

// MarshalJSON writes m, or {} when m is nil.
func (m StringMap) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(map[string]string(m))
}

// Strings is a JSON array of strings. A nil Strings marshals as [], never
// null.
type Strings []string

// MarshalJSON writes s, or [] when s is nil.
func (s Strings) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]string(s))
}
