package auth

import (
	"context"
	"errors"
	"maps"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// The sign-up hook points: PreSignUp before a self sign-up is stored, and
// PostConfirmation after ConfirmSignUp confirms a user.

// signUpDecision is what the PreSignUp step decided for a sign-up.
type signUpDecision struct {
	// confirm makes the user CONFIRMED at once: no confirmation code.
	confirm bool
	// verifyEmail and verifyPhone mark the attributes verified.
	verifyEmail, verifyPhone bool
}

// preSignUp runs the PreSignUp step of a self sign-up, before anything is
// stored. The built-in default confirms the user when the pool
// auto-confirms and verifies nothing. A PreSignUp hook replaces it: its
// autoConfirmUser decides confirmation (the pool's auto_confirm setting is
// not consulted), and autoVerifyEmail / autoVerifyPhone mark attributes
// verified. An error of the hook rejects the sign-up, with the hook's
// error kinds (UserLambdaValidationException "PreSignUp failed with error
// <message>." for the hook's own error).
//
// attrs are the attributes about to be stored; the hook sees them as
// userAttributes, without the *_verified attributes Latchkey adds.
func (e *Engine) preSignUp(ctx context.Context, p pool.Pool, c pool.Client, id identifier, attrs map[string]string, in SignUpInput) (signUpDecision, error) {
	def := signUpDecision{confirm: p.Settings.AutoConfirm}
	r, err := e.hooks(p)
	if err != nil {
		return signUpDecision{}, err
	}
	shown := maps.Clone(attrs)
	delete(shown, pool.AttrEmailVerified)
	delete(shown, pool.AttrPhoneNumberVerified)
	raw, ran, err := e.runHook(ctx, r, hookCall{
		pool: p, clientID: c.ID, trigger: hook.PreSignUp, source: hook.SourcePreSignUpSignUp, userName: id.value,
		request: hook.PreSignUpRequest{
			UserAttributes: shown,
			ValidationData: metadataOrNil(in.ValidationData),
			ClientMetadata: metadataOrNil(in.ClientMetadata),
		},
	})
	if err != nil || !ran {
		return def, err
	}
	resp, err := hook.DecodePreSignUp(raw)
	if err != nil {
		return signUpDecision{}, err
	}
	// Cognito verifies an attribute only for a user it confirms, and only
	// an attribute the user has.
	if (resp.AutoVerifyEmail || resp.AutoVerifyPhone) && !resp.AutoConfirmUser {
		return signUpDecision{}, invalidPreSignUp("autoVerifyEmail and autoVerifyPhone need autoConfirmUser true")
	}
	if resp.AutoVerifyEmail && attrs[pool.AttrEmail] == "" {
		return signUpDecision{}, invalidPreSignUp("autoVerifyEmail is true but the user has no email")
	}
	if resp.AutoVerifyPhone && attrs[pool.AttrPhoneNumber] == "" {
		return signUpDecision{}, invalidPreSignUp("autoVerifyPhone is true but the user has no phone_number")
	}
	return signUpDecision{confirm: resp.AutoConfirmUser, verifyEmail: resp.AutoVerifyEmail, verifyPhone: resp.AutoVerifyPhone}, nil
}

// invalidPreSignUp is a PreSignUp answer Latchkey cannot apply, reported
// as the hook package reports a malformed answer.
func invalidPreSignUp(what string) error {
	return &pool.Error{Kind: pool.KindInvalidLambdaResponse, Message: "Invalid " + hook.PreSignUp + " response: " + what + "."}
}

// apply sets the attributes a decision verifies.
func (d signUpDecision) apply(attrs map[string]string) {
	if d.verifyEmail {
		attrs[pool.AttrEmailVerified] = "true"
	}
	if d.verifyPhone {
		attrs[pool.AttrPhoneNumberVerified] = "true"
	}
}

// verifiedAliases returns the attributes the decision verified that are
// not the username's own: they become sign-in aliases and may clash with
// another user's.
func (d signUpDecision) verifiedAliases(id identifier) []string {
	var out []string
	if d.verifyEmail && id.attr != pool.AttrEmail {
		out = append(out, pool.AttrEmail)
	}
	if d.verifyPhone && id.attr != pool.AttrPhoneNumber {
		out = append(out, pool.AttrPhoneNumber)
	}
	return out
}

// signUpConflict explains a CreateUser conflict: the username is taken,
// or an attribute a PreSignUp hook verified is another user's alias.
func (e *Engine) signUpConflict(ctx context.Context, p pool.Pool, id identifier, u pool.User, d signUpDecision) error {
	for _, attr := range d.verifiedAliases(id) {
		other, err := e.store.GetUserByIdentifier(ctx, p.ID, u.Attr(attr))
		if err == nil && other.Sub != u.Sub {
			return pool.Errorf(pool.KindAliasExists, "An account with the given %s already exists.", attr)
		}
		if err != nil && !errors.Is(err, pool.ErrNotFound) {
			return internal("load user", err)
		}
	}
	return pool.Errorf(pool.KindUsernameExists, "An account with the given %s already exists.", id.attr)
}

// postConfirmation runs the pool's PostConfirmation hook, if any, for a
// user ConfirmSignUp has just confirmed. As in Cognito the user stays
// confirmed when the hook fails; the caller gets the hook's error.
func (e *Engine) postConfirmation(ctx context.Context, p pool.Pool, clientID string, u pool.User, clientMetadata map[string]string) error {
	r, err := e.hooks(p)
	if err != nil {
		return err
	}
	_, _, err = e.runHook(ctx, r, hookCall{
		pool: p, clientID: clientID, trigger: hook.PostConfirmation, source: hook.SourcePostConfirmationConfirmSignUp,
		userName: u.Username,
		request: hook.PostConfirmationRequest{
			UserAttributes: userEventAttributes(u),
			ClientMetadata: metadataOrNil(clientMetadata),
		},
	})
	return err
}

// userEventAttributes are a stored user's attributes as Cognito's triggers
// show them: every attribute (sub included) as a string, and
// cognito:user_status.
func userEventAttributes(u pool.User) hook.StringMap {
	m := make(hook.StringMap, len(u.Attributes)+2)
	maps.Copy(m, u.Attributes)
	if u.Sub != "" {
		m[pool.AttrSub] = u.Sub
	}
	if u.Status != "" {
		m["cognito:user_status"] = string(u.Status)
	}
	return m
}

// metadataOrNil returns m, or nil when it is empty, so that an event leaves out
// the field as Cognito does when the caller sent none.
func metadataOrNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
