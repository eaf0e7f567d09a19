package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/medicbot/medic/internal/history"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/wiring"
)

// runHistoryExport writes the alarm state changes of the last --since to a
// JSON Lines file (see internal/history).
func runHistoryExport(ctx context.Context, e *env, args []string) int {
	fset := e.flags("history export")
	since := durationFlag(fset, "since", 7*24*time.Hour, "export the state changes of this long before now (e.g. 36h, 7d)")
	prefix := fset.String("alarm-prefix", "", "only alarms whose name starts with this")
	out := fset.String("out", "", "the JSON Lines file to write (required; - for standard output)")
	endpoint := fset.String("endpoint-url", "", "send every AWS call here (e.g. a moto server); default AWS_ENDPOINT_URL or AWS")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(e.stderr, "medic history export: "+format+"\n", args...)
		return exitUsage
	}
	switch {
	case fset.NArg() > 0:
		return fail("unexpected argument %q", fset.Arg(0))
	case *out == "":
		return fail("--out FILE is required")
	case *since <= 0:
		return fail("--since must be more than 0, got %s", *since)
	}
	awsCfg, err := wiring.AWSConfig(ctx)
	if err != nil {
		return fail("%v", err)
	}
	if *endpoint != "" {
		awsCfg.BaseEndpoint = endpoint
	}
	// Emulators speak CloudWatch's query protocol only.
	x := history.NewExporter(wiring.CloudWatch(awsCfg, awsCfg.BaseEndpoint != nil))
	res, err := x.Export(ctx, history.Query{Since: *since, AlarmPrefix: *prefix})
	if err != nil {
		return fail("%v", err)
	}
	if err := writeHistory(e, *out, res.Records); err != nil {
		return fail("%v", err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "medic history export: warning: %s\n", w)
	}
	alarms := make(map[string]bool)
	for _, r := range res.Records {
		alarms[r.Name] = true
	}
	fmt.Fprintf(e.stderr, "medic history export: %d state change(s) of %d alarm(s) from %s to %s (%d page(s)) -> %s\n",
		len(res.Records), len(alarms), res.Start.Format(time.RFC3339), res.End.Format(time.RFC3339), res.Pages, *out)
	return exitOK
}

// writeHistory writes records to name ("-": stdout) through a temporary
// file, so a failed export leaves no half-written file.
func writeHistory(e *env, name string, records []history.Record) error {
	if name == "-" {
		return history.Write(e.stdout, records)
	}
	if err := writeFileAtomic(name, func(w io.Writer) error { return history.Write(w, records) }); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

// writeFileAtomic writes name through a temporary file beside it, renamed
// over name once written and synced: a failure at any point leaves no
// half-written file, no temporary file, and an earlier file at name whole.
func writeFileAtomic(name string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename, nothing to remove
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// replayHistory is `medic policy test --history FILE`: it replays the
// recorded state changes against set and prints the Markdown table. A
// matched first step that cannot be rendered for a recorded alarm is a
// finding (exit 1), as in simulate.
func (e *env) replayHistory(set *policy.Set, dir, file string) int {
	records, err := history.ReadFile(file)
	if err != nil {
		fmt.Fprintf(e.stderr, "medic policy test: %v\n", err)
		return exitUsage
	}
	r := history.Run(records, set.Policies())
	if err := r.Markdown(e.stdout, fmt.Sprintf("Replay of %s against %s", file, dir)); err != nil {
		fmt.Fprintf(e.stderr, "medic policy test: write the replay: %v\n", err)
		return exitUsage
	}
	for _, p := range r.Policies {
		if p.RenderErrors > 0 {
			return exitFindings
		}
	}
	return exitOK
}
