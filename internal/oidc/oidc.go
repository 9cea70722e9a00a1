// Package oidc is the OpenID Connect front door: per-pool discovery and
// JWKS documents under the pool's issuer URL, where aws-jwt-verify and OIDC
// libraries look for them ({iss}/.well-known/...).
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/token"
)

// KeySource finds a pool's issuer (for its JWKS and iss). It returns an
// error wrapping pool.ErrNotFound for an unknown pool.
type KeySource interface {
	Issuer(ctx context.Context, poolID string) (*token.Issuer, error)
}

// Route patterns; {pool} is the user pool id, so each URL is the pool's
// issuer plus a well-known suffix. GET patterns also serve HEAD.
const (
	jwksPattern      = "GET /{pool}/.well-known/jwks.json"
	discoveryPattern = "GET /{pool}/.well-known/openid-configuration"
)

// cacheControl lets verifiers cache keys briefly; a new key is published
// before it signs (auth.KeyActivationDelay, longer than max-age), so five
// minutes of staleness is harmless.
const cacheControl = "public, max-age=300"

// Handler serves the JWKS and discovery documents of every pool.
type Handler struct {
	keys   KeySource
	logger *slog.Logger
	mux    *http.ServeMux
}

// NewHandler returns a Handler. Used as an http.Handler it serves only its
// two routes (404 elsewhere, 405 for methods other than GET and HEAD); use
// Register to mount the routes on a shared mux instead.
func NewHandler(keys KeySource, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{keys: keys, logger: logger, mux: http.NewServeMux()}
	h.Register(h.mux)
	return h
}

// Register mounts the JWKS and discovery routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc(jwksPattern, h.serveJWKS)
	mux.HandleFunc(discoveryPattern, h.serveDiscovery)
}

// ServeHTTP serves the two routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) serveJWKS(w http.ResponseWriter, r *http.Request) {
	iss, ok := h.issuer(w, r)
	if !ok {
		return
	}
	h.writeJSON(w, r, http.StatusOK, cacheControl, iss.JWKS())
}

// discovery is the OpenID Provider Metadata (OpenID Connect Discovery 1.0
// §3). Endpoints that do not exist yet (authorization, token, userinfo) are
// left out rather than advertised. id_token_signing_alg_values_supported
// lists the algorithms of the pool's keys, the signing key's first.
type discovery struct {
	Issuer                            string   `json:"issuer"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
}

func (h *Handler) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	iss, ok := h.issuer(w, r)
	if !ok {
		return
	}
	h.writeJSON(w, r, http.StatusOK, cacheControl, discovery{
		Issuer:                            iss.Issuer(),
		JWKSURI:                           iss.Issuer() + "/.well-known/jwks.json",
		ResponseTypesSupported:            []string{"code"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  iss.Algorithms(),
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "none"},
		ClaimsSupported: []string{
			"sub", "iss", "aud", "exp", "iat", "auth_time",
			"email", "email_verified", "phone_number", "phone_number_verified",
			"cognito:username",
		},
	})
}

// issuer loads the pool's issuer, or writes the error response and
// returns false.
func (h *Handler) issuer(w http.ResponseWriter, r *http.Request) (*token.Issuer, bool) {
	poolID := r.PathValue("pool")
	iss, err := h.keys.Issuer(r.Context(), poolID)
	if err == nil && iss == nil {
		err = errors.New("key source returned no issuer and no error")
	}
	switch {
	case err == nil:
		return iss, true
	case errors.Is(err, pool.ErrNotFound):
		h.writeJSON(w, r, http.StatusNotFound, "no-store", errorBody{
			Error:   "not_found",
			Message: fmt.Sprintf("user pool %s does not exist", poolID),
		})
	default:
		h.logger.ErrorContext(r.Context(), "oidc: loading pool keys", "pool", poolID, "path", r.URL.Path, "err", err)
		h.writeJSON(w, r, http.StatusInternalServerError, "no-store", errorBody{
			Error:   "server_error",
			Message: "internal error",
		})
	}
	return nil, false
}

type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// writeJSON encodes v before writing anything, so an encoding failure can
// still become a clean 500.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, cache string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.logger.ErrorContext(r.Context(), "oidc: encoding response", "path", r.URL.Path, "err", err)
		status, cache = http.StatusInternalServerError, "no-store"
		body = []byte(`{"error":"server_error","message":"internal error"}`)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", cache)
	// The 404 body echoes the pool id from the path; never let it be sniffed as HTML.
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body) // a failed write means the client left; nothing to do
}
