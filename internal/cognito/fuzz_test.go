package cognito

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// echo is a non-secret member the validator may quote back: its name in
// messages and its decoded value.
type echo struct{ member, value string }

// requestFacts is what the fuzz target knows of a decoded request.
type requestFacts struct {
	public []echo
	// secrets are values no message may quote: secret members, map and
	// attribute values (SECRET_HASH, ANSWER, e-mail addresses...).
	secrets []string
}

func (f *requestFacts) addMap(m map[string]string) {
	for _, v := range m {
		f.secrets = append(f.secrets, v)
	}
}

func (f *requestFacts) addAttributes(attrs []attributeType, member string) {
	for _, a := range attrs {
		if member != "" {
			f.public = append(f.public, echo{member, a.Name})
		}
		f.secrets = append(f.secrets, a.Value)
	}
}

// fuzzOps decodes and validates, for every operation, exactly as the
// operation does (decode, then the request's own validate), and returns the
// facts the target checks messages against. The real operation is only
// called (with a nil engine) when validation rejects the input, so it must
// return the same error before touching the engine.
var fuzzOps = []struct {
	name   string
	mirror func(body []byte) (requestFacts, error)
}{
	{"SignUp", func(body []byte) (requestFacts, error) {
		var in signUpRequest
		if err := decode(body, &in); err != nil {
			return requestFacts{}, err
		}
		f := requestFacts{
			public:  []echo{{"clientId", in.ClientId}, {"username", in.Username}},
			secrets: []string{in.SecretHash, in.Password},
		}
		f.addMap(in.ClientMetadata)
		f.addAttributes(in.UserAttributes, "userAttributes.member.name")
		f.addAttributes(in.ValidationData, "")
		return f, in.validate()
	}},
	{"ConfirmSignUp", func(body []byte) (requestFacts, error) {
		var in confirmSignUpRequest
		if err := decode(body, &in); err != nil {
			return requestFacts{}, err
		}
		f := requestFacts{
			public:  []echo{{"clientId", in.ClientId}, {"username", in.Username}},
			secrets: []string{in.ConfirmationCode, in.SecretHash, in.Session},
		}
		f.addMap(in.ClientMetadata)
		return f, in.validate()
	}},
	{"ResendConfirmationCode", func(body []byte) (requestFacts, error) {
		var in resendConfirmationCodeRequest
		if err := decode(body, &in); err != nil {
			return requestFacts{}, err
		}
		f := requestFacts{
			public:  []echo{{"clientId", in.ClientId}, {"username", in.Username}},
			secrets: []string{in.SecretHash},
		}
		f.addMap(in.ClientMetadata)
		return f, in.validate()
	}},
	{"InitiateAuth", func(body []byte) (requestFacts, error) {
		var in initiateAuthRequest
		if err := decode(body, &in); err != nil {
			return requestFacts{}, err
		}
		f := requestFacts{
			public:  []echo{{"authFlow", in.AuthFlow}, {"clientId", in.ClientId}},
			secrets: []string{in.Session},
		}
		f.addMap(in.AuthParameters)
		f.addMap(in.ClientMetadata)
		return f, in.validate()
	}},
	{"RespondToAuthChallenge", func(body []byte) (requestFacts, error) {
		var in respondToAuthChallengeRequest
		if err := decode(body, &in); err != nil {
			return requestFacts{}, err
		}
		f := requestFacts{
			public:  []echo{{"clientId", in.ClientId}, {"challengeName", in.ChallengeName}},
			secrets: []string{in.Session},
		}
		f.addMap(in.ChallengeResponses)
		f.addMap(in.ClientMetadata)
		return f, in.validate()
	}},
	{"GetTokensFromRefreshToken", func(body []byte) (requestFacts, error) {
		var in getTokensFromRefreshTokenRequest
		if err := decode(body, &in); err != nil {
			return requestFacts{}, err
		}
		f := requestFacts{
			public:  []echo{{"clientId", in.ClientId}},
			secrets: []string{in.RefreshToken, in.ClientSecret, in.DeviceKey},
		}
		f.addMap(in.ClientMetadata)
		return f, in.validate()
	}},
	// GetUser, GlobalSignOut and DeleteUser all run decodeAccessToken itself.
	{"GetUser", mirrorAccessToken},
	{"GlobalSignOut", mirrorAccessToken},
	{"DeleteUser", mirrorAccessToken},
	{"UpdateUserAttributes", func(body []byte) (requestFacts, error) {
		var in updateUserAttributesRequest
		if err := decode(body, &in); err != nil {
			return requestFacts{}, err
		}
		f := requestFacts{secrets: []string{in.AccessToken}}
		f.addAttributes(in.UserAttributes, "userAttributes.member.name")
		f.addMap(in.ClientMetadata)
		return f, in.validate()
	}},
	{"GetUserAttributeVerificationCode", func(body []byte) (requestFacts, error) {
		var in getUserAttributeVerificationCodeRequest
		if err := decode(body, &in); err != nil {
			return requestFacts{}, err
		}
		f := requestFacts{public: []echo{{"attributeName", in.AttributeName}}, secrets: []string{in.AccessToken}}
		f.addMap(in.ClientMetadata)
		return f, in.validate()
	}},
	{"VerifyUserAttribute", func(body []byte) (requestFacts, error) {
		var in verifyUserAttributeRequest
		if err := decode(body, &in); err != nil {
			return requestFacts{}, err
		}
		return requestFacts{public: []echo{{"attributeName", in.AttributeName}}, secrets: []string{in.AccessToken, in.Code}}, in.validate()
	}},
	{"RevokeToken", func(body []byte) (requestFacts, error) {
		var in revokeTokenRequest
		if err := decode(body, &in); err != nil {
			return requestFacts{}, err
		}
		return requestFacts{
			public:  []echo{{"clientId", in.ClientId}},
			secrets: []string{in.Token, in.ClientSecret},
		}, in.validate()
	}},
}

