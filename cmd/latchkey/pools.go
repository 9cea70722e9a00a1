package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

type clientSummary struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type poolSummary struct {
	ID      string          `json:"id"`
	Name    string          `json:"name"`
	Clients []clientSummary `json:"clients"`
}

const poolsUsage = `Usage:
  latchkey pools list   [--data DIR | --store URL] [--json]
  latchkey pools create [--data DIR | --store URL] --name NAME [flags] [--json]
  latchkey pools update [--data DIR | --store URL] POOL_ID [flags] [--json]
                        [--trigger NAME=URL]... [--trigger-version NAME=V2_0]
                        [--rotate-hook-secret | --drop-previous-hook-secret]
  latchkey pools show   [--data DIR | --store URL] POOL_ID

Run "latchkey pools <command> --help" for a command's flags.`

// pools runs `latchkey pools list|create|update|show`.
func pools(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, poolsUsage)
		return errUsage
	}
	switch args[0] {
	case "list":
		return poolsList(ctx, args[1:], stdout, stderr, getenv)
	case "create":
		return poolsCreate(ctx, args[1:], stdout, stderr, getenv)
	case "update":
		return poolsUpdate(ctx, args[1:], stdout, stderr, getenv)
	case "show":
		return poolsShow(ctx, args[1:], stdout, stderr, getenv)
	case "--help", "-h", "help":
		fmt.Fprintln(stdout, poolsUsage)
		return nil
	}
	fmt.Fprintf(stderr, "latchkey pools: unknown command %q\n\n%s\n", args[0], poolsUsage)
	return errUsage
}

// poolsList runs `latchkey pools list`.
func poolsList(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("pools list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := storeFlags(fs)
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	fs.Usage = config.Usage(fs, stderr, "latchkey pools list [flags]", "Lists the user pools and their app clients.")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	st, err := target.openExisting(ctx)
	if err != nil {
		return fmt.Errorf("open store (%s): %w", target, err)
	}
	defer st.Close()
	ps, err := st.ListPools(ctx)
	if err != nil {
		return fmt.Errorf("list pools: %w", err)
	}
	out := make([]poolSummary, 0, len(ps))
	for _, p := range ps {
		cs, err := st.ListClients(ctx, p.ID)
		if err != nil {
			return fmt.Errorf("list clients of %s: %w", p.ID, err)
		}
		s := poolSummary{ID: p.ID, Name: p.Name, Clients: make([]clientSummary, 0, len(cs))}
		for _, c := range cs {
			s.Clients = append(s.Clients, clientSummary{ID: c.ID, Name: c.Name})
		}
		out = append(out, s)
	}
	if *asJSON {
		return printJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POOL ID\tPOOL NAME\tCLIENT ID\tCLIENT NAME")
	for _, p := range out {
		if len(p.Clients) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\n", p.ID, p.Name)
		}
		for _, c := range p.Clients {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.ID, p.Name, c.ID, c.Name)
		}
	}
	return tw.Flush()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// poolsCreate runs `latchkey pools create`: a pool and its first app client.
func poolsCreate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("pools create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := storeFlags(fs)
	name := fs.String("name", "", "name of the pool (required)")
	region := fs.String("region", "local", "the part of the pool ID before the underscore")
	basics := defineSettingsFlags(fs)
	limits := defineLimitFlags(fs)
	delivery := defineDeliveryFlags(fs)
	opts := auth.ClientOptions{}
	fs.StringVar(&opts.Name, "client-name", "app", "name of the first app client")
	fs.BoolVar(&opts.GenerateSecret, "client-secret", false, "give the client a secret (clients must then send SECRET_HASH)")
	fs.DurationVar(&opts.AccessTokenTTL, "access-token-ttl", pool.DefaultAccessTokenTTL, "access token lifetime (5s-24h)")
	fs.DurationVar(&opts.IDTokenTTL, "id-token-ttl", pool.DefaultIDTokenTTL, "ID token lifetime (5s-24h)")
	fs.DurationVar(&opts.RefreshTokenTTL, "refresh-token-ttl", pool.DefaultRefreshTokenTTL, "refresh token lifetime")
	asJSON := fs.Bool("json", false, "print the pool as JSON")
	fs.Usage = config.Usage(fs, stderr, "latchkey pools create --name NAME [flags]", "Creates a user pool with its first app client and prints their IDs.")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprintln(stderr, "latchkey pools create: --name is required")
		return errUsage
	}
	// Check the client first, so a bad flag leaves no pool behind.
	if err := opts.Validate(); err != nil {
		return err
	}
	settings := pool.DefaultSettings()
	basics.apply(fs, &settings)
	if err := limits.apply(fs, &settings); err != nil {
		return err
	}
	if _, err := delivery.apply(&settings); err != nil {
		return err
	}
	st, err := target.open(ctx)
	if err != nil {
		return fmt.Errorf("open store (%s): %w", target, err)
	}
	defer st.Close()
	admin := auth.NewAdmin(st, rand.Reader, time.Now)
	p, err := admin.CreatePool(ctx, *name, *region, settings)
	if err != nil {
		return err
	}
	c, err := admin.CreateClient(ctx, p.ID, opts)
	if err != nil {
		return err
	}
	out := poolSummary{ID: p.ID, Name: p.Name, Clients: []clientSummary{{ID: c.ID, Name: c.Name}}}
	if *asJSON {
		return printJSON(stdout, out)
	}
	fmt.Fprintf(stdout, "Created user pool %s and app client %s.\n", p.ID, c.ID)
	if c.Secret != "" {
		fmt.Fprintf(stdout, "Client secret (shown once): %s\n", c.Secret)
	}
	warnUnresolved(stderr, p.Settings.Delivery, getenv)
	return nil
}

