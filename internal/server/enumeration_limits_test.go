package server_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// TestLimitsRevealNothing drives a known and an unknown identifier, side by
// side on the same clock, through the default limits: the resend cooldown,
// then wrong codes until the account's guessing budget locks it. Every
// response must be the same for both, step by step, limits included.
func TestLimitsRevealNothing(t *testing.T) {
	e := newEnv(t, withLimits(pool.DefaultLimits()))
	const known, unknown = "+14155552671", "+14155559876"
	e.signUp(known)
	sms := map[string]string{"PREFERRED_CHALLENGE": "SMS_OTP"}
	initiate := func(username string) outcome {
		params := map[string]string{"USERNAME": username}
		for k, v := range sms {
			params[k] = v
		}
		out, err := e.initiate(types.AuthFlowTypeUserAuth, params)
		o := initOutcome(out, err)
		if err == nil {
			o.params["session"] = aws.ToString(out.Session)
		}
		return o
	}
	// strip leaves out the session string, which is random.
	strip := func(o outcome) outcome {
		params := make(map[string]string, len(o.params))
		for k, v := range o.params {
			if k != "session" {
				params[k] = v
			}
		}
		o.params = params
		return o
	}

	// A second code within the cooldown is refused the same way.
	k, u := initiate(known), initiate(unknown)
	sameOutcome(t, "first code", strip(k), strip(u))
	k2, u2 := initiate(known), initiate(unknown)
	sameOutcome(t, "second code within the cooldown", k2, u2)
	if k2.errType != "LimitExceededException" {
		t.Fatalf("second code within the cooldown: %+v, want LimitExceededException", k2)
	}

	// Wrong codes, three per session, until both are locked.
	sessions := map[string]string{known: k.params["session"], unknown: u.params["session"]}
	locked := false
	for step := 0; step < 40 && !locked; step++ {
		var outs [2]outcome
		for i, username := range []string{known, unknown} {
			out, err := e.respond(types.ChallengeNameTypeSmsOtp, sessions[username], map[string]string{"USERNAME": username, "SMS_OTP_CODE": "000000"})
			outs[i] = respondOutcome(out, err)
			if outs[i].errType == "NotAuthorizedException" {
				// The session's attempts are used up: a new code, once the
				// per-destination limits allow one for both.
				sessions[username] = ""
			}
		}
		sameOutcome(t, "wrong code", outs[0], outs[1])
		if outs[0].errType == "TooManyFailedAttemptsException" {
			locked = true
			break
		}
		if sessions[known] == "" {
			e.clock.Advance(15 * time.Minute)
			ko, uo := initiate(known), initiate(unknown)
			sameOutcome(t, "new code", strip(ko), strip(uo))
			if ko.errType != "" {
				if ko.errType != "TooManyFailedAttemptsException" {
					t.Fatalf("new code: %+v", ko)
				}
				locked = true
				break
			}
			sessions[known], sessions[unknown] = ko.params["session"], uo.params["session"]
		}
	}
	if !locked {
		t.Fatal("neither account was locked by the guessing budget")
	}
	if n := len(e.outbox.Messages(unknown)); n != 0 {
		t.Errorf("%d messages were sent to the unknown number", n)
	}
}

