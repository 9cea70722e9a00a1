package auth_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// signInTokens signs username in by SMS code and returns its tokens.
func signInTokens(t *testing.T, e *auth.Engine, c pool.Client, codes *lastCodes, username string) *auth.Tokens {
	t.Helper()
	session := startSMS(t, e, c, username)
	out, err := e.RespondToAuthChallenge(context.Background(), auth.RespondInput{
		ClientID: c.ID, ChallengeName: pool.ChallengeSMSOTP, Session: session,
		ChallengeResponses: map[string]string{"USERNAME": username, "SMS_OTP_CODE": codes.get(username)},
	})
	if err != nil || out.Tokens == nil {
		t.Fatalf("RespondToAuthChallenge: %v, %+v", err, out)
	}
	return out.Tokens
}

// jwtAlg is the alg header of a JWT.
func jwtAlg(t *testing.T, tok string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Alg string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Alg
}

// TestSigningAlgorithmChangeReachesRunningEngine: `pools update
// --signing-alg` (Admin.UpdatePool) on a pool a running engine serves adds
// a key of the new algorithm; the engine publishes it within
// IssuerRecheck, signs with it once KeyActivationDelay has passed, and
// keeps accepting the tokens of the old key, without a restart.
func TestSigningAlgorithmChangeReachesRunningEngine(t *testing.T) {
	for _, tt := range []struct{ from, to string }{
		{"RS256", "ES256"},
		{"ES256", "EdDSA"},
		{"EdDSA", "RS256"},
	} {
		t.Run(tt.from+"_to_"+tt.to, func(t *testing.T) {
			ctx := context.Background()
			clk := &simClock{now: time.Now().UTC().Truncate(time.Millisecond)}
			st := stores[0].open(t)
			t.Cleanup(func() { st.Close() })
			codes := &lastCodes{codes: map[string]string{}}
			e, err := auth.New(auth.Config{Store: st, Sender: codes, PublicURL: "http://127.0.0.1:8080", Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			settings := roomySettings()
			settings.SigningAlgorithm = tt.from
			p, err := e.CreatePool(ctx, "test", "local", settings)
			if err != nil {
				t.Fatal(err)
			}
			c, err := e.CreateClient(ctx, p.ID, auth.ClientOptions{Name: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.SignUp(ctx, auth.SignUpInput{ClientID: c.ID, Username: phone}); err != nil {
				t.Fatal(err)
			}
			before := signInTokens(t, e, c, codes, phone)
			if a, b := jwtAlg(t, before.AccessToken), jwtAlg(t, before.IDToken); a != tt.from || b != tt.from {
				t.Fatalf("a new %s pool signs %s and %s", tt.from, a, b)
			}

			published := func() []string {
				iss, err := e.Issuer(ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				var algs []string
				for _, k := range iss.JWKS().Keys {
					algs = append(algs, k.Alg)
				}
				return algs
			}

			// A minute later, another process (the CLI) changes the
			// algorithm, just after the engine reread the keys.
			clk.Advance(time.Minute)
			published()
			admin := auth.NewAdmin(st, rand.Reader, clk.Now)
			if _, err := admin.UpdatePool(ctx, p.ID, func(_ *string, s *pool.Settings) error {
				s.SigningAlgorithm = tt.to
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			keys := keysOf(t, st, p.ID)
			if len(keys) != 2 || keys[0].Algorithm != tt.to || keys[1].Algorithm != tt.from || keys[1].RetiredAt != nil {
				t.Fatalf("keys after the update: %v", keys)
			}
			// An update that changes something else adds no key.
			if _, err := admin.UpdatePool(ctx, p.ID, func(_ *string, s *pool.Settings) error { s.MaxAttempts = 4; return nil }); err != nil {
				t.Fatal(err)
			}
			if n := len(keysOf(t, st, p.ID)); n != 2 {
				t.Fatalf("%d keys after an unrelated update, want 2", n)
			}

			// Until the engine rereads the keys: the old set.
			if got := published(); len(got) != 1 {
				t.Errorf("JWKS right after the update = %v, want the cached set", got)
			}
			// After IssuerRecheck the new key is published, but the old one
			// still signs.
			clk.Advance(auth.IssuerRecheck)
			if got := published(); len(got) != 2 || got[0] != tt.to {
				t.Errorf("JWKS after %s = %v, want the new %s key first", auth.IssuerRecheck, got, tt.to)
			}
			if tok := signInTokens(t, e, c, codes, phone); jwtAlg(t, tok.AccessToken) != tt.from {
				t.Errorf("signs %s while the new key is pending, want %s", jwtAlg(t, tok.AccessToken), tt.from)
			}
			// Once the key has been published long enough, it signs.
			clk.Advance(auth.KeyActivationDelay - auth.IssuerRecheck)
			after := signInTokens(t, e, c, codes, phone)
			if a, b := jwtAlg(t, after.AccessToken), jwtAlg(t, after.IDToken); a != tt.to || b != tt.to {
				t.Fatalf("after %s the engine signs %s and %s, want %s", auth.KeyActivationDelay, a, b, tt.to)
			}
			if iss, _ := e.Issuer(ctx, p.ID); iss.SigningKeyID() != keys[0].KID {
				t.Errorf("signing kid %q, want the new key %q", iss.SigningKeyID(), keys[0].KID)
			}

			// Both generations of tokens are accepted by the API.
			for name, tok := range map[string]string{tt.from: before.AccessToken, tt.to: after.AccessToken} {
				if u, err := e.GetUser(ctx, tok); err != nil || u.Username != phone {
					t.Errorf("GetUser with the %s token: %v", name, err)
				}
			}
		})
	}
}

func keysOf(t *testing.T, st store.Store, poolID string) []pool.SigningKey {
	t.Helper()
	keys, err := st.ListSigningKeys(context.Background(), poolID)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestCreatePoolSigningAlgorithm: a pool's first key has the pool's
// algorithm; an unknown algorithm is refused, naming the allowed ones.
func TestCreatePoolSigningAlgorithm(t *testing.T) {
	ctx := context.Background()
	st := stores[0].open(t)
	t.Cleanup(func() { st.Close() })
	admin := auth.NewAdmin(st, rand.Reader, time.Now)
	for _, alg := range []string{"", "RS256", "ES256", "EdDSA"} {
		s := pool.DefaultSettings()
		s.SigningAlgorithm = alg
		p, err := admin.CreatePool(ctx, "p", "local", s)
		if err != nil {
			t.Fatalf("%q: %v", alg, err)
		}
		keys := keysOf(t, st, p.ID)
		if want := s.EffectiveSigningAlgorithm(); len(keys) != 1 || keys[0].Algorithm != want {
			t.Errorf("pool with signing algorithm %q has keys %v, want one %s key", alg, keys, want)
		}
	}
	for _, alg := range []string{"HS256", "none", "es256"} {
		s := pool.DefaultSettings()
		s.SigningAlgorithm = alg
		_, err := admin.CreatePool(ctx, "p", "local", s)
		if err == nil || !strings.Contains(err.Error(), "RS256, ES256, EdDSA") {
			t.Errorf("CreatePool(%q) = %v, want an error naming the allowed algorithms", alg, err)
		}
	}
}

// failingKeys is a store whose key list can be made to fail.
type failingKeys struct {
	store.Store
	mu   sync.Mutex
	fail bool
	hits int
}

func (f *failingKeys) ListSigningKeys(ctx context.Context, poolID string) ([]pool.SigningKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hits++
	if f.fail {
		return nil, context.DeadlineExceeded
	}
	return f.Store.ListSigningKeys(ctx, poolID)
}

// TestIssuerCache: within IssuerRecheck the cached issuer is used without
// a query; after it, an unchanged key set keeps the same issuer (no
// reparsing); a failed reread keeps serving the cached keys.
func TestIssuerCache(t *testing.T) {
	ctx := context.Background()
	clk := &simClock{now: time.Now().UTC()}
	inner := stores[0].open(t)
	t.Cleanup(func() { inner.Close() })
	st := &failingKeys{Store: inner}
	e, err := auth.New(auth.Config{Store: st, Sender: &lastCodes{codes: map[string]string{}}, PublicURL: "http://127.0.0.1:8080", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.CreatePool(ctx, "test", "local", pool.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.Issuer(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	hits := st.hits
	clk.Advance(auth.IssuerRecheck - time.Millisecond)
	if again, _ := e.Issuer(ctx, p.ID); again != first || st.hits != hits {
		t.Errorf("within IssuerRecheck: same issuer %v, %d more queries", again == first, st.hits-hits)
	}
	clk.Advance(time.Millisecond)
	if again, _ := e.Issuer(ctx, p.ID); again != first || st.hits != hits+1 {
		t.Errorf("after IssuerRecheck: same issuer %v, %d more queries (want 1)", again == first, st.hits-hits)
	}
	st.fail = true
	clk.Advance(auth.IssuerRecheck)
	if again, err := e.Issuer(ctx, p.ID); again != first || err != nil {
		t.Errorf("with the store failing: %v, same issuer %v", err, again == first)
	}
	if _, err := e.Issuer(ctx, "local_Missing00"); !errors.Is(err, pool.ErrNotFound) {
		t.Errorf("Issuer of an unknown pool: %v, want pool.ErrNotFound", err)
	}
}
