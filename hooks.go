package latchkey

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// Hooks are Go functions that replace steps of sign-up and sign-in, named
// after Cognito's Lambda triggers (its LambdaConfig keys). Each receives
// the trigger's event, the same JSON-shaped value Cognito passes a Lambda
// function, reads ev.Request and fills ev.Response, as a Lambda function
// edits the event it returns. A nil field keeps that step as it is: the
// built-in behaviour, or the pool's webhook when it configures one. A
// function set here runs for every pool and takes precedence over a pool's
// webhook for the same trigger.
//
// Errors reach the client as Cognito reports a Lambda trigger's:
//
//   - an error the function returns is UserLambdaValidationException
//     "<Trigger> failed with error <err>." (so its text must be fit for
//     the person signing in);
//   - a function that panics, or is still running after
//     Config.HookTimeout, is UnexpectedLambdaException;
//   - a response that is not valid for the trigger (a challenge name other
//     than CUSTOM_CHALLENGE, say) is InvalidLambdaResponseException.
//
// Functions are called concurrently, from the goroutines serving requests;
// they should return when ctx is done. docs/hooks.md describes each
// trigger, its event and its built-in default.
type Hooks struct {
	// PreSignUp runs before a user is created by SignUp or
	// AdminCreateUser: return an error to refuse the sign-up, or set
	// AutoConfirmUser, AutoVerifyEmail, AutoVerifyPhone.
	PreSignUp func(ctx context.Context, ev *PreSignUpEvent) error
	// PostConfirmation runs after a user is confirmed.
	PostConfirmation func(ctx context.Context, ev *PostConfirmationEvent) error
	// PreAuthentication runs when a sign-in starts: return an error to
	// refuse it.
	PreAuthentication func(ctx context.Context, ev *PreAuthenticationEvent) error
	// PostAuthentication runs after a successful sign-in.
	PostAuthentication func(ctx context.Context, ev *PostAuthenticationEvent) error
	// DefineAuthChallenge decides, at the start of a CUSTOM_AUTH sign-in
	// and after each answer, whether to issue tokens, fail, or ask a
	// (CUSTOM_CHALLENGE) challenge.
	DefineAuthChallenge func(ctx context.Context, ev *DefineAuthChallengeEvent) error
	// CreateAuthChallenge makes the challenge DefineAuthChallenge asked
	// for: its public parameters (sent to the client), private parameters
	// (kept for VerifyAuthChallengeResponse) and metadata.
	CreateAuthChallenge func(ctx context.Context, ev *CreateAuthChallengeEvent) error
	// VerifyAuthChallengeResponse judges the client's answer.
	VerifyAuthChallengeResponse func(ctx context.Context, ev *VerifyAuthChallengeResponseEvent) error
	// PreTokenGeneration customizes the ID token's claims and the user's
	// groups before tokens are issued (Cognito's V1_0 event). Set it or
	// PreTokenGenerationV2, not both.
	PreTokenGeneration func(ctx context.Context, ev *PreTokenGenerationEvent) error
	// PreTokenGenerationV2 is PreTokenGeneration with Cognito's V2_0 event,
	// which customizes the access token's claims and scopes too.
	PreTokenGenerationV2 func(ctx context.Context, ev *PreTokenGenerationV2Event) error
	// CustomSMSSender delivers the codes that would go out by SMS, in
	// place of the pool's SMS providers; ev.Request.Code is the code
	// itself (Cognito's is KMS-encrypted).
	CustomSMSSender func(ctx context.Context, ev *CustomSMSSenderEvent) error
	// CustomEmailSender does the same for email.
	CustomEmailSender func(ctx context.Context, ev *CustomEmailSenderEvent) error
}

