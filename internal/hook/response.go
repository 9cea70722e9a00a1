package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// The Decode functions read the response of a filled Event into the
// trigger's response type and check it. Every error is a *pool.Error of
// kind KindInvalidLambdaResponse that says what is wrong; none panics,
// whatever raw holds. An empty raw reads as {} (the hook changed nothing).
//
// PostConfirmation, PreAuthentication, PostAuthentication and the custom
// senders have no Decode function: nothing is read from their answers.

// DecodePreSignUp reads a PreSignUp response.
func DecodePreSignUp(raw json.RawMessage) (PreSignUpResponse, error) {
	var r PreSignUpResponse
	err := decodeResponse(PreSignUp, raw, &r, false)
	return r, err
}

// DecodeDefineAuthChallenge reads a DefineAuthChallenge response. Unless it
// issues tokens or fails the sign-in, it must ask for ChallengeCustom.
func DecodeDefineAuthChallenge(raw json.RawMessage) (DefineAuthChallengeResponse, error) {
	var r DefineAuthChallengeResponse
	if err := decodeResponse(DefineAuthChallenge, raw, &r, false); err != nil {
		return r, err
	}
	if !r.IssueTokens && !r.FailAuthentication && r.ChallengeName != ChallengeCustom {
		if r.ChallengeName == "" {
			return r, invalidError(DefineAuthChallenge, "set issueTokens, failAuthentication, or challengeName to CUSTOM_CHALLENGE")
		}
		return r, invalidError(DefineAuthChallenge, fmt.Sprintf("challengeName %s is not supported; Latchkey supports only CUSTOM_CHALLENGE", quote(r.ChallengeName)))
	}
	return r, nil
}

// DecodeCreateAuthChallenge reads a CreateAuthChallenge response.
func DecodeCreateAuthChallenge(raw json.RawMessage) (CreateAuthChallengeResponse, error) {
	var r CreateAuthChallengeResponse
	if err := decodeResponse(CreateAuthChallenge, raw, &r, false); err != nil {
		return r, err
	}
	for name, m := range map[string]StringMap{
		"publicChallengeParameters":  r.PublicChallengeParameters,
		"privateChallengeParameters": r.PrivateChallengeParameters,
	} {
		if _, ok := m[""]; ok {
			return r, invalidError(CreateAuthChallenge, name+" has an empty key")
		}
	}
	return r, nil
}

// DecodeVerifyAuthChallenge reads a VerifyAuthChallengeResponse response.
func DecodeVerifyAuthChallenge(raw json.RawMessage) (VerifyAuthChallengeResult, error) {
	var r VerifyAuthChallengeResult
	err := decodeResponse(VerifyAuthChallengeResponse, raw, &r, false)
	return r, err
}

// DecodePreTokenGeneration reads a PreTokenGeneration V1_0 response.
func DecodePreTokenGeneration(raw json.RawMessage) (PreTokenGenerationResponse, error) {
	var r PreTokenGenerationResponse
	if err := decodeResponse(PreTokenGeneration, raw, &r, false); err != nil {
		return r, err
	}
	if d := r.ClaimsOverrideDetails; d != nil {
		if err := checkClaims("claimsOverrideDetails", keys(d.ClaimsToAddOrOverride), d.ClaimsToSuppress); err != nil {
			return r, err
		}
	}
	return r, nil
}

// DecodePreTokenGenerationV2 reads a PreTokenGeneration V2_0 response.
func DecodePreTokenGenerationV2(raw json.RawMessage) (PreTokenGenerationV2Response, error) {
	var r PreTokenGenerationV2Response
	if err := decodeResponse(PreTokenGeneration, raw, &r, true); err != nil {
		return r, err
	}
	d := r.ClaimsAndScopeOverrideDetails
	if d == nil {
		return r, nil
	}
	if g := d.IDTokenGeneration; g != nil {
		if err := checkClaims("idTokenGeneration", keys(g.ClaimsToAddOrOverride), g.ClaimsToSuppress); err != nil {
			return r, err
		}
	}
	if g := d.AccessTokenGeneration; g != nil {
		if err := checkClaims("accessTokenGeneration", keys(g.ClaimsToAddOrOverride), g.ClaimsToSuppress); err != nil {
			return r, err
		}
		for _, list := range []struct {
			name   string
			scopes []string
		}{{"scopesToAdd", g.ScopesToAdd}, {"scopesToSuppress", g.ScopesToSuppress}} {
			for _, s := range list.scopes {
				if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
					return r, invalidError(PreTokenGeneration, fmt.Sprintf("accessTokenGeneration.%s has an invalid scope %s", list.name, quote(s)))
				}
			}
		}
	}
	return r, nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// checkClaims refuses empty claim names.
func checkClaims(where string, add, suppress []string) error {
	for _, k := range add {
		if k == "" {
			return invalidError(PreTokenGeneration, where+".claimsToAddOrOverride has an empty claim name")
		}
	}
	for _, k := range suppress {
		if k == "" {
			return invalidError(PreTokenGeneration, where+".claimsToSuppress has an empty claim name")
		}
	}
	return nil
}

