package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"maps"
	"slices"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// Auth flows a client may name, and the ones Latchkey runs.
const (
	FlowRefreshTokenAuth = "REFRESH_TOKEN_AUTH"
	FlowRefreshToken     = "REFRESH_TOKEN"
)

// knownFlows is Cognito's AuthFlowType enum.
var knownFlows = []string{
	"USER_SRP_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN", "CUSTOM_AUTH", "ADMIN_NO_SRP_AUTH",
	"USER_PASSWORD_AUTH", "ADMIN_USER_PASSWORD_AUTH", "USER_AUTH",
}

// Challenge parameter names, as Cognito's.
const (
	paramUsername       = "USERNAME"
	paramDeliveryMedium = "CODE_DELIVERY_DELIVERY_MEDIUM"
	paramDestination    = "CODE_DELIVERY_DESTINATION"
)

// InitiateAuthInput is Cognito's InitiateAuthRequest.
type InitiateAuthInput struct {
	ClientID       string
	AuthFlow       string
	AuthParameters map[string]string
	// Session, with USER_AUTH, is the one SignUp or ConfirmSignUp returned.
	Session string
	// ClientMetadata is passed to the pool's hooks: PreAuthentication (as
	// validationData), the challenge hooks, PostAuthentication and
	// PreTokenGeneration.
	ClientMetadata map[string]string
}

// RespondInput is Cognito's RespondToAuthChallengeRequest.
type RespondInput struct {
	ClientID           string
	ChallengeName      string
	Session            string
	ChallengeResponses map[string]string
	// ClientMetadata is passed to the pool's challenge hooks,
	// PostAuthentication and PreTokenGeneration.
	ClientMetadata map[string]string
}

// AuthResult is either a challenge to answer or tokens.
type AuthResult struct {
	ChallengeName       string
	Session             string
	ChallengeParameters map[string]string
	AvailableChallenges []string
	Tokens              *Tokens
}

// InitiateAuth starts a sign-in (CUSTOM_AUTH, USER_AUTH) or refreshes tokens
// (REFRESH_TOKEN_AUTH).
func (e *Engine) InitiateAuth(ctx context.Context, in InitiateAuthInput) (AuthResult, error) {
	if !slices.Contains(knownFlows, in.AuthFlow) {
		return AuthResult{}, pool.Errorf(pool.KindInvalidParameter,
			"1 validation error detected: Value '%s' at 'authFlow' failed to satisfy constraint: Member must satisfy enum value set: %v", in.AuthFlow, knownFlows)
	}
	switch in.AuthFlow {
	case FlowRefreshTokenAuth, FlowRefreshToken:
		rt := in.AuthParameters["REFRESH_TOKEN"]
		if rt == "" {
			return AuthResult{}, missingParameter("REFRESH_TOKEN")
		}
		t, err := e.refresh(ctx, in.ClientID, rt, func(c pool.Client, username string) error {
			return checkSecretHash(c, username, in.AuthParameters["SECRET_HASH"])
		})
		if err != nil {
			return AuthResult{}, err
		}
		return AuthResult{Tokens: t}, nil
	case pool.FlowCustomAuth, pool.FlowUserAuth:
	default:
		return AuthResult{}, pool.Errorf(pool.KindInvalidParameter,
			"Auth flow %s is not supported: Latchkey is passwordless; use USER_AUTH or CUSTOM_AUTH.", in.AuthFlow)
	}
	if in.AuthFlow == pool.FlowCustomAuth && (in.AuthParameters["SRP_A"] != "" || in.AuthParameters["CHALLENGE_NAME"] == "SRP_A") {
		// Amplify's CUSTOM_WITH_SRP proves a password before the custom
		// challenge; refuse it before a code is sent rather than after.
		return AuthResult{}, pool.Errorf(pool.KindInvalidParameter,
			"CUSTOM_AUTH with SRP_A needs a password, and Latchkey is passwordless: use CUSTOM_AUTH without SRP_A (Amplify's CUSTOM_WITHOUT_SRP).")
	}
	c, p, err := e.clientAndPool(ctx, in.ClientID)
	if err != nil {
		return AuthResult{}, err
	}
	rawUsername := in.AuthParameters[paramUsername]
	if rawUsername == "" {
		return AuthResult{}, missingParameter(paramUsername)
	}
	if err := checkSecretHash(c, rawUsername, in.AuthParameters["SECRET_HASH"]); err != nil {
		return AuthResult{}, err
	}
	id, err := parseUsername(p, rawUsername)
	if err != nil {
		return AuthResult{}, err
	}
	router, err := e.hooks(p)
	if err != nil {
		return AuthResult{}, err
	}
	if in.AuthFlow == pool.FlowUserAuth && in.Session != "" {
		return e.signInAfterSignUp(ctx, p, c, id, in.Session, router, in.ClientMetadata)
	}
	u, err := e.lookupForSignIn(ctx, p, id)
	if err != nil {
		return AuthResult{}, err
	}
	start := signInStart{pool: p, client: c, id: id, user: u, flow: in.AuthFlow, router: router, metadata: in.ClientMetadata}
	// For unknown users too (userNotFound), as Cognito calls it when the
	// pool hides existence: the call costs the same either way.
	if err := e.preAuthentication(ctx, start.hookContext()); err != nil {
		return AuthResult{}, err
	}
	if in.AuthFlow == pool.FlowCustomAuth {
		return e.startCustomAuth(ctx, start)
	}
	switch pref := in.AuthParameters["PREFERRED_CHALLENGE"]; pref {
	case pool.ChallengeSMSOTP, pool.ChallengeEmail:
		if slices.Contains(availableChallenges(p, u), pref) {
			return e.step(ctx, func(w *Engine) (AuthResult, error) {
				return w.startCodeChallenge(ctx, start, pref, challengeChannel(pref))
			})
		}
	}
	return e.step(ctx, func(w *Engine) (AuthResult, error) { return w.startSelectChallenge(ctx, start) })
}