// funcs returns h as the engine's in-process hooks and their event
// versions, each function bounded by timeout (hook.DefaultTimeout when
// zero).
func (h Hooks) funcs(timeout time.Duration) (hook.Funcs, map[string]string, error) {
	if h.PreTokenGeneration != nil && h.PreTokenGenerationV2 != nil {
		return nil, nil, errors.New("latchkey: set Hooks.PreTokenGeneration or Hooks.PreTokenGenerationV2, not both")
	}
	if timeout <= 0 {
		timeout = hook.DefaultTimeout
	}
	funcs := hook.Funcs{}
	versions := map[string]string{}
	add := func(trigger string, f hook.Func) {
		funcs[trigger] = withTimeout(trigger, timeout, f)
	}
	if h.PreSignUp != nil {
		add(hook.PreSignUp, hook.Typed(h.PreSignUp))
	}
	if h.PostConfirmation != nil {
		add(hook.PostConfirmation, hook.Typed(h.PostConfirmation))
	}
	if h.PreAuthentication != nil {
		add(hook.PreAuthentication, hook.Typed(h.PreAuthentication))
	}
	if h.PostAuthentication != nil {
		add(hook.PostAuthentication, hook.Typed(h.PostAuthentication))
	}
	if h.DefineAuthChallenge != nil {
		add(hook.DefineAuthChallenge, hook.Typed(h.DefineAuthChallenge))
	}
	if h.CreateAuthChallenge != nil {
		add(hook.CreateAuthChallenge, hook.Typed(h.CreateAuthChallenge))
	}
	if h.VerifyAuthChallengeResponse != nil {
		add(hook.VerifyAuthChallengeResponse, hook.Typed(h.VerifyAuthChallengeResponse))
	}
	if h.PreTokenGeneration != nil {
		add(hook.PreTokenGeneration, hook.Typed(h.PreTokenGeneration))
	}
	if h.PreTokenGenerationV2 != nil {
		add(hook.PreTokenGeneration, hook.Typed(h.PreTokenGenerationV2))
		versions[hook.PreTokenGeneration] = hook.LambdaV2
	}
	if h.CustomSMSSender != nil {
		add(hook.CustomSMSSender, hook.Typed(h.CustomSMSSender))
	}
	if h.CustomEmailSender != nil {
		add(hook.CustomEmailSender, hook.Typed(h.CustomEmailSender))
	}
	if len(funcs) == 0 {
		return nil, nil, nil
	}
	return funcs, versions, nil
}

// withTimeout gives f a ctx that ends after d, as Cognito gives a Lambda
// trigger 5 seconds, and reports a function that overran it as a hook
// that did not answer in time (UnexpectedLambdaException) whatever it
// returned. The request's own end is left to the engine.
func withTimeout(trigger string, d time.Duration, f hook.Func) hook.Func {
	return func(ctx context.Context, ev *hook.Event) error {
		tctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		err := f(tctx, ev)
		if ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
			return &pool.Error{
				Kind:    pool.KindUnexpectedLambda,
				Message: fmt.Sprintf("%s invocation failed: the hook did not answer in time.", trigger),
				Err:     fmt.Errorf("the hook function ran longer than %s", d),
			}
		}
		return err
	}
}