// poolsUpdate runs `latchkey pools update POOL_ID`: changes the settings
// given as flags and leaves the rest as they are.
func poolsUpdate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("pools update", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := storeFlags(fs)
	name := fs.String("name", "", "new name of the pool")
	basics := defineSettingsFlags(fs)
	limits := defineLimitFlags(fs)
	delivery := defineDeliveryFlags(fs)
	hooks := defineHookFlags(fs)
	asJSON := fs.Bool("json", false, "print the pool's settings as JSON")
	fs.Usage = config.Usage(fs, stderr, "latchkey pools update POOL_ID [flags]", "Changes a pool's settings; every node sees the change on its next request.\n"+
		"--trigger NAME=URL replaces a step of sign-up or sign-in with a signed webhook\n"+
		"(docs/hooks.md); the first one generates the pool's signing secret and prints it once.")
	poolID, rest := splitPoolID(args)
	if err := parseFlags(fs, rest, withoutActionEnv(getenv)); err != nil {
		return err
	}
	hooks.given(fs)
	if poolID == "" && fs.NArg() > 0 {
		poolID = fs.Arg(0)
	}
	if poolID == "" {
		fmt.Fprintln(stderr, "latchkey pools update: the pool ID is required")
		return errUsage
	}
	st, err := target.openExisting(ctx)
	if err != nil {
		return fmt.Errorf("open store (%s): %w", target, err)
	}
	defer st.Close()
	keysBefore, err := st.ListSigningKeys(ctx, poolID)
	if err != nil {
		return fmt.Errorf("pool %s: %w", poolID, err)
	}
	admin := auth.NewAdmin(st, rand.Reader, time.Now)
	var changes []string
	var hookChanged hookChange
	p, err := admin.UpdatePool(ctx, poolID, func(n *string, s *pool.Settings) error {
		if *name != "" {
			*n = *name
		}
		changes = basics.apply(fs, s)
		if err := limits.apply(fs, s); err != nil {
			return err
		}
		more, err := delivery.apply(s)
		if err != nil {
			return err
		}
		changes = append(changes, more...)
		hookChanged, err = hooks.apply(s, func() (string, error) { return hook.NewSecret(rand.Reader) })
		return err
	})
	if err != nil {
		return err
	}
	keys, err := st.ListSigningKeys(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("pool %s: %w", p.ID, err)
	}
	warnUnresolved(stderr, p.Settings.Delivery, getenv)
	if *asJSON {
		// The one time a generated secret is shown, --json carries it.
		return printJSON(stdout, struct {
			poolDetail
			HookSecret string `json:"hook_secret,omitempty"`
		}{poolDetails(p, keys), hookChanged.newSecret})
	}
	changes = append(changes, keyChanges(keysBefore, keys)...)
	fmt.Fprintf(stdout, "Updated user pool %s.\n", p.ID)
	for _, c := range append(changes, hookChanged.lines...) {
		fmt.Fprintf(stdout, "  %s\n", c)
	}
	printHookSecret(stdout, hookChanged.newSecret)
	return nil
}

