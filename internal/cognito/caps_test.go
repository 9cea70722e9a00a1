package cognito

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// capRequests makes an empty request of each operation, to decode into.
var capRequests = map[string]func() request{
	"SignUp":                           func() request { return &signUpRequest{} },
	"ConfirmSignUp":                    func() request { return &confirmSignUpRequest{} },
	"ResendConfirmationCode":           func() request { return &resendConfirmationCodeRequest{} },
	"InitiateAuth":                     func() request { return &initiateAuthRequest{} },
	"RespondToAuthChallenge":           func() request { return &respondToAuthChallengeRequest{} },
	"GetTokensFromRefreshToken":        func() request { return &getTokensFromRefreshTokenRequest{} },
	"GetUser":                          func() request { return &accessTokenRequest{} },
	"GlobalSignOut":                    func() request { return &accessTokenRequest{} },
	"DeleteUser":                       func() request { return &accessTokenRequest{} },
	"RevokeToken":                      func() request { return &revokeTokenRequest{} },
	"UpdateUserAttributes":             func() request { return &updateUserAttributesRequest{} },
	"GetUserAttributeVerificationCode": func() request { return &getUserAttributeVerificationCodeRequest{} },
	"VerifyUserAttribute":              func() request { return &verifyUserAttributeRequest{} },
}

const capClientID = "abcdefghijklmnopqrstuvwxyz"

// capBase returns a valid request body of op, as a JSON object to modify.
func capBase(op string) map[string]any {
	const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	session := strings.Repeat("S", 64)
	switch op {
	case "SignUp":
		return map[string]any{"ClientId": capClientID, "Username": "+14155552671", "Password": "Dummy-Passw0rd!", "SecretHash": "aGFzaA==",
			"UserAttributes": []any{map[string]any{"Name": "email", "Value": "a@example.com"}},
			"ValidationData": []any{map[string]any{"Name": "v", "Value": "x"}},
			"ClientMetadata": map[string]any{"k": "v"}}
	case "ConfirmSignUp":
		return map[string]any{"ClientId": capClientID, "Username": "+14155552671", "ConfirmationCode": "123456", "SecretHash": "aGFzaA==", "Session": session, "ClientMetadata": map[string]any{}}
	case "ResendConfirmationCode":
		return map[string]any{"ClientId": capClientID, "Username": "a@example.com", "SecretHash": "aGFzaA=="}
	case "InitiateAuth":
		return map[string]any{"AuthFlow": "USER_AUTH", "ClientId": capClientID, "AuthParameters": map[string]any{"USERNAME": "a@example.com"}, "Session": session}
	case "RespondToAuthChallenge":
		return map[string]any{"ClientId": capClientID, "ChallengeName": "EMAIL_OTP", "Session": session, "ChallengeResponses": map[string]any{"USERNAME": "a@example.com", "EMAIL_OTP_CODE": "123456"}}
	case "GetTokensFromRefreshToken":
		return map[string]any{"ClientId": capClientID, "RefreshToken": "opaque-refresh.token", "ClientSecret": strings.Repeat("c", 51), "DeviceKey": "us-east-1_0f0f0f0f-0000-4000-8000-000000000000"}
	case "GetUser", "GlobalSignOut", "DeleteUser":
		return map[string]any{"AccessToken": token}
	case "RevokeToken":
		return map[string]any{"ClientId": capClientID, "Token": "opaque-refresh.token", "ClientSecret": strings.Repeat("c", 51)}
	case "UpdateUserAttributes":
		return map[string]any{"AccessToken": token, "UserAttributes": []any{map[string]any{"Name": "name", "Value": "Alice"}}}
	case "GetUserAttributeVerificationCode":
		return map[string]any{"AccessToken": token, "AttributeName": "email"}
	case "VerifyUserAttribute":
		return map[string]any{"AccessToken": token, "AttributeName": "email", "Code": "123456"}
	}
	panic("no base request for " + op)
}

