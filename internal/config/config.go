// Package config turns command-line flags and LATCHKEY_* environment
// variables into typed configuration. A flag given on the command line wins
// over its environment variable, which wins over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
)

// EnvName is the environment variable that sets a flag: --public-url is
// LATCHKEY_PUBLIC_URL.
func EnvName(flagName string) string {
	return "LATCHKEY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ErrEnv wraps errors in LATCHKEY_* values, so callers can tell them from
// command-line usage errors.
var ErrEnv = errors.New("bad environment variable")

// Parse parses args into fs, then fills every flag not given on the command
// line from its environment variable.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%w %s=%q: %v", ErrEnv, EnvName(f.Name), v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// Serve is the configuration of `latchkey serve`.
type Serve struct {
	Addr        string
	DataDir     string
	Store       string
	PublicURL   string
	Dev         bool
	CORSOrigins []string
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client's address (for per-address limits and the audit trail).
	TrustedProxies []netip.Prefix
	LogLevel       string
	LogFormat      string
}

// DefaultAddr is where the server listens unless told otherwise: loopback,
// so a fresh install is not reachable from the network.
const DefaultAddr = "127.0.0.1:8080"

// DefaultDataDir holds the SQLite database unless told otherwise.
const DefaultDataDir = "./latchkey-data"

// ServeFlags defines the flags of `latchkey serve` on fs and returns the
// Serve they fill once fs is parsed (use Finish afterwards).
func ServeFlags(fs *flag.FlagSet) *Serve {
	s := &Serve{}
	fs.StringVar(&s.Addr, "addr", DefaultAddr, "address to listen on (host:port)")
	fs.StringVar(&s.DataDir, "data", DefaultDataDir, "directory holding the SQLite database")
	StoreFlag(fs, &s.Store)
	fs.StringVar(&s.PublicURL, "public-url", "", "base URL clients reach this server at, used in the tokens' iss (default http://<addr>)")
	fs.BoolVar(&s.Dev, "dev", true, "dev delivery: write codes to the log and the /_dev/outbox endpoint instead of sending them")
	fs.Func("cors-origins", `comma-separated browser origins allowed to call the API, or "*" for any (default "*")`, func(v string) error {
		s.CORSOrigins = nil
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				s.CORSOrigins = append(s.CORSOrigins, o)
			}
		}
		return nil
	})
	fs.Func("trusted-proxies", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (default: none; the peer address is the client)", func(v string) error {
		s.TrustedProxies = nil
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c == "" {
				continue
			}
			if !strings.Contains(c, "/") {
				a, err := netip.ParseAddr(c)
				if err != nil {
					return fmt.Errorf("trusted proxy %q: %w", c, err)
				}
				s.TrustedProxies = append(s.TrustedProxies, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return fmt.Errorf("trusted proxy %q: %w", c, err)
			}
			s.TrustedProxies = append(s.TrustedProxies, p.Masked())
		}
		return nil
	})
	fs.StringVar(&s.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&s.LogFormat, "log-format", "text", "log format: text or json")
	return s
}

// StoreFlag defines --store, shared by every command that opens the store.
func StoreFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "store", "", "store URL: postgres://user:pass@host/db or sqlite:///path/latchkey.db (default: SQLite in --data)")
}

// Finish validates s and fills defaults that depend on other settings.
// listenAddr is the address actually bound (it differs from Addr for port 0).
func (s *Serve) Finish(listenAddr string) error {
	if s.CORSOrigins == nil {
		s.CORSOrigins = []string{"*"}
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log level %q is not debug, info, warn or error", s.LogLevel)
	}
	switch s.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log format %q is not text or json", s.LogFormat)
	}
	if s.PublicURL == "" {
		host, port, err := net.SplitHostPort(listenAddr)
		if err != nil {
			return fmt.Errorf("listen address %q: %w", listenAddr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		s.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	if !strings.HasPrefix(s.PublicURL, "http://") && !strings.HasPrefix(s.PublicURL, "https://") {
		return fmt.Errorf("public URL %q must start with http:// or https://", s.PublicURL)
	}
	s.PublicURL = strings.TrimRight(s.PublicURL, "/")
	return nil
}

// Usage writes a command's help: its description, then its flags with the
// environment variable of each.
func Usage(fs *flag.FlagSet, w io.Writer, usage, description string) func() {
	return func() {
		fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags (each also settable as LATCHKEY_<FLAG>):\n", usage, description)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}
