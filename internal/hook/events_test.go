package hook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/hook"
)

// TestGoldenEvents decodes Amazon's example event of each trigger into its
// Go type, refusing unknown fields, and marshals it back: the JSON must be
// the example's. See testdata/events/README.md for the sources.
func TestGoldenEvents(t *testing.T) {
	tests := []struct {
		file    string
		trigger string
		check   func(t *testing.T, data []byte) (json.RawMessage, *hook.Event)
	}{
		{"pre-sign-up.json", hook.PreSignUp, roundTrip[hook.PreSignUpEvent]},
		{"post-confirmation.json", hook.PostConfirmation, roundTrip[hook.PostConfirmationEvent]},
		{"pre-authentication.json", hook.PreAuthentication, roundTrip[hook.PreAuthenticationEvent]},
		{"post-authentication.json", hook.PostAuthentication, roundTrip[hook.PostAuthenticationEvent]},
		{"define-auth-challenge.json", hook.DefineAuthChallenge, roundTrip[hook.DefineAuthChallengeEvent]},
		{"create-auth-challenge.json", hook.CreateAuthChallenge, roundTrip[hook.CreateAuthChallengeEvent]},
		{"verify-auth-challenge-response.json", hook.VerifyAuthChallengeResponse, roundTrip[hook.VerifyAuthChallengeResponseEvent]},
		{"pre-token-generation-v1.json", hook.PreTokenGeneration, roundTrip[hook.PreTokenGenerationEvent]},
		{"pre-token-generation-v2.json", hook.PreTokenGeneration, roundTrip[hook.PreTokenGenerationV2Event]},
		{"custom-sms-sender.json", hook.CustomSMSSender, roundTrip[hook.CustomSMSSenderEvent]},
		{"custom-email-sender.json", hook.CustomEmailSender, roundTrip[hook.CustomEmailSenderEvent]},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "events", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			typed, ev := tt.check(t, data)
			assertJSONEqual(t, typed, data)
			// The raw Event marshals to the same JSON.
			raw, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, raw, data)
			if got := hook.TriggerOf(ev.TriggerSource); got != tt.trigger {
				t.Errorf("TriggerOf(%q) = %q, want %q", ev.TriggerSource, got, tt.trigger)
			}
		})
	}
}

// roundTrip decodes data strictly as a T, and returns T marshalled and T
// encoded as an Event.
func roundTrip[T interface{ Encode() (*hook.Event, error) }](t *testing.T, data []byte) (json.RawMessage, *hook.Event) {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding into %T: %v", v, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := v.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return out, ev
}

func assertJSONEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		gi, _ := json.MarshalIndent(g, "", "  ")
		wi, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("JSON differs\ngot:  %s\nwant: %s", gi, wi)
	}
}

// TestEventBuiltInGo builds the define-auth-challenge example in Go, as the
// engine will, and compares it with Amazon's example.
func TestEventBuiltInGo(t *testing.T) {
	ev := hook.DefineAuthChallengeEvent{
		Header: hook.Header{
			Version:       "1",
			TriggerSource: hook.SourceDefineAuthChallenge,
			Region:        "us-east-1",
			UserPoolID:    "us-east-1_ABC123",
			UserName:      "johndoe",
			CallerContext: hook.CallerContext{AWSSDKVersion: "2.814.0", ClientID: "client123"},
		},
		Request: hook.DefineAuthChallengeRequest{
			UserAttributes: hook.StringMap{"email": "user@example.com", "name": "John Doe"},
			Session:        hook.Session{{ChallengeName: "SRP_A", ChallengeResult: true, ChallengeMetadata: "metadata"}},
			ClientMetadata: map[string]string{"key": "value"},
		},
		Response: hook.DefineAuthChallengeResponse{ChallengeName: "PASSWORD_VERIFIER"},
	}
	got, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "events", "define-auth-challenge.json"))
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, got, want)
}