// fieldCap is one capped member: setting it to a value of size n (in
// characters, entries or list elements) must pass validation for
// min <= n <= max and fail with the constraint's message outside.
type fieldCap struct {
	op, field string
	member    string // the member name in the message
	min, max  int
	kind      string // "length", "entries", "mapkey", "mapvalue"
	secret    bool
	set       func(body map[string]any, n int) string // returns the value set, for leak checks
}

func setString(name, fill string) func(map[string]any, int) string {
	return func(b map[string]any, n int) string {
		v := strings.Repeat(fill, n)
		b[name] = v
		return v
	}
}

// setPatterned fills to n characters after a fixed prefix, for patterns
// that need one (DeviceKey: region_hex).
func setPatterned(name, prefix, fill string) func(map[string]any, int) string {
	return func(b map[string]any, n int) string {
		v := prefix + strings.Repeat(fill, n-len(prefix))
		b[name] = v
		return v
	}
}

func setMapEntries(name string) func(map[string]any, int) string {
	return func(b map[string]any, n int) string {
		m := map[string]any{}
		for i := range n {
			m[fmt.Sprintf("K%03d", i)] = "hunter2-value"
		}
		b[name] = m
		return "hunter2-value"
	}
}

func setMapKey(name string) func(map[string]any, int) string {
	return func(b map[string]any, n int) string {
		k := strings.Repeat("k", n)
		b[name] = map[string]any{k: "v"}
		return k
	}
}

func setMapValue(name string) func(map[string]any, int) string {
	return func(b map[string]any, n int) string {
		v := strings.Repeat("v", n)
		b[name] = map[string]any{"USERNAME": v}
		return v
	}
}

func setAttributes(name string) func(map[string]any, int) string {
	return func(b map[string]any, n int) string {
		list := make([]any, n)
		for i := range list {
			list[i] = map[string]any{"Name": fmt.Sprintf("custom:a%03d", i), "Value": "private@example.com"}
		}
		b[name] = list
		return "private@example.com"
	}
}

func setAttributeName(name string) func(map[string]any, int) string {
	return func(b map[string]any, n int) string {
		v := strings.Repeat("n", n)
		b[name] = []any{map[string]any{"Name": v, "Value": "x"}}
		return v
	}
}

func setAttributeValue(name string) func(map[string]any, int) string {
	return func(b map[string]any, n int) string {
		v := strings.Repeat("é", n) // characters, not bytes
		b[name] = []any{map[string]any{"Name": "name", "Value": v}}
		return v
	}
}

