// Package storetest is the conformance suite every store.Store backend
// runs. A backend's test calls Run with a constructor for empty stores:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openEmpty(t) })
//	}
//
// newStore must return a new, empty store that no other subtest uses; Run
// closes it when the subtest ends. Subtests run in parallel.
package storetest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	s := suite{newStore: newStore}
	t.Run("Pools", s.testPools)
	t.Run("Clients", s.testClients)
	t.Run("SigningKeys", s.testSigningKeys)
	t.Run("Users", s.testUsers)
	t.Run("Sessions", s.testSessions)
	t.Run("Codes", s.testCodes)
	t.Run("RefreshTokens", s.testRefreshTokens)
	t.Run("Limits", s.testLimits)
	t.Run("Failures", s.testFailures)
	t.Run("Audit", s.testAudit)
	t.Run("Outbox", s.testOutbox)
	t.Run("Maintenance", s.testMaintenance)
	t.Run("UnitOfWork", s.testUnitOfWork)
	t.Run("LimitRefund", s.testRefund)
}

type suite struct {
	newStore func(t *testing.T) store.Store
}

// open returns a fresh store that is closed when t ends.
func (s suite) open(t *testing.T) store.Store {
	t.Helper()
	st := s.newStore(t)
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// t0 is the suite's "now". It is at millisecond precision so that values
// built from it must come back unchanged.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 123_000_000, time.UTC)

// stored is t as a store must return it: millisecond precision, UTC.
func stored(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

func storedPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := stored(*t)
	return &v
}

func ptr[T any](v T) *T { return &v }

// wantEqual fails t unless got deep-equals want.
func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// wantErr fails t unless errors.Is(err, target); target nil means no error.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: unexpected error: %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// must fails t at once on err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// concurrently runs fn n times at once, released together to maximise
// contention, and returns each call's error by index.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts nil errors and errors matching target, failing t on any
// other error.
func tally(t *testing.T, what string, errs []error, target error) (ok, matched int) {
	t.Helper()
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, target):
			matched++
		default:
			t.Errorf("%s: caller %d: unexpected error: %v", what, i, err)
		}
	}
	return ok, matched
}

// wantNoSecret fails t if err's text contains secret in raw, hex or
// base64 form.
func wantNoSecret(t *testing.T, what string, err error, secret []byte) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, form := range []string{
		string(secret),
		hex.EncodeToString(secret),
		strings.ToUpper(hex.EncodeToString(secret)),
		base64.StdEncoding.EncodeToString(secret),
		base64.RawURLEncoding.EncodeToString(secret),
		fmt.Sprint(secret),
	} {
		if strings.Contains(msg, form) {
			t.Errorf("%s: error text %q contains a secret", what, msg)
			return
		}
	}
}

// hash returns a distinct 32-byte value standing in for a token or code
// hash.
func hash(label string) []byte {
	b := bytes.Repeat([]byte{0}, 32)
	copy(b, label)
	b[31] = 0xA5 // not valid UTF-8 on its own, so BLOB handling is exercised
	return b
}

// Fixtures. Each test creates what it needs in its own empty store.

const (
	testRegion = "eu-west-1"
	poolID     = "eu-west-1_TestPool1"
	otherPool  = "eu-west-1_TestPool2"
	clientID   = "abcdefghijklmnopqrstuvwxyz"
)

func newPool(id string, createdAt time.Time) pool.Pool {
	return pool.Pool{
		ID:        id,
		Name:      "pool " + id,
		Region:    testRegion,
		CreatedAt: createdAt,
		Settings:  pool.DefaultSettings(),
		HashKey:   bytes.Repeat([]byte{0x5a}, 32),
	}
}

// mkPools creates pools with the given IDs.
func mkPools(t *testing.T, st store.Store, ids ...string) {
	t.Helper()
	for i, id := range ids {
		must(t, "CreatePool", st.CreatePool(t.Context(), newPool(id, t0.Add(time.Duration(i)*time.Second))))
	}
}

func newUser(poolID, username, sub string, status pool.UserStatus) pool.User {
	return pool.User{
		PoolID:   poolID,
		Sub:      sub,
		Username: username,
		Attributes: map[string]string{
			pool.AttrSub:           sub,
			pool.AttrEmail:         username,
			pool.AttrEmailVerified: "false",
		},
		Status:    status,
		Enabled:   true,
		CreatedAt: t0,
		UpdatedAt: t0,
	}
}

func newSession(id string, tokenHash []byte) pool.AuthSession {
	return pool.AuthSession{
		ID:          id,
		TokenHash:   tokenHash,
		Kind:        pool.KindSignIn,
		PoolID:      poolID,
		ClientID:    clientID,
		Username:    "alice@example.com",
		Sub:         "0b5e4c1e-0000-4000-8000-000000000001",
		Flow:        pool.FlowUserAuth,
		Challenge:   pool.ChallengeEmail,
		CodeHash:    hash("code " + id),
		MaxAttempts: 3,
		Channel:     "email",
		Destination: "alice@example.com",
		CreatedAt:   t0,
		ExpiresAt:   t0.Add(3 * time.Minute),
	}
}

func newCode(username string, codeHash []byte) pool.Code {
	return pool.Code{
		PoolID:      poolID,
		Username:    username,
		Purpose:     pool.PurposeSignUp,
		Hash:        codeHash,
		MaxAttempts: 3,
		CreatedAt:   t0,
		ExpiresAt:   t0.Add(24 * time.Hour),
	}
}

func newRefreshToken(id string, tokenHash []byte, poolID, sub string) pool.RefreshToken {
	return pool.RefreshToken{
		ID:        id,
		Hash:      tokenHash,
		PoolID:    poolID,
		ClientID:  clientID,
		Sub:       sub,
		Username:  "alice@example.com",
		AuthTime:  t0.Add(-time.Minute),
		CreatedAt: t0,
		ExpiresAt: t0.Add(pool.DefaultRefreshTokenTTL),
	}
}