// lookupForSignIn finds the user signing in; nil (and no error) for an
// unknown user when the pool hides existence.
func (e *Engine) lookupForSignIn(ctx context.Context, p pool.Pool, id identifier) (*pool.User, error) {
	// By username or by a verified email or phone alias, as Cognito.
	u, err := e.store.GetUserByIdentifier(ctx, p.ID, id.value)
	if errors.Is(err, pool.ErrNotFound) {
		if p.Settings.PreventUserExistenceErrors {
			return nil, nil
		}
		return nil, pool.Errorf(pool.KindUserNotFound, "User does not exist.")
	}
	if err != nil {
		return nil, internal("load user", err)
	}
	if !u.Enabled {
		return nil, pool.Errorf(pool.KindNotAuthorized, "User is disabled.")
	}
	if u.Status != pool.StatusConfirmed {
		return nil, pool.Errorf(pool.KindUserNotConfirmed, "User is not confirmed.")
	}
	return &u, nil
}

// availableChallenges lists the first factors offered. When the pool hides
// user existence every user is offered every channel the pool uses, so the
// list says nothing about the account; otherwise only the channels the user
// has.
func availableChallenges(p pool.Pool, u *pool.User) []string {
	var out []string
	for _, ch := range []struct{ attr, challenge string }{
		{pool.AttrEmail, pool.ChallengeEmail},
		{pool.AttrPhoneNumber, pool.ChallengeSMSOTP},
	} {
		if p.Settings.PreventUserExistenceErrors {
			if p.Settings.AllowsUsername(ch.attr) {
				out = append(out, ch.challenge)
			}
			continue
		}
		if u != nil && u.Attr(ch.attr) != "" {
			out = append(out, ch.challenge)
		}
	}
	return out
}

func challengeChannel(challenge string) deliver.Channel {
	if challenge == pool.ChallengeSMSOTP {
		return deliver.ChannelSMS
	}
	return deliver.ChannelEmail
}

func channelAttr(ch deliver.Channel) string {
	if ch == deliver.ChannelSMS {
		return pool.AttrPhoneNumber
	}
	return pool.AttrEmail
}