// capTable lists every capped member of every operation with the cap
// Cognito documents for it (see the comments on the rules in decode.go and
// the constants in operations.go).
func capTable() []fieldCap {
	var caps []fieldCap
	add := func(c fieldCap) { caps = append(caps, c) }
	clientID := func(op string) {
		add(fieldCap{op: op, field: "ClientId", member: "clientId", min: 1, max: 128, kind: "length", set: setString("ClientId", "a")})
	}
	username := func(op string) {
		add(fieldCap{op: op, field: "Username", member: "username", min: 1, max: 128, kind: "length", set: setString("Username", "ü")})
	}
	secretHash := func(op string) {
		add(fieldCap{op: op, field: "SecretHash", member: "secretHash", min: 1, max: 128, kind: "length", secret: true, set: setString("SecretHash", "h")})
	}
	session := func(op string) {
		add(fieldCap{op: op, field: "Session", member: "session", min: 20, max: 2048, kind: "length", secret: true, set: setString("Session", "s")})
	}
	metadata := func(op string) {
		add(fieldCap{op: op, field: "ClientMetadata entries", member: "clientMetadata", max: maxMapEntries, kind: "entries", secret: true, set: setMapEntries("ClientMetadata")})
		add(fieldCap{op: op, field: "ClientMetadata key", member: "clientMetadata", max: maxMapKey, kind: "mapkey", secret: true, set: setMapKey("ClientMetadata")})
		add(fieldCap{op: op, field: "ClientMetadata value", member: "clientMetadata", max: maxMapValue, kind: "mapvalue", secret: true, set: setMapValue("ClientMetadata")})
	}
	attributes := func(op, field, member string, hideNames bool) {
		add(fieldCap{op: op, field: field + " count", member: member, max: maxUserAttributes, kind: "entries", secret: true, set: setAttributes(field)})
		add(fieldCap{op: op, field: field + ".Name", member: member + ".member.name", min: 1, max: 32, kind: "length", secret: hideNames, set: setAttributeName(field)})
		add(fieldCap{op: op, field: field + ".Value", member: member + ".member.value", max: 2048, kind: "length", secret: true, set: setAttributeValue(field)})
	}
	accessToken := func(op string) {
		add(fieldCap{op: op, field: "AccessToken", member: "accessToken", min: 1, max: maxTokenLength, kind: "length", secret: true, set: setString("AccessToken", "t")})
	}
	clientSecret := func(op string) {
		add(fieldCap{op: op, field: "ClientSecret", member: "clientSecret", min: 24, max: 64, kind: "length", secret: true, set: setString("ClientSecret", "c")})
	}

	clientID("SignUp")
	username("SignUp")
	secretHash("SignUp")
	add(fieldCap{op: "SignUp", field: "Password", member: "password", max: 256, kind: "length", secret: true, set: setString("Password", "p")})
	attributes("SignUp", "UserAttributes", "userAttributes", false)
	attributes("SignUp", "ValidationData", "validationData", true)
	metadata("SignUp")

	clientID("ConfirmSignUp")
	username("ConfirmSignUp")
	add(fieldCap{op: "ConfirmSignUp", field: "ConfirmationCode", member: "confirmationCode", min: 1, max: 2048, kind: "length", secret: true, set: setString("ConfirmationCode", "9")})
	secretHash("ConfirmSignUp")
	session("ConfirmSignUp")
	metadata("ConfirmSignUp")

	clientID("ResendConfirmationCode")
	username("ResendConfirmationCode")
	secretHash("ResendConfirmationCode")
	metadata("ResendConfirmationCode")

	add(fieldCap{op: "InitiateAuth", field: "AuthFlow", member: "authFlow", min: 1, max: maxEnumMemberLength, kind: "length", set: setString("AuthFlow", "F")})
	clientID("InitiateAuth")
	session("InitiateAuth")
	add(fieldCap{op: "InitiateAuth", field: "AuthParameters entries", member: "authParameters", max: maxMapEntries, kind: "entries", secret: true, set: setMapEntries("AuthParameters")})
	add(fieldCap{op: "InitiateAuth", field: "AuthParameters key", member: "authParameters", max: maxMapKey, kind: "mapkey", secret: true, set: setMapKey("AuthParameters")})
	add(fieldCap{op: "InitiateAuth", field: "AuthParameters value", member: "authParameters", max: maxAuthParamValue, kind: "mapvalue", secret: true, set: setMapValue("AuthParameters")})
	metadata("InitiateAuth")

	clientID("RespondToAuthChallenge")
	add(fieldCap{op: "RespondToAuthChallenge", field: "ChallengeName", member: "challengeName", min: 1, max: maxEnumMemberLength, kind: "length", set: setString("ChallengeName", "C")})
	session("RespondToAuthChallenge")
	add(fieldCap{op: "RespondToAuthChallenge", field: "ChallengeResponses entries", member: "challengeResponses", max: maxMapEntries, kind: "entries", secret: true, set: setMapEntries("ChallengeResponses")})
	add(fieldCap{op: "RespondToAuthChallenge", field: "ChallengeResponses key", member: "challengeResponses", max: maxMapKey, kind: "mapkey", secret: true, set: setMapKey("ChallengeResponses")})
	add(fieldCap{op: "RespondToAuthChallenge", field: "ChallengeResponses value", member: "challengeResponses", max: maxMapValue, kind: "mapvalue", secret: true, set: setMapValue("ChallengeResponses")})
	metadata("RespondToAuthChallenge")

	add(fieldCap{op: "GetTokensFromRefreshToken", field: "RefreshToken", member: "refreshToken", min: 1, max: maxTokenLength, kind: "length", secret: true, set: setString("RefreshToken", "r")})
	clientID("GetTokensFromRefreshToken")
	clientSecret("GetTokensFromRefreshToken")
	// DeviceKey's minimum of 1 is moot: its pattern needs 3 characters.
	add(fieldCap{op: "GetTokensFromRefreshToken", field: "DeviceKey", member: "deviceKey", max: 55, kind: "length", secret: true, set: setPatterned("DeviceKey", "a_", "0")})
	metadata("GetTokensFromRefreshToken")

	accessToken("GetUser")
	accessToken("GlobalSignOut")
	accessToken("DeleteUser")

	add(fieldCap{op: "RevokeToken", field: "Token", member: "token", min: 1, max: maxTokenLength, kind: "length", secret: true, set: setString("Token", "r")})
	clientID("RevokeToken")
	clientSecret("RevokeToken")

	accessToken("UpdateUserAttributes")
	attributes("UpdateUserAttributes", "UserAttributes", "userAttributes", false)
	metadata("UpdateUserAttributes")

	accessToken("GetUserAttributeVerificationCode")
	add(fieldCap{op: "GetUserAttributeVerificationCode", field: "AttributeName", member: "attributeName", min: 1, max: 32, kind: "length", set: setString("AttributeName", "n")})
	metadata("GetUserAttributeVerificationCode")

	accessToken("VerifyUserAttribute")
	add(fieldCap{op: "VerifyUserAttribute", field: "AttributeName", member: "attributeName", min: 1, max: 32, kind: "length", set: setString("AttributeName", "n")})
	add(fieldCap{op: "VerifyUserAttribute", field: "Code", member: "code", min: 1, max: 2048, kind: "length", secret: true, set: setString("Code", "9")})
	return caps
}

