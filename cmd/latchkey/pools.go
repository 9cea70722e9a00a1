package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/latchkey/latchkey/internal/config"
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

// pools runs `latchkey pools list`.
func pools(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "list" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
			fmt.Fprintln(stdout, "Usage: latchkey pools list [--data DIR | --store URL] [--json]\n\nLists the user pools and their app clients.")
			return nil
		}
		fmt.Fprintln(stderr, "Usage: latchkey pools list [--data DIR | --store URL] [--json]")
		return errUsage
	}
	fs := flag.NewFlagSet("pools list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var target storeTarget
	fs.StringVar(&target.dataDir, "data", config.DefaultDataDir, "directory holding the SQLite database")
	config.StoreFlag(fs, &target.storeURL)
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	fs.Usage = config.Usage(fs, stderr, "latchkey pools list [flags]", "Lists the user pools and their app clients.")
	if err := parseFlags(fs, args[1:], getenv); err != nil {
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
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
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