// signInStart is what starting a sign-in session needs.
type signInStart struct {
	pool   pool.Pool
	client pool.Client
	id     identifier
	user   *pool.User // nil for an unknown user
	flow   string
	// router holds the pool's hooks (nil: none); metadata is the caller's
	// ClientMetadata, which they receive.
	router   *hook.Router
	metadata map[string]string
}

// hookContext is what the sign-in's hook calls share.
func (s signInStart) hookContext() signInHooks {
	return signInHooks{router: s.router, pool: s.pool, clientID: s.client.ID, user: s.user, typed: s.id.value, metadata: s.metadata}
}

func (s signInStart) base(e *Engine) (pool.AuthSession, string, error) {
	tok, hash, err := e.newSessionToken()
	if err != nil {
		return pool.AuthSession{}, "", internal("new session", err)
	}
	sid, err := e.newID()
	if err != nil {
		return pool.AuthSession{}, "", internal("new session", err)
	}
	now := e.now().UTC()
	as := pool.AuthSession{
		ID:          sid,
		TokenHash:   hash,
		Kind:        pool.KindSignIn,
		PoolID:      s.pool.ID,
		ClientID:    s.client.ID,
		Username:    s.id.value,
		Decoy:       s.user == nil,
		Flow:        s.flow,
		MaxAttempts: s.pool.Settings.MaxAttempts,
		CreatedAt:   now,
		ExpiresAt:   now.Add(s.pool.Settings.SessionTTL),
	}
	if s.user != nil {
		as.Sub = s.user.Sub
	}
	return as, tok, nil
}

// startSelectChallenge answers USER_AUTH without a preference.
func (e *Engine) startSelectChallenge(ctx context.Context, s signInStart) (AuthResult, error) {
	as, tok, err := s.base(e)
	if err != nil {
		return AuthResult{}, err
	}
	as.Challenge = pool.ChallengeSelect
	if err := e.store.CreateSession(ctx, as); err != nil {
		return AuthResult{}, internal("store session", err)
	}
	return AuthResult{
		ChallengeName:       pool.ChallengeSelect,
		Session:             tok,
		ChallengeParameters: map[string]string{},
		AvailableChallenges: availableChallenges(s.pool, s.user),
	}, nil
}

// startCodeChallenge starts a USER_AUTH sign-in with a code challenge
// (SMS_OTP or EMAIL_OTP): the built-in CreateAuthChallenge, stored in a new
// session.
func (e *Engine) startCodeChallenge(ctx context.Context, s signInStart, challenge string, ch deliver.Channel) (AuthResult, error) {
	as, tok, err := s.base(e)
	if err != nil {
		return AuthResult{}, err
	}
	params, send, err := e.createCode(ctx, s, &as, challenge, ch)
	if err != nil {
		return AuthResult{}, err
	}
	if err := e.storeSession(ctx, as, send); err != nil {
		return AuthResult{}, err
	}
	return AuthResult{ChallengeName: challenge, Session: tok, ChallengeParameters: params}, nil
}

// outgoing describes the sign-in code for dest ("" for a decoy).
func (s signInStart) outgoing(ch deliver.Channel, dest string) outgoing {
	o := outgoing{
		pool: s.pool, clientID: s.client.ID, channel: ch, dest: dest, typed: s.id.value,
		purpose: pool.PurposeSignIn, ttl: s.pool.Settings.SessionTTL,
	}
	if s.user != nil {
		o.sub = s.user.Sub
		o.locale = s.user.Attr(pool.AttrLocale)
		attr := channelAttr(ch)
		o.verified = dest != "" && dest == s.user.Attr(attr) && s.user.Verified(attr)
	}
	return o
}

// destination returns where a code on channel ch goes ("" for a decoy) and
// the masked form to show.
func (e *Engine) destination(s signInStart, ch deliver.Channel) (dest, masked string, err error) {
	if s.user != nil {
		if s.id.channel() == ch {
			// The identifier the user was found by: their username or a
			// verified alias, an address they are known to hold (an
			// attribute changed since may not be verified yet).
			return s.id.value, mask(ch, s.id.value), nil
		}
		if v := s.user.Attr(channelAttr(ch)); v != "" {
			return v, mask(ch, v), nil
		}
		if !s.pool.Settings.PreventUserExistenceErrors {
			return "", "", pool.Errorf(pool.KindInvalidParameter, "The user has no %s to send a code to.", channelAttr(ch))
		}
	}
	return "", decoyDestination(s.pool, s.id, ch), nil
}

