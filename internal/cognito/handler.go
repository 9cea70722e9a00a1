// Package cognito is the front door that speaks the Amazon Cognito
// user-pools API (AWS JSON 1.1): POST / with an X-Amz-Target header naming
// the operation, a JSON body, and errors as {"__type", "message"} with the
// x-amzn-ErrorType header. It decodes and validates requests, calls the
// engine, and writes responses; it holds no logic of its own.
package cognito

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"github.com/latchkey/latchkey/internal/auth"
)

// TargetPrefix is the X-Amz-Target prefix of every user-pools operation.
const TargetPrefix = "AWSCognitoIdentityProviderService."

// MaxBodyBytes caps a request body. Cognito's largest public requests
// (SignUp with 100 attributes of 2 KiB) fit well within it.
const MaxBodyBytes = 256 << 10

type operation func(ctx context.Context, body []byte) (any, error)

// Handler serves the Cognito user-pools API.
type Handler struct {
	engine *auth.Engine
	log    *slog.Logger
	ops    map[string]operation
}

// NewHandler returns the API handler over engine.
func NewHandler(engine *auth.Engine, logger *slog.Logger) *Handler {
	h := &Handler{engine: engine, log: logger}
	h.ops = map[string]operation{
		"SignUp":                    h.signUp,
		"ConfirmSignUp":             h.confirmSignUp,
		"ResendConfirmationCode":    h.resendConfirmationCode,
		"InitiateAuth":              h.initiateAuth,
		"RespondToAuthChallenge":    h.respondToAuthChallenge,
		"GetTokensFromRefreshToken": h.getTokensFromRefreshToken,
		"GetUser":                   h.getUser,
		"GlobalSignOut":             h.globalSignOut,
		"RevokeToken":               h.revokeToken,
		"DeleteUser":                h.deleteUser,

		"UpdateUserAttributes":             h.updateUserAttributes,
		"GetUserAttributeVerificationCode": h.getUserAttributeVerificationCode,
		"VerifyUserAttribute":              h.verifyUserAttribute,
	}
	return h
}

// Operations lists the operations served, sorted.
func (h *Handler) Operations() []string {
	names := make([]string, 0, len(h.ops))
	for name := range h.ops {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		h.writeError(w, r, "", &apiError{Type: "UnknownOperationException", Message: "The Cognito API takes POST requests with an X-Amz-Target header.", Status: http.StatusMethodNotAllowed})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	name, ok := strings.CutPrefix(target, TargetPrefix)
	op := h.ops[name]
	if !ok || op == nil {
		msg := "Missing X-Amz-Target header; expected " + TargetPrefix + "<Operation>."
		if target != "" {
			msg = "Unknown operation " + truncate(target, 128) + "; Latchkey serves " + TargetPrefix + "{" + strings.Join(h.Operations(), ",") + "}."
		}
		h.writeError(w, r, "", &apiError{Type: "UnknownOperationException", Message: msg, Status: http.StatusBadRequest})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.writeError(w, r, name, serializationError(fmt.Sprintf("Request body is larger than %d bytes.", MaxBodyBytes)))
			return
		}
		h.writeError(w, r, name, serializationError("Could not read the request body."))
		return
	}
	out, err := op(r.Context(), body)
	if err != nil {
		h.writeError(w, r, name, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		h.writeError(w, r, name, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// writeError sends err in Cognito's wire form and logs it; the log carries
// the internal cause of a 500, never a request body or secret.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, op string, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		h.log.ErrorContext(r.Context(), "operation failed", "op", op, "error", err)
	} else {
		h.log.DebugContext(r.Context(), "operation rejected", "op", op, "type", ae.Type, "message", ae.Message)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/x-amz-json-1.1")
	hdr.Set("X-Amzn-ErrorType", ae.Type+":")
	hdr.Set("X-Amzn-ErrorMessage", headerSafe(ae.Message))
	w.WriteHeader(ae.Status)
	b, _ := json.Marshal(map[string]string{"__type": ae.Type, "message": ae.Message})
	w.Write(b)
}

// headerSafe keeps a message to printable ASCII for a header value.
func headerSafe(s string) string {
	b := []byte(truncate(s, 512))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
