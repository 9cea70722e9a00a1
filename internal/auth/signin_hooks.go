package auth

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/limit"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/seal"
)

// The sign-in's hook points, as Cognito calls its Lambda triggers:
//
//   - PreAuthentication, when InitiateAuth starts a sign-in (CUSTOM_AUTH or
//     USER_AUTH), before any challenge: an error fails the sign-in.
//   - DefineAuthChallenge, CreateAuthChallenge and VerifyAuthChallengeResponse:
//     when the pool has a DefineAuthChallenge hook, CUSTOM_AUTH runs
//     Cognito's state machine (define → create → answer → verify → define …)
//     instead of the built-in code flow. Create and verify fall back to the
//     built-in steps (a code sent to the username; the constant-time check
//     of its hash) when they have no hook.
//   - PostAuthentication, after a successful sign-in, before tokens are
//     issued: an error fails the sign-in.
//
// Hooks never weaken the brute-force protection: every answer to a hooked
// challenge is counted against the session's attempts and then against the
// account's guessing budget before VerifyAuthChallengeResponse sees it, as
// in the built-in flow, so a DefineAuthChallenge that allows more attempts
// than the pool's max_attempts is cut off at max_attempts, and a locked
// account gets no answer judged.
//
// Unknown users, when the pool hides existence: the sign-in goes on with a
// decoy session, and PreAuthentication and the challenge hooks are called
// with userNotFound true and no attributes, as Cognito does; tokens are
// never issued for a decoy, whatever DefineAuthChallenge answers.
//
// Private challenge parameters are kept in the session sealed under the
// pool's key and bound to the session (pool.CustomChallenge.SealedPrivate),
// and opened only to pass them to VerifyAuthChallengeResponse: never
// stored in clear, logged, or put in an error.

// signInHooks is what a sign-in's hook calls share: the pool's router, who
// is signing in, and the caller's ClientMetadata.
type signInHooks struct {
	router   *hook.Router
	pool     pool.Pool
	clientID string
	// user is nil for an unknown user (a decoy): userNotFound.
	user *pool.User
	// typed is the identifier the client gave, normalised: the event's
	// userName when the user is unknown.
	typed    string
	metadata map[string]string
}

// userName is the event's userName: the user's username, or what the
// client typed for an unknown user.
func (h signInHooks) userName() string {
	if h.user != nil {
		return h.user.Username
	}
	return h.typed
}

// attributes are the event's userAttributes: none for an unknown user.
func (h signInHooks) attributes() hook.StringMap {
	if h.user == nil {
		return hook.StringMap{}
	}
	return userEventAttributes(*h.user)
}

func (h signInHooks) call(trigger, source string, request any) hookCall {
	return hookCall{
		pool: h.pool, clientID: h.clientID, trigger: trigger, source: source,
		userName: h.userName(), request: request,
	}
}

// preAuthentication runs the pool's PreAuthentication hook, if any, before
// the first challenge of a sign-in. The caller's ClientMetadata reaches it
// as validationData, as in Cognito.
func (e *Engine) preAuthentication(ctx context.Context, h signInHooks) error {
	_, _, err := e.runHook(ctx, h.router, h.call(hook.PreAuthentication, hook.SourcePreAuthentication,
		hook.PreAuthenticationRequest{
			UserAttributes: h.attributes(),
			ValidationData: metadataOrNil(h.metadata),
			UserNotFound:   h.user == nil,
		}))
	if err != nil {
		e.auditHookRefusal(ctx, h, hook.PreAuthentication, err)
	}
	return err
}

// postAuthentication runs the pool's PostAuthentication hook, if any, for
// the user who just signed in, before tokens are issued.
func (e *Engine) postAuthentication(ctx context.Context, h signInHooks) error {
	_, _, err := e.runHook(ctx, h.router, h.call(hook.PostAuthentication, hook.SourcePostAuthentication,
		hook.PostAuthenticationRequest{
			NewDeviceUsed:  false,
			UserAttributes: h.attributes(),
			ClientMetadata: metadataOrNil(h.metadata),
		}))
	if err != nil {
		e.auditHookRefusal(ctx, h, hook.PostAuthentication, err)
	}
	return err
}

// auditHookRefusal records a sign-in that a hook failed.
func (e *Engine) auditHookRefusal(ctx context.Context, h signInHooks, trigger string, err error) {
	if pool.KindOf(err) == pool.KindInternal {
		return
	}
	a := auditEntry{pool: h.pool, typ: EventSignInFailure, username: h.typed, clientID: h.clientID,
		detail: map[string]string{"reason": "hook", "trigger": trigger}}
	if h.user != nil {
		a.sub = h.user.Sub
	}
	e.audit(ctx, a)
}