func mirrorAccessToken(body []byte) (requestFacts, error) {
	tok, err := decodeAccessToken(body)
	return requestFacts{secrets: []string{tok}}, err
}

// validationMessage matches a validation message once every quoted public
// value has been emptied: nothing but member names, the fixed constraint
// texts and numbers remain, so no request value can hide in it.
var validationMessage = func() *regexp.Regexp {
	var patterns []string
	for _, re := range []*regexp.Regexp{clientIDRule.pattern, usernameRule.pattern, secretHashRule.pattern, codeRule.pattern, tokenPattern, clientSecretRule.pattern, deviceKeyRule.pattern, passwordRule.pattern, attrNamePattern} {
		patterns = append(patterns, regexp.QuoteMeta(strings.TrimSuffix(strings.TrimPrefix(re.String(), "^"), "$")))
	}
	constraint := `(?:Member must not be null` +
		`|Member must be valid UTF-8` +
		`|Member must have length (?:greater|less) than or equal to \d+` +
		`|Member must satisfy regular expression pattern: (?:` + strings.Join(patterns, "|") + `)` +
		`|Member must have at most \d+ entries` +
		`|Member keys must have at most 256 characters and values at most \d+)`
	problem := `Value (?:null |'' )?at '[A-Za-z.]+' failed to satisfy constraint: ` + constraint
	return regexp.MustCompile(`^(?:1 validation error|([2-9]|[1-9]\d+) validation errors) detected: ` + problem + `(?:; ` + problem + `)*$`)
}()

// secretLeak says how msg quotes a value other than a public one, or "".
func secretLeak(msg string, f requestFacts) string {
	// Empty the quotes of every public value, as the validator renders it;
	// longest first, so a value that contains another's rendering goes whole.
	type cut struct{ from, to string }
	var cuts []cut
	for _, e := range f.public {
		if e.value != "" {
			cuts = append(cuts, cut{"Value '" + truncate(e.value, 64) + "' at '" + e.member + "'", "Value '' at '" + e.member + "'"})
		}
	}
	sort.Slice(cuts, func(i, j int) bool { return len(cuts[i].from) > len(cuts[j].from) })
	rest := msg
	for _, c := range cuts {
		rest = strings.ReplaceAll(rest, c.from, c.to)
	}
	m := validationMessage.FindStringSubmatch(rest)
	if m == nil {
		return "it quotes something other than a public member"
	}
	// The count is of all problems; at most maxListedProblems are listed.
	n := strings.Count(rest, "; Value ") + 1
	total, _ := strconv.Atoi(m[1])
	if m[1] == "" && n != 1 || m[1] != "" && total != n && (n != maxListedProblems || total < n) {
		return "it counts its problems wrong"
	}
	// With the structure proven, a secret may only appear in msg where it is
	// also part of a public value or of the fixed text; a secret containing a
	// quote or an ellipsis could straddle a quoted value and the text around
	// it, so those are left to the structural check above.
	for _, s := range f.secrets {
		if s == "" || strings.ContainsAny(s, "'…") || strings.Contains(rest, s) || !strings.Contains(msg, s) {
			continue
		}
		public := false
		for _, e := range f.public {
			public = public || strings.Contains(e.value, s)
		}
		if !public {
			return "it quotes the secret " + strconv.Quote(s)
		}
	}
	return ""
}