func (c fieldCap) constraint(n int) string {
	switch {
	case c.kind == "entries":
		return fmt.Sprintf("Member must have at most %d entries", c.max)
	case c.kind == "mapkey" || c.kind == "mapvalue":
		max := c.max
		if c.kind == "mapkey" {
			// The message names the value cap of that map alongside.
			max = maxMapValue
			if c.member == "authParameters" {
				max = maxAuthParamValue
			}
		}
		return fmt.Sprintf("Member keys must have at most %d characters and values at most %d", maxMapKey, max)
	case n < c.min:
		return fmt.Sprintf("Member must have length greater than or equal to %d", c.min)
	default:
		return fmt.Sprintf("Member must have length less than or equal to %d", c.max)
	}
}

// TestFieldCaps sets every capped member to its cap (accepted) and one past
// it (rejected with a 400 InvalidParameterException naming the member and
// the cap, over HTTP as the SDKs see it), and, for members with a minimum
// above 1, one below the minimum. Secret members are never quoted.
func TestFieldCaps(t *testing.T) {
	h := newTestHandler()
	covered := map[string]bool{}
	for _, c := range capTable() {
		covered[c.op] = true
		t.Run(c.op+"/"+c.field, func(t *testing.T) {
			body := func(n int) ([]byte, string) {
				b := capBase(c.op)
				v := c.set(b, n)
				out, err := json.Marshal(b)
				if err != nil {
					t.Fatal(err)
				}
				return out, v
			}
			for _, n := range []int{c.max, c.min} {
				if n == 0 {
					continue
				}
				in, _ := body(n)
				if err := decodeRequest(in, capRequests[c.op]()); err != nil {
					t.Fatalf("%s of size %d rejected: %v", c.field, n, err)
				}
			}
			bad := []int{c.max + 1}
			if c.min > 1 {
				bad = append(bad, c.min-1)
			}
			for _, n := range bad {
				in, value := body(n)
				if len(in) > MaxBodyBytes {
					t.Fatalf("body of %d bytes exceeds MaxBodyBytes: the cap is unreachable", len(in))
				}
				status, typ, msg := serveRejected(t, h, c.op, in)
				if status != http.StatusBadRequest || typ != "InvalidParameterException" {
					t.Fatalf("size %d: got %d %s %q", n, status, typ, msg)
				}
				want := "1 validation error detected: Value "
				if !c.secret {
					want += "'" + truncate(value, 64) + "' "
				}
				want += "at '" + c.member + "' failed to satisfy constraint: " + c.constraint(n)
				if msg != want {
					t.Errorf("size %d:\n got %q\nwant %q", n, msg, want)
				}
				if c.secret && (strings.Contains(msg, truncate(value, 16)) || strings.Contains(msg, value)) {
					t.Errorf("size %d: message %q quotes the secret value", n, msg)
				}
			}
		})
	}
	for op := range capRequests {
		if !covered[op] {
			t.Errorf("operation %s has no caps in the table", op)
		}
	}
	for _, op := range newTestHandler().Operations() {
		if capRequests[op] == nil {
			t.Errorf("operation %s is served but missing from capRequests", op)
		}
	}
}

