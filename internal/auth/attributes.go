package auth

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/pool"
)

// UpdateUserAttributes changes the attributes of the user an access token
// speaks for; an empty value deletes an attribute, as in Cognito. A new
// email or phone number is stored unverified and a code is sent to it; the
// returned deliveries say where. The attribute that is the username may
// change too: the user keeps signing in by the old value until the new one
// is verified, and then by the new one (VerifyUserAttribute).
func (e *Engine) UpdateUserAttributes(ctx context.Context, accessToken string, attrs map[string]string) ([]CodeDelivery, error) {
	h, err := e.authenticate(ctx, accessToken)
	if err != nil {
		return nil, err
	}
	u := h.user
	usernameAttr := storedIdentifier(u.Username).attr
	next := maps.Clone(u.Attributes)
	var changed []string
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		value := attrs[name]
		if err := checkWritableAttribute(name, value); err != nil {
			return nil, err
		}
		if value != "" {
			if value, err = normaliseAttribute(h.pool, name, value); err != nil {
				return nil, err
			}
		}
		if value == next[name] {
			continue
		}
		if name == usernameAttr && value == "" {
			return nil, pool.Errorf(pool.KindInvalidParameter, "Attribute %s is this user's username and cannot be deleted.", name)
		}
		if value == "" {
			delete(next, name)
		} else {
			next[name] = value
		}
		if name == pool.AttrEmail || name == pool.AttrPhoneNumber {
			delete(next, name+"_verified")
			if value != "" {
				next[name+"_verified"] = "false"
				changed = append(changed, name)
			}
		}
	}
	u.Attributes = next
	u.UpdatedAt = e.now().UTC()
	if err := e.store.UpdateUser(ctx, u); err != nil {
		return nil, internal("update attributes", err)
	}
	deliveries := make([]CodeDelivery, 0, len(changed))
	for _, name := range changed {
		d, err := e.issueCode(ctx, h.pool, verifyCode(u, name, h.origin.ClientID))
		if err != nil {
			return nil, err
		}
		deliveries = append(deliveries, d)
	}
	return deliveries, nil
}

// GetUserAttributeVerificationCode sends a new code to verify the user's
// email or phone number.
func (e *Engine) GetUserAttributeVerificationCode(ctx context.Context, accessToken, attr string) (CodeDelivery, error) {
	h, err := e.authenticate(ctx, accessToken)
	if err != nil {
		return CodeDelivery{}, err
	}
	if err := verifiable(h.user, attr); err != nil {
		return CodeDelivery{}, err
	}
	return e.issueCode(ctx, h.pool, verifyCode(h.user, attr, h.origin.ClientID))
}

// VerifyUserAttribute checks a verification code and marks the attribute
// verified.
func (e *Engine) VerifyUserAttribute(ctx context.Context, accessToken, attr, code string) error {
	h, err := e.authenticate(ctx, accessToken)
	if err != nil {
		return err
	}
	if err := verifiable(h.user, attr); err != nil {
		return err
	}
	if err := e.checkCode(ctx, h.pool, verifyCode(h.user, attr, h.origin.ClientID), code); err != nil {
		return err
	}
	u := h.user
	u.Attributes[attr+"_verified"] = "true"
	if storedIdentifier(u.Username).attr == attr {
		// The username's own attribute changed and is now proven: the user
		// signs in by the new value, and the old one is free.
		u.Username = u.Attr(attr)
	}
	u.UpdatedAt = e.now().UTC()
	if err := e.store.UpdateUser(ctx, u); err != nil {
		if errors.Is(err, pool.ErrConflict) {
			return pool.Errorf(pool.KindAliasExists, "An account with the given %s already exists.", attr)
		}
		return internal("mark verified", err)
	}
	e.audit(ctx, auditEntry{pool: h.pool, typ: EventAttributeVerified, username: u.Username, sub: u.Sub,
		clientID: h.origin.ClientID, detail: map[string]string{"attribute": attr}})
	return nil
}

func verifiable(u pool.User, attr string) error {
	if attr != pool.AttrEmail && attr != pool.AttrPhoneNumber {
		return pool.Errorf(pool.KindInvalidParameter, "Only email and phone_number can be verified, not %q.", attr)
	}
	if u.Attr(attr) == "" {
		return pool.Errorf(pool.KindInvalidParameter, "The user has no %s to verify.", attr)
	}
	return nil
}

// verifyCode is the code that proves the user holds the current value of
// attr; changing the value again invalidates it.
func verifyCode(u pool.User, attr, clientID string) standaloneCode {
	ch := deliver.ChannelEmail
	if attr == pool.AttrPhoneNumber {
		ch = deliver.ChannelSMS
	}
	return standaloneCode{
		purpose: pool.PurposeVerify(attr), username: u.Username, dest: u.Attr(attr), channel: ch,
		clientID: clientID, sub: u.Sub, locale: u.Attr(pool.AttrLocale),
	}
}