func challengeParameters(challenge, username string, ch deliver.Channel, masked string) map[string]string {
	params := map[string]string{
		paramDeliveryMedium: deliveryMedium(ch),
		paramDestination:    masked,
	}
	if challenge == pool.ChallengeCustom {
		params[paramUsername] = username
	}
	return params
}

// signInAfterSignUp handles USER_AUTH with the Session from SignUp or
// ConfirmSignUp: after a confirmation code, tokens at once; after an
// auto-confirmed sign-up, a code to the new identifier (the first proof).
func (e *Engine) signInAfterSignUp(ctx context.Context, p pool.Pool, c pool.Client, id identifier, session string, router *hook.Router, metadata map[string]string) (AuthResult, error) {
	hash := hashSessionToken(session)
	s, err := e.store.GetSession(ctx, hash)
	if errors.Is(err, pool.ErrNotFound) || (err == nil && (s.ClientID != c.ID || s.Username != id.value || (s.Kind != pool.KindSignUp && s.Kind != pool.KindConfirmed))) {
		return AuthResult{}, invalidSession()
	}
	if err != nil {
		return AuthResult{}, internal("load session", err)
	}
	if s.Expired(e.now()) {
		return AuthResult{}, expiredSession()
	}
	// useSession makes the session single-use; it runs in the unit of
	// work of what follows, so of concurrent calls only one goes on.
	useSession := func(w *Engine) error {
		if err := w.store.DeleteSession(ctx, hash); err != nil {
			if errors.Is(err, pool.ErrNotFound) {
				return invalidSession()
			}
			return internal("use session", err)
		}
		return nil
	}
	u, err := e.lookupForSignIn(ctx, p, id)
	if err != nil {
		return AuthResult{}, err
	}
	if u == nil || u.Sub != s.Sub {
		return AuthResult{}, invalidSession()
	}
	start := signInStart{pool: p, client: c, id: id, user: u, flow: pool.FlowUserAuth, router: router, metadata: metadata}
	h := start.hookContext()
	if err := e.preAuthentication(ctx, h); err != nil {
		return AuthResult{}, err
	}
	if s.Kind == pool.KindConfirmed {
		if err := e.inUnit(ctx, useSession); err != nil {
			return AuthResult{}, err
		}
		if err := e.postAuthentication(ctx, h); err != nil {
			return AuthResult{}, err
		}
		t, err := e.issueTokensWith(ctx, p, c, *u, e.now().UTC(), metadata)
		if err != nil {
			return AuthResult{}, err
		}
		e.audit(ctx, auditEntry{pool: p, typ: EventSignInSuccess, username: u.Username, sub: u.Sub, clientID: c.ID,
			detail: map[string]string{"after": "confirm_sign_up"}})
		return AuthResult{Tokens: t}, nil
	}
	challenge := pool.ChallengeEmail
	if id.channel() == deliver.ChannelSMS {
		challenge = pool.ChallengeSMSOTP
	}
	return e.step(ctx, func(w *Engine) (AuthResult, error) {
		if err := useSession(w); err != nil {
			return AuthResult{}, err
		}
		return w.startCodeChallenge(ctx, start, challenge, id.channel())
	})
}

