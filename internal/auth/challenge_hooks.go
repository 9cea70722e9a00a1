package auth

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/latchkey/latchkey/internal/deliver"
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

// step is DefineAuthChallenge's decision.
type step int

const (
	stepChallenge step = iota // ask CUSTOM_CHALLENGE
	stepTokens                // issue tokens
	stepFail                  // fail the sign-in
)

// defineStep runs DefineAuthChallenge on the session's history. Without a
// hook (removed after the sign-in started under one) it decides as the
// built-in flow: tokens after a right answer, failure once the attempts are
// used up, otherwise the challenge again.
func (e *Engine) defineStep(ctx context.Context, h signInHooks, history []pool.ChallengeResult, attempts, maxAttempts int) (step, error) {
	raw, ran, err := e.runHook(ctx, h.router, h.call(hook.DefineAuthChallenge, hook.SourceDefineAuthChallenge,
		hook.DefineAuthChallengeRequest{
			UserAttributes: h.attributes(),
			Session:        hookSession(history),
			ClientMetadata: metadataOrNil(h.metadata),
			UserNotFound:   h.user == nil,
		}))
	if err != nil {
		return stepFail, err
	}
	if !ran {
		return builtinDefine(history, attempts, maxAttempts), nil
	}
	d, err := hook.DecodeDefineAuthChallenge(raw)
	if err != nil {
		return stepFail, err
	}
	switch {
	case d.FailAuthentication: // wins over issueTokens, as in Cognito
		return stepFail, nil
	case d.IssueTokens:
		return stepTokens, nil
	}
	return stepChallenge, nil
}

// builtinDefine is the built-in DefineAuthChallenge.
func builtinDefine(history []pool.ChallengeResult, attempts, maxAttempts int) step {
	if n := len(history); n > 0 && history[n-1].ChallengeResult {
		return stepTokens
	}
	if attempts >= maxAttempts {
		return stepFail
	}
	return stepChallenge
}

// hookSession is a session's history as the challenge triggers see it.
func hookSession(history []pool.ChallengeResult) hook.Session {
	s := make(hook.Session, len(history))
	for i, r := range history {
		s[i] = hook.ChallengeResult(r)
	}
	return s
}

// createStep makes the next CUSTOM_CHALLENGE of as and returns the
// client's ChallengeParameters. With a CreateAuthChallenge hook, the
// hook's public parameters (and USERNAME, as Cognito adds it) go to the
// client and its metadata and private parameters into as.Custom. Without
// one, the built-in step: a code to the username, its hash in as, and the
// message to dispatch once as is stored (nil when reuse keeps the live
// code, as the built-in flow asks the same code again after a wrong
// answer).
func (e *Engine) createStep(ctx context.Context, h signInHooks, start signInStart, as *pool.AuthSession, history []pool.ChallengeResult, reuse bool) (map[string]string, *outgoing, error) {
	raw, ran, err := e.runHook(ctx, h.router, h.call(hook.CreateAuthChallenge, hook.SourceCreateAuthChallenge,
		hook.CreateAuthChallengeRequest{
			UserAttributes: h.attributes(),
			ChallengeName:  hook.ChallengeCustom,
			Session:        hookSession(history),
			ClientMetadata: metadataOrNil(h.metadata),
			UserNotFound:   h.user == nil,
		}))
	if err != nil {
		return nil, nil, err
	}
	as.Challenge = pool.ChallengeCustom
	if ran {
		cr, err := hook.DecodeCreateAuthChallenge(raw)
		if err != nil {
			return nil, nil, err
		}
		as.Custom.Metadata = cr.ChallengeMetadata
		as.Custom.SealedPrivate = nil
		if len(cr.PrivateChallengeParameters) > 0 {
			sealed, err := e.sealPrivate(h.pool, as.ID, pool.PrivateParameters(cr.PrivateChallengeParameters))
			if err != nil {
				return nil, nil, internal("seal private challenge parameters", err)
			}
			as.Custom.SealedPrivate = sealed
		}
		// The hook's challenge replaces any built-in code of an earlier step.
		as.CodeHash, as.Channel, as.Destination = nil, "", ""
		public := make(map[string]string, len(cr.PublicChallengeParameters)+1)
		maps.Copy(public, cr.PublicChallengeParameters)
		public[paramUsername] = as.Username
		return public, nil, nil
	}
	as.Custom.Metadata, as.Custom.SealedPrivate = "", nil
	if reuse && as.CodeHash != nil {
		ch := deliver.Channel(as.Channel)
		masked := mask(ch, as.Destination)
		if as.Destination == "" {
			masked = decoyDestination(start.pool, start.id, ch)
		}
		return challengeParameters(pool.ChallengeCustom, as.Username, ch, masked), nil, nil
	}
	ch := start.id.channel()
	dest, masked, err := e.destination(start, ch)
	if err != nil {
		return nil, nil, err
	}
	o := start.outgoing(ch, dest)
	if err := e.admitSend(ctx, &o); err != nil {
		return nil, nil, err
	}
	code, err := e.armCode(as, start.pool, pool.ChallengeCustom, ch, o.dest)
	if err != nil {
		return nil, nil, err
	}
	as.Decoy = as.Decoy || o.decoy()
	o.code = code
	return challengeParameters(pool.ChallengeCustom, as.Username, ch, masked), &o, nil
}

