package cognito

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// newTestHandler returns a Handler without an engine. It may only be given
// inputs that fail decoding or validation: those return before h.engine is
// used.
func newTestHandler() *Handler {
	return NewHandler(nil, slog.New(slog.DiscardHandler))
}

// callOp runs operation name on body, which the caller expects to be
// rejected before the engine. An input that gets through would dereference
// the nil engine; that is turned into a readable failure instead of a bare
// nil-pointer panic.
func callOp(t *testing.T, h *Handler, name, body string) (err error) {
	t.Helper()
	op := h.ops[name]
	if op == nil {
		t.Fatalf("no operation %s", name)
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s(%s) passed decoding and validation and reached the nil engine: %v", name, truncate(body, 200), r)
		}
	}()
	_, err = op(context.Background(), []byte(body))
	return err
}

// apiErrorOf asserts that err is an *apiError of type wantType with status 400.
func apiErrorOf(t *testing.T, err error, wantType string) *apiError {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *apiError", err, err)
	}
	if ae.Type != wantType {
		t.Fatalf("type = %s (%q), want %s", ae.Type, ae.Message, wantType)
	}
	if ae.Status != 400 {
		t.Errorf("status = %d, want 400", ae.Status)
	}
	return ae
}

func TestDecodeErrors(t *testing.T) {
	const (
		serialization = "SerializationException"
		invalid       = "InvalidParameterException"
	)
	deep := `{"ClientId":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`
	tests := []struct {
		name, op, body string
		wantType       string
		want           []string // substrings of the message that name the problem
	}{
		// An absent body is an empty request, as the SDKs send for members
		// that are all optional; required members are then reported.
		{"empty body", "InitiateAuth", "", invalid, []string{"Value null at 'clientId'", "Member must not be null"}},
		{"whitespace body", "ResendConfirmationCode", " \r\n\t", invalid, []string{"Value null at 'clientId'"}},

		{"null", "InitiateAuth", `null`, serialization, []string{"must be a JSON object"}},
		{"array", "InitiateAuth", `[]`, serialization, []string{"must be a JSON object"}},
		{"string", "InitiateAuth", `"str"`, serialization, []string{"must be a JSON object"}},
		{"number", "InitiateAuth", `123`, serialization, []string{"must be a JSON object"}},

		{"truncated", "InitiateAuth", `{"ClientId":`, serialization, []string{"not valid JSON", "ends before the object is complete"}},
		{"syntax error", "InitiateAuth", `{"ClientId":'abc'}`, serialization, []string{"not valid JSON", "at byte 13"}},
		{"trailing garbage", "InitiateAuth", `{} x`, serialization, []string{"data after the JSON object"}},
		{"two objects", "InitiateAuth", `{}{}`, serialization, []string{"data after the JSON object"}},
		// encoding/json would silently turn invalid UTF-8 into U+FFFD, which
		// the username pattern accepts (it is a symbol).
		{"invalid UTF-8 in a member", "SignUp", "{\"ClientId\":\"abc\",\"Username\":\"a\xffb\"}", serialization, []string{"not valid UTF-8"}},
		{"invalid UTF-8 in an unknown member", "InitiateAuth", "{\"Future\":\"\xc3\x28\"}", serialization, []string{"not valid UTF-8"}},

		{"string member as number", "InitiateAuth", `{"ClientId":5}`, serialization, []string{"Member ClientId must be of type string, not a JSON number"}},
		{"string member as object", "GetUser", `{"AccessToken":{}}`, serialization, []string{"Member AccessToken must be of type string, not a JSON object"}},
		{"map member as string", "InitiateAuth", `{"AuthParameters":"x"}`, serialization, []string{"Member AuthParameters must be of type object, not a JSON string"}},
		{"map value as number", "InitiateAuth", `{"AuthParameters":{"USERNAME":5}}`, serialization, []string{"Member AuthParameters", "not a JSON number"}},
		{"list member as object", "SignUp", `{"UserAttributes":{}}`, serialization, []string{"Member UserAttributes must be of type list, not a JSON object"}},
		{"list element member as number", "SignUp", `{"UserAttributes":[{"Name":1}]}`, serialization, []string{"Member UserAttributes.Name must be of type string, not a JSON number"}},
		{"boolean member as string", "ConfirmSignUp", `{"ForceAliasCreation":"yes"}`, serialization, []string{"Member ForceAliasCreation must be of type boolean, not a JSON string"}},

		{"nested 100 deep", "InitiateAuth", deep, serialization, []string{"nests deeper than 16 levels"}},
		// Brackets inside strings are text, not nesting.
		{"brackets in a string", "InitiateAuth", `{"AuthFlow":"USER_AUTH","ClientId":"` + strings.Repeat("[", 100) + `"}`, invalid, []string{"at 'clientId'", "regular expression pattern"}},
		// Unknown members are ignored so newer SDKs keep working.
		{"unknown members", "InitiateAuth", `{"AuthFlow":"USER_AUTH","Future":{"x":[1,{"y":null}]}}`, invalid, []string{"1 validation error detected: Value null at 'clientId'"}},
	}
	h := newTestHandler()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ae := apiErrorOf(t, callOp(t, h, tc.op, tc.body), tc.wantType)
			for _, w := range tc.want {
				if !strings.Contains(ae.Message, w) {
					t.Errorf("message %q does not contain %q", ae.Message, w)
				}
			}
		})
	}
}

