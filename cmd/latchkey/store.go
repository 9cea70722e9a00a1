package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/open"
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
func (t storeTarget) String() string { return open.Describe(t.storeURL, t.dataDir) }

// open opens the target's store; opening runs its migrations.
func (t storeTarget) open(ctx context.Context) (store.Store, error) {
	return open.Open(ctx, t.storeURL, t.dataDir)
}

// openExisting opens the target's store for a read command, refusing to
// create an empty SQLite database where none exists.
func (t storeTarget) openExisting(ctx context.Context) (store.Store, error) {
	path, err := open.SQLitePath(t.storeURL, t.dataDir)
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
