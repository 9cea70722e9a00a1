package hook_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

func TestDecodeResponses(t *testing.T) {
	decode := map[string]func(json.RawMessage) (any, error){
		"PreSignUp":  func(r json.RawMessage) (any, error) { return hook.DecodePreSignUp(r) },
		"Define":     func(r json.RawMessage) (any, error) { return hook.DecodeDefineAuthChallenge(r) },
		"Create":     func(r json.RawMessage) (any, error) { return hook.DecodeCreateAuthChallenge(r) },
		"Verify":     func(r json.RawMessage) (any, error) { return hook.DecodeVerifyAuthChallenge(r) },
		"PreTokenV1": func(r json.RawMessage) (any, error) { return hook.DecodePreTokenGeneration(r) },
		"PreTokenV2": func(r json.RawMessage) (any, error) { return hook.DecodePreTokenGenerationV2(r) },
	}
	tests := []struct {
		decoder string
		raw     string
		want    any    // when valid
		message string // when invalid: the whole client message
	}{
		{"PreSignUp", `{"autoConfirmUser":true,"autoVerifyPhone":true}`,
			hook.PreSignUpResponse{AutoConfirmUser: true, AutoVerifyPhone: true}, ""},
		{"PreSignUp", ``, hook.PreSignUpResponse{}, ""},
		{"PreSignUp", `{"autoConfirmUser":null,"extra":[1,2]}`, hook.PreSignUpResponse{}, ""},
		{"PreSignUp", `{"autoConfirmUser":"yes"}`, nil,
			"Invalid PreSignUp response: autoConfirmUser must be a boolean, not a string."},
		{"PreSignUp", `[true]`, nil,
			"Invalid PreSignUp response: response must be a JSON object, not an array."},
		{"PreSignUp", `{"autoConfirmUser":tru}`, nil,
			"Invalid PreSignUp response: response is not valid JSON."},

		{"Verify", `{"answerCorrect":true}`, hook.VerifyAuthChallengeResult{AnswerCorrect: true}, ""},
		{"Verify", `{"answerCorrect":"yes"}`, nil,
			"Invalid VerifyAuthChallengeResponse response: answerCorrect must be a boolean, not a string."},
		{"Verify", `{"answerCorrect":1}`, nil,
			"Invalid VerifyAuthChallengeResponse response: answerCorrect must be a boolean, not a number."},

		{"Define", `{"challengeName":"CUSTOM_CHALLENGE","issueTokens":false,"failAuthentication":false}`,
			hook.DefineAuthChallengeResponse{ChallengeName: hook.ChallengeCustom}, ""},
		{"Define", `{"issueTokens":true}`, hook.DefineAuthChallengeResponse{IssueTokens: true}, ""},
		{"Define", `{"issueTokens":true,"failAuthentication":true}`,
			hook.DefineAuthChallengeResponse{IssueTokens: true, FailAuthentication: true}, ""},
		{"Define", `{"challengeName":null,"issueTokens":null,"failAuthentication":null}`, nil,
			"Invalid DefineAuthChallenge response: set issueTokens, failAuthentication, or challengeName to CUSTOM_CHALLENGE."},
		{"Define", `{"challengeName":"PASSWORD_VERIFIER"}`, nil,
			`Invalid DefineAuthChallenge response: challengeName "PASSWORD_VERIFIER" is not supported; Latchkey supports only CUSTOM_CHALLENGE.`},
		{"Define", `{"issueTokens":"true"}`, nil,
			"Invalid DefineAuthChallenge response: issueTokens must be a boolean, not a string."},

		{"Create", `{"publicChallengeParameters":{"email":"a@example.com"},"privateChallengeParameters":{"answer":"123456"},"challengeMetadata":"CODE-123456"}`,
			hook.CreateAuthChallengeResponse{
				PublicChallengeParameters:  hook.StringMap{"email": "a@example.com"},
				PrivateChallengeParameters: hook.StringMap{"answer": "123456"},
				ChallengeMetadata:          "CODE-123456",
			}, ""},
		{"Create", `{"publicChallengeParameters":{"n":1}}`, nil,
			"Invalid CreateAuthChallenge response: publicChallengeParameters values must be a string, not a number."},
		{"Create", `{"privateChallengeParameters":["answer"]}`, nil,
			"Invalid CreateAuthChallenge response: privateChallengeParameters must be an object of strings, not an array."},
		{"Create", `{"challengeMetadata":{"code":"1"}}`, nil,
			"Invalid CreateAuthChallenge response: challengeMetadata must be a string, not an object."},
		{"Create", `{"publicChallengeParameters":{"":"x"}}`, nil,
			"Invalid CreateAuthChallenge response: publicChallengeParameters has an empty key."},

		{"PreTokenV1", `{"claimsOverrideDetails":{"claimsToAddOrOverride":{"tenant":"acme"},"claimsToSuppress":["email"]}}`,
			hook.PreTokenGenerationResponse{ClaimsOverrideDetails: &hook.ClaimsOverrideDetails{
				ClaimsToAddOrOverride: map[string]string{"tenant": "acme"},
				ClaimsToSuppress:      []string{"email"},
			}}, ""},
		{"PreTokenV1", `{"claimsOverrideDetails":null}`, hook.PreTokenGenerationResponse{}, ""},
		{"PreTokenV1", `{"claimsOverrideDetails":{"claimsToAddOrOverride":{"level":3}}}`, nil,
			"Invalid PreTokenGeneration response: claimsOverrideDetails.claimsToAddOrOverride values must be a string, not a number."},
		{"PreTokenV1", `{"claimsOverrideDetails":{"claimsToSuppress":"email"}}`, nil,
			"Invalid PreTokenGeneration response: claimsOverrideDetails.claimsToSuppress must be an array of strings, not a string."},
		{"PreTokenV1", `{"claimsOverrideDetails":{"claimsToAddOrOverride":{"":"x"}}}`, nil,
			"Invalid PreTokenGeneration response: claimsOverrideDetails.claimsToAddOrOverride has an empty claim name."},

		{"PreTokenV2", `{"claimsAndScopeOverrideDetails":{"idTokenGeneration":{"claimsToAddOrOverride":{"level":12345678901234567890,"roles":["a","b"],"org":{"id":7},"ok":true}},"accessTokenGeneration":{"scopesToAdd":["api/read"],"scopesToSuppress":["phone"]}}}`,
			hook.PreTokenGenerationV2Response{ClaimsAndScopeOverrideDetails: &hook.ClaimsAndScopeOverrideDetails{
				IDTokenGeneration: &hook.IDTokenGeneration{ClaimsToAddOrOverride: map[string]any{
					"level": json.Number("12345678901234567890"),
					"roles": []any{"a", "b"},
					"org":   map[string]any{"id": json.Number("7")},
					"ok":    true,
				}},
				AccessTokenGeneration: &hook.AccessTokenGeneration{ScopesToAdd: []string{"api/read"}, ScopesToSuppress: []string{"phone"}},
			}}, ""},
		{"PreTokenV2", `{"claimsAndScopeOverrideDetails":{"accessTokenGeneration":{"scopesToAdd":["two words"]}}}`, nil,
			`Invalid PreTokenGeneration response: accessTokenGeneration.scopesToAdd has an invalid scope "two words".`},
		{"PreTokenV2", `{"claimsAndScopeOverrideDetails":{"accessTokenGeneration":{"scopesToAdd":"api/read"}}}`, nil,
			"Invalid PreTokenGeneration response: claimsAndScopeOverrideDetails.accessTokenGeneration.scopesToAdd must be an array of strings, not a string."},
		{"PreTokenV2", `{"claimsAndScopeOverrideDetails":{"groupOverrideDetails":{"groupsToOverride":[1]}}}`, nil,
			"Invalid PreTokenGeneration response: claimsAndScopeOverrideDetails.groupOverrideDetails.groupsToOverride entries must be a string, not a number."},
	}
	for _, tt := range tests {
		t.Run(tt.decoder+" "+tt.raw, func(t *testing.T) {
			got, err := decode[tt.decoder](json.RawMessage(tt.raw))
			if tt.message == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %#v\nwant %#v", got, tt.want)
				}
				return
			}
			var pe *pool.Error
			if !errors.As(err, &pe) || pe.Kind != pool.KindInvalidLambdaResponse {
				t.Fatalf("err = %v, want an InvalidLambdaResponse *pool.Error", err)
			}
			if !strings.HasPrefix(pe.Message, strings.TrimSuffix(tt.message, ".")) {
				t.Fatalf("message = %q\nwant      %q", pe.Message, tt.message)
			}
		})
	}
}
