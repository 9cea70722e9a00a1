package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/pool"
)

// CodeDelivery is where a code went, masked: Cognito's CodeDeliveryDetailsType.
type CodeDelivery struct {
	Destination    string
	DeliveryMedium string // "SMS" or "EMAIL"
	AttributeName  string // "phone_number" or "email"
}

func codeDelivery(ch deliver.Channel, masked string) CodeDelivery {
	attr := pool.AttrEmail
	if ch == deliver.ChannelSMS {
		attr = pool.AttrPhoneNumber
	}
	return CodeDelivery{Destination: masked, DeliveryMedium: deliveryMedium(ch), AttributeName: attr}
}

// sendCode delivers a code. Failures become CodeDeliveryFailureException;
// the log gets the cause but never the code.
func (e *Engine) sendCode(ctx context.Context, p pool.Pool, ch deliver.Channel, to, code, purpose string, ttl time.Duration) error {
	m := deliver.Message{
		PoolID:  p.ID,
		Channel: ch,
		To:      to,
		Code:    code,
		Purpose: purpose,
	}
	what := "sign-in"
	switch {
	case purpose == pool.PurposeSignUp:
		what = "confirmation"
	case strings.HasPrefix(purpose, "verify_"):
		what = "verification"
	}
	name := p.Name
	if name == "" {
		name = "Latchkey"
	}
	m.Body = fmt.Sprintf("%s is your %s %s code. It expires in %s.", code, name, what, humanDuration(ttl))
	if ch == deliver.ChannelEmail {
		m.Subject = fmt.Sprintf("Your %s %s code", name, what)
	}
	if err := e.sender.Send(ctx, m); err != nil {
		e.log.ErrorContext(ctx, "code delivery failed", "pool", p.ID, "channel", string(ch), "purpose", purpose, "error", err)
		if errors.Is(err, deliver.ErrNoProvider) {
			return &pool.Error{Kind: pool.KindCodeDeliveryFailure, Message: fmt.Sprintf("Cannot deliver the code: no %s provider is configured and dev delivery is off.", ch), Err: err}
		}
		return &pool.Error{Kind: pool.KindCodeDeliveryFailure, Message: fmt.Sprintf("Could not deliver the code by %s; try again later.", deliveryMedium(ch)), Err: err}
	}
	return nil
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		if d == time.Minute {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", d/time.Minute)
	default:
		return d.String()
	}
}