// RespondToAuthChallenge answers the session's current challenge.
func (e *Engine) RespondToAuthChallenge(ctx context.Context, in RespondInput) (AuthResult, error) {
	c, p, err := e.clientAndPool(ctx, in.ClientID)
	if err != nil {
		return AuthResult{}, err
	}
	if in.Session == "" {
		return AuthResult{}, missingParameter("Session")
	}
	rawUsername := in.ChallengeResponses[paramUsername]
	if rawUsername == "" {
		return AuthResult{}, missingParameter(paramUsername)
	}
	if err := checkSecretHash(c, rawUsername, in.ChallengeResponses["SECRET_HASH"]); err != nil {
		return AuthResult{}, err
	}
	answerKey, err := answerParameter(in.ChallengeName)
	if err != nil {
		return AuthResult{}, err
	}
	answer := in.ChallengeResponses[answerKey]
	if answer == "" {
		return AuthResult{}, missingParameter(answerKey)
	}
	id, err := parseUsername(p, rawUsername)
	if err != nil {
		return AuthResult{}, err
	}
	hash := hashSessionToken(in.Session)
	s, err := e.store.GetSession(ctx, hash)
	switch {
	case errors.Is(err, pool.ErrNotFound):
		return AuthResult{}, invalidSession()
	case err != nil:
		return AuthResult{}, internal("load session", err)
	case s.Kind != pool.KindSignIn || s.ClientID != c.ID || s.Username != id.value:
		return AuthResult{}, invalidSession()
	case s.Expired(e.now()):
		return AuthResult{}, expiredSession()
	case s.Challenge != in.ChallengeName:
		return AuthResult{}, pool.Errorf(pool.KindInvalidParameter, "ChallengeName %s does not match the challenge of this session, %s.", in.ChallengeName, s.Challenge)
	}
	if in.ChallengeName == pool.ChallengeSelect {
		return e.step(ctx, func(w *Engine) (AuthResult, error) { return w.selectChallenge(ctx, p, c, s, id, answer) })
	}
	router, err := e.hooks(p)
	if err != nil {
		return AuthResult{}, err
	}
	h := signInHooks{router: router, pool: p, clientID: c.ID, typed: s.Username, metadata: in.ClientMetadata}
	return e.answerChallenge(ctx, p, c, s, answer, h)
}

// answerParameter names the ChallengeResponses key holding the answer.
func answerParameter(challenge string) (string, error) {
	switch challenge {
	case pool.ChallengeCustom, pool.ChallengeSelect:
		return "ANSWER", nil
	case pool.ChallengeSMSOTP:
		return "SMS_OTP_CODE", nil
	case pool.ChallengeEmail:
		return "EMAIL_OTP_CODE", nil
	case "":
		return "", missingParameter("ChallengeName")
	}
	return "", pool.Errorf(pool.KindInvalidParameter,
		"Challenge %s is not supported: Latchkey answers CUSTOM_CHALLENGE, SMS_OTP, EMAIL_OTP and SELECT_CHALLENGE.", challenge)
}

// selectChallenge handles the client's choice of first factor.
func (e *Engine) selectChallenge(ctx context.Context, p pool.Pool, c pool.Client, s pool.AuthSession, id identifier, answer string) (AuthResult, error) {
	var user *pool.User
	if !s.Decoy {
		u, err := e.store.GetUserBySub(ctx, p.ID, s.Sub)
		if err != nil {
			if errors.Is(err, pool.ErrNotFound) {
				return AuthResult{}, invalidSession()
			}
			return AuthResult{}, internal("load user", err)
		}
		user = &u
	}
	if !slices.Contains(availableChallenges(p, user), answer) {
		return AuthResult{}, pool.Errorf(pool.KindInvalidParameter, "ANSWER %q is not one of the available challenges %v.", answer, availableChallenges(p, user))
	}
	start := signInStart{pool: p, client: c, id: id, user: user, flow: s.Flow}
	next := s
	params, send, err := e.createCode(ctx, start, &next, answer, challengeChannel(answer))
	if err != nil {
		return AuthResult{}, err
	}
	next.History = append(slices.Clone(s.History), pool.ChallengeResult{ChallengeName: pool.ChallengeSelect, ChallengeResult: true})
	tok, err := e.rotate(ctx, s.TokenHash, &next)
	if err != nil {
		return AuthResult{}, err
	}
	if err := e.dispatch(ctx, *send); err != nil {
		return AuthResult{}, err
	}
	return AuthResult{ChallengeName: answer, Session: tok, ChallengeParameters: params}, nil
}

