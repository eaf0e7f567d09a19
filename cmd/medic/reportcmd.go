package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/report"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/wiring"
)

// runReport prints the report of one incident (--incident ID) or the
// per-policy summary of a window (--since 7d), from the store the flags
// choose, as markdown or json. Exit status: 0 printed, 1 no such incident
// or the store could not be read, 2 bad arguments.
func runReport(ctx context.Context, e *env, args []string) int {
	fset := e.flags("report")
	sf := addStoreFlags(fset)
	incident := fset.String("incident", "", "print the report of this incident")
	sinceText := fset.String("since", "", "summarise the incidents of this long before now per policy: 7d, 24h, 90m")
	format := fset.String("format", "markdown", "output format: markdown or json")
	policiesDir := fset.String("policies", "", "policies whose runbooks the report links (default: the embedded ones)")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(e.stderr, "medic report: "+format+"\n", args...)
		return exitUsage
	}
	switch {
	case fset.NArg() > 0:
		return fail("unexpected argument %q", fset.Arg(0))
	case *format != "markdown" && *format != "json":
		return fail("--format must be markdown or json, got %q", *format)
	case (*incident == "") == (*sinceText == ""):
		return fail("give one of --incident ID (one incident's report) or --since 7d (a summary per policy)")
	}
	var since time.Duration
	if *sinceText != "" {
		var err error
		if since, err = parseSince(*sinceText); err != nil {
			return fail("--since: %v", err)
		}
	}
	runbooks := make(map[string]string)
	if *incident != "" {
		set, _, code := e.loadPolicies(*policiesDir)
		if set == nil {
			return code
		}
		for _, p := range set.Policies() {
			if p.Runbook != "" {
				runbooks[p.Name] = p.Runbook
			}
		}
	}
	return e.withApp(ctx, "report", sf, false, func(app *wiring.App, where storeChoice) error {
		fmt.Fprintf(e.stderr, "medic report: reading %s\n", where)
		if *incident != "" {
			r, err := incidentReport(ctx, app.Store, *incident, runbooks)
			if err != nil {
				return err
			}
			if *format == "json" {
				return r.JSON(e.stdout)
			}
			return r.Markdown(e.stdout)
		}
		now := time.Now()
		entries, err := app.Store.Audit(ctx, store.AuditQuery{Since: now.Add(-since)})
		if err != nil {
			return fmt.Errorf("read the audit trail of the last %s: %w", *sinceText, err)
		}
		s := report.Summarise(entries, now.Add(-since), now)
		if *format == "json" {
			return s.JSON(e.stdout)
		}
		return s.Markdown(e.stdout)
	})
}

// incidentReport reads one incident's records and builds its report.
func incidentReport(ctx context.Context, st store.Store, id string, runbooks map[string]string) (report.Report, error) {
	inc, err := st.Incident(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return report.Report{}, fmt.Errorf("no incident %s (incidents are kept 30 days; `medic audit --since 720h` lists them)", id)
	}
	if err != nil {
		return report.Report{}, fmt.Errorf("read incident %s: %w", id, err)
	}
	props, err := st.Proposals(ctx, id)
	if err != nil {
		return report.Report{}, fmt.Errorf("read the proposals of incident %s: %w", id, err)
	}
	audit, err := st.Audit(ctx, store.AuditQuery{Incident: id})
	if err != nil {
		return report.Report{}, fmt.Errorf("read the audit trail of incident %s: %w", id, err)
	}
	return report.Build(report.Input{Incident: inc, Proposals: props, Audit: audit, Runbooks: runbooks}), nil
}

// parseSince reads a window: a Go duration (36h, 90m) or whole days (7d).
func parseSince(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("%q: want whole days such as 7d, or a duration such as 36h", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 7d, 36h or 90m", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be more than 0", s)
	}
	return d, nil
}
