// Package pgtest gives each test that needs PostgreSQL a new, empty
// database of its own: URL(t) creates the database, drops it when t ends,
// and returns its connection URL.
//
// The server is the one LATCHKEY_TEST_POSTGRES_URL points at: a
// postgres:// URL of a role that may CREATE DATABASE, for example
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
//
// When that is unset, the test process starts a throwaway server on first
// use, with PostgreSQL's initdb and pg_ctl (found on PATH, in
// /usr/lib/postgresql/*/bin or in /usr/pgsql-*/bin), in a temporary
// directory, on a free 127.0.0.1 port, with trust auth; as root it runs
// them as the postgres OS user, since initdb refuses root. Only a package
// whose TestMain runs its tests through Main gets one, because Main is what
// stops it at the end:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// Without either, the test is skipped with a message saying how to enable
// it, or fails when the CI environment variable is true.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable holding the server URL.
const EnvURL = "LATCHKEY_TEST_POSTGRES_URL"

const howToEnable = "set " + EnvURL + " (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) " +
	"or install PostgreSQL's server (initdb and pg_ctl)"

// adminTimeout bounds creating and dropping a test database.
const adminTimeout = time.Minute

// local is the throwaway server of this test process, if it needs one.
var local server

// URL returns the connection URL of a new, empty database created for t
// and dropped, with any connections still open to it, when t ends.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		var why string
		var err error
		base, why, err = local.url()
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		if why != "" {
			unavailable(t, why)
		}
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// The URL may hold a password: do not echo it.
		t.Fatalf("pgtest: %s must be a postgres:// URL", EnvURL)
	}
	name := "latchkey_test_" + randomHex(8)
	admin(t, base, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+
		// template0 never has connections (which would block the copy)
		// nor objects someone added to template1.
		" TEMPLATE template0")
	t.Cleanup(func() {
		admin(t, base, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	u.Path, u.RawPath = "/"+name, ""
	return u.String()
}

// admin runs one statement on the server's maintenance database. Cleanup
// runs after t's context is cancelled, so it has a context of its own.
func admin(t testing.TB, base, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		t.Fatalf("pgtest: %s: %v", stmt, err)
	}
}

// unavailable skips t, or fails it when running in CI, where a skipped
// PostgreSQL test would hide that nothing was tested.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("pgtest: %s; CI is set, so this fails instead of skipping; %s", why, howToEnable)
	}
	t.Skipf("pgtest: %s; to run this test, %s", why, howToEnable)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// Main runs m's tests and then stops the throwaway server if one was