func TestValidationErrors(t *testing.T) {
	const (
		id      = "abcdefghijklmnopqrstuvwxyz"
		pattern = "Member must satisfy regular expression pattern: "
	)
	authParams := make([]string, 0, 65)
	for i := range 65 {
		authParams = append(authParams, fmt.Sprintf(`"K%d":"hunter2"`, i))
	}
	long := func(s string, n int) string { return strings.Repeat(s, n) }
	password := long("pw-", 100) // 300 characters

	tests := []struct {
		name, op, body string
		want           string // the whole message
		secret         string // must not appear in the message, nor its first 64 characters
	}{
		{name: "missing ClientId", op: "InitiateAuth", body: `{"AuthFlow":"USER_AUTH"}`,
			want: "1 validation error detected: Value null at 'clientId' failed to satisfy constraint: Member must not be null"},
		{name: "empty ClientId", op: "ResendConfirmationCode", body: `{"ClientId":"","Username":"u"}`,
			want: "1 validation error detected: Value null at 'clientId' failed to satisfy constraint: Member must not be null"},
		{name: "missing Username", op: "SignUp", body: `{"ClientId":"` + id + `"}`,
			want: "1 validation error detected: Value null at 'username' failed to satisfy constraint: Member must not be null"},
		{name: "missing AuthFlow", op: "InitiateAuth", body: `{"ClientId":"` + id + `"}`,
			want: "1 validation error detected: Value null at 'authFlow' failed to satisfy constraint: Member must not be null"},
		{name: "missing ChallengeName", op: "RespondToAuthChallenge", body: `{"ClientId":"` + id + `"}`,
			want: "1 validation error detected: Value null at 'challengeName' failed to satisfy constraint: Member must not be null"},
		{name: "missing ConfirmationCode", op: "ConfirmSignUp", body: `{"ClientId":"` + id + `","Username":"u"}`,
			want: "1 validation error detected: Value null at 'confirmationCode' failed to satisfy constraint: Member must not be null"},
		{name: "missing RefreshToken", op: "GetTokensFromRefreshToken", body: `{"ClientId":"` + id + `"}`,
			want: "1 validation error detected: Value null at 'refreshToken' failed to satisfy constraint: Member must not be null"},
		{name: "missing Token", op: "RevokeToken", body: `{"ClientId":"` + id + `"}`,
			want: "1 validation error detected: Value null at 'token' failed to satisfy constraint: Member must not be null"},
		{name: "missing AccessToken GetUser", op: "GetUser", body: `{}`,
			want: "1 validation error detected: Value null at 'accessToken' failed to satisfy constraint: Member must not be null"},
		{name: "missing AccessToken GlobalSignOut", op: "GlobalSignOut", body: `{"AccessToken":null}`,
			want: "1 validation error detected: Value null at 'accessToken' failed to satisfy constraint: Member must not be null"},
		{name: "missing AccessToken DeleteUser", op: "DeleteUser", body: ``,
			want: "1 validation error detected: Value null at 'accessToken' failed to satisfy constraint: Member must not be null"},

		{name: "ClientId with a space", op: "InitiateAuth", body: `{"AuthFlow":"USER_AUTH","ClientId":"abc def"}`,
			want: `1 validation error detected: Value 'abc def' at 'clientId' failed to satisfy constraint: ` + pattern + `[\w+]+`},
		{name: "ClientId with a slash", op: "InitiateAuth", body: `{"AuthFlow":"USER_AUTH","ClientId":"a/b"}`,
			want: `1 validation error detected: Value 'a/b' at 'clientId' failed to satisfy constraint: ` + pattern + `[\w+]+`},
		// Echoed values are cut to 64 characters.
		{name: "ClientId of 129 characters", op: "InitiateAuth", body: `{"AuthFlow":"USER_AUTH","ClientId":"` + long("a", 129) + `"}`,
			want: "1 validation error detected: Value '" + long("a", 64) + "…' at 'clientId' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{name: "ClientId of 128 characters is fine", op: "InitiateAuth", body: `{"ClientId":"` + long("a", 128) + `"}`,
			want: "1 validation error detected: Value null at 'authFlow' failed to satisfy constraint: Member must not be null"},
		// Lengths count characters, not bytes.
		{name: "Username of 129 characters", op: "SignUp", body: `{"ClientId":"` + id + `","Username":"` + long("é", 129) + `"}`,
			want: "1 validation error detected: Value '" + long("é", 64) + "…' at 'username' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{name: "Username with a space", op: "ResendConfirmationCode", body: `{"ClientId":"` + id + `","Username":"a b"}`,
			want: `1 validation error detected: Value 'a b' at 'username' failed to satisfy constraint: ` + pattern + `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`},
		{name: "attribute name too long", op: "SignUp", body: `{"ClientId":"` + id + `","Username":"u","UserAttributes":[{"Name":"` + long("n", 40) + `","Value":"v"}]}`,
			want: "1 validation error detected: Value '" + long("n", 40) + "' at 'userAttributes.member.name' failed to satisfy constraint: Member must have length less than or equal to 32"},
		{name: "attribute without a name", op: "SignUp", body: `{"ClientId":"` + id + `","Username":"u","UserAttributes":[{"Value":"a@example.com"}]}`,
			want: "1 validation error detected: Value null at 'userAttributes.member.name' failed to satisfy constraint: Member must not be null", secret: "a@example.com"},

		{name: "Session too short", op: "InitiateAuth", body: `{"AuthFlow":"USER_AUTH","ClientId":"` + id + `","Session":"short"}`,
			want: "1 validation error detected: Value at 'session' failed to satisfy constraint: Member must have length greater than or equal to 20", secret: "short"},
		{name: "Session too long", op: "RespondToAuthChallenge", body: `{"ChallengeName":"EMAIL_OTP","ClientId":"` + id + `","Session":"` + long("s", 2049) + `"}`,
			want: "1 validation error detected: Value at 'session' failed to satisfy constraint: Member must have length less than or equal to 2048", secret: long("s", 2049)},
		{name: "SecretHash with illegal characters", op: "SignUp", body: `{"ClientId":"` + id + `","Username":"u","SecretHash":"bad hash!"}`,
			want: `1 validation error detected: Value at 'secretHash' failed to satisfy constraint: ` + pattern + `[\w+=/]+`, secret: "bad hash!"},
		{name: "AccessToken with spaces", op: "GetUser", body: `{"AccessToken":"bad token"}`,
			want: `1 validation error detected: Value at 'accessToken' failed to satisfy constraint: ` + pattern + `[A-Za-z0-9\-_=.]+`, secret: "bad token"},
		{name: "RefreshToken with spaces", op: "GetTokensFromRefreshToken", body: `{"ClientId":"` + id + `","RefreshToken":"bad refresh"}`,
			want: `1 validation error detected: Value at 'refreshToken' failed to satisfy constraint: ` + pattern + `[A-Za-z0-9\-_=.]+`, secret: "bad refresh"},
		{name: "Token with spaces", op: "RevokeToken", body: `{"ClientId":"` + id + `","Token":"bad revoke"}`,
			want: `1 validation error detected: Value at 'token' failed to satisfy constraint: ` + pattern + `[A-Za-z0-9\-_=.]+`, secret: "bad revoke"},
		{name: "ClientSecret with illegal characters", op: "GetTokensFromRefreshToken", body: `{"ClientId":"` + id + `","RefreshToken":"r","ClientSecret":"s3cr3t!?s3cr3t!?s3cr3t!?"}`,
			want: `1 validation error detected: Value at 'clientSecret' failed to satisfy constraint: ` + pattern + `[\w+]+`, secret: "s3cr3t!?s3cr3t!?s3cr3t!?"},
		{name: "ConfirmationCode with a space", op: "ConfirmSignUp", body: `{"ClientId":"` + id + `","Username":"u","ConfirmationCode":"12 34"}`,
			want: `1 validation error detected: Value at 'confirmationCode' failed to satisfy constraint: ` + pattern + `\S+`, secret: "12 34"},
		{name: "Password of 300 characters", op: "SignUp", body: `{"ClientId":"` + id + `","Username":"u","Password":"` + password + `"}`,
			want: "1 validation error detected: Value at 'password' failed to satisfy constraint: Member must have length less than or equal to 256", secret: password},

		{name: "65 AuthParameters", op: "InitiateAuth", body: `{"AuthFlow":"USER_AUTH","ClientId":"` + id + `","AuthParameters":{` + strings.Join(authParams, ",") + `}}`,
			want: "1 validation error detected: Value at 'authParameters' failed to satisfy constraint: Member must have at most 64 entries", secret: "hunter2"},
		{name: "ClientMetadata value too long", op: "ResendConfirmationCode", body: `{"ClientId":"` + id + `","Username":"u","ClientMetadata":{"k":"` + long("m", 4097) + `"}}`,
			want: "1 validation error detected: Value at 'clientMetadata' failed to satisfy constraint: Member keys must have at most 256 characters and values at most 4096", secret: long("m", 4097)},

		{name: "two problems", op: "InitiateAuth", body: `{}`,
			want: "2 validation errors detected: Value null at 'authFlow' failed to satisfy constraint: Member must not be null; Value null at 'clientId' failed to satisfy constraint: Member must not be null"},
		{name: "three problems, one secret", op: "ConfirmSignUp", body: `{"ClientId":"a b","ConfirmationCode":"12 34"}`,
			want: `3 validation errors detected: Value 'a b' at 'clientId' failed to satisfy constraint: ` + pattern + `[\w+]+` +
				"; Value null at 'username' failed to satisfy constraint: Member must not be null" +
				`; Value at 'confirmationCode' failed to satisfy constraint: ` + pattern + `\S+`,
			secret: "12 34"},
	}
	h := newTestHandler()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ae := apiErrorOf(t, callOp(t, h, tc.op, tc.body), "InvalidParameterException")
			if ae.Message != tc.want {
				t.Errorf("message:\n got %q\nwant %q", ae.Message, tc.want)
			}
			if tc.secret != "" && (strings.Contains(ae.Message, tc.secret) || strings.Contains(ae.Message, truncate(tc.secret, 64))) {
				t.Errorf("message %q echoes the secret %q", ae.Message, truncate(tc.secret, 64))
			}
		})
	}
}

