package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds a cache: the store's statements are a fixed set,
// and a query built on the fly past the bound is simply not cached.
const maxCachedStmts = 256

// stmtCache keeps prepared statements of one connection pool by their SQL.
// SQLite's parser is a large part of a small statement's cost, and
// database/sql reuses a statement prepared on a connection for every
// later call on that connection, transactions included.
//
// The writer pool has one connection, which a transaction holds: a
// statement first met inside a transaction runs unprepared, and is
// prepared once that transaction has ended (preparePending).
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
	// pending are statements met inside a transaction, to prepare later.
	pending map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt), pending: make(map[string]bool)}
}

// get returns the prepared statement for query, or nil when it is not
// prepared yet (inTx: it is noted for preparePending) or cannot or should
// not be cached; the caller then runs the query as it is.
func (c *stmtCache) get(ctx context.Context, query string, inTx bool) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.m[query]
	if !ok && inTx && len(c.m)+len(c.pending) < maxCachedStmts {
		c.pending[query] = true
	}
	c.mu.Unlock()
	if ok || inTx {
		return st
	}
	return c.prepare(ctx, query)
}

// prepare prepares query on the pool and caches it.
func (c *stmtCache) prepare(ctx context.Context, query string) *sql.Stmt {
	// Prepared on the pool, not on a transaction, so it outlives one; a
	// failure surfaces when the query runs unprepared.
	st, err := c.db.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok {
		st.Close()
		return prev
	}
	if len(c.m) >= maxCachedStmts {
		st.Close()
		return nil
	}
	c.m[query] = st
	return st
}

// preparePending prepares the statements met inside transactions. It is
// called once a transaction has ended and given the connection back.
func (c *stmtCache) preparePending(ctx context.Context) {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	queries := make([]string, 0, len(c.pending))
	for q := range c.pending {
		queries = append(queries, q)
	}
	clear(c.pending)
	c.mu.Unlock()
	for _, q := range queries {
		c.prepare(ctx, q)
	}
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}

// cached runs queries through a stmtCache: on the pool, or, with tx set,
// in that transaction (tx must belong to the cache's pool).
type cached struct {
	stmts *stmtCache
	tx    *sql.Tx
}

// Inside a transaction a statement is not interrupted by its caller going
// away: an interrupted statement can roll back the whole transaction,
// which other callers' work may share (groupcommit.go).

func (c cached) stmt(ctx context.Context, query string) *sql.Stmt {
	st := c.stmts.get(ctx, query, c.tx != nil)
	if st != nil && c.tx != nil {
		st = c.tx.StmtContext(ctx, st)
	}
	return st
}

func (c cached) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if c.tx != nil {
		ctx = context.WithoutCancel(ctx)
	}
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if c.tx != nil {
		return c.tx.ExecContext(ctx, query, args...)
	}
	return c.stmts.db.ExecContext(ctx, query, args...)
}

func (c cached) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if c.tx != nil {
		ctx = context.WithoutCancel(ctx)
	}
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if c.tx != nil {
		return c.tx.QueryContext(ctx, query, args...)
	}
	return c.stmts.db.QueryContext(ctx, query, args...)
}

func (c cached) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if c.tx != nil {
		ctx = context.WithoutCancel(ctx)
	}
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if c.tx != nil {
		return c.tx.QueryRowContext(ctx, query, args...)
	}
	return c.stmts.db.QueryRowContext(ctx, query, args...)
}
