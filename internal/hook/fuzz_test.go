package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/pool"
)

// FuzzDecodeResponse feeds a hook's answer, as any webhook may send it,
// through everything that reads it: taking the response out of the
// answer, checking it for the trigger, and every Decode function, plus the
// cleaning of an error message. Nothing may panic; every error must be an
// InvalidLambdaResponse; a response taken out must be a JSON object; a
// cleaned message must be short, valid UTF-8 without control characters.
// Seeds: testdata/fuzz/FuzzDecodeResponse.
func FuzzDecodeResponse(f *testing.F) {
	f.Add(PreSignUp, []byte(`{"response":{"autoConfirmUser":true}}`))
	f.Add(VerifyAuthChallengeResponse, []byte(`{"response":{"answerCorrect":"yes"}}`))
	f.Add(DefineAuthChallenge, []byte(`{"response":{"challengeName":"CUSTOM_CHALLENGE"}}`))
	f.Add(PreTokenGeneration, []byte(`{"version":"2","response":{"claimsAndScopeOverrideDetails":{"idTokenGeneration":{"claimsToAddOrOverride":{"n":1e999}}}}}`))
	f.Add(CreateAuthChallenge, []byte(`{"response":{"publicChallengeParameters":{"a":[1]}}}`))
	f.Add("Unknown", []byte(`[`))
	decoders := []func(json.RawMessage) error{
		func(r json.RawMessage) error { _, err := DecodePreSignUp(r); return err },
		func(r json.RawMessage) error { _, err := DecodeDefineAuthChallenge(r); return err },
		func(r json.RawMessage) error { _, err := DecodeCreateAuthChallenge(r); return err },
		func(r json.RawMessage) error { _, err := DecodeVerifyAuthChallenge(r); return err },
		func(r json.RawMessage) error { _, err := DecodePreTokenGeneration(r); return err },
		func(r json.RawMessage) error { _, err := DecodePreTokenGenerationV2(r); return err },
	}
	f.Fuzz(func(t *testing.T, trigger string, body []byte) {
		mustBeInvalid := func(err error) {
			t.Helper()
			var pe *pool.Error
			if err != nil && (!errors.As(err, &pe) || pe.Kind != pool.KindInvalidLambdaResponse) {
				t.Fatalf("error %v is not an InvalidLambdaResponse", err)
			}
		}
		raw, err := answerResponse(trigger, body)
		mustBeInvalid(err)
		if err == nil {
			if !json.Valid(raw) || bytes.TrimSpace(raw)[0] != '{' {
				t.Fatalf("answerResponse returned %q", raw)
			}
			mustBeInvalid(checkResponse(trigger, "1", raw))
			mustBeInvalid(checkResponse(trigger, "2", raw))
			for _, d := range decoders {
				mustBeInvalid(d(raw))
			}
		}
		for _, d := range decoders {
			mustBeInvalid(d(body))
		}
		msg := cleanMessage(string(body))
		if !utf8.ValidString(msg) || utf8.RuneCountInString(msg) > maxMessageRunes+1 {
			t.Fatalf("cleanMessage returned %q", msg)
		}
		for _, r := range msg {
			if unicode.IsControl(r) {
				t.Fatalf("cleanMessage kept a control character: %q", msg)
			}
		}
	})
}