// started. Call it from TestMain to let URL start one when EnvURL is unset.
func Main(m *testing.M) int {
	local.managed.Store(true)
	code := m.Run()
	if err := local.shutdown(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// server is a throwaway PostgreSQL server, started at most once.
type server struct {
	managed atomic.Bool // Main is running the tests and will stop it
	once    sync.Once
	base    string // URL of the maintenance database
	why     string // why there is no server, when there is none
	err     error  // why starting failed
	dir     string // holds the data directory, socket and log
	pgCtl   string
	runAs   string      // OS user running the server, when we are root
	guard   *os.Process // removes the server if this process dies first
}

// url starts the server on first use and returns its URL, or why there is
// none (a reason to skip), or an error (a reason to fail).
func (s *server) url() (base, why string, err error) {
	initdb, pgCtl, found := findBinaries()
	switch {
	case !found:
		return "", "no PostgreSQL server: " + EnvURL + " is unset and initdb/pg_ctl are not installed", nil
	case !s.managed.Load():
		return "", "", errors.New(EnvURL + " is unset, and a throwaway server needs the package's TestMain to call " +
			"os.Exit(pgtest.Main(m)) so that it is stopped at the end")
	}
	s.once.Do(func() {
		s.pgCtl = pgCtl
		s.base, s.why, s.err = s.start(initdb)
	})
	return s.base, s.why, s.err
}

// start creates a cluster in a new temporary directory and starts it.
func (s *server) start(initdb string) (base, why string, err error) {
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", "running as root, and there is no postgres OS user to run the server as", nil
		}
		s.runAs = u.Username
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if s.dir, err = tempDir(); err != nil {
		return "", "", err
	}
	defer func() {
		if err != nil {
			_ = s.cleanup()
		}
	}()
	if uid >= 0 {
		if err := os.Chown(s.dir, uid, gid); err != nil {
			return "", "", fmt.Errorf("give %s to the postgres user: %w", s.dir, err)
		}
	}
	data := filepath.Join(s.dir, "data")
	if err := s.run(initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync"); err != nil {
		return "", "", err
	}
	if err := s.startGuard(); err != nil {
		return "", "", err
	}
	// A free port can be taken between choosing it and the server binding
	// it; try a few.
	for try := 0; ; try++ {
		port, err := freePort()
		if err != nil {
			return "", "", err
		}
		if err := s.configure(data, port); err != nil {
			return "", "", err
		}
		err = s.run(s.pgCtl, "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(s.dir, "postgres.log"))
		if err == nil {
			return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), "", nil
		}
		if try == 2 {
			log, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
			return "", "", fmt.Errorf("%w\nserver log:\n%s", err, tail(log, 2000))
		}
	}
}

// configure appends the test server's settings to postgresql.conf; later
// lines win, so a retry with another port just appends again. Durability
// is pointless for a throwaway server, and turning it off makes the tests
// faster.
func (s *server) configure(data string, port int) error {
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
`, port, strings.ReplaceAll(s.dir, "'", "''"))
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(conf)
	return errors.Join(err, f.Close())
}

// startGuard starts a detached shell that waits for this process to exit
// and then stops the server and removes its directory. Main does that
// itself; the guard covers what Main cannot: a test binary that panics on
// its -timeout, calls os.Exit or is killed.
func (s *server) startGuard() error {
	const script = `while kill -0 "$1" 2>/dev/null; do sleep 1; done
pid=$(head -n 1 "$2/data/postmaster.pid" 2>/dev/null) && kill -QUIT "$pid" 2>/dev/null && sleep 2
rm -rf "$2"`
	cmd := exec.Command("/bin/sh", "-c", script, "pgtest-guard", strconv.Itoa(os.Getpid()), s.dir)
	// No stdio: an inherited pipe would keep go test waiting for EOF.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start cleanup guard: %w", err)
	}
	s.guard = cmd.Process
	go func() { _ = cmd.Wait() }() // reap it if it ends before we do
	return nil
}

// shutdown stops the server, if one was started, and removes its files.
func (s *server) shutdown() error {
	s.once.Do(func() {}) // no start can begin after this
	if s.dir == "" {
		return nil
	}
	var err error
	if s.base != "" {
		// Immediate: nothing in a throwaway cluster is worth a checkpoint.
		if e := s.run(s.pgCtl, "stop", "-w", "-m", "immediate", "-D", filepath.Join(s.dir, "data")); e != nil {
			err = fmt.Errorf("stop the throwaway server: %w", e)
		}
	}
	return errors.Join(err, s.cleanup())
}

// cleanup removes the server's directory and ends the guard.
func (s *server) cleanup() error {
	if s.guard != nil {
		_ = s.guard.Kill()
	}
	if s.dir == "" {
		return nil
	}
	return os.RemoveAll(s.dir)
}

// run runs a PostgreSQL program, as the postgres OS user when we are root.
// Its error carries the end of the program's output.
func (s *server) run(name string, args ...string) error {
	if s.runAs != "" {
		if runuser, err := exec.LookPath("runuser"); err == nil {
			args = append([]string{"-u", s.runAs, "--", name}, args...)
			name = runuser
		} else {
			quoted := make([]string, 0, len(args)+1)
			for _, a := range append([]string{name}, args...) {
				quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
			}
			args = []string{s.runAs, "-s", "/bin/sh", "-c", strings.Join(quoted, " ")}
			name = "su"
		}
	}
	cmd := exec.Command(name, args...)
	// The postgres user may not be able to enter the working directory.
	cmd.Dir = s.dir
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, tail(out.Bytes(), 2000))
	}
	return nil
}

// tempDir makes a temporary directory that the postgres user can reach
// when we are root: root's TMPDIR may be private, and then /tmp is used
// instead.
func tempDir() (string, error) {
	parent := os.TempDir()
	if fi, err := os.Stat(parent); err != nil || fi.Mode().Perm()&0o001 == 0 {
		parent = "/tmp"
	}
	return os.MkdirTemp(parent, "latchkey-pgtest-")
}

// findBinaries looks for initdb and pg_ctl on PATH, then in the
// distributions' versioned directories, newest version first.
func findBinaries() (initdb, pgCtl string, ok bool) {
	if i, err := exec.LookPath("initdb"); err == nil {
		if p, err := exec.LookPath("pg_ctl"); err == nil {
			i, _ = filepath.Abs(i)
			p, _ = filepath.Abs(p)
			return i, p, true
		}
	}
	var dirs []string
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	version := func(dir string) float64 {
		v := filepath.Base(filepath.Dir(dir))
		v = strings.TrimPrefix(v, "pgsql-")
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	slices.SortFunc(dirs, func(a, b string) int {
		switch va, vb := version(a), version(b); {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return 0
	})
	for _, d := range dirs {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl")
		if isExecutable(i) && isExecutable(p) {
			return i, p, true
		}
	}
	return "", "", false
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns at most the last n bytes of b.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
