package server_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
)

// outcome is everything about a response that is not random: session
// strings are compared by length only.
type outcome struct {
	challenge  types.ChallengeNameType
	params     map[string]string
	available  []types.ChallengeNameType
	sessionLen int
	tokens     bool
	errType    string
	errMessage string
}

func initOutcome(out *cip.InitiateAuthOutput, err error) outcome {
	if err != nil {
		return errOutcome(err)
	}
	return outcome{challenge: out.ChallengeName, params: out.ChallengeParameters, available: out.AvailableChallenges, sessionLen: len(aws.ToString(out.Session)), tokens: out.AuthenticationResult != nil}
}

func respondOutcome(out *cip.RespondToAuthChallengeOutput, err error) outcome {
	if err != nil {
		return errOutcome(err)
	}
	return outcome{challenge: out.ChallengeName, params: out.ChallengeParameters, sessionLen: len(aws.ToString(out.Session)), tokens: out.AuthenticationResult != nil}
}

func errOutcome(err error) outcome {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return outcome{errType: ae.ErrorCode(), errMessage: ae.ErrorMessage()}
	}
	return outcome{errType: "transport", errMessage: err.Error()}
}

func sameOutcome(t *testing.T, step string, known, unknown outcome) {
	t.Helper()
	if known.challenge != unknown.challenge || known.sessionLen != unknown.sessionLen || known.tokens != unknown.tokens ||
		known.errType != unknown.errType || known.errMessage != unknown.errMessage || len(known.params) != len(unknown.params) || len(known.available) != len(unknown.available) {
		t.Fatalf("%s: known user %+v, unknown user %+v", step, known, unknown)
	}
	for k, v := range known.params {
		if k == "CODE_DELIVERY_DESTINATION" || k == "USERNAME" {
			continue // compared below: they depend on the identifier, not on existence
		}
		if unknown.params[k] != v {
			t.Fatalf("%s: parameter %s = %q (known) vs %q (unknown)", step, k, v, unknown.params[k])
		}
	}
	for i := range known.available {
		if known.available[i] != unknown.available[i] {
			t.Fatalf("%s: AvailableChallenges %v vs %v", step, known.available, unknown.available)
		}
	}
}

// TestUnknownUserIndistinguishable runs every public sign-in path for a
// known and an unknown identifier and compares the responses. Masked
// destinations of the identifier's own channel are equal for equal-shaped
// identifiers; on the other channel they are derived from a pool secret.
func TestUnknownUserIndistinguishable(t *testing.T) {
	e := newEnv(t)
	const known, unknown = "+14155552671", "+14155559876"
	e.signUp(known)
	paths := []struct {
		name      string
		flow      types.AuthFlowType
		params    map[string]string
		challenge types.ChallengeNameType
		answerKey string
	}{
		{"custom auth", types.AuthFlowTypeCustomAuth, nil, types.ChallengeNameTypeCustomChallenge, "ANSWER"},
		{"user auth sms", types.AuthFlowTypeUserAuth, map[string]string{"PREFERRED_CHALLENGE": "SMS_OTP"}, types.ChallengeNameTypeSmsOtp, "SMS_OTP_CODE"},
		{"user auth email the user lacks", types.AuthFlowTypeUserAuth, map[string]string{"PREFERRED_CHALLENGE": "EMAIL_OTP"}, types.ChallengeNameTypeEmailOtp, "EMAIL_OTP_CODE"},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			run := func(username string) []outcome {
				params := map[string]string{"USERNAME": username}
				for k, v := range p.params {
					params[k] = v
				}
				init, err := e.initiate(p.flow, params)
				steps := []outcome{initOutcome(init, err)}
				if err != nil {
					return steps
				}
				session := aws.ToString(init.Session)
				for i := 0; i < 3; i++ {
					out, err := e.respond(p.challenge, session, map[string]string{"USERNAME": username, p.answerKey: "000000"})
					steps = append(steps, respondOutcome(out, err))
					if err == nil {
						session = aws.ToString(out.Session)
					}
				}
				return steps
			}
			k, u := run(known), run(unknown)
			for i := range k {
				sameOutcome(t, p.name, k[i], u[i])
			}
			if d := k[0].params["CODE_DELIVERY_DESTINATION"]; p.challenge != types.ChallengeNameTypeEmailOtp && d != "+*******2671" {
				t.Errorf("known destination %q", d)
			}
		})
	}
	t.Run("select challenge", func(t *testing.T) {
		kOut, kErr := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": known})
		uOut, uErr := e.initiate(types.AuthFlowTypeUserAuth, map[string]string{"USERNAME": unknown})
		sameOutcome(t, "select", initOutcome(kOut, kErr), initOutcome(uOut, uErr))
	})
	t.Run("resend confirmation code", func(t *testing.T) {
		ctx := context.Background()
		// A confirmed user cannot get a code, so compare an unknown user with
		// what Cognito's hidden-existence mode answers: a masked delivery.
		out, err := e.cog.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(e.client.ID), Username: aws.String(unknown)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.CodeDeliveryDetails.Destination) != "+*******9876" {
			t.Errorf("destination = %q", aws.ToString(out.CodeDeliveryDetails.Destination))
		}
	})
	if n := len(e.outbox.Messages(unknown)); n != 0 {
		t.Errorf("%d messages were sent to an unknown number", n)
	}
}