// poolsShow runs `latchkey pools show POOL_ID`: the pool's settings as JSON.
func poolsShow(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("pools show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := storeFlags(fs)
	fs.Usage = config.Usage(fs, stderr, "latchkey pools show POOL_ID [flags]", "Prints a pool's settings as JSON (no secrets: hooks show as trigger names, URL\nhosts and \"secret\": \"set\").")
	poolID, rest := splitPoolID(args)
	if err := parseFlags(fs, rest, getenv); err != nil {
		return err
	}
	if poolID == "" && fs.NArg() > 0 {
		poolID = fs.Arg(0)
	}
	if poolID == "" {
		fmt.Fprintln(stderr, "latchkey pools show: the pool ID is required")
		return errUsage
	}
	st, err := target.openExisting(ctx)
	if err != nil {
		return fmt.Errorf("open store (%s): %w", target, err)
	}
	defer st.Close()
	p, err := st.GetPool(ctx, poolID)
	if err != nil {
		return fmt.Errorf("pool %s: %w", poolID, err)
	}
	keys, err := st.ListSigningKeys(ctx, poolID)
	if err != nil {
		return fmt.Errorf("pool %s: %w", poolID, err)
	}
	return printJSON(stdout, poolDetails(p, keys))
}

// splitPoolID takes a leading positional pool ID off args, so that it may
// come before the flags as well as after them.
func splitPoolID(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// poolDetail is a pool as the CLI prints it: never its hash key or private
// keys, and its hooks only as trigger names, URL hosts and whether a
// secret is set.
type poolDetail struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	Region      string        `json:"region"`
	Settings    pool.Settings `json:"settings"`
	SigningKeys []keyDetail   `json:"signing_keys"`
}

// keyDetail is a signing key without its private part, newest first.
type keyDetail struct {
	KID       string     `json:"kid"`
	Algorithm string     `json:"alg"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
}

func poolDetails(p pool.Pool, keys []pool.SigningKey) poolDetail {
	s := p.Settings
	l := s.EffectiveLimits()
	s.Limits = &l
	s.SigningAlgorithm = s.EffectiveSigningAlgorithm()
	s.Hooks = redactHooks(s.Hooks)
	d := poolDetail{ID: p.ID, Name: p.Name, Region: p.Region, Settings: s, SigningKeys: []keyDetail{}}
	for _, k := range keys {
		d.SigningKeys = append(d.SigningKeys, keyDetail{KID: k.KID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt})
	}
	return d
}

// keyChanges describes the keys an update added, and what becomes of the
// keys the pool had.
func keyChanges(before, after []pool.SigningKey) []string {
	old := map[string]bool{}
	for _, k := range before {
		old[k.KID] = true
	}
	var lines []string
	for _, k := range after {
		if old[k.KID] {
			continue
		}
		lines = append(lines, fmt.Sprintf("signing key %s (%s) added: in the JWKS now, signs from %s (%s after it was made)",
			k.KID, k.Algorithm, k.CreatedAt.Add(auth.KeyActivationDelay).Local().Format(time.RFC3339), auth.KeyActivationDelay))
	}
	if len(lines) == 0 {
		return nil
	}
	signing := true // before is newest first: the first unretired key signs until then
	for _, k := range before {
		if k.RetiredAt != nil {
			continue
		}
		until := ""
		if signing {
			until = "signs until then and "
			signing = false
		}
		lines = append(lines, fmt.Sprintf("signing key %s (%s) %skeeps verifying the tokens it signed", k.KID, k.Algorithm, until))
	}
	return lines
}