// TestDecodeSDKRequests decodes requests as the AWS SDKs send them, to pin
// the member names the structs rely on (encoding/json matches them
// case-insensitively, but the SDKs always use Cognito's spelling).
func TestDecodeSDKRequests(t *testing.T) {
	var ia initiateAuthRequest
	body := `{"AuthFlow":"USER_AUTH","AuthParameters":{"USERNAME":"a@example.com","PREFERRED_CHALLENGE":"EMAIL_OTP"},"ClientId":"abcdefghijklmnopqrstuvwxyz","ClientMetadata":{"k":"v"}}`
	if err := decode([]byte(body), &ia); err != nil {
		t.Fatal(err)
	}
	if ia.AuthFlow != "USER_AUTH" || ia.ClientId != "abcdefghijklmnopqrstuvwxyz" ||
		ia.AuthParameters["USERNAME"] != "a@example.com" || ia.AuthParameters["PREFERRED_CHALLENGE"] != "EMAIL_OTP" || ia.ClientMetadata["k"] != "v" {
		t.Errorf("decoded %+v", ia)
	}

	var su signUpRequest
	body = `{"ClientId":"c","Password":"x","SecretHash":"h=","UserAttributes":[{"Name":"email","Value":"a@example.com"}],"Username":"a@example.com","ValidationData":[{"Name":"n","Value":"v"}]}`
	if err := decode([]byte(body), &su); err != nil {
		t.Fatal(err)
	}
	if su.Username != "a@example.com" || su.SecretHash != "h=" || len(su.UserAttributes) != 1 ||
		su.UserAttributes[0] != (attributeType{Name: "email", Value: "a@example.com"}) || len(su.ValidationData) != 1 {
		t.Errorf("decoded %+v", su)
	}

	// JSON escapes decode to the characters they stand for.
	var at accessTokenRequest
	if err := decode([]byte(` {"AccessToken":"a\u002eb\/c"} `), &at); err != nil {
		t.Fatal(err)
	}
	if at.AccessToken != "a.b/c" {
		t.Errorf("AccessToken = %q", at.AccessToken)
	}
}
