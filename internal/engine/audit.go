package engine

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/medicbot/medic/internal/store"
)

// Audit returns the audit entries matching q, oldest first.
func (e *Engine) Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	entries, err := e.deps.Store.Audit(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read audit trail: %w", err)
	}
	return entries, nil
}

// FormatAudit writes entries as "text" (one aligned line each, plan and
// result summaries indented below) or "json" (one JSON array).
func FormatAudit(w io.Writer, entries []store.AuditEntry, format string) error {
	switch format {
	case "json":
		if entries == nil {
			entries = []store.AuditEntry{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(entries); err != nil {
			return fmt.Errorf("write audit as json: %w", err)
		}
		return nil
	case "text", "":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tEVENT\tWHO\tPROPOSAL\tSTATE\tWHY")
		for _, a := range entries {
			state := string(a.To)
			if a.From != "" {
				state = string(a.From) + " -> " + state
			}
			subject := a.Proposal
			if subject == "" {
				subject = a.Incident
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Time.UTC().Format(time.RFC3339), a.Event, a.Who,
				orDash(subject), orDash(state), oneLine(a.Why))
			if a.Result != nil && a.Result.Summary != "" {
				fmt.Fprintf(tw, "\t  result: %s\t\t\t\t\n", oneLine(a.Result.Summary))
			} else if a.Plan != nil && a.Plan.Summary != "" && a.To != "" && a.From == "" {
				fmt.Fprintf(tw, "\t  plan: %s\t\t\t\t\n", oneLine(a.Plan.Summary))
			}
			if a.Error != "" {
				fmt.Fprintf(tw, "\t  error: %s\t\t\t\t\n", oneLine(a.Error))
			}
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write audit as text: %w", err)
		}
		return nil
	}
	return fmt.Errorf("write audit: unknown format %q (want text or json)", format)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// AuditReader is what AuditCommand reads from; an *Engine or a store.Store
// implements it.
type AuditReader interface {
	Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error)
}

// AuditCommand runs `medic audit [--since 24h] [--incident ID] [--format
// text|json]` with args (without the command name), writing to stdout.
func AuditCommand(ctx context.Context, r AuditReader, args []string, stdout, stderr io.Writer, now time.Time) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	since := fs.Duration("since", store.DefaultAuditWindow, "show entries newer than this")
	incident := fs.String("incident", "", "show only this incident's entries (all of them unless --since is given)")
	format := fs.String("format", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("audit: --format must be text or json, got %q", *format)
	}
	q := store.AuditQuery{Incident: *incident, Since: now.Add(-*since)}
	sinceSet := false
	fs.Visit(func(f *flag.Flag) { sinceSet = sinceSet || f.Name == "since" })
	if *incident != "" && !sinceSet {
		q.Since = time.Time{}
	}
	entries, err := r.Audit(ctx, q)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return FormatAudit(stdout, entries, *format)
}
