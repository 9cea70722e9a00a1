// Package hook carries Amazon Cognito's Lambda-trigger events to code a
// pool owner runs: a signed webhook, or a Go function in process.
//
// Every step of sign-up and sign-in that Cognito lets a Lambda trigger
// replace is a hook point here, named by Cognito's LambdaConfig key
// (PreSignUp, DefineAuthChallenge, …) and carrying the event JSON Cognito
// sends, so a team's trigger logic ports with a few lines of HTTP glue.
//
// The pieces:
//
//   - Event is one invocation: Cognito's envelope (version, triggerSource,
//     region, userPoolId, userName, callerContext) with the request and
//     response as raw JSON. TypedEvent and its per-trigger aliases
//     (PreSignUpEvent, DefineAuthChallengeEvent, …) give the request and
//     response Go types; TypedEvent.Encode turns one into an Event.
//   - Invoker sends an Event and fills its Response from the answer. Its
//     implementations are Webhook (HTTP POST, Standard Webhooks signing),
//     Funcs (Go functions) and Router (a pool's triggers, each to its own
//     Invoker).
//   - DecodePreSignUp, DecodeDefineAuthChallenge, … read a filled Response
//     into the trigger's response type and check its shape.
//   - Config is a pool's hook configuration as stored in its settings;
//     Webhooks.Router builds the pool's Invoker from it.
//   - Sign, Verify, ReplayGuard and NewSecret are both sides of the
//     signature scheme.
//
// Errors a client may see are *pool.Error of Cognito's three kinds: a
// hook's own error is KindUserLambdaValidation ("PreSignUp failed with error
// <message>."), a hook that cannot be reached or does not answer in time is
// KindUnexpectedLambda, and an answer that is not a valid event is
// KindInvalidLambdaResponse ("Invalid PreSignUp response: <what is wrong>").
// No error or log line holds a signing secret, a URL's query, an event body
// or a code.
//
// The engine (package auth) calls the sign-up, authentication, challenge
// and token triggers, and the delivery router (package deliver/providers)
// the custom senders; docs/hooks.md describes each hook and the built-in
// behaviour it replaces.
package hook
