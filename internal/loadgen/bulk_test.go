package loadgen_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/loadgen"
	"github.com/latchkey/latchkey/internal/store/open"
)

// TestBulkSeedMakesReturningUsers fills a pool straight through the store,
// and the returning flow then signs those users in without signing them
// up; a second fill adds nothing.
func TestBulkSeedMakesReturningUsers(t *testing.T) {
	s, dir := startServerDir(t)
	ctx := context.Background()
	st, err := open.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.GetPool(ctx, s.poolID)
	if err != nil {
		t.Fatal(err)
	}
	const users = 12
	for i, want := range []int{users, 0} {
		added, err := loadgen.BulkSeed(ctx, st, p, "+15559", users, nil)
		if err != nil || added != want {
			t.Fatalf("fill %d: added %d, %v; want %d", i+1, added, err, want)
		}
	}
	rep, err := loadgen.Run(ctx, loadgen.Config{
		Endpoint: s.url, ClientID: s.clientID, PoolID: s.poolID, Flow: loadgen.FlowReturning,
		Users: users, Prefix: "+15559", Concurrency: 2, Flows: users,
		Duration: 30 * time.Second, SigningBound: false,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Completed != users || len(rep.Errors) != 0 {
		t.Fatalf("completed %d flows with errors %v; want %d and none", rep.Completed, rep.Errors, users)
	}
}
