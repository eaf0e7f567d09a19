package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/server"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/wiring"
)

// controller is what pause, resume and audit call: the engine over the
// store, or a running `medic serve` through its admin endpoint.
type controller interface {
	Pause(ctx context.Context, who, why string) error
	Resume(ctx context.Context, who string) error
	Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error)
	Owed(ctx context.Context, limit int) ([]*store.Owed, error)
}

// localControl is the control engine with its store's outbox.
type localControl struct {
	*engine.Engine
	st store.Store
}

func (l localControl) Owed(ctx context.Context, limit int) ([]*store.Owed, error) {
	return l.st.Owed(ctx, limit)
}

func runPause(ctx context.Context, e *env, args []string) int {
	fset := e.flags("pause")
	sf := addStoreFlags(fset)
	why := fset.String("reason", "", "why medic is paused (shown on cards)")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	return e.withControl(ctx, "pause", sf, true, func(c controller, where storeChoice) error {
		if err := c.Pause(ctx, whoami(), *why); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "medic is paused (%s): nothing executes until `medic resume`\n", where)
		return nil
	})
}

func runResume(ctx context.Context, e *env, args []string) int {
	fset := e.flags("resume")
	sf := addStoreFlags(fset)
	if code, ok := parse(fset, args); !ok {
		return code
	}
	return e.withControl(ctx, "resume", sf, false, func(c controller, where storeChoice) error {
		if err := c.Resume(ctx, whoami()); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "medic is resumed (%s)\n", where)
		return nil
	})
}

func runAudit(ctx context.Context, e *env, args []string) int {
	fset := e.flags("audit")
	sf := addStoreFlags(fset)
	since := durationFlag(fset, "since", store.DefaultAuditWindow, "show entries newer than this (e.g. 90m, 36h, 7d)")
	incident := fset.String("incident", "", "show only this incident's entries (all of them unless --since is given)")
	format := fset.String("format", "text", "output format: text or json")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(e.stderr, "medic audit: --format must be text or json, got %q\n", *format)
		return exitUsage
	}
	given := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { given[f.Name] = true })
	now := time.Now()
	q := store.AuditQuery{Incident: *incident, Since: now.Add(-*since)}
	if *incident != "" && !given["since"] {
		q.Since = time.Time{}
	}
	return e.withControl(ctx, "audit", sf, false, func(c controller, where storeChoice) error {
		fmt.Fprintf(e.stderr, "medic audit: reading %s\n", where)
		entries, err := c.Audit(ctx, q)
		if err != nil {
			return err
		}
		if err := writeAudit(e.stdout, entries, *format); err != nil {
			return err
		}
		if *format != "text" {
			return nil
		}
		// Say who was not told: cards Slack has not taken yet.
		owed, err := c.Owed(ctx, 0)
		if err != nil {
			return fmt.Errorf("read what medic still owes: %w", err)
		}
		return writeOwed(e.stdout, owed, q.Incident)
	})
}

// storeFlags are the flags of the commands that read or write medic's
// records: --table names the DynamoDB table of a deployed medic (default
// $MEDIC_TABLE), --store the embedded store file.
type storeFlags struct {
	fset  *flag.FlagSet
	path  *string
	table *string
}

func addStoreFlags(fset *flag.FlagSet) *storeFlags {
	return &storeFlags{
		fset:  fset,
		path:  fset.String("store", "medic.db", "embedded store file (used unless a table is named)"),
		table: fset.String("table", "", "DynamoDB table of a deployed medic, the stack's TableName output (default $MEDIC_TABLE)"),
	}
}

// storeChoice is the store a command uses: a DynamoDB table, an embedded
// store file, or the embedded store file through the running `medic serve`
// that holds it (server set).
type storeChoice struct {
	table, path string
	server      string
}

func (c storeChoice) String() string {
	switch {
	case c.table != "":
		return "DynamoDB table " + c.table
	case c.server != "":
		return "via the running medic serve at " + c.server + ", embedded store " + c.path
	}
	return "embedded store " + c.path
}

// resolve picks the store: --table, else --store when given, else
// $MEDIC_TABLE, else the embedded store file.
func (sf *storeFlags) resolve(getenv func(string) string) (storeChoice, error) {
	given := map[string]bool{}
	sf.fset.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case given["table"] && given["store"]:
		return storeChoice{}, fmt.Errorf("--table and --store name two stores; give one")
	case given["table"] && *sf.table == "":
		return storeChoice{}, fmt.Errorf("--table: empty table name")
	case given["table"]:
		return storeChoice{table: *sf.table}, nil
	case !given["store"] && getenv("MEDIC_TABLE") != "":
		return storeChoice{table: getenv("MEDIC_TABLE")}, nil
	}
	return storeChoice{path: *sf.path}, nil
}

// lockWait is how long a command waits for the embedded store's file lock
// when a running `medic serve` has left its admin file: it holds the lock,
// so the command asks it instead.
const lockWait = 300 * time.Millisecond

// withControl runs fn on the store the flags choose. Only pause may create
// an embedded store (so a server started later starts paused); a table must
// exist (the stack creates it). The engine is the wiring's control engine:
// the store and nothing else, so the emergency stop works with GitHub,
// Secrets Manager or Slack failing (no secret is read, no client of theirs
// built). When the embedded store is locked by a running `medic serve`,
// fn talks to that server through its admin endpoint (the address and
// token are in STORE.admin), and the messages say so.
func (e *env) withControl(ctx context.Context, name string, sf *storeFlags, create bool, fn func(controller, storeChoice) error) int {
	where, err := sf.resolve(os.Getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "medic %s: %v\n", name, err)
		return exitUsage
	}
	opts := wiring.Options{Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))}
	var admin *server.AdminInfo
	if where.table == "" {
		if _, err := os.Stat(where.path); err != nil && !create {
			fmt.Fprintf(e.stderr, "medic %s: store %s: %v\n", name, where.path, errors.Unwrap(err))
			return exitUsage
		}
		if info, err := server.ReadAdminFile(where.path + server.AdminFileSuffix); err == nil {
			admin = &info
			opts.StoreTimeout = lockWait
		}
	}
	app, err := wiring.BuildControl(ctx, where.table, where.path, opts)
	if errors.Is(err, bolterrors.ErrTimeout) {
		if admin == nil {
			fmt.Fprintf(e.stderr, "medic %s: %v: another process holds %s and left no %s file to reach it through (stop it, or start it with this version's medic serve)\n",
				name, err, where.path, where.path+server.AdminFileSuffix)
			return exitUsage
		}
		where.server = admin.Addr
		if err := fn(server.NewAdminClient(*admin), where); err != nil {
			fmt.Fprintf(e.stderr, "medic %s (%s): %v\n", name, where, err)
			return exitFindings
		}
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "medic %s: %v\n", name, err)
		return exitUsage
	}
	defer app.Close()
	if err := fn(localControl{Engine: app.Engine, st: app.Store}, where); err != nil {
		fmt.Fprintf(e.stderr, "medic %s (%s): %v\n", name, where, err)
		return exitFindings
	}
	return exitOK
}