// TestConfirmSignUpRevealsNothing: with confirmation codes, a wrong code
// for an UNCONFIRMED user and for an unknown one, and a resend for either,
// answer alike.
func TestConfirmSignUpRevealsNothing(t *testing.T) {
	e := newEnv(t, withSettings(func(s *pool.Settings) { s.AutoConfirm = false }))
	const known, unknown = "+14155552671", "+14155559876"
	e.signUp(known)
	ctx := context.Background()
	confirm := func(username string) outcome {
		_, err := e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(username), ConfirmationCode: aws.String("000000")})
		if err == nil {
			return outcome{}
		}
		return errOutcome(err)
	}
	// Three wrong codes spend the code (pool's max_attempts), then both
	// answer ExpiredCodeException until a new code is asked for.
	for i := 0; i < 5; i++ {
		k, u := confirm(known), confirm(unknown)
		sameOutcome(t, fmt.Sprintf("wrong confirmation code %d", i+1), k, u)
		want := "CodeMismatchException"
		if i >= 3 {
			want = "ExpiredCodeException"
		}
		if k.errType != want {
			t.Errorf("wrong confirmation code %d: %s, want %s", i+1, k.errType, want)
		}
	}
	e.clock.Advance(time.Minute)
	resend := func(username string) (string, outcome) {
		out, err := e.cog.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(e.client.ID), Username: aws.String(username)})
		if err != nil {
			return "", errOutcome(err)
		}
		return string(out.CodeDeliveryDetails.DeliveryMedium) + " " + aws.ToString(out.CodeDeliveryDetails.AttributeName), outcome{}
	}
	kd, ko := resend(known)
	ud, uo := resend(unknown)
	sameOutcome(t, "resend", ko, uo)
	if kd != ud {
		t.Errorf("resend delivery: known %q, unknown %q", kd, ud)
	}
	// The new code starts afresh for both, wrong answers and all.
	for i := 0; i < 4; i++ {
		sameOutcome(t, fmt.Sprintf("wrong code %d after resend", i+1), confirm(known), confirm(unknown))
	}
}

// TestMaskedDestinationsHaveOneShape: what the client is shown of where a
// code went has one shape for real and decoy destinations, on both
// channels: "+*******" and four digits, or a character, "***@", a letter
// and "***".
func TestMaskedDestinationsHaveOneShape(t *testing.T) {
	e := newEnv(t, withSettings(func(s *pool.Settings) {
		l := s.EffectiveLimits()
		l.SMSCountries = []string{"US", "GB"}
		s.Limits = &l
	}))
	phoneShape := regexp.MustCompile(`^\+\*{7}[0-9]{4}$`)
	emailShape := regexp.MustCompile(`^[a-z0-9]\*\*\*@[a-z]\*\*\*$`)
	// Real users with both channels, numbers of different lengths (a US
	// and a UK number) and addresses starting with a letter and a digit.
	real := []struct{ phone, email string }{
		{"+14155552671", "alice@example.com"},
		{"+447400123456", "7bob@example.org"},
	}
	for _, r := range real {
		e.signUp(r.phone, types.AttributeType{Name: aws.String("email"), Value: aws.String(r.email)})
	}
	unknown := []string{"+14155559876", "+447400123999", "nobody@example.net", "9lives@example.net"}
	ctx := context.Background()
	destination := func(username, challenge string) string {
		t.Helper()
		out, err := e.cog.InitiateAuth(ctx, &cip.InitiateAuthInput{
			ClientId: aws.String(e.client.ID), AuthFlow: types.AuthFlowTypeUserAuth,
			AuthParameters: map[string]string{"USERNAME": username, "PREFERRED_CHALLENGE": challenge},
		})
		if err != nil {
			t.Fatalf("InitiateAuth %s %s: %v", username, challenge, err)
		}
		e.clock.Advance(time.Minute) // past the per-destination cooldown
		return out.ChallengeParameters["CODE_DELIVERY_DESTINATION"]
	}
	users := slices.Clone(unknown)
	for _, r := range real {
		users = append(users, r.phone)
	}
	for _, u := range users {
		for challenge, shape := range map[string]*regexp.Regexp{"SMS_OTP": phoneShape, "EMAIL_OTP": emailShape} {
			if got := destination(u, challenge); !shape.MatchString(got) {
				t.Errorf("%s by %s: destination %q does not have the shape %s", u, challenge, got, shape)
			}
		}
	}
}

