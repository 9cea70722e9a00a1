package auth

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/limit"
	"github.com/latchkey/latchkey/internal/pool"
)

// The one challenge loop. Every sign-in runs Cognito's state machine:
// define (what next: a challenge, tokens, or failure) → create (the
// challenge) → the client answers → count → verify → define again. The
// built-in flow is the default implementation of each step: define asks a
// challenge until a right answer (tokens) or the last attempt (failure);
// create sends a code; verify checks the code's hash in constant time. A
// pool's DefineAuthChallenge hook makes a CUSTOM_AUTH sign-in a hooked
// session, whose define, and create and verify when they have hooks, are
// the pool's code; the protections (attempts, guessing budget, decoys)
// stay the engine's.
//
// Transactions: a step whose parts are all built in is one unit of work;
// a hook splits it into unit → hook → unit (see unit.go).

// decision is DefineAuthChallenge's answer.
type decision int

const (
	askChallenge decision = iota // ask a challenge
	issueTokens                  // sign the user in
	failSignIn                   // fail the sign-in
)

// builtinDefine is the built-in DefineAuthChallenge.
func builtinDefine(history []pool.ChallengeResult, attempts, maxAttempts int) decision {
	if n := len(history); n > 0 && history[n-1].ChallengeResult {
		return issueTokens
	}
	if attempts >= maxAttempts {
		return failSignIn
	}
	return askChallenge
}

// define runs DefineAuthChallenge on the session's history: the pool's
// hook for a hooked session that still has one, else the built-in rule.
func (e *Engine) define(ctx context.Context, h signInHooks, hooked bool, history []pool.ChallengeResult, attempts, maxAttempts int) (decision, error) {
	if !hooked {
		return builtinDefine(history, attempts, maxAttempts), nil
	}
	raw, ran, err := e.runHook(ctx, h.router, h.call(hook.DefineAuthChallenge, hook.SourceDefineAuthChallenge,
		hook.DefineAuthChallengeRequest{
			UserAttributes: h.attributes(),
			Session:        hookSession(history),
			ClientMetadata: metadataOrNil(h.metadata),
			UserNotFound:   h.user == nil,
		}))
	if err != nil {
		return failSignIn, err
	}
	if !ran {
		// The hook was removed after the sign-in started under it.
		return builtinDefine(history, attempts, maxAttempts), nil
	}
	d, err := hook.DecodeDefineAuthChallenge(raw)
	if err != nil {
		return failSignIn, err
	}
	switch {
	case d.FailAuthentication: // wins over issueTokens, as in Cognito
		return failSignIn, nil
	case d.IssueTokens:
		return issueTokens, nil
	}
	return askChallenge, nil
}