// TestEmptyValuesMarshalAsCognitoDoes: handlers index userAttributes and
// the session without checking for null, so empty ones are {} and [];
// optional maps Cognito leaves out are left out.
func TestEmptyValuesMarshalAsCognitoDoes(t *testing.T) {
	tests := []struct {
		name string
		v    interface{ Encode() (*hook.Event, error) }
		want string
	}{
		{"pre sign-up", &hook.PreSignUpEvent{},
			`{"request":{"userAttributes":{}},"response":{"autoConfirmUser":false,"autoVerifyEmail":false,"autoVerifyPhone":false}}`},
		{"define", &hook.DefineAuthChallengeEvent{},
			`{"request":{"userAttributes":{},"session":[],"userNotFound":false},"response":{"issueTokens":false,"failAuthentication":false}}`},
		{"create", &hook.CreateAuthChallengeEvent{},
			`{"request":{"userAttributes":{},"challengeName":"","session":[],"userNotFound":false},"response":{"publicChallengeParameters":{},"privateChallengeParameters":{}}}`},
		{"verify", &hook.VerifyAuthChallengeResponseEvent{},
			`{"request":{"userAttributes":{},"privateChallengeParameters":{},"challengeAnswer":"","userNotFound":false},"response":{"answerCorrect":false}}`},
		{"pre token v1", &hook.PreTokenGenerationEvent{},
			`{"request":{"userAttributes":{},"groupConfiguration":{"groupsToOverride":[],"iamRolesToOverride":[]}},"response":{}}`},
		{"pre token v2", &hook.PreTokenGenerationV2Event{},
			`{"request":{"userAttributes":{},"groupConfiguration":{"groupsToOverride":[],"iamRolesToOverride":[]}},"response":{}}`},
		{"custom sms", &hook.CustomSMSSenderEvent{},
			`{"request":{"type":"","code":"","userAttributes":{}},"response":{}}`},
		{"post confirmation", &hook.PostConfirmationEvent{},
			`{"request":{"userAttributes":{}},"response":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := tt.v.Encode()
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf(`{"request":%s,"response":%s}`, ev.Request, ev.Response)
			assertJSONEqual(t, []byte(got), []byte(tt.want))
		})
	}
}

// TestEventHidesSecrets: a custom sender's code and a challenge's private
// parameters never reach a log line or a formatted value.
func TestEventHidesSecrets(t *testing.T) {
	const code = "493817"
	te := hook.CustomSMSSenderEvent{
		Header:  hook.Header{Version: "1", TriggerSource: hook.SourceCustomSMSSenderAuthentication, UserPoolID: "us-east-1_ABC123"},
		Request: hook.CustomSenderRequest{Type: hook.CustomSMSSenderRequestV1, Code: code},
	}
	ev, err := te.Encode()
	if err != nil {
		t.Fatal(err)
	}
	verify := hook.VerifyAuthChallengeRequest{
		PrivateChallengeParameters: hook.StringMap{"answer": code},
		ChallengeAnswer:            code,
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("x", "event", ev, "raw", *ev, "request", te.Request, "typed", te, "verify", verify)
	for _, s := range []string{
		fmt.Sprint(ev), fmt.Sprintf("%v %+v %#v", *ev, *ev, *ev), fmt.Sprintf("%s", ev),
		fmt.Sprintf("%v %+v %#v", te.Request, te.Request, te.Request),
		fmt.Sprintf("%v %+v", te, te),
		fmt.Sprintf("%v %+v %#v", verify, verify, verify),
		logs.String(),
	} {
		if strings.Contains(s, code) {
			t.Errorf("code leaked: %s", s)
		}
	}
}

func TestTriggerOf(t *testing.T) {
	for source, want := range map[string]string{
		hook.SourcePreSignUpSignUp:                      hook.PreSignUp,
		hook.SourcePreSignUpAdminCreateUser:             hook.PreSignUp,
		hook.SourcePostConfirmationConfirmSignUp:        hook.PostConfirmation,
		hook.SourcePreAuthentication:                    hook.PreAuthentication,
		hook.SourcePostAuthentication:                   hook.PostAuthentication,
		hook.SourceDefineAuthChallenge:                  hook.DefineAuthChallenge,
		hook.SourceCreateAuthChallenge:                  hook.CreateAuthChallenge,
		hook.SourceVerifyAuthChallengeResponse:          hook.VerifyAuthChallengeResponse,
		hook.SourceTokenGenerationAuthentication:        hook.PreTokenGeneration,
		hook.SourceTokenGenerationRefreshTokens:         hook.PreTokenGeneration,
		hook.SourceTokenGenerationNewPasswordChallenge:  hook.PreTokenGeneration,
		hook.SourceTokenGenerationHostedAuth:            hook.PreTokenGeneration,
		hook.SourceCustomSMSSenderSignUp:                hook.CustomSMSSender,
		hook.SourceCustomSMSSenderAuthentication:        hook.CustomSMSSender,
		hook.SourceCustomSMSSenderResendCode:            hook.CustomSMSSender,
		hook.SourceCustomSMSSenderUpdateUserAttribute:   hook.CustomSMSSender,
		hook.SourceCustomSMSSenderVerifyUserAttribute:   hook.CustomSMSSender,
		hook.SourceCustomEmailSenderSignUp:              hook.CustomEmailSender,
		hook.SourceCustomEmailSenderAuthentication:      hook.CustomEmailSender,
		hook.SourceCustomEmailSenderResendCode:          hook.CustomEmailSender,
		hook.SourceCustomEmailSenderUpdateUserAttribute: hook.CustomEmailSender,
		hook.SourceCustomEmailSenderVerifyUserAttribute: hook.CustomEmailSender,
		"PreSignUp_":           "",
		"PreSignUp":            "",
		"CustomMessage_SignUp": "",
		"":                     "",
	} {
		if got := hook.TriggerOf(source); got != want {
			t.Errorf("TriggerOf(%q) = %q, want %q", source, got, want)
		}
	}
	for _, name := range hook.Triggers() {
		if !hook.IsTrigger(name) {
			t.Errorf("IsTrigger(%q) = false", name)
		}
	}
	if hook.IsTrigger("CustomMessage") || hook.IsTrigger("presignup") {
		t.Error("IsTrigger accepts a trigger Latchkey does not have")
	}
}