// hookSession is a session's history as the challenge triggers see it.
func hookSession(history []pool.ChallengeResult) hook.Session {
	s := make(hook.Session, len(history))
	for i, r := range history {
		s[i] = hook.ChallengeResult(r)
	}
	return s
}

// privateInfo is the purpose of the key that seals private challenge
// parameters, derived from the pool's HashKey.
const privateInfo = "latchkey private challenge parameters v1"

// sealPrivate seals a challenge's private parameters for session
// sessionID of pool p: what the store keeps instead of the parameters.
func (e *Engine) sealPrivate(p pool.Pool, sessionID string, private pool.PrivateParameters) ([]byte, error) {
	box, err := seal.New(p.HashKey, privateInfo)
	if err != nil {
		return nil, fmt.Errorf("pool %s: %w", p.ID, err)
	}
	plain, err := json.Marshal(map[string]string(private))
	if err != nil {
		return nil, fmt.Errorf("encode private challenge parameters: %w", err)
	}
	defer clear(plain)
	return box.Seal(e.rand, plain, privateAD(p.ID, sessionID))
}

// openPrivate opens what sealPrivate sealed for the same session; no
// sealed parameters are no parameters.
func (e *Engine) openPrivate(p pool.Pool, sessionID string, sealed []byte) (pool.PrivateParameters, error) {
	if len(sealed) == 0 {
		return nil, nil
	}
	box, err := seal.New(p.HashKey, privateInfo)
	if err != nil {
		return nil, fmt.Errorf("pool %s: %w", p.ID, err)
	}
	plain, err := box.Open(sealed, privateAD(p.ID, sessionID))
	if err != nil {
		return nil, fmt.Errorf("session %s: %w", sessionID, err)
	}
	defer clear(plain)
	var private pool.PrivateParameters
	if err := json.Unmarshal(plain, &private); err != nil {
		// Authenticated yet malformed: a bug in sealPrivate.
		return nil, fmt.Errorf("session %s: malformed private challenge parameters", sessionID)
	}
	return private, nil
}

// privateAD binds sealed parameters to their pool and session (the
// session's ID stays the same across its challenges; its Session string
// does not). The pool ID is length-prefixed so no two pairs encode alike.
func privateAD(poolID, sessionID string) []byte {
	ad := binary.AppendUvarint(nil, uint64(len(poolID)))
	ad = append(ad, poolID...)
	return append(ad, sessionID...)
}

// hookChannel is the send-limit channel of challenges a CreateAuthChallenge
// hook makes: the hook may send a message itself (the classic tutorials
// email the code from it), to a destination Latchkey never sees.
const hookChannel = "hook"

// admitHookChallenge counts the first challenge of a sign-in whose
// CreateAuthChallenge is a hook against the pool's send limits, keyed by
// what the client typed, as a built-in code is counted: the per-account
// cooldown and hourly/daily limits, and the per-address and per-client
// limits. Without it, a script could make the hook send a message per
// InitiateAuth with no limit at all. Later challenges of the same session
// are not counted: they answer the user (a wrong answer, a second step)
// and the session's attempts already bound them. The SMS budgets do not
// apply: what the hook sends, and by which channel, is its own.
func (e *Engine) admitHookChallenge(ctx context.Context, h signInHooks) error {
	err := e.guard.TakeSend(ctx, h.pool, limit.Send{
		ClientID: h.clientID, Channel: hookChannel, Destination: h.typed,
		SourceIP: callerOf(ctx).IP, Real: h.user != nil,
	})
	if err == nil {
		return nil
	}
	var tripped *limit.Tripped
	if !errors.As(err, &tripped) {
		return internal("count challenge", err)
	}
	a := auditEntry{pool: h.pool, typ: EventLimitTripped, username: h.typed, clientID: h.clientID,
		detail: map[string]string{"limit": tripped.Limit, "channel": hookChannel, "purpose": pool.PurposeSignIn}}
	if h.user != nil {
		a.sub = h.user.Sub
	}
	e.audit(ctx, a)
	return err
}

// refuseLocked refuses to start a challenge for a locked account, as
// admitSend does before a built-in code: used when a CreateAuthChallenge
// hook makes the challenge, so that no hook is asked to send anything for
// an account whose answers would all be refused.
func (e *Engine) refuseLocked(ctx context.Context, h signInHooks) error {
	if err := e.guard.CheckLocked(ctx, h.pool, h.typed, callerOf(ctx).IP); err != nil {
		if pool.KindOf(err) == pool.KindInternal {
			return internal("check lock", err)
		}
		a := auditEntry{pool: h.pool, typ: EventLocked, username: h.typed, clientID: h.clientID,
			detail: map[string]string{"at": "challenge"}}
		if h.user != nil {
			a.sub = h.user.Sub
		}
		e.audit(ctx, a)
		return err
	}
	return nil
}
