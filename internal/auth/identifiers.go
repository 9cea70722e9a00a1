package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/email"
	"github.com/latchkey/latchkey/internal/phone"
	"github.com/latchkey/latchkey/internal/pool"
)

// identifier is a normalised username and the attribute it stands for.
type identifier struct {
	value string // E.164 phone number or lower-cased email
	attr  string // pool.AttrPhoneNumber or pool.AttrEmail
}

func (id identifier) channel() deliver.Channel {
	if id.attr == pool.AttrPhoneNumber {
		return deliver.ChannelSMS
	}
	return deliver.ChannelEmail
}

// storedIdentifier recovers the identifier of a canonical username: E.164
// numbers start with "+", which no email address does.
func storedIdentifier(username string) identifier {
	// "@" first, as parseUsername decides: "+a@example.com" is an email.
	if !strings.Contains(username, "@") && strings.HasPrefix(username, "+") {
		return identifier{value: username, attr: pool.AttrPhoneNumber}
	}
	return identifier{value: username, attr: pool.AttrEmail}
}

// parseUsername turns what a client sent as a username into the canonical
// form the pool stores, or an InvalidParameterException saying why not.
func parseUsername(p pool.Pool, raw string) (identifier, error) {
	raw = strings.TrimSpace(raw)
	allowPhone := p.Settings.AllowsUsername(pool.AttrPhoneNumber)
	allowEmail := p.Settings.AllowsUsername(pool.AttrEmail)
	switch {
	case strings.Contains(raw, "@"):
		if !allowEmail {
			return identifier{}, pool.Errorf(pool.KindInvalidParameter, "Username should be a phone number.")
		}
		v, err := email.Normalize(raw)
		if err != nil {
			return identifier{}, invalidParameter(err)
		}
		return identifier{value: v, attr: pool.AttrEmail}, nil
	case phone.LooksLikePhone(raw):
		if !allowPhone {
			return identifier{}, pool.Errorf(pool.KindInvalidParameter, "Username should be an email.")
		}
		v, err := phone.Normalize(raw, p.Settings.DefaultPhoneRegion)
		if err != nil {
			return identifier{}, invalidParameter(err)
		}
		return identifier{value: v, attr: pool.AttrPhoneNumber}, nil
	}
	switch {
	case allowPhone && allowEmail:
		return identifier{}, pool.Errorf(pool.KindInvalidParameter, "Username should be either an email or a phone number.")
	case allowPhone:
		return identifier{}, pool.Errorf(pool.KindInvalidParameter, "Username should be a phone number.")
	default:
		return identifier{}, pool.Errorf(pool.KindInvalidParameter, "Username should be an email.")
	}
}

// normaliseAttribute checks a phone_number or email attribute value.
func normaliseAttribute(p pool.Pool, name, value string) (string, error) {
	switch name {
	case pool.AttrPhoneNumber:
		v, err := phone.Normalize(value, p.Settings.DefaultPhoneRegion)
		if err != nil {
			return "", invalidParameter(err)
		}
		return v, nil
	case pool.AttrEmail:
		v, err := email.Normalize(value)
		if err != nil {
			return "", invalidParameter(err)
		}
		return v, nil
	}
	return value, nil
}

func invalidParameter(err error) error {
	msg := err.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return &pool.Error{Kind: pool.KindInvalidParameter, Message: msg}
}

// mask hides a destination the way Cognito's CodeDeliveryDetails does.
func mask(ch deliver.Channel, dest string) string {
	if ch == deliver.ChannelSMS {
		return maskedNumber(dest)
	}
	return email.Mask(dest)
}

// maskedNumber shows a phone number as Cognito does, "+*******" and its
// last four digits, whatever its length: the stars never tell a country's
// number length, so a decoy's destination has the same shape as a real one.
func maskedNumber(e164 string) string {
	m := phone.Mask(e164)
	return "+*******" + m[len(m)-min(4, len(m)):]
}

// decoyDestination is the masked destination shown when there is no real
// one (an unknown user, or a user without that channel). It is derived from
// the pool's secret and the identifier, so it is stable across requests and
// reveals nothing: an outsider cannot tell it from a real masked value.
func decoyDestination(p pool.Pool, id identifier, ch deliver.Channel) string {
	if id.channel() == ch {
		return mask(ch, id.value)
	}
	mac := hmac.New(sha256.New, p.HashKey)
	mac.Write([]byte("decoy-destination|" + string(ch) + "|" + id.value))
	sum := mac.Sum(nil)
	if ch == deliver.ChannelSMS {
		digits := make([]byte, 4)
		for i := range digits {
			digits[i] = '0' + sum[i]%10
		}
		return "+*******" + string(digits)
	}
	// Local parts start with a digit now and then; domains hardly ever.
	const firsts = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789"
	const letters = "abcdefghijklmnopqrstuvwxyz"
	return string(firsts[int(sum[0])%len(firsts)]) + "***@" + string(letters[sum[1]%26]) + "***"
}

// deliveryMedium is Cognito's DeliveryMediumType for a channel.
func deliveryMedium(ch deliver.Channel) string {
	if ch == deliver.ChannelSMS {
		return "SMS"
	}
	return "EMAIL"
}

// checkSecretHash enforces SECRET_HASH for clients that have a secret:
// Base64(HMAC-SHA256(secret, username + clientID)).
func checkSecretHash(c pool.Client, username, given string) error {
	if c.Secret == "" {
		return nil
	}
	if given == "" {
		return pool.Errorf(pool.KindNotAuthorized, "Client %s is configured with secret but SECRET_HASH was not received", c.ID)
	}
	mac := hmac.New(sha256.New, []byte(c.Secret))
	mac.Write([]byte(username + c.ID))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(want), []byte(given)) != 1 {
		return pool.Errorf(pool.KindNotAuthorized, "Unable to verify secret hash for client %s", c.ID)
	}
	return nil
}

// checkClientSecret enforces a client secret sent in clear (RevokeToken,
// GetTokensFromRefreshToken).
func checkClientSecret(c pool.Client, given string) error {
	if c.Secret == "" {
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(c.Secret), []byte(given)) != 1 {
		return pool.Errorf(pool.KindNotAuthorized, "Unable to verify client secret for client %s", c.ID)
	}
	return nil
}
