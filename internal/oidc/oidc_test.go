package oidc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/token"
)

const (
	poolID  = "local_AbCdEf123"
	baseURL = "http://127.0.0.1:8080"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeKeys is a KeySource over a fixed map; err, when set, is returned for
// every pool.
type fakeKeys struct {
	issuers map[string]*token.Issuer
	err     error
}

func (f fakeKeys) Issuer(_ context.Context, id string) (*token.Issuer, error) {
	if f.err != nil {
		return nil, f.err
	}
	iss, ok := f.issuers[id]
	if !ok {
		return nil, fmt.Errorf("pool %q: %w", id, pool.ErrNotFound)
	}
	return iss, nil
}

// newIssuer returns the issuer of two RS256 keys, the older one retired.
func newIssuer(t *testing.T) *token.Issuer {
	t.Helper()
	return newIssuerOf(t, token.RS256, token.RS256)
}

// newIssuerOf returns an issuer with one key of each algorithm given,
// oldest first, an hour apart; the oldest is retired when there are two or
// more, so the newest signs.
func newIssuerOf(t *testing.T, algs ...string) *token.Issuer {
	t.Helper()
	var keys []pool.SigningKey
	for i, alg := range algs {
		k, err := token.NewSigningKey(rand.Reader, poolID, alg, now.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if len(keys) > 1 {
		retired := now
		keys[0].RetiredAt = &retired
	}
	iss, err := token.NewIssuer(baseURL+"/"+poolID, keys)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func decode(t *testing.T, res *http.Response, v any) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	dec := json.NewDecoder(res.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding body: %v", err)
	}
}

func TestJWKS(t *testing.T) {
	iss := newIssuer(t)
	h := NewHandler(fakeKeys{issuers: map[string]*token.Issuer{poolID: iss}}, nil)

	res := get(t, h, http.MethodGet, "/"+poolID+"/.well-known/jwks.json")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", res.StatusCode)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control = %q", cc)
	}
	var set token.JWKS
	decode(t, res, &set) // DisallowUnknownFields: no member beyond kid, alg, kty, e, n, use
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want 2 (retired included)", len(set.Keys))
	}

	// A relying party with only this document verifies the issuer's tokens.
	tok, err := iss.Sign(token.Claims{"iss": iss.Issuer(), "exp": now.Add(time.Hour).Unix(), "token_use": "id"})
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyJWKS(set, tok); err != nil {
		t.Errorf("verifying with the served JWKS: %v", err)
	}
}

// TestAlgorithms: for a pool of each signing algorithm, and one that moved
// from RS256 to another, discovery lists the algorithms of the pool's
// keys, the signing key's first, and the JWKS publishes every key with its
// own kty, alg and members, enough for a relying party to verify.
func TestAlgorithms(t *testing.T) {
	tests := []struct {
		keys     []string // oldest first; the oldest of two or more is retired
		wantAlgs []string
		wantKty  []string // newest first
	}{
		{[]string{"RS256"}, []string{"RS256"}, []string{"RSA"}},
		{[]string{"ES256"}, []string{"ES256"}, []string{"EC"}},
		{[]string{"EdDSA"}, []string{"EdDSA"}, []string{"OKP"}},
		{[]string{"RS256", "ES256"}, []string{"ES256", "RS256"}, []string{"EC", "RSA"}},
		{[]string{"RS256", "EdDSA"}, []string{"EdDSA", "RS256"}, []string{"OKP", "RSA"}},
		{[]string{"EdDSA", "ES256", "RS256"}, []string{"RS256", "ES256", "EdDSA"}, []string{"RSA", "EC", "OKP"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, "_"), func(t *testing.T) {
			iss := newIssuerOf(t, tt.keys...)
			h := NewHandler(fakeKeys{issuers: map[string]*token.Issuer{poolID: iss}}, nil)

			var doc discovery
			decode(t, get(t, h, http.MethodGet, "/"+poolID+"/.well-known/openid-configuration"), &doc)
			if !slices.Equal(doc.IDTokenSigningAlgValuesSupported, tt.wantAlgs) {
				t.Errorf("id_token_signing_alg_values_supported = %v, want %v", doc.IDTokenSigningAlgValuesSupported, tt.wantAlgs)
			}

			res := get(t, h, http.MethodGet, "/"+poolID+"/.well-known/jwks.json")
			raw, _ := io.ReadAll(res.Body)
			var set token.JWKS
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&set); err != nil {
				t.Fatalf("decoding JWKS: %v", err)
			}
			var ktys []string
			for _, k := range set.Keys {
				ktys = append(ktys, k.Kty)
			}
			if !slices.Equal(ktys, tt.wantKty) {
				t.Errorf("JWKS ktys = %v, want %v", ktys, tt.wantKty)
			}
			var wire struct{ Keys []map[string]string }
			if err := json.Unmarshal(raw, &wire); err != nil {
				t.Fatal(err)
			}
			for _, m := range wire.Keys {
				var names []string
				for name := range m {
					names = append(names, name)
				}
				slices.Sort(names)
				want := map[string][]string{
					"RSA": {"alg", "e", "kid", "kty", "n", "use"},
					"EC":  {"alg", "crv", "kid", "kty", "use", "x", "y"},
					"OKP": {"alg", "crv", "kid", "kty", "use", "x"},
				}[m["kty"]]
				if !slices.Equal(names, want) {
					t.Errorf("%s key members = %v, want %v", m["kty"], names, want)
				}
			}

			tok, err := iss.Sign(token.Claims{"iss": iss.Issuer(), "exp": now.Add(time.Hour).Unix(), "token_use": "id"})
			if err != nil {
				t.Fatal(err)
			}
			if err := verifyJWKS(set, tok); err != nil {
				t.Errorf("verifying a %s token with the served JWKS: %v", tt.wantAlgs[0], err)
			}
		})
	}
}

