package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestGroupCommit hands many transactions to the committer at once, every
// third one failing: the failures leave nothing, the others are all
// stored, each caller gets its own outcome, and the transactions shared
// commits.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	boom := errors.New("boom")
	const n = 120
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.inTx(ctx, func(tx *sql.Tx) error {
				if _, err := s.in(tx).ExecContext(ctx, `INSERT INTO limits (key, tat, expires_at) VALUES (?, 1, 1)`, fmt.Sprint("g/", i)); err != nil {
					return err
				}
				if i%3 == 0 {
					return boom
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if want := i%3 == 0; errors.Is(err, boom) != want || (!want && err != nil) {
			t.Errorf("transaction %d: %v", i, err)
		}
		var one int
		err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM limits WHERE key = ?`, fmt.Sprint("g/", i)).Scan(&one)
		if err != nil {
			t.Fatal(err)
		}
		if want := i%3 != 0; (one == 1) != want {
			t.Errorf("transaction %d: %d rows stored, want stored: %v", i, one, want)
		}
	}
	if c, txs := s.commits.commits.Load(), s.commits.txs.Load(); txs != n || c >= n {
		t.Errorf("%d transactions in %d commits: want %d in fewer", txs, c, n)
	} else {
		t.Logf("%d transactions in %d commits", txs, c)
	}
}

// TestGroupCommitAfterClose: work handed to a closed store is refused.
func TestGroupCommitAfterClose(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.inTx(ctx, func(*sql.Tx) error { return nil }); !errors.Is(err, errClosed) {
		t.Errorf("inTx after Close: %v, want errClosed", err)
	}
}