// TestPatternsOfNewCaps pins the patterns added with the caps: Password,
// DeviceKey and attribute names, as Cognito's model has them.
func TestPatternsOfNewCaps(t *testing.T) {
	h := newTestHandler()
	const pattern = "Member must satisfy regular expression pattern: "
	tests := []struct {
		name, op string
		edit     func(map[string]any)
		want     string
		secret   string
	}{
		{"password with a space", "SignUp", func(b map[string]any) { b["Password"] = "pass word" },
			"Value at 'password' failed to satisfy constraint: " + pattern + `\S+`, "pass word"},
		{"device key without underscore", "GetTokensFromRefreshToken", func(b map[string]any) { b["DeviceKey"] = "devicekey" },
			"Value at 'deviceKey' failed to satisfy constraint: " + pattern + `[\w-]+_[0-9a-f-]+`, "devicekey"},
		{"device key with upper-case hex", "GetTokensFromRefreshToken", func(b map[string]any) { b["DeviceKey"] = "us-east-1_ABC" },
			"Value at 'deviceKey' failed to satisfy constraint: " + pattern + `[\w-]+_[0-9a-f-]+`, "us-east-1_ABC"},
		{"attribute name with a NUL", "SignUp", func(b map[string]any) { b["UserAttributes"] = []any{map[string]any{"Name": "a\x00b"}} },
			"Value 'a\x00b' at 'userAttributes.member.name' failed to satisfy constraint: " + pattern + `[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r ]+`, ""},
		{"validation data name is not quoted", "SignUp", func(b map[string]any) { b["ValidationData"] = []any{map[string]any{"Name": "x\x01y", "Value": "v"}} },
			"Value at 'validationData.member.name' failed to satisfy constraint: " + pattern + `[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r ]+`, "x\x01y"},
		{"validation data without a name", "SignUp", func(b map[string]any) { b["ValidationData"] = []any{map[string]any{"Value": "secret-v"}} },
			"Value null at 'validationData.member.name' failed to satisfy constraint: Member must not be null", "secret-v"},
		{"attribute name for verification with a control character", "GetUserAttributeVerificationCode", func(b map[string]any) { b["AttributeName"] = "email\x7f" },
			"Value 'email\x7f' at 'attributeName' failed to satisfy constraint: " + pattern + `[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r ]+`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := capBase(tc.op)
			tc.edit(b)
			in, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			status, typ, msg := serveRejected(t, h, tc.op, in)
			if status != http.StatusBadRequest || typ != "InvalidParameterException" {
				t.Fatalf("got %d %s %q", status, typ, msg)
			}
			if want := "1 validation error detected: " + tc.want; msg != want {
				t.Errorf("\n got %q\nwant %q", msg, want)
			}
			if tc.secret != "" && strings.Contains(msg, tc.secret) {
				t.Errorf("message %q quotes %q", msg, tc.secret)
			}
		})
	}
	// Names Cognito allows: custom attributes, spaces and tabs.
	for _, name := range []string{"custom:shoe_size", "dev:custom:x", "given name", "a\tb", "ñame"} {
		b := capBase("SignUp")
		b["UserAttributes"] = []any{map[string]any{"Name": name, "Value": ""}}
		in, _ := json.Marshal(b)
		if err := decodeRequest(in, &signUpRequest{}); err != nil {
			t.Errorf("attribute name %q rejected: %v", name, err)
		}
	}
}
