package storetest

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

func newAuditEvent(poolID, typ, username string, at time.Time) store.AuditEvent {
	return store.AuditEvent{
		PoolID:    poolID,
		At:        at,
		Type:      typ,
		Username:  username,
		Sub:       "sub-" + username,
		ClientID:  clientID,
		SourceIP:  "192.0.2.7",
		ExpiresAt: at.Add(90 * 24 * time.Hour),
	}
}

// matchAudit is AuditFilter's meaning, limit and paging aside.
func matchAudit(f store.AuditFilter, ev store.AuditEvent) bool {
	return (f.PoolID == "" || ev.PoolID == f.PoolID) &&
		(f.Username == "" || ev.Username == f.Username) &&
		(f.Type == "" || ev.Type == f.Type) &&
		(f.Since.IsZero() || !ev.At.Before(f.Since)) &&
		(f.Until.IsZero() || ev.At.Before(f.Until)) &&
		ev.ID > f.AfterID
}

func auditIDs(events []store.AuditEvent) []int64 {
	ids := []int64{}
	for _, ev := range events {
		ids = append(ids, ev.ID)
	}
	return ids
}

func (s suite) testAudit(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		full := newAuditEvent(poolID, "sign_in.failure", "alice@example.com", t0)
		full.ID = 12345 // the store assigns IDs
		full.At = time.Date(2025, 6, 1, 12, 0, 0, 123_456_789, time.FixedZone("X", 7200))
		full.ExpiresAt = full.At.Add(30*24*time.Hour + 1)
		full.Detail = map[string]string{"reason": "wrong_code", "channel": "sms", "odd": "\"ü\\\x00<>&"}
		onT0 := newAuditEvent(otherPool, "sign_up", "+447700900123", t0)
		onT0.Detail = map[string]string{"limit": "send/pool"}
		bare := store.AuditEvent{PoolID: poolID, At: t0, Type: "sign_out", ExpiresAt: t0}
		empty := newAuditEvent(poolID, "token.revoked", "bob@example.com", t0)
		empty.Detail = map[string]string{}

		var want []store.AuditEvent
		for i, ev := range []store.AuditEvent{full, onT0, bare, empty, full} {
			id, err := st.AppendAudit(t.Context(), ev)
			must(t, "AppendAudit", err)
			if len(want) > 0 && id <= want[len(want)-1].ID {
				t.Errorf("event %d got ID %d after ID %d: IDs must increase", i, id, want[len(want)-1].ID)
			}
			w := ev
			w.ID = id
			w.At, w.ExpiresAt = stored(ev.At), stored(ev.ExpiresAt)
			if len(w.Detail) == 0 {
				w.Detail = nil // nil and empty both read back as nil
			}
			want = append(want, w)
		}
		if want[0].ID == want[4].ID {
			t.Fatalf("the same event appended twice got ID %d both times", want[0].ID)
		}
		got, err := st.ListAudit(t.Context(), store.AuditFilter{})
		must(t, "ListAudit", err)
		wantEqual(t, "ListAudit", got, want)
	})

	// events returns the suite's 16 audit events, one for each mix of two
	// pools, users and types, twice, at minutes 0..15 from t0 in an order
	// unlike that of their IDs.
	events := func(t *testing.T, st store.Store) []store.AuditEvent {
		t.Helper()
		var out []store.AuditEvent
		for i := range 16 {
			ev := newAuditEvent(
				[]string{poolID, otherPool}[i%2],
				[]string{"sign_in.success", "code.wrong"}[i/4%2],
				[]string{"alice@example.com", "bob@example.com"}[i/2%2],
				t0.Add(time.Duration(i*5%16)*time.Minute))
			id, err := st.AppendAudit(t.Context(), ev)
			must(t, "AppendAudit", err)
			ev.ID = id
			out = append(out, ev)
		}
		return out
	}

	t.Run("Filter", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		evs := events(t, st)
		minute := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		tests := []struct {
			name string
			f    store.AuditFilter
			n    int
		}{
			{"everything", store.AuditFilter{}, 16},
			{"pool", store.AuditFilter{PoolID: poolID}, 8},
			{"username", store.AuditFilter{Username: "bob@example.com"}, 8},
			{"type", store.AuditFilter{Type: "code.wrong"}, 8},
			{"since", store.AuditFilter{Since: minute(10)}, 6},
			{"since just after", store.AuditFilter{Since: minute(10).Add(time.Nanosecond)}, 5},
			{"until", store.AuditFilter{Until: minute(4)}, 4},
			{"until just after", store.AuditFilter{Until: minute(4).Add(time.Nanosecond)}, 5},
			{"since and until", store.AuditFilter{Since: minute(4), Until: minute(10)}, 6},
			{"since equals until", store.AuditFilter{Since: minute(4), Until: minute(4)}, 0},
			{"after ID", store.AuditFilter{AfterID: evs[9].ID}, 6},
			{"limit", store.AuditFilter{Limit: 5}, 5},
			{"pool and username", store.AuditFilter{PoolID: poolID, Username: "alice@example.com"}, 4},
			{"pool, username and type", store.AuditFilter{PoolID: poolID, Username: "alice@example.com", Type: "sign_in.success"}, 2},
			{"pool and since", store.AuditFilter{PoolID: poolID, Since: minute(10)}, 3},
			{"all fields", store.AuditFilter{PoolID: otherPool, Username: "bob@example.com", Type: "code.wrong",
				Since: minute(0), Until: minute(16), AfterID: evs[0].ID, Limit: 1}, 1},
			{"unknown username", store.AuditFilter{Username: "carol@example.com"}, 0},
			{"unknown pool", store.AuditFilter{PoolID: "eu-west-1_NoSuchPool"}, 0},
		}
		for _, tc := range tests {
			got, err := st.ListAudit(t.Context(), tc.f)
			must(t, "ListAudit "+tc.name, err)
			want := []int64{}
			for _, ev := range evs {
				if matchAudit(tc.f, ev) && (tc.f.Limit <= 0 || len(want) < tc.f.Limit) {
					want = append(want, ev.ID)
				}
			}
			if len(want) != tc.n {
				t.Fatalf("%s: the test expects %d events but its fixture has %d", tc.name, tc.n, len(want))
			}
			wantEqual(t, "IDs listed for "+tc.name, auditIDs(got), want)
		}
	})

	t.Run("Paging", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		evs := events(t, st)
		for _, f := range []store.AuditFilter{{}, {PoolID: otherPool}, {Type: "sign_in.success", Since: t0.Add(3 * time.Minute)}} {
			var want []int64
			for _, ev := range evs {
				if matchAudit(f, ev) {
					want = append(want, ev.ID)
				}
			}
			what := fmt.Sprintf("IDs walked with filter %+v", f)
			var walked []int64
			f.Limit = 3
			for pages := 0; ; pages++ {
				if pages > len(evs) {
					t.Fatalf("filter %+v: paging does not end", f)
				}
				page, err := st.ListAudit(t.Context(), f)
				must(t, "ListAudit", err)
				if len(page) > f.Limit {
					t.Fatalf("filter %+v: page of %d events, limit %d", f, len(page), f.Limit)
				}
				if len(page) == 0 {
					break
				}
				walked = append(walked, auditIDs(page)...)
				f.AfterID = page[len(page)-1].ID
			}
			wantEqual(t, what, walked, want)
		}
	})

	t.Run("Limit", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		const n = 1001
		errs := concurrently(n, func(i int) error {
			_, err := st.AppendAudit(t.Context(), newAuditEvent(poolID, "code.sent", fmt.Sprintf("u%d", i), t0))
			return err
		})
		for _, err := range errs {
			must(t, "AppendAudit", err)
		}
		for _, tc := range []struct{ limit, want int }{{0, 1000}, {-1, 1000}, {1001, 1001}, {math.MaxInt, 1001}} {
			got, err := st.ListAudit(t.Context(), store.AuditFilter{Limit: tc.limit})
			must(t, "ListAudit", err)
			if len(got) != tc.want {
				t.Errorf("ListAudit with Limit %d returned %d events, want %d", tc.limit, len(got), tc.want)
			}
			if !slices.IsSortedFunc(got, func(a, b store.AuditEvent) int { return cmp.Compare(a.ID, b.ID) }) {
				t.Errorf("ListAudit with Limit %d: events not in ID order", tc.limit)
			}
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		now := t0.Add(time.Hour)
		var live []int64
		// Five expired and two live events; one expires exactly at now,
		// which counts as expired.
		for i := range 7 {
			ev := newAuditEvent(poolID, "sign_in.success", "alice@example.com", t0)
			ev.ExpiresAt = now.Add(-time.Duration(i) * time.Minute)
			if i >= 5 {
				ev.ExpiresAt = now.Add(time.Duration(i) * time.Minute)
			}
			id, err := st.AppendAudit(t.Context(), ev)
			must(t, "AppendAudit", err)
			if i >= 5 {
				live = append(live, id)
			}
		}
		wantEqual(t, "batches", sweepAll(t, st, store.ExpiringAudit, now), []int{2, 2, 1, 0})
		got, err := st.ListAudit(t.Context(), store.AuditFilter{})
		must(t, "ListAudit", err)
		wantEqual(t, "events left", auditIDs(got), live)
	})
}