// verifyStep judges an answer to the session's challenge: the
// VerifyAuthChallengeResponse hook with the challenge's private
// parameters, or the built-in constant-time check of the code's hash
// (never right for a decoy, whose code was never sent).
func (e *Engine) verifyStep(ctx context.Context, h signInHooks, s pool.AuthSession, answer string) (bool, error) {
	var private pool.PrivateParameters
	if h.router.Configured(hook.VerifyAuthChallengeResponse) {
		var err error
		if private, err = e.openPrivate(h.pool, s.ID, s.Custom.SealedPrivate); err != nil {
			return false, internal("open private challenge parameters", err)
		}
	}
	raw, ran, err := e.runHook(ctx, h.router, h.call(hook.VerifyAuthChallengeResponse, hook.SourceVerifyAuthChallengeResponse,
		hook.VerifyAuthChallengeRequest{
			UserAttributes:             h.attributes(),
			PrivateChallengeParameters: hook.StringMap(private),
			ChallengeAnswer:            answer,
			ClientMetadata:             metadataOrNil(h.metadata),
			UserNotFound:               h.user == nil,
		}))
	if err != nil {
		return false, err
	}
	if ran {
		v, err := hook.DecodeVerifyAuthChallenge(raw)
		if err != nil {
			return false, err
		}
		return v.AnswerCorrect, nil
	}
	hs, err := hasher(h.pool)
	if err != nil {
		return false, internal("check code", err)
	}
	return hs.Check(s.ID, answer, s.CodeHash) && !s.Decoy, nil
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

// startCustomChallenge starts a CUSTOM_AUTH sign-in under the pool's
// DefineAuthChallenge hook: define with an empty session, then, if it asks
// for a challenge, create it and store the session.
func (e *Engine) startCustomChallenge(ctx context.Context, s signInStart) (AuthResult, error) {
	h := s.hookContext()
	if h.router.Configured(hook.CreateAuthChallenge) {
		if err := e.refuseLocked(ctx, h); err != nil {
			return AuthResult{}, err
		}
	}
	next, err := e.defineStep(ctx, h, nil, 0, s.pool.Settings.MaxAttempts)
	if err != nil {
		return AuthResult{}, err
	}
	switch next {
	case stepFail:
		e.auditDefineFailure(ctx, h, 0)
		return AuthResult{}, incorrect()
	case stepTokens:
		if s.user == nil {
			e.auditDefineFailure(ctx, h, 0)
			return AuthResult{}, incorrect()
		}
		return e.finishSignIn(ctx, s.pool, s.client, pool.AuthSession{Sub: s.user.Sub, Custom: pool.CustomChallenge{Hooked: true}}, h)
	}
	if h.router.Configured(hook.CreateAuthChallenge) {
		if err := e.admitHookChallenge(ctx, h); err != nil {
			return AuthResult{}, err
		}
	}
	as, tok, err := s.base(e)
	if err != nil {
		return AuthResult{}, err
	}
	as.Custom.Hooked = true
	params, send, err := e.createStep(ctx, h, s, &as, nil, false)
	if err != nil {
		return AuthResult{}, err
	}
	if err := e.store.CreateSession(ctx, as); err != nil {
		return AuthResult{}, internal("store session", err)
	}
	if send != nil {
		if err := e.dispatch(ctx, *send); err != nil {
			e.endSession(ctx, s.pool, as.TokenHash)
			return AuthResult{}, err
		}
	}
	return AuthResult{ChallengeName: pool.ChallengeCustom, Session: tok, ChallengeParameters: params}, nil
}

// answerCustomChallenge judges an answer to a hooked CUSTOM_CHALLENGE and
// runs the state machine on: count the attempt (session, then account),
// verify, record the result in the history with the challenge's metadata,
// define again, and issue tokens, fail, or create the next challenge under
// a new Session string (the old one stops working).
func (e *Engine) answerCustomChallenge(ctx context.Context, p pool.Pool, c pool.Client, s pool.AuthSession, answer string, h signInHooks) (AuthResult, error) {
	if !s.Decoy {
		u, err := e.store.GetUserBySub(ctx, p.ID, s.Sub)
		switch {
		case errors.Is(err, pool.ErrNotFound):
			return AuthResult{}, incorrect()
		case err != nil:
			return AuthResult{}, internal("load user", err)
		}
		h.user = &u
	}
	// The session's attempt first, then the account's budget, exactly as
	// the built-in flow counts an answer before it is judged.
	counted, guess, err := e.countAnswer(ctx, p, c, s)
	if err != nil {
		return AuthResult{}, err
	}
	correct, err := e.verifyStep(ctx, h, counted, answer)
	if err != nil {
		// Nothing was judged: the budget gets the answer back. The
		// session's attempt stays spent.
		e.unjudged(ctx, guess)
		return AuthResult{}, err
	}
	if correct && !counted.Decoy {
		e.settleRight(ctx, guess, counted.ID)
	} else {
		e.settleWrong(ctx, guess, auditEntry{pool: p, typ: EventSignInFailure, username: counted.Username, sub: counted.Sub, clientID: c.ID},
			counted.ID, counted.Attempts, counted.MaxAttempts)
	}
	history := append(slices.Clone(counted.History), pool.ChallengeResult{
		ChallengeName: pool.ChallengeCustom, ChallengeResult: correct, ChallengeMetadata: counted.Custom.Metadata,
	})
	next, err := e.defineStep(ctx, h, history, counted.Attempts, counted.MaxAttempts)
	if err != nil {
		return AuthResult{}, err
	}
	switch {
	case next == stepTokens && !counted.Decoy:
		// Single use: of concurrent answers only one deletes it.
		if err := e.store.DeleteSession(ctx, s.TokenHash); err != nil {
			if errors.Is(err, pool.ErrNotFound) {
				return AuthResult{}, invalidSession()
			}
			return AuthResult{}, internal("use session", err)
		}
		return e.finishSignIn(ctx, p, c, counted, h)
	case next != stepChallenge, counted.Attempts >= counted.MaxAttempts:
		// Failed, tokens for a decoy, or another challenge the session has
		// no attempt left for. The session ends here, so it cannot be
		// answered again from the history define just refused. A wrong
		// answer is in the audit trail already (settleWrong).
		if correct && !counted.Decoy {
			e.auditDefineFailure(ctx, h, counted.Attempts)
		}
		e.endSession(ctx, p, s.TokenHash)
		return AuthResult{}, incorrect()
	}
	following := counted
	tok, hash, err := e.newSessionToken()
	if err != nil {
		return AuthResult{}, internal("new session", err)
	}
	following.TokenHash = hash
	following.History = history
	start := signInStart{pool: p, client: c, id: storedIdentifier(counted.Username), user: h.user, flow: counted.Flow,
		router: h.router, metadata: h.metadata}
	params, send, err := e.createStep(ctx, h, start, &following, history, !correct)
	if err != nil {
		return AuthResult{}, err
	}
	if err := e.store.ReplaceSession(ctx, s.TokenHash, following); err != nil {
		if errors.Is(err, pool.ErrNotFound) {
			return AuthResult{}, invalidSession()
		}
		return AuthResult{}, internal("advance session", err)
	}
	if send != nil {
		if err := e.dispatch(ctx, *send); err != nil {
			return AuthResult{}, err
		}
	}
	return AuthResult{ChallengeName: pool.ChallengeCustom, Session: tok, ChallengeParameters: params}, nil
}

// auditDefineFailure records a sign-in that DefineAuthChallenge ended.
func (e *Engine) auditDefineFailure(ctx context.Context, h signInHooks, attempts int) {
	a := auditEntry{pool: h.pool, typ: EventSignInFailure, username: h.typed, clientID: h.clientID,
		detail: map[string]string{"reason": "challenge_failed", "attempts": strconv.Itoa(attempts)}}
	if h.user != nil {
		a.sub = h.user.Sub
	}
	e.audit(ctx, a)
}

// endSession deletes a session that can no longer succeed. One already
// gone (a concurrent answer used it) is no error.
func (e *Engine) endSession(ctx context.Context, p pool.Pool, tokenHash []byte) {
	if err := e.store.DeleteSession(ctx, tokenHash); err != nil && !errors.Is(err, pool.ErrNotFound) {
		e.log.ErrorContext(ctx, "end session", "pool", p.ID, "error", err)
	}
}