// The events of each trigger: Cognito's envelope (Header) with the
// trigger's request and response, marshalling to exactly the JSON Cognito
// sends a Lambda function. They are the types of package hook inside this
// module, so webhooks and Go functions see the same values.
type (
	// TypedEvent is an event with Go types for its request and response;
	// the aliases below name it per trigger. Its String and LogValue leave
	// out the request and response, which may hold secrets.
	TypedEvent[Req, Resp any] = hook.TypedEvent[Req, Resp]
	// Header is the envelope every event shares: version, triggerSource,
	// region, userPoolId, userName and callerContext.
	Header = hook.Header
	// CallerContext says which SDK and app client made the call that
	// caused the event.
	CallerContext = hook.CallerContext

	// PreSignUpEvent is PreSignUp's event (triggerSource
	// PreSignUp_SignUp or PreSignUp_AdminCreateUser).
	PreSignUpEvent = hook.PreSignUpEvent
	// PostConfirmationEvent is PostConfirmation's event.
	PostConfirmationEvent = hook.PostConfirmationEvent
	// PreAuthenticationEvent is PreAuthentication's event.
	PreAuthenticationEvent = hook.PreAuthenticationEvent
	// PostAuthenticationEvent is PostAuthentication's event.
	PostAuthenticationEvent = hook.PostAuthenticationEvent
	// DefineAuthChallengeEvent is DefineAuthChallenge's event.
	DefineAuthChallengeEvent = hook.DefineAuthChallengeEvent
	// CreateAuthChallengeEvent is CreateAuthChallenge's event.
	CreateAuthChallengeEvent = hook.CreateAuthChallengeEvent
	// VerifyAuthChallengeResponseEvent is VerifyAuthChallengeResponse's
	// event.
	VerifyAuthChallengeResponseEvent = hook.VerifyAuthChallengeResponseEvent
	// PreTokenGenerationEvent is PreTokenGeneration's V1_0 event (version
	// "1").
	PreTokenGenerationEvent = hook.PreTokenGenerationEvent
	// PreTokenGenerationV2Event is PreTokenGeneration's V2_0 event
	// (version "2").
	PreTokenGenerationV2Event = hook.PreTokenGenerationV2Event
	// CustomSMSSenderEvent is CustomSMSSender's event.
	CustomSMSSenderEvent = hook.CustomSMSSenderEvent
	// CustomEmailSenderEvent is CustomEmailSender's event.
	CustomEmailSenderEvent = hook.CustomEmailSenderEvent

	// PreSignUpRequest is PreSignUp's request: the new user's attributes,
	// validationData and clientMetadata.
	PreSignUpRequest = hook.PreSignUpRequest
	// PreSignUpResponse is PreSignUp's response: autoConfirmUser,
	// autoVerifyEmail, autoVerifyPhone.
	PreSignUpResponse = hook.PreSignUpResponse
	// PostConfirmationRequest is PostConfirmation's request.
	PostConfirmationRequest = hook.PostConfirmationRequest
	// PreAuthenticationRequest is PreAuthentication's request.
	PreAuthenticationRequest = hook.PreAuthenticationRequest
	// PostAuthenticationRequest is PostAuthentication's request.
	PostAuthenticationRequest = hook.PostAuthenticationRequest
	// EmptyResponse is the response of the triggers whose answer is not
	// read (it marshals as {}).
	EmptyResponse = hook.EmptyResponse
	// DefineAuthChallengeRequest is DefineAuthChallenge's request: the
	// sign-in's session so far.
	DefineAuthChallengeRequest = hook.DefineAuthChallengeRequest
	// DefineAuthChallengeResponse is DefineAuthChallenge's response:
	// challengeName, issueTokens, failAuthentication.
	DefineAuthChallengeResponse = hook.DefineAuthChallengeResponse
	// CreateAuthChallengeRequest is CreateAuthChallenge's request.
	CreateAuthChallengeRequest = hook.CreateAuthChallengeRequest
	// CreateAuthChallengeResponse is CreateAuthChallenge's response:
	// publicChallengeParameters, privateChallengeParameters,
	// challengeMetadata.
	CreateAuthChallengeResponse = hook.CreateAuthChallengeResponse
	// VerifyAuthChallengeRequest is VerifyAuthChallengeResponse's request:
	// the answer and the private challenge parameters.
	VerifyAuthChallengeRequest = hook.VerifyAuthChallengeRequest
	// VerifyAuthChallengeResult is VerifyAuthChallengeResponse's response:
	// answerCorrect.
	VerifyAuthChallengeResult = hook.VerifyAuthChallengeResult
	// Session is a sign-in's challenge history, oldest first.
	Session = hook.Session
	// ChallengeResult is one answered challenge of a Session.
	ChallengeResult = hook.ChallengeResult
	// PreTokenGenerationRequest is PreTokenGeneration's request, for both
	// versions.
	PreTokenGenerationRequest = hook.PreTokenGenerationRequest
	// PreTokenGenerationResponse is PreTokenGeneration's V1_0 response.
	PreTokenGenerationResponse = hook.PreTokenGenerationResponse
	// PreTokenGenerationV2Response is PreTokenGeneration's V2_0 response.
	PreTokenGenerationV2Response = hook.PreTokenGenerationV2Response
	// ClaimsOverrideDetails is the V1_0 customization of the ID token.
	ClaimsOverrideDetails = hook.ClaimsOverrideDetails
	// ClaimsAndScopeOverrideDetails is the V2_0 customization of both
	// tokens.
	ClaimsAndScopeOverrideDetails = hook.ClaimsAndScopeOverrideDetails
	// IDTokenGeneration customizes the ID token (V2_0).
	IDTokenGeneration = hook.IDTokenGeneration
	// AccessTokenGeneration customizes the access token's claims and
	// scopes (V2_0).
	AccessTokenGeneration = hook.AccessTokenGeneration
	// GroupConfiguration is the user's groups and IAM roles, and their
	// replacement in PreTokenGeneration's response.
	GroupConfiguration = hook.GroupConfiguration
	// CustomSenderRequest is the request of CustomSMSSender and
	// CustomEmailSender: the code to deliver and the user's attributes.
	CustomSenderRequest = hook.CustomSenderRequest
	// StringMap is a JSON object of strings that marshals as {} when nil.
	StringMap = hook.StringMap
	// Strings is a JSON array of strings that marshals as [] when nil.
	Strings = hook.Strings
)

