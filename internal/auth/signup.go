package auth

import (
	"context"
	"errors"
	"maps"
	"strings"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/limit"
	"github.com/latchkey/latchkey/internal/pool"
)

// SignUpInput is a self sign-up request.
type SignUpInput struct {
	ClientID   string
	Username   string
	SecretHash string
	Attributes map[string]string
	// ValidationData and ClientMetadata are the caller's, passed to the
	// pool's PreSignUp hook as validationData and clientMetadata.
	ValidationData map[string]string
	ClientMetadata map[string]string
	// A password, if a Cognito client sends one, is accepted and ignored:
	// Latchkey is passwordless.
}

// SignUpOutput is Cognito's SignUpResponse.
type SignUpOutput struct {
	UserConfirmed bool
	UserSub       string
	// Delivery is set when a confirmation code was sent.
	Delivery *CodeDelivery
	// Session starts sign-in right after sign-up (InitiateAuth USER_AUTH).
	Session string
}

// maxAttributeValue is Cognito's limit on an attribute value.
const maxAttributeValue = 2048

// SignUp creates a user. With the pool's default auto-confirm the user is
// CONFIRMED at once and the first sign-in proves the identifier; otherwise
// a confirmation code is sent. A pool's PreSignUp hook replaces that
// decision (see preSignUp) or rejects the sign-up before anything is
// stored. A username held only by an UNCONFIRMED user is taken over, so no
// account is ever stuck half-made.
func (e *Engine) SignUp(ctx context.Context, in SignUpInput) (SignUpOutput, error) {
	c, p, err := e.clientAndPool(ctx, in.ClientID)
	if err != nil {
		return SignUpOutput{}, err
	}
	if err := checkSecretHash(c, in.Username, in.SecretHash); err != nil {
		return SignUpOutput{}, err
	}
	id, err := parseUsername(p, in.Username)
	if err != nil {
		return SignUpOutput{}, err
	}
	if id.attr == pool.AttrPhoneNumber {
		// Sign-in codes go to the username by SMS: refuse a number the
		// pool never sends to rather than make an account that cannot
		// sign in. This depends only on the input, so it reveals nothing.
		if err := limit.CheckCountry(p, id.value); err != nil {
			return SignUpOutput{}, err
		}
	}
	attrs, err := signUpAttributes(p, id, in.Attributes)
	if err != nil {
		return SignUpOutput{}, err
	}
	decision, err := e.preSignUp(ctx, p, c, id, attrs, in)
	if err != nil {
		return SignUpOutput{}, err
	}
	decision.apply(attrs)
	sub, err := e.newUUID()
	if err != nil {
		return SignUpOutput{}, internal("sign up", err)
	}
	attrs[pool.AttrSub] = sub
	now := e.now().UTC()
	u := pool.User{
		PoolID:     p.ID,
		Sub:        sub,
		Username:   id.value,
		Attributes: attrs,
		Status:     pool.StatusUnconfirmed,
		Enabled:    true,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	if decision.confirm {
		u.Status = pool.StatusConfirmed
	}
	out := SignUpOutput{UserConfirmed: u.Status == pool.StatusConfirmed, UserSub: sub}
	err = e.inUnit(ctx, func(w *Engine) error {
		if _, err := w.store.CreateUser(ctx, u); err != nil {
			if errors.Is(err, pool.ErrConflict) {
				if err := w.existenceAnswer(ctx, p, c, id.value); err != nil {
					return err
				}
				return w.signUpConflict(ctx, p, id, u, decision)
			}
			return internal("create user", err)
		}
		w.audit(ctx, auditEntry{pool: p, typ: EventSignUp, username: u.Username, sub: sub, clientID: c.ID,
			detail: map[string]string{"status": string(u.Status)}})
		if !out.UserConfirmed {
			code := signUpCode(id, c.ID, u)
			if err := w.issueCodeIn(ctx, p, code); err != nil {
				return err
			}
			d := codeDelivery(code.channel, mask(code.channel, code.dest))
			out.Delivery = &d
		}
		var err error
		out.Session, err = w.createSignUpSession(ctx, p, c, u, pool.KindSignUp)
		return err
	})
	if err != nil {
		return SignUpOutput{}, err
	}
	return out, nil
}

// existenceAnswer counts an answer that tells the caller an account
// exists, which Cognito's API forces (a taken username, an account already
// confirmed), against the pool's limits on them; past those the caller
// gets TooManyRequestsException instead, and the trip is audited.
func (e *Engine) existenceAnswer(ctx context.Context, p pool.Pool, c pool.Client, typed string) error {
	err := e.guard.TakeExistence(ctx, p, c.ID, callerOf(ctx).IP)
	if err == nil {
		return nil
	}
	var tripped *limit.Tripped
	if !errors.As(err, &tripped) {
		return internal("count existence answer", err)
	}
	e.audit(ctx, auditEntry{pool: p, typ: EventLimitTripped, username: typed, clientID: c.ID,
		detail: map[string]string{"limit": tripped.Limit}})
	return err
}

// signUpAttributes validates the attributes a client may set at sign-up and
// adds the username's own attribute.
func signUpAttributes(p pool.Pool, id identifier, given map[string]string) (map[string]string, error) {
	attrs := make(map[string]string, len(given)+2)
	for name, value := range given {
		if err := checkWritableAttribute(name, value); err != nil {
			return nil, err
		}
		v, err := normaliseAttribute(p, name, value)
		if err != nil {
			return nil, err
		}
		attrs[name] = v
	}
	if v, ok := attrs[id.attr]; ok && v != id.value {
		return nil, pool.Errorf(pool.KindInvalidParameter, "Attribute %s must equal the username when the username is a %s.", id.attr, strings.ReplaceAll(id.attr, "_", " "))
	}
	attrs[id.attr] = id.value
	attrs[pool.AttrEmailVerified] = "false"
	attrs[pool.AttrPhoneNumberVerified] = "false"
	if _, ok := attrs[pool.AttrEmail]; !ok {
		delete(attrs, pool.AttrEmailVerified)
	}
	if _, ok := attrs[pool.AttrPhoneNumber]; !ok {
		delete(attrs, pool.AttrPhoneNumberVerified)
	}
	return attrs, nil
}

// standardAttributes are the OIDC attributes Cognito lets users write.
var standardAttributes = map[string]bool{
	"address": true, "birthdate": true, "email": true, "family_name": true, "gender": true,
	"given_name": true, "locale": true, "middle_name": true, "name": true, "nickname": true,
	"phone_number": true, "picture": true, "preferred_username": true, "profile": true,
	"updated_at": true, "website": true, "zoneinfo": true,
}

func checkWritableAttribute(name, value string) error {
	switch {
	case name == "":
		return pool.Errorf(pool.KindInvalidParameter, "Attribute name must not be empty.")
	case strings.HasPrefix(name, "custom:"):
		if len(name) > 32+len("custom:") || len(name) == len("custom:") {
			return pool.Errorf(pool.KindInvalidParameter, "Custom attribute name %q must have 1 to 32 characters after \"custom:\".", name)
		}
	case name == pool.AttrSub || name == pool.AttrEmailVerified || name == pool.AttrPhoneNumberVerified:
		return pool.Errorf(pool.KindInvalidParameter, "Attribute %s cannot be set by the user.", name)
	case !standardAttributes[name]:
		return pool.Errorf(pool.KindInvalidParameter, "Attribute %q is not a known attribute; use a standard attribute or custom:<name>.", name)
	}
	if len(value) > maxAttributeValue {
		return pool.Errorf(pool.KindInvalidParameter, "Attribute %s is longer than %d characters.", name, maxAttributeValue)
	}
	return nil
}

// signUpCode is the confirmation code of a sign-up with identifier id.
func signUpCode(id identifier, clientID string, u pool.User) standaloneCode {
	return standaloneCode{
		purpose: pool.PurposeSignUp, username: id.value, dest: id.value, channel: id.channel(),
		clientID: clientID, sub: u.Sub, locale: u.Attr(pool.AttrLocale),
	}
}

// createSignUpSession stores a session that lets USER_AUTH start (KindSignUp)
// or finish (KindConfirmed) right after sign-up.
func (e *Engine) createSignUpSession(ctx context.Context, p pool.Pool, c pool.Client, u pool.User, kind pool.SessionKind) (string, error) {
	tok, hash, err := e.newSessionToken()
	if err != nil {
		return "", internal("new session", err)
	}
	sid, err := e.newID()
	if err != nil {
		return "", internal("new session", err)
	}
	now := e.now().UTC()
	err = e.store.CreateSession(ctx, pool.AuthSession{
		ID:          sid,
		TokenHash:   hash,
		Kind:        kind,
		PoolID:      p.ID,
		ClientID:    c.ID,
		Username:    u.Username,
		Sub:         u.Sub,
		Flow:        pool.FlowUserAuth,
		MaxAttempts: p.Settings.MaxAttempts,
		CreatedAt:   now,
		ExpiresAt:   now.Add(p.Settings.SessionTTL),
	})
	if err != nil {
		return "", internal("store session", err)
	}
	return tok, nil
}

// ConfirmSignUpInput is Cognito's ConfirmSignUpRequest.
type ConfirmSignUpInput struct {
	ClientID         string
	Username         string
	ConfirmationCode string
	SecretHash       string
	Session          string
	// ClientMetadata is passed to the pool's PostConfirmation hook.
	ClientMetadata map[string]string
}

// ConfirmSignUp checks a confirmation code, confirms the user, marks the
// identifier verified, runs the pool's PostConfirmation hook and returns a
// Session that signs the user in without a second code. When the hook
// fails the caller gets its error and no Session, and the user stays
// confirmed, as in Cognito.
func (e *Engine) ConfirmSignUp(ctx context.Context, in ConfirmSignUpInput) (string, error) {
	c, p, err := e.clientAndPool(ctx, in.ClientID)
	if err != nil {
		return "", err
	}
	if err := checkSecretHash(c, in.Username, in.SecretHash); err != nil {
		return "", err
	}
	id, err := parseUsername(p, in.Username)
	if err != nil {
		return "", err
	}
	if in.Session != "" {
		if err := e.checkSignUpSession(ctx, c, id, in.Session); err != nil {
			return "", err
		}
	}
	u, err := e.store.GetUser(ctx, p.ID, id.value)
	if errors.Is(err, pool.ErrNotFound) {
		if p.Settings.PreventUserExistenceErrors {
			// The same count, judgement and answers as a real account's.
			decoy := signUpCode(id, c.ID, pool.User{})
			decoy.decoy = true
			return "", e.checkCode(ctx, p, decoy, in.ConfirmationCode)
		}
		return "", pool.Errorf(pool.KindUserNotFound, "Username/client id combination not found.")
	}
	if err != nil {
		return "", internal("load user", err)
	}
	if u.Status == pool.StatusConfirmed {
		if err := e.inUnit(ctx, func(w *Engine) error { return w.existenceAnswer(ctx, p, c, id.value) }); err != nil {
			return "", err
		}
		return "", pool.Errorf(pool.KindNotAuthorized, "User cannot be confirmed. Current status is CONFIRMED")
	}
	hooked, err := e.hooks(p)
	if err != nil {
		return "", err
	}
	// Without a PostConfirmation hook the Session joins the unit of work.
	direct := !hooked.Configured(hook.PostConfirmation)
	var session string
	err = e.inUnit(ctx, func(w *Engine) error {
		if err := w.checkCodeIn(ctx, p, signUpCode(id, c.ID, u), in.ConfirmationCode); err != nil {
			return err
		}
		confirmed := u
		confirmed.Attributes = maps.Clone(u.Attributes)
		confirmed.Status = pool.StatusConfirmed
		confirmed.Attributes[id.attr+"_verified"] = "true"
		confirmed.UpdatedAt = w.now().UTC()
		if err := w.store.UpdateUser(ctx, confirmed); err != nil {
			return internal("confirm user", err)
		}
		u = confirmed
		w.audit(ctx, auditEntry{pool: p, typ: EventSignUpConfirmed, username: u.Username, sub: u.Sub, clientID: c.ID})
		if !direct {
			return nil
		}
		var err error
		session, err = w.createSignUpSession(ctx, p, c, u, pool.KindConfirmed)
		return err
	})
	if err != nil || direct {
		return session, err
	}
	if err := e.postConfirmation(ctx, p, c.ID, u, in.ClientMetadata); err != nil {
		return "", err
	}
	return e.createSignUpSession(ctx, p, c, u, pool.KindConfirmed)
}

// checkSignUpSession verifies that a Session passed to ConfirmSignUp is the
// one SignUp gave for this user and client. An expired one is fine: the
// confirmation code has its own, longer lifetime.
func (e *Engine) checkSignUpSession(ctx context.Context, c pool.Client, id identifier, session string) error {
	s, err := e.store.GetSession(ctx, hashSessionToken(session))
	if err != nil || s.Kind != pool.KindSignUp || s.ClientID != c.ID || s.Username != id.value {
		if err != nil && !errors.Is(err, pool.ErrNotFound) {
			return internal("load session", err)
		}
		return invalidSession()
	}
	if err := e.store.DeleteSession(ctx, s.TokenHash); err != nil && !errors.Is(err, pool.ErrNotFound) {
		return internal("use session", err)
	}
	return nil
}

// ResendConfirmationCodeInput is Cognito's ResendConfirmationCodeRequest.
type ResendConfirmationCodeInput struct {
	ClientID   string
	Username   string
	SecretHash string
}

// ResendConfirmationCode sends a new sign-up code to an UNCONFIRMED user.
// For an unknown user it answers as if it had sent one.
func (e *Engine) ResendConfirmationCode(ctx context.Context, in ResendConfirmationCodeInput) (CodeDelivery, error) {
	c, p, err := e.clientAndPool(ctx, in.ClientID)
	if err != nil {
		return CodeDelivery{}, err
	}
	if err := checkSecretHash(c, in.Username, in.SecretHash); err != nil {
		return CodeDelivery{}, err
	}
	id, err := parseUsername(p, in.Username)
	if err != nil {
		return CodeDelivery{}, err
	}
	u, err := e.store.GetUser(ctx, p.ID, id.value)
	if errors.Is(err, pool.ErrNotFound) {
		if p.Settings.PreventUserExistenceErrors {
			// A decoy: counted, stored and queued like a real code, never
			// sent.
			decoy := signUpCode(id, c.ID, pool.User{})
			decoy.decoy = true
			return e.issueCode(ctx, p, decoy)
		}
		return CodeDelivery{}, pool.Errorf(pool.KindUserNotFound, "Username/client id combination not found.")
	}
	if err != nil {
		return CodeDelivery{}, internal("load user", err)
	}
	if u.Status == pool.StatusConfirmed {
		if err := e.inUnit(ctx, func(w *Engine) error { return w.existenceAnswer(ctx, p, c, id.value) }); err != nil {
			return CodeDelivery{}, err
		}
		return CodeDelivery{}, pool.Errorf(pool.KindInvalidParameter, "User is already confirmed.")
	}
	return e.issueCode(ctx, p, signUpCode(id, c.ID, u))
}