// create makes the next CUSTOM_CHALLENGE of as and returns the client's
// ChallengeParameters and the code message to dispatch once as is stored
// (nil when there is none). A hooked session with a CreateAuthChallenge
// hook gets the hook's challenge: its public parameters (and USERNAME, as
// Cognito adds it) go to the client, its metadata and private parameters
// into as.Custom. Otherwise the built-in step: a code to the username, or,
// with reuse, the same code again (after a wrong answer).
func (e *Engine) create(ctx context.Context, h signInHooks, hooked bool, start signInStart, as *pool.AuthSession, history []pool.ChallengeResult, reuse bool) (map[string]string, *outgoing, error) {
	as.Challenge = pool.ChallengeCustom
	if hooked && h.router.Configured(hook.CreateAuthChallenge) {
		raw, _, err := e.runHook(ctx, h.router, h.call(hook.CreateAuthChallenge, hook.SourceCreateAuthChallenge,
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
		return challengeParameters(pool.ChallengeCustom, as.Username, ch, maskedDestination(start.pool, *as)), nil, nil
	}
	return e.createCode(ctx, start, as, pool.ChallengeCustom, start.id.channel())
}

// createCode is the built-in CreateAuthChallenge of every code challenge
// (CUSTOM_CHALLENGE, SMS_OTP, EMAIL_OTP): the send is admitted by the
// limits, a code is made and its hash put on as, and the message to
// dispatch once as is stored is returned. For an unknown user, or a user
// without the channel when the pool hides existence, it is a decoy: made
// and hashed the same way, never sent, never accepted.
func (e *Engine) createCode(ctx context.Context, start signInStart, as *pool.AuthSession, challenge string, ch deliver.Channel) (map[string]string, *outgoing, error) {
	dest, masked, err := e.destination(start, ch)
	if err != nil {
		return nil, nil, err
	}
	o := start.outgoing(ch, dest)
	if err := e.admitSend(ctx, &o); err != nil {
		return nil, nil, err
	}
	h, err := hasher(start.pool)
	if err != nil {
		return nil, nil, internal("arm code", err)
	}
	code, err := e.newCode(start.pool, o.dest)
	if err != nil {
		return nil, nil, internal("arm code", err)
	}
	as.Challenge = challenge
	as.Channel = string(ch)
	as.Destination = o.dest
	as.CodeHash = h.Hash(as.ID, code)
	as.Decoy = as.Decoy || o.decoy()
	o.code = code
	return challengeParameters(challenge, start.id.value, ch, masked), &o, nil
}

// maskedDestination is what the client is shown of where a session's code
// went: the masked address, or a decoy's stable stand-in.
func maskedDestination(p pool.Pool, s pool.AuthSession) string {
	ch := deliver.Channel(s.Channel)
	if s.Destination == "" {
		return decoyDestination(p, storedIdentifier(s.Username), ch)
	}
	return mask(ch, s.Destination)
}

// verify judges an answer: a hooked session's VerifyAuthChallengeResponse
// hook with the challenge's private parameters, or the built-in
// constant-time check of the code's hash (never right for a decoy, whose
// code was never sent; decoys are checked too, so both cost the same).
func (e *Engine) verify(ctx context.Context, h signInHooks, hooked bool, s pool.AuthSession, answer string) (bool, error) {
	if !hooked || !h.router.Configured(hook.VerifyAuthChallengeResponse) {
		hs, err := hasher(h.pool)
		if err != nil {
			return false, internal("check code", err)
		}
		return hs.Check(s.ID, answer, s.CodeHash) && !s.Decoy, nil
	}
	private, err := e.openPrivate(h.pool, s.ID, s.Custom.SealedPrivate)
	if err != nil {
		return false, internal("open private challenge parameters", err)
	}
	raw, _, err := e.runHook(ctx, h.router, h.call(hook.VerifyAuthChallengeResponse, hook.SourceVerifyAuthChallengeResponse,
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
	v, err := hook.DecodeVerifyAuthChallenge(raw)
	if err != nil {
		return false, err
	}
	return v.AnswerCorrect, nil
}

// leavesUnit reports whether a step of a sign-in calls a hook, so it cannot
// be one unit of work: the challenge hooks of a hooked session, and the
// hooks around issuing tokens.
func leavesUnit(h signInHooks, hooked bool) bool {
	if hooked && (h.router.Configured(hook.DefineAuthChallenge) || h.router.Configured(hook.CreateAuthChallenge) ||
		h.router.Configured(hook.VerifyAuthChallengeResponse)) {
		return true
	}
	return h.router.Configured(hook.PostAuthentication) || h.router.Configured(hook.PreTokenGeneration)
}

// startCustomAuth starts a CUSTOM_AUTH sign-in: define with an empty
// history, then, if it asks for a challenge, create it and store the
// session. With a DefineAuthChallenge hook the session is hooked to the
// end, whatever the pool's hooks become.
func (e *Engine) startCustomAuth(ctx context.Context, s signInStart) (AuthResult, error) {
	h := s.hookContext()
	hooked := h.router.Configured(hook.DefineAuthChallenge)
	if !leavesUnit(h, hooked) {
		return e.step(ctx, func(w *Engine) (AuthResult, error) { return w.startCustomSteps(ctx, s, h, hooked) })
	}
	return e.startCustomSteps(ctx, s, h, hooked)
}

func (e *Engine) startCustomSteps(ctx context.Context, s signInStart, h signInHooks, hooked bool) (AuthResult, error) {
	createHook := hooked && h.router.Configured(hook.CreateAuthChallenge)
	if createHook {
		// No hook is asked to send anything for an account whose answers
		// would all be refused.
		if err := e.inUnit(ctx, func(w *Engine) error { return w.refuseLocked(ctx, h) }); err != nil {
			return AuthResult{}, err
		}
	}
	next, err := e.define(ctx, h, hooked, nil, 0, s.pool.Settings.MaxAttempts)
	if err != nil {
		return AuthResult{}, err
	}
	switch {
	case next == failSignIn, next == issueTokens && s.user == nil:
		e.auditDefineFailure(ctx, h, 0)
		return AuthResult{}, incorrect()
	case next == issueTokens:
		return e.finishSignIn(ctx, s.pool, s.client, pool.AuthSession{Sub: s.user.Sub, Custom: pool.CustomChallenge{Hooked: true}}, h)
	}
	if createHook {
		if err := e.inUnit(ctx, func(w *Engine) error { return w.admitHookChallenge(ctx, h) }); err != nil {
			return AuthResult{}, err
		}
	}
	as, tok, err := s.base(e)
	if err != nil {
		return AuthResult{}, err
	}
	as.Custom.Hooked = hooked
	var params map[string]string
	var send *outgoing
	if createHook {
		if params, send, err = e.create(ctx, h, hooked, s, &as, nil, false); err != nil {
			return AuthResult{}, err
		}
	}
	err = e.inUnit(ctx, func(w *Engine) error {
		if !createHook {
			var err error
			if params, send, err = w.create(ctx, h, hooked, s, &as, nil, false); err != nil {
				return err
			}
		}
		return w.storeSession(ctx, as, send)
	})
	if err != nil {
		return AuthResult{}, err
	}
	return AuthResult{ChallengeName: as.Challenge, Session: tok, ChallengeParameters: params}, nil
}

// storeSession stores a new session and dispatches its code, if any. A
// code that cannot be delivered ends the session.
func (e *Engine) storeSession(ctx context.Context, as pool.AuthSession, send *outgoing) error {
	if err := e.store.CreateSession(ctx, as); err != nil {
		return internal("store session", err)
	}
	if send == nil {
		return nil
	}
	if err := e.dispatch(ctx, *send); err != nil {
		e.endSession(ctx, send.pool, as.TokenHash)
		return err
	}
	return nil
}

// settledSignIn is a right answer's outcome, settled in the store: the
// user, and, when the unit also started the token family, its refresh
// token and secret.
type settledSignIn struct {
	user    pool.User
	session pool.AuthSession
	refresh pool.RefreshToken
	secret  string
	direct  bool
}

// answerChallenge is the loop's answer step, for every challenge but
// SELECT_CHALLENGE: count the answer (the session's attempts, then the
// account's guessing budget) before it is judged, verify it, define what
// comes next, settle the budget, and then issue tokens, fail, or create the
// next challenge under a new Session string (the old one stops working).
// Built-in code challenges other than CUSTOM_CHALLENGE answer a wrong code
// with CodeMismatchException and keep their Session, as Cognito's SMS_OTP
// and EMAIL_OTP do.
func (e *Engine) answerChallenge(ctx context.Context, p pool.Pool, c pool.Client, s pool.AuthSession, answer string, h signInHooks) (AuthResult, error) {
	hooked := s.Custom.Hooked
	direct := !leavesUnit(h, hooked)
	var (
		res  AuthResult
		done *settledSignIn
		err  error
	)
	if direct {
		res, err = e.step(ctx, func(w *Engine) (AuthResult, error) {
			var err error
			var r AuthResult
			r, done, err = w.answerSteps(ctx, p, c, s, answer, h, true)
			return r, err
		})
	} else {
		res, done, err = e.answerSteps(ctx, p, c, s, answer, h, false)
	}
	if err != nil || done == nil {
		return res, err
	}
	if done.direct {
		t, err := e.mint(ctx, p, c, done.user, done.refresh, nil)
		if err != nil {
			return AuthResult{}, err
		}
		t.RefreshToken = done.secret
		return AuthResult{Tokens: t, ChallengeParameters: map[string]string{}}, nil
	}
	h.user = &done.user
	if err := e.postAuthentication(ctx, h); err != nil {
		return AuthResult{}, err
	}
	t, err := e.issueTokensWith(ctx, p, c, done.user, e.now().UTC(), h.metadata)
	if err != nil {
		return AuthResult{}, err
	}
	e.audit(ctx, signInSuccess(p, c, done.user, done.session))
	return AuthResult{Tokens: t, ChallengeParameters: map[string]string{}}, nil
}

// answerSteps runs answerChallenge's steps; withTokens starts the token
// family in the same unit as the settlement.
func (e *Engine) answerSteps(ctx context.Context, p pool.Pool, c pool.Client, s pool.AuthSession, answer string, h signInHooks, withTokens bool) (AuthResult, *settledSignIn, error) {
	hooked := s.Custom.Hooked
	if hooked && !s.Decoy {
		// The hooks' events carry the user's attributes.
		u, err := e.store.GetUserBySub(ctx, p.ID, s.Sub)
		switch {
		case errors.Is(err, pool.ErrNotFound):
			return AuthResult{}, nil, incorrect()
		case err != nil:
			return AuthResult{}, nil, internal("load user", err)
		}
		h.user = &u
	}
	// Count: the session's attempt first, then the account's budget.
	var counted pool.AuthSession
	var guess *limit.Guess
	err := e.inUnit(ctx, func(w *Engine) error {
		var err error
		counted, guess, err = w.countAnswer(ctx, p, c, s)
		return err
	})
	if err != nil {
		return AuthResult{}, nil, err
	}
	correct, err := e.verify(ctx, h, hooked, counted, answer)
	if err != nil {
		// Nothing was judged: the budget gets the answer back; the
		// session's attempt stays spent.
		_ = e.inUnit(ctx, func(w *Engine) error { w.unjudged(ctx, guess); return nil })
		return AuthResult{}, nil, err
	}
	right := correct && !counted.Decoy
	history := append(slices.Clone(counted.History), pool.ChallengeResult{
		ChallengeName: counted.Challenge, ChallengeResult: correct, ChallengeMetadata: counted.Custom.Metadata,
	})
	next, defineErr := e.define(ctx, h, hooked, history, counted.Attempts, counted.MaxAttempts)

	// Settle, and end the sign-in here unless another challenge follows.
	var res AuthResult
	var done *settledSignIn
	err = e.inUnit(ctx, func(w *Engine) error {
		res, done = AuthResult{}, nil
		wrong := auditEntry{pool: p, typ: EventSignInFailure, username: counted.Username, sub: counted.Sub, clientID: c.ID}
		if defineErr == nil && next == issueTokens && !counted.Decoy {
			// Single use: of concurrent answers only one deletes it.
			useSession := func() error {
				if err := w.store.DeleteSession(ctx, s.TokenHash); err != nil {
					if errors.Is(err, pool.ErrNotFound) {
						return invalidSession()
					}
					return internal("use session", err)
				}
				return nil
			}
			if err := w.settle(ctx, guess, counted.ID, true, useSession, wrong, counted.Attempts, counted.MaxAttempts); err != nil {
				return err
			}
			u, err := w.signedIn(ctx, p, counted)
			if err != nil {
				return err
			}
			done = &settledSignIn{user: u, session: counted, direct: withTokens}
			if withTokens {
				if done.refresh, done.secret, err = w.newRefreshToken(ctx, p, c, u, w.now().UTC()); err != nil {
					return err
				}
				w.audit(ctx, signInSuccess(p, c, u, counted))
			}
			return nil
		}
		// A right answer that does not end the sign-in (a step of a
		// hooked session) has nothing to use up yet.
		if err := w.settle(ctx, guess, counted.ID, right, nil, wrong, counted.Attempts, counted.MaxAttempts); err != nil {
			return err
		}
		switch {
		case defineErr != nil:
			return defineErr
		case next != askChallenge || counted.Attempts >= counted.MaxAttempts:
			// Failed, tokens for a decoy, or another challenge the session
			// has no attempt left for. A session with attempts left ends
			// here, so it cannot be answered again from the history define
			// just refused; one without is refused by the store, and kept
			// for a right answer counted before this one.
			if right {
				w.auditDefineFailure(ctx, h, counted.Attempts)
			}
			if counted.Attempts < counted.MaxAttempts {
				w.endSession(ctx, p, s.TokenHash)
			}
			return incorrect()
		case !hooked && counted.Challenge != pool.ChallengeCustom:
			return pool.Errorf(pool.KindCodeMismatch, "Invalid code or auth state for the user.")
		}
		return nil
	})
	if err != nil || done != nil {
		return res, done, err
	}

	// Another challenge: create it, then store it under a new Session.
	following := counted
	following.History = history
	start := signInStart{pool: p, client: c, id: storedIdentifier(counted.Username), user: h.user, flow: counted.Flow,
		router: h.router, metadata: h.metadata}
	createHook := hooked && h.router.Configured(hook.CreateAuthChallenge)
	var params map[string]string
	var send *outgoing
	if createHook {
		if params, send, err = e.create(ctx, h, hooked, start, &following, history, !correct); err != nil {
			return AuthResult{}, nil, err
		}
	}
	var tok string
	err = e.inUnit(ctx, func(w *Engine) error {
		if !createHook {
			var err error
			if params, send, err = w.create(ctx, h, hooked, start, &following, history, !correct); err != nil {
				return err
			}
		}
		var err error
		if tok, err = w.rotate(ctx, s.TokenHash, &following); err != nil {
			return err
		}
		if send != nil {
			return w.dispatch(ctx, *send)
		}
		return nil
	})
	if err != nil {
		return AuthResult{}, nil, err
	}
	return AuthResult{ChallengeName: following.Challenge, Session: tok, ChallengeParameters: params}, nil, nil
}

// rotate moves a session to its next challenge under a new Session string:
// the one whose token hash is old stops working. Of concurrent rotations
// only one succeeds; the others get an invalid-session error.
func (e *Engine) rotate(ctx context.Context, old []byte, next *pool.AuthSession) (string, error) {
	tok, hash, err := e.newSessionToken()
	if err != nil {
		return "", internal("new session", err)
	}
	next.TokenHash = hash
	if err := e.store.ReplaceSession(ctx, old, *next); err != nil {
		if errors.Is(err, pool.ErrNotFound) {
			return "", invalidSession()
		}
		return "", internal("advance session", err)
	}
	return tok, nil
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
