package loadgen_test

import (
	"context"
	"crypto/rand"
	"maps"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/loadgen"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store/open"
)

// TestEnumerationAgainstServer runs the known-vs-unknown probe against a
// real server with a second pool that confirms users by code, both with
// their send limits and cooldown off: every operation is measured for
// both kinds, and the answers are the same for both.
func TestEnumerationAgainstServer(t *testing.T) {
	s, dir := startServerDir(t)
	ctx := context.Background()
	st, err := open.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.NewAdmin(st, rand.Reader, time.Now)
	settings := pool.DefaultSettings()
	settings.AutoConfirm = false
	p, err := admin.CreatePool(ctx, "unconfirmed", "local", settings)
	if err != nil {
		t.Fatal(err)
	}
	c, err := admin.CreateClient(ctx, p.ID, auth.ClientOptions{Name: "probe"})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, id := range []string{s.poolID, p.ID} {
		relaxLimits(t, dir, id)
		noCooldown(t, dir, id)
	}

	rep, err := loadgen.Enumeration(ctx, loadgen.EnumerationConfig{
		Endpoint: s.url, ClientID: s.clientID, UnconfirmedClientID: c.ID, Requests: 15,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int{
		"InitiateAuth":           {"ok": 15},
		"ResendConfirmationCode": {"ok": 15},
		"ConfirmSignUp":          {"CodeMismatchException": 15},
	}
	if len(rep.Operations) != len(want) {
		t.Fatalf("%d operations, want %d", len(rep.Operations), len(want))
	}
	for _, op := range rep.Operations {
		if !maps.Equal(op.KnownAnswers, want[op.Operation]) || !maps.Equal(op.UnknownAnswers, want[op.Operation]) {
			t.Errorf("%s: answers known %v, unknown %v; want %v for both", op.Operation, op.KnownAnswers, op.UnknownAnswers, want[op.Operation])
		}
		if op.KnownMedianMS <= 0 || op.UnknownMedianMS <= 0 || op.KnownP90MS < op.KnownMedianMS || op.UnknownP90MS < op.UnknownMedianMS {
			t.Errorf("%s: latencies not positive and ordered: %+v", op.Operation, op)
		}
	}
}

// noCooldown turns the destination cooldown off, which the sign-ups'
// codes would otherwise trip for the known users alone.
func noCooldown(t *testing.T, dir, poolID string) {
	t.Helper()
	updateLimits(t, dir, poolID, func(l *pool.Limits) { l.DestinationCooldown = pool.Rate{} })
}