// ChallengeCustom is the challenge name of a custom challenge, the only
// one DefineAuthChallenge may ask for (Latchkey has no passwords).
const ChallengeCustom = hook.ChallengeCustom

// Trigger sources: an event's TriggerSource, which says what caused it.
const (
	SourcePreSignUpSignUp                      = hook.SourcePreSignUpSignUp
	SourcePreSignUpAdminCreateUser             = hook.SourcePreSignUpAdminCreateUser
	SourcePostConfirmationConfirmSignUp        = hook.SourcePostConfirmationConfirmSignUp
	SourcePreAuthentication                    = hook.SourcePreAuthentication
	SourcePostAuthentication                   = hook.SourcePostAuthentication
	SourceDefineAuthChallenge                  = hook.SourceDefineAuthChallenge
	SourceCreateAuthChallenge                  = hook.SourceCreateAuthChallenge
	SourceVerifyAuthChallengeResponse          = hook.SourceVerifyAuthChallengeResponse
	SourceTokenGenerationAuthentication        = hook.SourceTokenGenerationAuthentication
	SourceTokenGenerationRefreshTokens         = hook.SourceTokenGenerationRefreshTokens
	SourceTokenGenerationHostedAuth            = hook.SourceTokenGenerationHostedAuth
	SourceCustomSMSSenderSignUp                = hook.SourceCustomSMSSenderSignUp
	SourceCustomSMSSenderAuthentication        = hook.SourceCustomSMSSenderAuthentication
	SourceCustomSMSSenderResendCode            = hook.SourceCustomSMSSenderResendCode
	SourceCustomSMSSenderUpdateUserAttribute   = hook.SourceCustomSMSSenderUpdateUserAttribute
	SourceCustomSMSSenderVerifyUserAttribute   = hook.SourceCustomSMSSenderVerifyUserAttribute
	SourceCustomEmailSenderSignUp              = hook.SourceCustomEmailSenderSignUp
	SourceCustomEmailSenderAuthentication      = hook.SourceCustomEmailSenderAuthentication
	SourceCustomEmailSenderResendCode          = hook.SourceCustomEmailSenderResendCode
	SourceCustomEmailSenderUpdateUserAttribute = hook.SourceCustomEmailSenderUpdateUserAttribute
	SourceCustomEmailSenderVerifyUserAttribute = hook.SourceCustomEmailSenderVerifyUserAttribute
)

// VerifyWebhook checks a webhook request Latchkey signed, for a receiver
// written in Go: secret is the pool's signing secret (whsec_…), body the
// request body exactly as received. It refuses a missing or wrong
// signature and a timestamp more than tolerance (5 minutes when zero) from
// now, either way. Check every request before reading its body; to refuse
// a replay within the tolerance too, use a ReplayGuard.
func VerifyWebhook(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	return hook.Verify(secret, header, body, now, tolerance)
}

// ReplayGuard verifies webhook requests as VerifyWebhook does and also
// refuses a webhook-id it has already accepted, remembering ids in memory
// for the tolerance. Its Verify method takes (secret, header, body, now).
type ReplayGuard = hook.ReplayGuard

// NewReplayGuard returns a ReplayGuard accepting timestamps within
// tolerance of the receiver's clock (5 minutes when zero).
func NewReplayGuard(tolerance time.Duration) *ReplayGuard { return hook.NewReplayGuard(tolerance) }
