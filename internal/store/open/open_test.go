package open_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/store/open"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestDefaultDataDir: the commands' --data default and the default here
// name the same directory, so every command finds the server's database.
func TestDefaultDataDir(t *testing.T) {
	if open.DefaultDataDir != config.DefaultDataDir {
		t.Errorf("open.DefaultDataDir = %q, config.DefaultDataDir = %q", open.DefaultDataDir, config.DefaultDataDir)
	}
}

func TestSQLitePathAndDescribe(t *testing.T) {
	tests := []struct {
		name              string
		storeURL, dataDir string
		path              string // "" for PostgreSQL
		pathErr           string
		describe          string
	}{
		{"data dir", "", "/srv/lk", "/srv/lk/latchkey.db", "", "sqlite in /srv/lk"},
		{"default data dir", "", "", filepath.Join(open.DefaultDataDir, "latchkey.db"), "", "sqlite in " + open.DefaultDataDir},
		{"sqlite URL", "sqlite:///var/lib/lk.db", "/srv/lk", "/var/lib/lk.db", "", "sqlite:///var/lib/lk.db"},
		{"relative sqlite URL", "sqlite://lk.db", "", "lk.db", "", "sqlite://lk.db"},
		{"sqlite URL without a file", "sqlite://", "", "", "names no file", "sqlite:"},
		{"sqlite URL of the root", "sqlite:///", "", "", "names no file", "sqlite:///"},
		{"postgres", "postgres://lk:secret-pw@db:5432/lk?sslmode=require", "/srv/lk", "", "", "postgres://lk:xxxxx@db:5432/lk?sslmode=require"},
		{"postgresql", "postgresql://db/lk", "", "", "", "postgresql://db/lk"},
		{"unknown scheme", "mysql://u:secret-pw@db/x", "", "", "", "mysql://u:xxxxx@db/x"},
		{"unparsable", "postgres://u:secret-pw@db:port/x", "", "", "", "an unparsable store URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, err := open.SQLitePath(tt.storeURL, tt.dataDir)
			switch {
			case tt.pathErr == "" && err != nil:
				t.Errorf("SQLitePath: %v", err)
			case tt.pathErr != "" && (err == nil || !strings.Contains(err.Error(), tt.pathErr)):
				t.Errorf("SQLitePath error = %v, want one saying %q", err, tt.pathErr)
			case path != tt.path:
				t.Errorf("SQLitePath = %q, want %q", path, tt.path)
			}
			if got := open.Describe(tt.storeURL, tt.dataDir); got != tt.describe {
				t.Errorf("Describe = %q, want %q", got, tt.describe)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name              string
		storeURL, dataDir string
		postgres          bool   // storeURL is pgtest's
		file              string // the SQLite file Open must create
		wantErr           string
	}{
		{name: "data dir", dataDir: filepath.Join(dir, "data"), file: filepath.Join(dir, "data", "latchkey.db")},
		{name: "sqlite URL", storeURL: "sqlite://" + filepath.Join(dir, "url", "lk.db"), dataDir: filepath.Join(dir, "unused"), file: filepath.Join(dir, "url", "lk.db")},
		{name: "postgres", postgres: true, dataDir: filepath.Join(dir, "unused")},
		{name: "sqlite URL without a file", storeURL: "sqlite://", wantErr: `store URL "sqlite://" names no file`},
		{name: "unknown scheme", storeURL: "mysql://u:secret-pw@db/x", wantErr: "store URL mysql://u:xxxxx@db/x is neither postgres://… nor sqlite:///path"},
		{name: "unparsable", storeURL: "mysql://u:secret-pw@db:port/x", wantErr: "store URL an unparsable store URL is neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storeURL := tt.storeURL
			if tt.postgres {
				storeURL = pgtest.URL(t)
			}
			st, err := open.Open(context.Background(), storeURL, tt.dataDir)
			if tt.wantErr != "" {
				if err == nil {
					st.Close()
					t.Fatalf("Open accepted %q", storeURL)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q lacks %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret-pw") {
					t.Errorf("error shows the store's password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			// The store works: it has no pool yet.
			if _, err := st.ListPools(context.Background()); err != nil {
				t.Errorf("ListPools: %v", err)
			}
			if tt.file != "" {
				if _, err := os.Stat(tt.file); err != nil {
					t.Errorf("no database at %s: %v", tt.file, err)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "unused")); err == nil {
				t.Error("Open created the data directory of a store URL")
			}
		})
	}
}