// sweepAll runs DeleteExpired in batches of two until it deletes nothing
// and returns each batch's count.
func sweepAll(t *testing.T, st store.Store, kind store.Expiring, now time.Time) []int {
	t.Helper()
	var batches []int
	for len(batches) < 100 {
		n, err := st.DeleteExpired(t.Context(), kind, now, 2)
		must(t, "DeleteExpired "+string(kind), err)
		batches = append(batches, n)
		if n == 0 {
			break
		}
	}
	return batches
}

func newOutboxMessage(id string, createdAt time.Time) store.OutboxMessage {
	return store.OutboxMessage{
		ID:          id,
		PoolID:      poolID,
		Channel:     "sms",
		Destination: "+447700900123",
		Purpose:     "sign_in",
		Sealed:      hash("sealed " + id),
		CreatedAt:   createdAt,
		NotBefore:   createdAt,
		ExpiresAt:   createdAt.Add(3 * time.Minute),
	}
}

func outboxIDs(msgs []store.OutboxMessage) []string {
	ids := []string{}
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	return ids
}

func (s suite) testOutbox(t *testing.T) {
	// claim calls ClaimMessages with a one-minute lease and returns the
	// IDs claimed.
	claim := func(t *testing.T, st store.Store, now time.Time, limit int) []string {
		t.Helper()
		got, err := st.ClaimMessages(t.Context(), now, time.Minute, limit)
		must(t, "ClaimMessages", err)
		return outboxIDs(got)
	}

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		zone := time.FixedZone("X", -5*3600)
		full := newOutboxMessage("msg-full", time.Date(2025, 6, 1, 6, 59, 0, 999_999, zone))
		full.Channel = "email"
		full.Destination = "alice@example.com"
		full.Purpose = pool.PurposeSignUp
		full.Decoy = true
		full.Attempts = 2
		full.LastError = "smtp: 451 try later"
		full.NotBefore = time.Date(2025, 6, 1, 7, 0, 0, 1_500_000, zone)
		full.ExpiresAt = full.CreatedAt.Add(10*time.Minute + 1)
		bare := store.OutboxMessage{ID: "msg-bare", PoolID: poolID, CreatedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(time.Hour)}
		for _, m := range []store.OutboxMessage{bare, full} {
			must(t, "EnqueueMessage "+m.ID, st.EnqueueMessage(t.Context(), m))
		}

		const lease = 30*time.Second + 500*time.Microsecond
		now := t0.Add(time.Minute)
		got, err := st.ClaimMessages(t.Context(), now, lease, 10)
		must(t, "ClaimMessages", err)
		var want []store.OutboxMessage
		for _, m := range []store.OutboxMessage{full, bare} { // oldest first
			m.Attempts++
			// The lease ends at now+lease rounded up to a millisecond.
			m.NotBefore = now.Add(lease).Add(time.Millisecond - lease%time.Millisecond)
			m.CreatedAt, m.ExpiresAt = stored(m.CreatedAt), stored(m.ExpiresAt)
			want = append(want, m)
		}
		wantEqual(t, "claimed messages", got, want)
	})

	t.Run("EnqueueConflict", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		orig := newOutboxMessage("msg-1", t0)
		must(t, "EnqueueMessage", st.EnqueueMessage(t.Context(), orig))
		dup := newOutboxMessage("msg-1", t0.Add(-time.Second))
		dup.Destination = "+15555550100"
		err := st.EnqueueMessage(t.Context(), dup)
		wantErr(t, "EnqueueMessage with a taken ID", err, pool.ErrConflict)
		got, err := st.ClaimMessages(t.Context(), t0, time.Minute, 10)
		must(t, "ClaimMessages", err)
		if len(got) != 1 || got[0].Destination != orig.Destination {
			t.Fatalf("claimed %+v, want only the original message", got)
		}
	})

	t.Run("Lease", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		must(t, "EnqueueMessage", st.EnqueueMessage(t.Context(), newOutboxMessage("msg-1", t0)))
		first, err := st.ClaimMessages(t.Context(), t0, time.Minute, 10)
		must(t, "ClaimMessages", err)
		if len(first) != 1 || first[0].Attempts != 1 || first[0].NotBefore != t0.Add(time.Minute) {
			t.Fatalf("first claim = %+v, want msg-1 with Attempts 1 and NotBefore t0+1m", first)
		}
		for _, now := range []time.Time{t0, t0.Add(time.Minute - time.Millisecond)} {
			wantEqual(t, fmt.Sprintf("claimed at %v, within the lease", now), claim(t, st, now, 10), []string{})
		}
		again, err := st.ClaimMessages(t.Context(), t0.Add(time.Minute), time.Minute, 10)
		must(t, "ClaimMessages after the lease", err)
		if len(again) != 1 || again[0].Attempts != 2 || again[0].NotBefore != t0.Add(2*time.Minute) {
			t.Fatalf("claim after the lease = %+v, want msg-1 with Attempts 2 and NotBefore t0+2m", again)
		}
	})

	t.Run("NotBeforeAndExpiry", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		now := t0.Add(time.Hour)
		msgs := map[string]func(*store.OutboxMessage){
			"live":           func(*store.OutboxMessage) {},
			"expires at now": func(m *store.OutboxMessage) { m.ExpiresAt = now },
			"expired":        func(m *store.OutboxMessage) { m.ExpiresAt = now.Add(-time.Minute) },
			"not yet":        func(m *store.OutboxMessage) { m.NotBefore = now.Add(time.Millisecond) },
		}
		for id, edit := range msgs {
			m := newOutboxMessage(id, t0)
			m.ExpiresAt = now.Add(time.Hour)
			edit(&m)
			must(t, "EnqueueMessage", st.EnqueueMessage(t.Context(), m))
		}
		wantEqual(t, "claimed at now", claim(t, st, now, 10), []string{"live"})
		wantEqual(t, "claimed a millisecond later", claim(t, st, now.Add(time.Millisecond), 10), []string{"not yet"})
		wantEqual(t, "claimed after everything expired", claim(t, st, now.Add(2*time.Hour), 10), []string{})
	})

	t.Run("OldestFirst", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		// Enqueued in an order unlike their age or IDs.
		for i, age := range []int{3, 0, 5, 1, 4, 2} {
			m := newOutboxMessage(fmt.Sprintf("msg-%d", i), t0.Add(-time.Duration(age)*time.Second))
			must(t, "EnqueueMessage", st.EnqueueMessage(t.Context(), m))
		}
		var batches [][]string
		for range 4 {
			batches = append(batches, claim(t, st, t0, 2))
		}
		wantEqual(t, "claimed in batches of two", batches,
			[][]string{{"msg-2", "msg-4"}, {"msg-0", "msg-5"}, {"msg-3", "msg-1"}, {}})
	})

	t.Run("DeleteAndDefer", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		for _, id := range []string{"msg-1", "msg-2"} {
			must(t, "EnqueueMessage", st.EnqueueMessage(ctx, newOutboxMessage(id, t0)))
		}
		wantEqual(t, "first claim", claim(t, st, t0, 10), []string{"msg-1", "msg-2"})

		must(t, "DeleteMessage", st.DeleteMessage(ctx, "msg-1"))
		wantErr(t, "DeleteMessage again", st.DeleteMessage(ctx, "msg-1"), pool.ErrNotFound)
		wantErr(t, "DeferMessage of a deleted message", st.DeferMessage(ctx, "msg-1", t0, "x"), pool.ErrNotFound)
		wantErr(t, "DeleteMessage of an unknown ID", st.DeleteMessage(ctx, "msg-none"), pool.ErrNotFound)
		wantErr(t, "DeferMessage of an unknown ID", st.DeferMessage(ctx, "msg-none", t0, "x"), pool.ErrNotFound)

		// Deferring sets the time of the next try, earlier than the lease
		// would have.
		retry := t0.Add(10 * time.Second)
		must(t, "DeferMessage", st.DeferMessage(ctx, "msg-2", retry, "sns: throttled"))
		wantEqual(t, "claimed before the retry time", claim(t, st, retry.Add(-time.Millisecond), 10), []string{})
		got, err := st.ClaimMessages(ctx, retry, time.Minute, 10)
		must(t, "ClaimMessages at the retry time", err)
		want := newOutboxMessage("msg-2", t0)
		want.Attempts = 2
		want.LastError = "sns: throttled"
		want.NotBefore = retry.Add(time.Minute)
		wantEqual(t, "deferred message", got, []store.OutboxMessage{want})
	})

	t.Run("BadArguments", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		must(t, "EnqueueMessage", st.EnqueueMessage(t.Context(), newOutboxMessage("msg-1", t0)))
		for _, tc := range []struct {
			lease time.Duration
			limit int
		}{{0, 1}, {-time.Second, 1}, {time.Second, 0}, {time.Second, -1}} {
			if _, err := st.ClaimMessages(t.Context(), t0, tc.lease, tc.limit); err == nil {
				t.Errorf("ClaimMessages with lease %v and limit %d succeeded", tc.lease, tc.limit)
			}
		}
		got, err := st.ClaimMessages(t.Context(), t0, time.Minute, 1)
		must(t, "ClaimMessages", err)
		if len(got) != 1 || got[0].Attempts != 1 {
			t.Fatalf("claim after refused claims = %+v, want msg-1 with Attempts 1", got)
		}
	})

	t.Run("ClaimConcurrent", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		const msgs, claimers = 20, 10
		var all []string
		for i := range msgs {
			m := newOutboxMessage(fmt.Sprintf("msg-%02d", i), t0.Add(time.Duration(i)*time.Millisecond))
			must(t, "EnqueueMessage", st.EnqueueMessage(t.Context(), m))
			all = append(all, m.ID)
		}
		now := t0.Add(time.Second)
		claimed := make([][]store.OutboxMessage, claimers)
		errs := concurrently(claimers, func(i int) error {
			var err error
			claimed[i], err = st.ClaimMessages(t.Context(), now, time.Minute, 3)
			return err
		})
		var got []string
		for i, err := range errs {
			must(t, "ClaimMessages", err)
			if len(claimed[i]) > 3 {
				t.Errorf("claimer %d got %d messages with limit 3", i, len(claimed[i]))
			}
			for _, m := range claimed[i] {
				if m.Attempts != 1 {
					t.Errorf("claimer %d got %s with Attempts %d, want 1", i, m.ID, m.Attempts)
				}
				got = append(got, m.ID)
			}
		}
		slices.Sort(got)
		wantEqual(t, "messages claimed by all claimers together", got, all)
		wantEqual(t, "claimed again within the lease", claim(t, st, now, 100), []string{})
		wantEqual(t, "claimed after the lease", claim(t, st, now.Add(time.Minute), 100), all)
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		now := t0.Add(time.Hour)
		var live []string
		// Five expired and two live messages; one expires exactly at now,
		// which counts as expired.
		for i := range 7 {
			m := newOutboxMessage(fmt.Sprintf("msg-%d", i), t0.Add(time.Duration(i)*time.Second))
			m.ExpiresAt = now.Add(-time.Duration(i) * time.Minute)
			if i >= 5 {
				m.ExpiresAt = now.Add(time.Duration(i) * time.Minute)
				live = append(live, m.ID)
			}
			must(t, "EnqueueMessage", st.EnqueueMessage(t.Context(), m))
		}
		wantEqual(t, "batches", sweepAll(t, st, store.ExpiringOutbox, now), []int{2, 2, 1, 0})
		for i := range 5 {
			wantErr(t, "DeleteMessage of a swept message", st.DeleteMessage(t.Context(), fmt.Sprintf("msg-%d", i)), pool.ErrNotFound)
		}
		wantEqual(t, "messages left", claim(t, st, t0.Add(time.Minute), 10), live)
	})
}
