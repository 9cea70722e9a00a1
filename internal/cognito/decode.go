package cognito

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// decode reads a request body into v. Every failure is a
// SerializationException whose message says what is wrong with the JSON;
// unknown members are ignored, as AWS services do, so newer clients keep
// working.
func decode(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		trimmed = []byte("{}")
	}
	if trimmed[0] != '{' {
		return serializationError("Request body must be a JSON object.")
	}
	if !utf8.Valid(trimmed) {
		return serializationError("Request body is not valid UTF-8.")
	}
	if err := checkDepth(trimmed, maxDepth); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return serializationError(fmt.Sprintf("Request body is not valid JSON: %s (at byte %d).", se.Error(), se.Offset))
		case errors.As(err, &te):
			field := te.Field
			if field == "" {
				field = "the request"
			}
			return serializationError(fmt.Sprintf("Member %s must be of type %s, not a JSON %s.", field, jsonTypeName(te.Type.Kind().String()), te.Value))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return serializationError("Request body is not valid JSON: it ends before the object is complete.")
		default:
			return serializationError("Request body is not valid JSON: " + err.Error() + ".")
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return serializationError("Request body has data after the JSON object.")
	}
	return nil
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "map", "struct":
		return "object"
	case "slice":
		return "list"
	default:
		return "number"
	}
}

// maxDepth bounds JSON nesting; no Cognito request nests deeper than 4.
const maxDepth = 16

// checkDepth rejects deeply nested JSON before the decoder recurses into it.
func checkDepth(b []byte, limit int) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			if depth > limit {
				return serializationError(fmt.Sprintf("Request body nests deeper than %d levels.", limit))
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// validator collects Cognito-style constraint violations:
// "1 validation error detected: Value null at 'clientId' failed to satisfy
// constraint: Member must not be null".
type validator struct {
	problems []string
}

func (v *validator) add(value *string, member, constraint string) {
	shown := "null"
	if value != nil {
		shown = "'" + truncate(*value, 64) + "'"
	}
	v.problems = append(v.problems, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", shown, member, constraint))
}

// secret records a violation without echoing the value.
func (v *validator) secret(member, constraint string) {
	v.problems = append(v.problems, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", member, constraint))
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// str checks a string member. required means it must be present and
// non-empty; min/max count characters; pattern must match the whole value.
// Secret values are never echoed into messages.
type strRule struct {
	member   string
	required bool
	min, max int
	pattern  *regexp.Regexp
	secret   bool
}

func (v *validator) str(value string, r strRule) {
	if value == "" {
		if r.required {
			v.add(nil, r.member, "Member must not be null")
		}
		return
	}
	n := utf8.RuneCountInString(value)
	report := func(constraint string) {
		if r.secret {
			v.secret(r.member, constraint)
		} else {
			v.add(&value, r.member, constraint)
		}
	}
	switch {
	case !utf8.ValidString(value):
		report("Member must be valid UTF-8")
	case r.min > 0 && n < r.min:
		report(fmt.Sprintf("Member must have length greater than or equal to %d", r.min))
	case r.max > 0 && n > r.max:
		report(fmt.Sprintf("Member must have length less than or equal to %d", r.max))
	case r.pattern != nil && !r.pattern.MatchString(value):
		report("Member must satisfy regular expression pattern: " + strings.TrimSuffix(strings.TrimPrefix(r.pattern.String(), "^"), "$"))
	}
}

// stringMap checks a map member such as AuthParameters.
func (v *validator) stringMap(m map[string]string, member string, maxEntries, maxValue int) {
	if len(m) > maxEntries {
		v.secret(member, fmt.Sprintf("Member must have at most %d entries", maxEntries))
		return
	}
	for k, val := range m {
		if utf8.RuneCountInString(k) > maxMapKey || utf8.RuneCountInString(val) > maxValue {
			v.secret(member, fmt.Sprintf("Member keys must have at most %d characters and values at most %d", maxMapKey, maxValue))
			return
		}
	}
}

// maxListedProblems bounds an error message however bad the request.
const maxListedProblems = 10

func (v *validator) err() error {
	switch len(v.problems) {
	case 0:
		return nil
	case 1:
		return invalidParameter("1 validation error detected: " + v.problems[0])
	}
	listed := v.problems
	if len(listed) > maxListedProblems {
		listed = listed[:maxListedProblems]
	}
	return invalidParameter(fmt.Sprintf("%d validation errors detected: %s", len(v.problems), strings.Join(listed, "; ")))
}

// Cognito's documented constraints for the members Latchkey reads, from the
// user-pools API model (cognito-idp 2016-04-18: ClientIdType, UsernameType,
// SecretHashType, ConfirmationCodeType, SessionType, TokenModelType,
// ClientSecretType, DeviceKeyType, PasswordType, AttributeNameType,
// AttributeValueType). Where the model sets no length (TokenModelType), the
// cap is Latchkey's own and far above any token it issues.
var (
	clientIDRule     = strRule{member: "clientId", required: true, min: 1, max: 128, pattern: regexp.MustCompile(`^[\w+]+$`)}
	usernameRule     = strRule{member: "username", required: true, min: 1, max: 128, pattern: regexp.MustCompile(`^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$`)}
	secretHashRule   = strRule{member: "secretHash", min: 1, max: 128, pattern: regexp.MustCompile(`^[\w+=/]+$`), secret: true}
	codeRule         = strRule{member: "confirmationCode", required: true, min: 1, max: 2048, pattern: regexp.MustCompile(`^\S+$`), secret: true}
	sessionRule      = strRule{member: "session", min: 20, max: 2048, secret: true}
	tokenPattern     = regexp.MustCompile(`^[A-Za-z0-9\-_=.]+$`)
	accessTokenRule  = strRule{member: "accessToken", required: true, max: maxTokenLength, pattern: tokenPattern, secret: true}
	refreshTokenRule = strRule{member: "refreshToken", required: true, max: maxTokenLength, pattern: tokenPattern, secret: true}
	clientSecretRule = strRule{member: "clientSecret", min: 24, max: 64, pattern: regexp.MustCompile(`^[\w+]+$`), secret: true}
	deviceKeyRule    = strRule{member: "deviceKey", min: 1, max: 55, pattern: regexp.MustCompile(`^[\w-]+_[0-9a-f-]+$`), secret: true}
	passwordRule     = strRule{member: "password", max: 256, pattern: regexp.MustCompile(`^\S+$`), secret: true}
	attrNamePattern  = regexp.MustCompile(`^[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r ]+$`)
)

// maxTokenLength caps AccessToken, RefreshToken and Token. Cognito's model
// gives TokenModelType only a pattern; the body cap would otherwise be the
// limit, and the token package refuses anything over 64 KiB anyway.
const maxTokenLength = 16384