// TestCacheControlShorterThanKeyActivation: a relying party that caches the
// JWKS for max-age, and a node that rereads keys every auth.IssuerRecheck,
// both know a new key before it signs.
func TestCacheControlShorterThanKeyActivation(t *testing.T) {
	var maxAge int
	if _, err := fmt.Sscanf(cacheControl, "public, max-age=%d", &maxAge); err != nil {
		t.Fatalf("Cache-Control %q: %v", cacheControl, err)
	}
	if d := time.Duration(maxAge)*time.Second + auth.IssuerRecheck; d >= auth.KeyActivationDelay {
		t.Errorf("max-age %ds plus a reread (%s) is not shorter than auth.KeyActivationDelay (%s)", maxAge, auth.IssuerRecheck, auth.KeyActivationDelay)
	}
}

func TestDiscovery(t *testing.T) {
	iss := newIssuer(t)
	h := NewHandler(fakeKeys{issuers: map[string]*token.Issuer{poolID: iss}}, nil)

	res := get(t, h, http.MethodGet, "/"+poolID+"/.well-known/openid-configuration")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", res.StatusCode)
	}
	var doc discovery
	decode(t, res, &doc)
	want := discovery{
		Issuer:                            baseURL + "/" + poolID,
		JWKSURI:                           baseURL + "/" + poolID + "/.well-known/jwks.json",
		ResponseTypesSupported:            []string{"code"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "none"},
	}
	got := doc
	got.ClaimsSupported = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("discovery = %+v\nwant %+v", got, want)
	}
	for _, c := range []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "email", "email_verified", "phone_number", "phone_number_verified", "cognito:username"} {
		if !slices.Contains(doc.ClaimsSupported, c) {
			t.Errorf("claims_supported lacks %q", c)
		}
	}

	// jwks_uri, taken as a path, is served by the same handler.
	if res := get(t, h, http.MethodGet, strings.TrimPrefix(doc.JWKSURI, baseURL)); res.StatusCode != http.StatusOK {
		t.Errorf("jwks_uri status = %d", res.StatusCode)
	}
}

func TestErrors(t *testing.T) {
	iss := newIssuer(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ok := NewHandler(fakeKeys{issuers: map[string]*token.Issuer{poolID: iss}}, logger)
	broken := NewHandler(fakeKeys{err: errors.New("database is locked")}, logger)
	nilIssuer := NewHandler(fakeKeys{issuers: map[string]*token.Issuer{poolID: nil}}, logger)

	tests := []struct {
		name    string
		h       http.Handler
		method  string
		path    string
		status  int
		body    string // exact JSON, when set
		allow   bool   // expect an Allow header
		logsErr string // expected in the log
	}{
		{"unknown pool jwks", ok, "GET", "/us-east-1_Nope00000/.well-known/jwks.json", 404,
			`{"error":"not_found","message":"user pool us-east-1_Nope00000 does not exist"}`, false, ""},
		{"unknown pool discovery", ok, "GET", "/us-east-1_Nope00000/.well-known/openid-configuration", 404,
			`{"error":"not_found","message":"user pool us-east-1_Nope00000 does not exist"}`, false, ""},
		{"html in pool id is escaped", ok, "GET", "/%3Cscript%3E/.well-known/jwks.json", 404,
			`{"error":"not_found","message":"user pool \u003cscript\u003e does not exist"}`, false, ""},
		{"store failure", broken, "GET", "/" + poolID + "/.well-known/jwks.json", 500,
			`{"error":"server_error","message":"internal error"}`, false, "database is locked"},
		{"nil issuer", nilIssuer, "GET", "/" + poolID + "/.well-known/openid-configuration", 500,
			`{"error":"server_error","message":"internal error"}`, false, "no issuer"},
		{"POST", ok, "POST", "/" + poolID + "/.well-known/jwks.json", 405, "", true, ""},
		{"DELETE", ok, "DELETE", "/" + poolID + "/.well-known/openid-configuration", 405, "", true, ""},
		{"other path", ok, "GET", "/" + poolID + "/.well-known/other", 404, "", false, ""},
		{"nested path", ok, "GET", "/a/" + poolID + "/.well-known/jwks.json", 404, "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			res := get(t, tt.h, tt.method, tt.path)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", res.StatusCode, tt.status, body)
			}
			if tt.body != "" {
				if string(body) != tt.body {
					t.Errorf("body = %s, want %s", body, tt.body)
				}
				if res.Header.Get("Content-Type") != "application/json" || res.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("headers = %v", res.Header)
				}
			}
			if tt.allow && !strings.Contains(res.Header.Get("Allow"), "GET") {
				t.Errorf("Allow = %q", res.Header.Get("Allow"))
			}
			if tt.logsErr != "" && !strings.Contains(logs.String(), tt.logsErr) {
				t.Errorf("log %q lacks %q", logs.String(), tt.logsErr)
			}
			if tt.logsErr == "" && logs.Len() != 0 {
				t.Errorf("unexpected log: %s", logs.String())
			}
		})
	}
}

