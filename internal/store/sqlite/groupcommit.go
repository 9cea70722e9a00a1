package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
)

// Group commit. SQLite has one writer, and with synchronous=FULL every
// commit waits for an fsync of the WAL: one transaction at a time, each
// paying a disk flush, is what bounds a busy server. So write transactions
// are not run by their callers but handed to one committer goroutine, which
// runs every transaction waiting at that moment inside one SQLite
// transaction, each under a savepoint of its own, and commits them with one
// fsync. A transaction whose function fails is rolled back to its savepoint
// and the others commit; every caller returns only after the commit that
// made its work durable, or with the error that prevented it.

// maxGroup bounds how many transactions share one commit.
const maxGroup = 64

// errClosed is returned for work handed to a store that is closing.
var errClosed = errors.New("sqlite store is closed")

type pendingTx struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan error
}

type committer struct {
	w     *sql.DB
	stmts *stmtCache
	queue chan *pendingTx
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	// commits and txs count commits and the transactions they carried.
	commits, txs atomic.Int64
}

func newCommitter(w *sql.DB, stmts *stmtCache) *committer {
	c := &committer{w: w, stmts: stmts, queue: make(chan *pendingTx), stop: make(chan struct{})}
	c.wg.Go(c.loop)
	return c
}

// run runs fn in a write transaction, possibly shared with others, and
// returns once it is committed (nil) or has failed.
func (c *committer) run(ctx context.Context, fn func(tx *sql.Tx) error) error {
	p := &pendingTx{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case c.queue <- p:
	case <-c.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over it may commit, so wait for the outcome whatever
	// ctx does: the caller must not report a failure that did not happen.
	return <-p.done
}

// close stops the committer after the transactions already handed over.
func (c *committer) close() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}

func (c *committer) loop() {
	for {
		var first *pendingTx
		select {
		case first = <-c.queue:
		case <-c.stop:
			return
		}
		group := []*pendingTx{first}
	more:
		for len(group) < maxGroup {
			select {
			case p := <-c.queue:
				group = append(group, p)
			default:
				break more
			}
		}
		c.commit(group)
		c.commits.Add(1)
		c.txs.Add(int64(len(group)))
		// The connection is free: prepare what the group met unprepared.
		c.stmts.preparePending(context.Background())
	}
}

// commit runs a group in one transaction and tells each member its outcome.
func (c *committer) commit(group []*pendingTx) {
	results := make([]error, len(group))
	finish := func(commitErr error) {
		for i, p := range group {
			if results[i] == nil {
				results[i] = commitErr
			}
			p.done <- results[i]
		}
	}
	// Not the callers' contexts: one caller giving up must not roll back
	// the others' work.
	tx, err := c.w.BeginTx(context.Background(), nil)
	if err != nil {
		for i := range results {
			results[i] = err
		}
		finish(nil)
		return
	}
	if len(group) == 1 {
		p := group[0]
		if results[0] = p.ctx.Err(); results[0] == nil {
			results[0] = p.fn(tx)
		}
		if results[0] != nil {
			_ = tx.Rollback() // adds nothing to fn's error
			finish(nil)
			return
		}
		finish(tx.Commit())
		return
	}
	for i, p := range group {
		if results[i] = p.ctx.Err(); results[i] != nil {
			continue
		}
		if err := savepoint(p.ctx, cached{stmts: c.stmts, tx: tx}, tx, p.fn); err != nil {
			results[i] = err
			if errors.Is(err, errSavepoint) {
				// The transaction itself is in doubt: nobody commits.
				_ = tx.Rollback()
				for j := range results {
					if results[j] == nil {
						results[j] = err
					}
				}
				finish(nil)
				return
			}
		}
	}
	finish(tx.Commit())
}