// finishSignIn issues tokens after a right answer, and marks the identifier
// a built-in code went to as verified: the user just proved they hold it.
// The pool's PostAuthentication hook runs before the tokens are issued, and
// its error fails the sign-in.
func (e *Engine) finishSignIn(ctx context.Context, p pool.Pool, c pool.Client, s pool.AuthSession, hooks signInHooks) (AuthResult, error) {
	var u pool.User
	err := e.inUnit(ctx, func(w *Engine) error {
		var err error
		u, err = w.signedIn(ctx, p, s)
		return err
	})
	if err != nil {
		return AuthResult{}, err
	}
	hooks.user = &u
	if err := e.postAuthentication(ctx, hooks); err != nil {
		return AuthResult{}, err
	}
	t, err := e.issueTokensWith(ctx, p, c, u, e.now().UTC(), hooks.metadata)
	if err != nil {
		return AuthResult{}, err
	}
	e.audit(ctx, signInSuccess(p, c, u, s))
	return AuthResult{Tokens: t, ChallengeParameters: map[string]string{}}, nil
}

// signInSuccess is the audit entry of a completed sign-in.
func signInSuccess(p pool.Pool, c pool.Client, u pool.User, s pool.AuthSession) auditEntry {
	detail := map[string]string{"channel": s.Channel}
	if s.Custom.Hooked {
		detail["challenge"] = "hooks"
	}
	return auditEntry{pool: p, typ: EventSignInSuccess, username: u.Username, sub: u.Sub, clientID: c.ID, detail: detail}
}

// signedIn loads the user a right answer signed in, refuses a disabled
// one, and marks the address the session's code went to as verified.
func (e *Engine) signedIn(ctx context.Context, p pool.Pool, s pool.AuthSession) (pool.User, error) {
	u, err := e.store.GetUserBySub(ctx, p.ID, s.Sub)
	if errors.Is(err, pool.ErrNotFound) {
		return pool.User{}, incorrect()
	}
	if err != nil {
		return pool.User{}, internal("load user", err)
	}
	if !u.Enabled {
		return pool.User{}, pool.Errorf(pool.KindNotAuthorized, "User is disabled.")
	}
	attr := channelAttr(deliver.Channel(s.Channel))
	if s.Destination == "" || u.Attr(attr) != s.Destination || u.Verified(attr) {
		return u, nil
	}
	verified := u
	verified.Attributes = maps.Clone(u.Attributes)
	verified.Attributes[attr+"_verified"] = "true"
	verified.UpdatedAt = e.now().UTC()
	switch err := e.store.UpdateUser(ctx, verified); {
	case errors.Is(err, pool.ErrConflict):
		// Another account holds this address as a verified alias: the
		// sign-in stands, the address stays unverified here.
		e.log.WarnContext(ctx, "address proven at sign-in is another account's alias; left unverified", "pool", p.ID, "attribute", attr)
		return u, nil
	case err != nil:
		return pool.User{}, internal("mark verified", err)
	}
	return verified, nil
}

// newSessionToken returns a fresh opaque session string and its hash. The
// string has 384 random bits; only its SHA-256 is stored.
func (e *Engine) newSessionToken() (string, []byte, error) {
	tok, err := e.newOpaque(48)
	if err != nil {
		return "", nil, err
	}
	// A fixed first letter: a base64url string may start with "-", which
	// command-line tools (the AWS CLI's --session) take for an option.
	tok = sessionPrefix + tok
	return tok, hashSessionToken(tok), nil
}

// sessionPrefix starts every session string.
const sessionPrefix = "LK"

func hashSessionToken(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

func missingParameter(name string) error {
	return pool.Errorf(pool.KindInvalidParameter, "Missing required parameter %s", name)
}

func invalidSession() error {
	return pool.Errorf(pool.KindNotAuthorized, "Invalid session for the user.")
}

func expiredSession() error {
	return pool.Errorf(pool.KindNotAuthorized, "Invalid session for the user, session is expired.")
}

func incorrect() error {
	return pool.Errorf(pool.KindNotAuthorized, "Incorrect username or password.")
}