func TestHEAD(t *testing.T) {
	h := NewHandler(fakeKeys{issuers: map[string]*token.Issuer{poolID: newIssuer(t)}}, nil)
	for _, path := range []string{"/" + poolID + "/.well-known/jwks.json", "/" + poolID + "/.well-known/openid-configuration"} {
		srv := httptest.NewServer(h)
		res, err := srv.Client().Head(srv.URL + path)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || len(body) != 0 || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("HEAD %s = %d, %d bytes, %q", path, res.StatusCode, len(body), res.Header.Get("Content-Type"))
		}
	}
}

// TestRegister mounts the routes on a server-wide mux next to a catch-all
// POST route like the Cognito front door's, over real HTTP.
func TestRegister(t *testing.T) {
	iss := newIssuer(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	NewHandler(fakeKeys{issuers: map[string]*token.Issuer{poolID: iss}}, nil).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := srv.Client().Get(srv.URL + "/" + poolID + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set token.JWKS
	decode(t, res, &set)
	res.Body.Close()
	tok, err := iss.Sign(token.Claims{"iss": iss.Issuer(), "exp": now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyJWKS(set, tok); err != nil {
		t.Errorf("verifying with JWKS over HTTP: %v", err)
	}

	res, err = srv.Client().Post(srv.URL+"/", "application/x-amz-json-1.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTeapot {
		t.Errorf("POST / = %d, want the other route", res.StatusCode)
	}
}

// verifyJWKS checks a compact JWS against a JWK Set with the standard
// library only, as an independent relying party would: the key the kid
// names, whose alg must be the header's, read from its RSA, EC (P-256) or
// OKP (Ed25519) members.
func verifyJWKS(set token.JWKS, tok string) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("not a compact JWS")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return err
	}
	var h struct{ Alg, Kid string }
	if err := json.Unmarshal(hb, &h); err != nil {
		return err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	input := []byte(parts[0] + "." + parts[1])
	sum := sha256.Sum256(input)
	dec := base64.RawURLEncoding.DecodeString
	for _, k := range set.Keys {
		if k.KID != h.Kid || k.Alg != h.Alg || k.Use != "sig" {
			continue
		}
		switch {
		case h.Alg == "RS256" && k.Kty == "RSA":
			n, err := dec(k.N)
			if err != nil {
				return err
			}
			e, err := dec(k.E)
			if err != nil {
				return err
			}
			pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
		case h.Alg == "ES256" && k.Kty == "EC" && k.Crv == "P-256":
			x, errX := dec(k.X)
			y, errY := dec(k.Y)
			if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 || len(sig) != 64 {
				return errors.New("malformed EC key or signature")
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			if err != nil {
				return err
			}
			if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
				return errors.New("ES256 signature does not verify")
			}
			return nil
		case h.Alg == "EdDSA" && k.Kty == "OKP" && k.Crv == "Ed25519":
			x, err := dec(k.X)
			if err != nil || len(x) != ed25519.PublicKeySize {
				return errors.New("malformed Ed25519 key")
			}
			if !ed25519.Verify(ed25519.PublicKey(x), input, sig) {
				return errors.New("EdDSA signature does not verify")
			}
			return nil
		}
		return fmt.Errorf("key %q: alg %s does not fit kty %s", k.KID, h.Alg, k.Kty)
	}
	return fmt.Errorf("no key %q in JWKS", h.Kid)
}