// TestSecretLeak checks the fuzz target's oracle: it must flag a quoted
// secret, and accept quoted public values even when a secret coincides with
// one of them or with the fixed text.
func TestSecretLeak(t *testing.T) {
	const pfx = "1 validation error detected: "
	facts := requestFacts{public: []echo{{"clientId", "a b"}}, secrets: []string{"12 34", "a", "Member"}}
	tests := []struct {
		msg  string
		leak bool
	}{
		{pfx + "Value 'a b' at 'clientId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+]+", false},
		{pfx + "Value at 'confirmationCode' failed to satisfy constraint: Member must satisfy regular expression pattern: \\S+", false},
		{"2 validation errors detected: Value null at 'username' failed to satisfy constraint: Member must not be null; Value at 'session' failed to satisfy constraint: Member must have length greater than or equal to 20", false},
		{pfx + "Value '12 34' at 'confirmationCode' failed to satisfy constraint: Member must satisfy regular expression pattern: \\S+", true},
		{pfx + "Value 'a b' at 'username' failed to satisfy constraint: Member must not be null", true}, // public value, wrong member
		{pfx + "Value at 'confirmationCode' failed to satisfy constraint: Member must not be 12 34", true},
		{"2 validation errors detected: Value null at 'username' failed to satisfy constraint: Member must not be null", true},
	}
	for _, tc := range tests {
		if got := secretLeak(tc.msg, facts); (got != "") != tc.leak {
			t.Errorf("secretLeak(%q) = %q, want leak %v", tc.msg, got, tc.leak)
		}
	}
}

// serveRejected sends body to operation op through the HTTP handler, which
// has no engine, and returns the wire error.
func serveRejected(t *testing.T, h *Handler, op string, body []byte) (status int, typ, msg string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", TargetPrefix+op)
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%s reached the engine although its validation rejected the input: %v", op, r)
			}
		}()
		h.ServeHTTP(rec, req)
	}()
	var out struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s: error body %q is not JSON: %v", op, rec.Body.Bytes(), err)
	}
	if rec.Header().Get("X-Amzn-ErrorType") != out.Type+":" || rec.Header().Get("X-Amzn-ErrorMessage") != headerSafe(out.Message) {
		t.Fatalf("%s: headers %v disagree with body %s", op, rec.Header(), rec.Body.Bytes())
	}
	return rec.Code, out.Type, out.Message
}

// FuzzDecodeRequests feeds arbitrary bodies to every operation's decoding
// and validation. It never panics, every rejection is a 400
// SerializationException or InvalidParameterException with a message, the
// HTTP handler answers exactly what decoding and validation decided, and no
// message quotes a secret.
func FuzzDecodeRequests(f *testing.F) {
	h := newTestHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > MaxBodyBytes {
			return // the handler refuses these before decoding
		}
		for _, op := range fuzzOps {
			facts, err := op.mirror(body)
			if err == nil {
				continue // valid: the operation would go on to the engine
			}
			ae, ok := err.(*apiError)
			if !ok {
				t.Fatalf("%s: error %v is a %T, not an *apiError", op.name, err, err)
			}
			if ae.Type != "SerializationException" && ae.Type != "InvalidParameterException" || ae.Status != http.StatusBadRequest || ae.Message == "" {
				t.Fatalf("%s: unexpected error %+v", op.name, ae)
			}
			status, typ, msg := serveRejected(t, h, op.name, body)
			if status != ae.Status || typ != ae.Type || msg != ae.Message {
				t.Fatalf("%s: handler answered %d %s %q, decoding and validation %d %s %q", op.name, status, typ, msg, ae.Status, ae.Type, ae.Message)
			}
			if ae.Type == "InvalidParameterException" {
				if leak := secretLeak(ae.Message, facts); leak != "" {
					t.Fatalf("%s: message %q: %s", op.name, ae.Message, leak)
				}
			}
		}
	})
}