// TestExistenceAnswersAreLimited: the answers Cognito forces to tell that
// an account exists (SignUp of a taken username, ConfirmSignUp and
// ResendConfirmationCode of a confirmed user) are counted per address; the
// 21st in an hour from one address is refused with TooManyRequestsException,
// while a person retrying a few times never is, and other addresses are
// not affected.
func TestExistenceAnswersAreLimited(t *testing.T) {
	e := newEnv(t, withLimits(pool.DefaultLimits()))
	ctx := context.Background()
	taken := make([]string, 25)
	for i := range taken {
		taken[i] = fmt.Sprintf("+1415555%04d", 1000+i)
		e.signUp(taken[i])
		e.clock.Advance(time.Second)
	}
	signUp := func(username string) error {
		_, err := e.cog.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(username), Password: aws.String("ignored-Passw0rd")})
		return err
	}
	// A person who forgot they have an account: a few tries of each.
	for i := 0; i < 3; i++ {
		apiErr(t, signUp(taken[0]), "UsernameExistsException", "An account with the given phone_number already exists.")
		_, err := e.cog.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(taken[0]), ConfirmationCode: aws.String("123456")})
		apiErr(t, err, "NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")
	}
	_, err := e.cog.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(e.client.ID), Username: aws.String(taken[0])})
	apiErr(t, err, "InvalidParameterException", "User is already confirmed.")
	// Someone walking a list: 7 answers so far, 13 more are answered, the
	// next is refused.
	for i := 1; i <= 13; i++ {
		apiErr(t, signUp(taken[i]), "UsernameExistsException", "An account with the given phone_number already exists.")
	}
	err = signUp(taken[14])
	apiErr(t, err, "TooManyRequestsException", "Too many requests for existing accounts from this address (limit 20/1h); try again later.")
	// A new username still signs up: only existence answers are limited.
	if _, err := e.cog.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String("+14155550042"), Password: aws.String("ignored-Passw0rd")}); err != nil {
		t.Fatalf("a new sign-up from the limited address: %v", err)
	}
	// An hour later the address is answered again.
	e.clock.Advance(time.Hour)
	apiErr(t, signUp(taken[15]), "UsernameExistsException", "An account with the given phone_number already exists.")
	if n := countAudit(t, e, "limit.tripped", "exists_ip_hourly"); n != 1 {
		t.Errorf("%d limit.tripped events for exists_ip_hourly, want 1", n)
	}
}

// TestRevokeTokenRevealsNothing: revoking a token that never existed and
// one already revoked both succeed, as RFC 7009 asks.
func TestRevokeTokenRevealsNothing(t *testing.T) {
	e := newEnv(t)
	const user = "+14155552671"
	e.signUp(user)
	res := e.signIn(user, types.ChallengeNameTypeSmsOtp, user)
	ctx := context.Background()
	for _, tok := range []string{aws.ToString(res.RefreshToken), aws.ToString(res.RefreshToken), "not-a-token-that-ever-existed"} {
		if _, err := e.cog.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: aws.String(e.client.ID), Token: aws.String(tok)}); err != nil {
			t.Errorf("RevokeToken: %v", err)
		}
	}
}

// TestSignUpOfATakenUsername pins the one place Cognito's wire behaviour
// tells that an account exists: SignUp with a CONFIRMED user's username
// answers UsernameExistsException (Cognito does the same, even with
// PreventUserExistenceErrors). docs/security.md explains it.
func TestSignUpOfATakenUsername(t *testing.T) {
	e := newEnv(t)
	const user = "+14155552671"
	e.signUp(user)
	_, err := e.cog.SignUp(context.Background(), &cip.SignUpInput{ClientId: aws.String(e.client.ID), Username: aws.String(user), Password: aws.String("ignored-Passw0rd")})
	apiErr(t, err, "UsernameExistsException", "An account with the given phone_number already exists.")
}

// countAudit counts the pool's audit events of type typ whose "limit"
// detail is limit.
func countAudit(t *testing.T, e *env, typ, limit string) int {
	t.Helper()
	events, err := e.store.ListAudit(context.Background(), store.AuditFilter{PoolID: e.pool.ID, Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range events {
		if ev.Detail["limit"] == limit {
			n++
		}
	}
	return n
}
