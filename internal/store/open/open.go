// Package open opens the store that a store URL or a data directory names,
// as `latchkey serve`, the other commands and the latchkey package choose
// it: the URL's store when there is one (postgres://… or
// sqlite:///path/to/latchkey.db), else the SQLite database latchkey.db in
// the data directory.
package open

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// DefaultDataDir is the data directory when none is given.
const DefaultDataDir = "./latchkey-data"

// dbFile is the SQLite database's name in the data directory.
const dbFile = "latchkey.db"

// SQLitePath returns the SQLite file that storeURL or dataDir names: the
// path of a sqlite:// URL, or latchkey.db in dataDir (DefaultDataDir when
// empty) when storeURL is empty. It returns "" for any other URL.
func SQLitePath(storeURL, dataDir string) (string, error) {
	if storeURL == "" {
		return filepath.Join(dataDirOr(dataDir), dbFile), nil
	}
	if rest, ok := strings.CutPrefix(storeURL, "sqlite://"); ok {
		if rest == "" || rest == "/" {
			return "", fmt.Errorf("store URL %q names no file; use sqlite:///path/to/latchkey.db", storeURL)
		}
		return rest, nil
	}
	return "", nil
}

// Describe names the store without credentials, for logs and errors: "sqlite
// in DIR" for the data directory's database, else the URL with its password
// redacted.
func Describe(storeURL, dataDir string) string {
	if storeURL == "" {
		return "sqlite in " + dataDirOr(dataDir)
	}
	u, err := url.Parse(storeURL)
	if err != nil {
		return "an unparsable store URL"
	}
	return u.Redacted()
}

// Open opens the store that storeURL or dataDir names (see SQLitePath);
// opening runs its migrations. An error about the URL's form names it
// without credentials; other errors are the store's own, for the caller to
// wrap with Describe.
func Open(ctx context.Context, storeURL, dataDir string) (store.Store, error) {
	path, err := SQLitePath(storeURL, dataDir)
	if err != nil {
		return nil, err
	}
	if path != "" {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	if !strings.HasPrefix(storeURL, "postgres://") && !strings.HasPrefix(storeURL, "postgresql://") {
		return nil, fmt.Errorf("store URL %s is neither postgres://… nor sqlite:///path", Describe(storeURL, dataDir))
	}
	st, err := postgres.Open(ctx, storeURL)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func dataDirOr(dataDir string) string {
	if dataDir == "" {
		return DefaultDataDir
	}
	return dataDir
}
