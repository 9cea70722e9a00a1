package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// storeTarget says which store a command uses: storeURL when set, else the
// SQLite database in dataDir.
type storeTarget struct {
	storeURL string
	dataDir  string
}

// storeFlags defines --data and --store on fs, for commands that open the
// store, and returns the target they fill.
func storeFlags(fs *flag.FlagSet) *storeTarget {
	var t storeTarget
	fs.StringVar(&t.dataDir, "data", config.DefaultDataDir, "directory holding the SQLite database")
	config.StoreFlag(fs, &t.storeURL)
	return &t
}

// String describes the target without credentials, for logs.
func (t storeTarget) String() string {
	if t.storeURL == "" {
		return "sqlite in " + t.dataDir
	}
	u, err := url.Parse(t.storeURL)
	if err != nil {
		return "an unparsable store URL"
	}
	return u.Redacted()
}

// sqlitePath returns the SQLite file of the target, or "" for PostgreSQL.
func (t storeTarget) sqlitePath() (string, error) {
	if t.storeURL == "" {
		return filepath.Join(t.dataDir, "latchkey.db"), nil
	}
	if rest, ok := strings.CutPrefix(t.storeURL, "sqlite://"); ok {
		if rest == "" || rest == "/" {
			return "", fmt.Errorf("store URL %q names no file; use sqlite:///path/to/latchkey.db", t.storeURL)
		}
		return rest, nil
	}
	return "", nil
}

// open opens the target's store; opening runs its migrations.
func (t storeTarget) open(ctx context.Context) (store.Store, error) {
	path, err := t.sqlitePath()
	if err != nil {
		return nil, err
	}
	if path != "" {
		return sqlite.Open(ctx, path)
	}
	if strings.HasPrefix(t.storeURL, "postgres://") || strings.HasPrefix(t.storeURL, "postgresql://") {
		return postgres.Open(ctx, t.storeURL)
	}
	return nil, fmt.Errorf("store URL %s is neither postgres://… nor sqlite:///path", t)
}

// openExisting opens the target's store for a read command, refusing to
// create an empty SQLite database where none exists.
func (t storeTarget) openExisting(ctx context.Context) (store.Store, error) {
	path, err := t.sqlitePath()
	if err != nil {
		return nil, err
	}
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no Latchkey database at %s (start the server first): %w", path, err)
		}
	}
	return t.open(ctx)
}