// decodeResponse unmarshals a response object into v, turning every
// failure into an InvalidLambdaResponse error that names the field.
func decodeResponse(trigger string, raw json.RawMessage, v any, useNumber bool) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := checkObject(trigger, "response", raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if useNumber {
		dec.UseNumber()
	}
	if err := dec.Decode(v); err != nil {
		return invalidError(trigger, describeJSONError(err, reflect.TypeOf(v)))
	}
	return nil
}

// checkObject checks that raw is one JSON object.
func checkObject(trigger, what string, raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if !json.Valid(raw) {
		return invalidError(trigger, what+" is not valid JSON")
	}
	if raw[0] != '{' {
		return invalidError(trigger, fmt.Sprintf("%s must be a JSON object, not %s", what, jsonKind(raw[0])))
	}
	return nil
}

// describeJSONError says what is wrong with a response in the terms of its
// JSON: which field, what it should be. target is the type decoded into.
func describeJSONError(err error, target reflect.Type) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "response"
		}
		// encoding/json names the map or array, not the element, when an
		// element has the wrong type.
		if ft := fieldType(target, te.Field); ft != nil && ft != te.Type {
			switch ft.Kind() {
			case reflect.Map:
				return fmt.Sprintf("%s values must be %s, not %s", quoteField(field), jsonWant(te.Type), article(te.Value))
			case reflect.Slice:
				return fmt.Sprintf("%s entries must be %s, not %s", quoteField(field), jsonWant(te.Type), article(te.Value))
			}
		}
		return fmt.Sprintf("%s must be %s, not %s", quoteField(field), jsonWant(te.Type), article(te.Value))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("response is not valid JSON (at byte %d)", se.Offset)
	}
	return "response cannot be read"
}

// fieldType follows a dotted path of JSON field names from t, a struct
// type or a pointer to one, and returns the type found, or nil.
func fieldType(t reflect.Type, path string) reflect.Type {
	if t == nil || path == "" {
		return nil
	}
	for name := range strings.SplitSeq(path, ".") {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		var next reflect.Type
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == name {
				next = f.Type
				break
			}
		}
		if next == nil {
			return nil
		}
		t = next
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// quoteField shows a field path, which may hold a hook's map keys.
func quoteField(f string) string {
	const max = 96
	if len(f) > max || strings.ContainsFunc(f, func(r rune) bool { return r < ' ' || r == '"' }) {
		return quote(f)
	}
	return f
}

// jsonWant names the JSON a Go type is read from.
func jsonWant(t reflect.Type) string {
	if t == nil {
		return "a valid value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Map, reflect.Struct:
		if t.Kind() == reflect.Map && t.Elem().Kind() == reflect.String {
			return "an object of strings"
		}
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.String {
			return "an array of strings"
		}
		return "an array"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonWant(t.Elem())
	}
	return "a valid value"
}

// article puts the JSON kind encoding/json reports into words.
func article(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "a boolean"
	case "array":
		return "an array"
	case "object":
		return "an object"
	}
	if strings.HasPrefix(kind, "number ") {
		return "a number"
	}
	return kind
}

// jsonKind names the kind of a JSON value from its first byte.
func jsonKind(b byte) string {
	switch b {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// checkResponse checks a filled response with the trigger's Decode
// function, so an Invoker reports a wrong shape itself. version is the
// event's version field, which tells PreTokenGeneration's V1_0 and V2_0
// apart.
func checkResponse(trigger, version string, raw json.RawMessage) error {
	var err error
	switch trigger {
	case PreSignUp:
		_, err = DecodePreSignUp(raw)
	case DefineAuthChallenge:
		_, err = DecodeDefineAuthChallenge(raw)
	case CreateAuthChallenge:
		_, err = DecodeCreateAuthChallenge(raw)
	case VerifyAuthChallengeResponse:
		_, err = DecodeVerifyAuthChallenge(raw)
	case PreTokenGeneration:
		if version == EventVersion(LambdaV2) {
			_, err = DecodePreTokenGenerationV2(raw)
		} else {
			_, err = DecodePreTokenGeneration(raw)
		}
	}
	return err
}

// emptyObject returns the response of a hook that changed nothing.
func emptyObject() json.RawMessage { return json.RawMessage("{}") }

// answerResponse takes the response out of a webhook's answer, which must
// be the event (a JSON object) with its response filled. A missing or null
// response reads as {}.
func answerResponse(trigger string, body []byte) (json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, invalidError(trigger, "the answer is empty; answer with the event, its response filled")
	}
	if !json.Valid(body) {
		return nil, invalidError(trigger, "the answer is not JSON; answer with the event, its response filled")
	}
	if body[0] != '{' {
		return nil, invalidError(trigger, fmt.Sprintf("the answer must be the event (a JSON object), not %s", jsonKind(body[0])))
	}
	var answer struct {
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, invalidError(trigger, describeJSONError(err, nil))
	}
	return normalizeResponse(trigger, answer.Response)
}

// normalizeResponse checks that a response is a JSON object, reading an
// empty or null one as {}.
func normalizeResponse(trigger string, raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return emptyObject(), nil
	}
	if err := checkObject(trigger, "response", raw); err != nil {
		return nil, err
	}
	return raw, nil
}
