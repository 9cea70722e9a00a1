package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/store"
)

// auditRecord is an audit event as the CLI prints it.
type auditRecord struct {
	ID       int64             `json:"id"`
	At       string            `json:"at"`
	Pool     string            `json:"pool"`
	Type     string            `json:"type"`
	Username string            `json:"username,omitempty"`
	Sub      string            `json:"sub,omitempty"`
	ClientID string            `json:"client_id,omitempty"`
	SourceIP string            `json:"source_ip,omitempty"`
	Detail   map[string]string `json:"detail,omitempty"`
}

// audit runs `latchkey audit`: lists the security events of the audit
// trail, oldest first.
func audit(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := storeFlags(fs)
	var f store.AuditFilter
	fs.StringVar(&f.PoolID, "pool", "", "only this pool")
	fs.StringVar(&f.Username, "user", "", "only this username (as stored: E.164 number or lower-case email)")
	fs.StringVar(&f.Type, "type", "", "only this event type, e.g. account.locked")
	since := fs.String("since", "", "only events at or after this time: RFC 3339, or a duration ago like 24h")
	until := fs.String("until", "", "only events before this time: RFC 3339, or a duration ago")
	fs.IntVar(&f.Limit, "limit", 1000, "at most this many events (1-10000)")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	fs.Usage = config.Usage(fs, stderr, "latchkey audit [flags]",
		"Lists the audit trail: sign-ups, codes sent, sign-ins, wrong codes, lockouts,\nunlocks, sign-outs, revocations and limits tripped. No event holds a secret.")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	now := time.Now()
	var err error
	if f.Since, err = parseWhen(*since, now); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if f.Until, err = parseWhen(*until, now); err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	if f.Type != "" && !slices.Contains(auth.EventTypes(), f.Type) {
		return fmt.Errorf("--type %q is not an event type; want one of %s", f.Type, strings.Join(auth.EventTypes(), ", "))
	}
	if f.Limit < 1 || f.Limit > 10000 {
		return fmt.Errorf("--limit %d: want 1 to 10000", f.Limit)
	}
	st, err := target.openExisting(ctx)
	if err != nil {
		return fmt.Errorf("open store (%s): %w", target, err)
	}
	defer st.Close()
	events, err := st.ListAudit(ctx, f)
	if err != nil {
		return fmt.Errorf("list audit events: %w", err)
	}
	if *asJSON {
		for _, ev := range events {
			if err := printJSONLine(stdout, toRecord(ev)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tTYPE\tPOOL\tUSERNAME\tCLIENT\tSOURCE IP\tDETAIL")
	for _, ev := range events {
		r := toRecord(ev)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.At, r.Type, r.Pool, dash(r.Username), dash(r.ClientID), dash(r.SourceIP), formatDetail(r.Detail))
	}
	return tw.Flush()
}

func toRecord(ev store.AuditEvent) auditRecord {
	return auditRecord{
		ID: ev.ID, At: ev.At.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Pool: ev.PoolID, Type: ev.Type,
		Username: ev.Username, Sub: ev.Sub, ClientID: ev.ClientID, SourceIP: ev.SourceIP, Detail: ev.Detail,
	}
}

// parseWhen reads an RFC 3339 time or a duration before now ("" is zero).
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("duration %q must not be negative", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration like 24h", s)
	}
	return t, nil
}

func formatDetail(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+d[k])
	}
	return dash(strings.Join(parts, " "))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printJSONLine writes v as one line of JSON.
func printJSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
