package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/server"
	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/wiring"
)

// localApp wires medic for `medic serve`: the in-process queue and the
// embedded store at storePath (MEDIC_TABLE does not move it off it).
// Configuration comes from the environment.
func (e *env) localApp(ctx context.Context, storePath, policiesDir string, dryRun bool, log *slog.Logger, batch time.Duration) (*wiring.App, error) {
	awsCfg, err := wiring.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := config.FromEnv(ctx, os.Getenv, wiring.Secrets(awsCfg))
	if err != nil {
		return nil, err
	}
	if storePath != "" {
		cfg.StorePath = storePath
	}
	cfg.Table, cfg.QueueURL = "", ""
	opts := wiring.Options{DryRun: dryRun, Logger: log, StoreBatchDelay: batch, Intake: true}
	if policiesDir != "" {
		opts.Policies = os.DirFS(policiesDir)
	}
	return wiring.Build(ctx, cfg, awsCfg, opts)
}

func runServe(ctx context.Context, e *env, args []string) int {
	fset := e.flags("serve")
	addr := fset.String("addr", "127.0.0.1:8080", "listen on HOST:PORT")
	dir := fset.String("policies", "", "policy directory (default: the embedded policies)")
	storePath := fset.String("store", "medic.db", "embedded store file")
	dryRun := fset.Bool("dry-run", false, "plan and post everything, apply nothing")
	insecure := fset.Bool("insecure-no-token", false, "allow a non-loopback --addr without MEDIC_WEBHOOK_TOKEN: anyone who can reach it may post alarms")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	// Refuse an open webhook beyond this machine before anything is opened.
	// (server.New checks the resolved token again.)
	if err := server.CheckExposure(*addr, os.Getenv("MEDIC_WEBHOOK_TOKEN") != "", *insecure); err != nil {
		fmt.Fprintf(e.stderr, "medic serve: %v\n", err)
		return exitUsage
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	app, err := e.localApp(ctx, *storePath, *dir, *dryRun, log, 2*time.Millisecond)
	if err != nil {
		fmt.Fprintf(e.stderr, "medic serve: %v\n", err)
		return exitUsage
	}
	defer app.Close()
	srv, err := server.New(app, log, server.Options{Addr: *addr, PendingFile: *storePath + ".pending.json", InsecureNoToken: *insecure})
	if err != nil {
		fmt.Fprintf(e.stderr, "medic serve: %v\n", err)
		return exitUsage
	}
	if tok := app.Config.SlackAppToken.Value(); tok != "" && app.Slack != nil {
		go func() {
			if err := slack.RunSocketMode(ctx, tok, app.Slack, slackOptions(app)...); err != nil {
				log.Error("socket mode stopped", slog.Any("error", err))
			}
		}()
	}
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintf(e.stderr, "medic serve: %v\n", err)
		return exitFindings
	}
	return exitOK
}

func runPause(ctx context.Context, e *env, args []string) int {
	fset := e.flags("pause")
	sf := addStoreFlags(fset)
	why := fset.String("reason", "", "why medic is paused (shown on cards)")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	return e.withEngine(ctx, "pause", sf, true, func(eng *engine.Engine, where storeChoice) error {
		if err := eng.Pause(ctx, whoami(), *why); err != nil {
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
	return e.withEngine(ctx, "resume", sf, false, func(eng *engine.Engine, where storeChoice) error {
		if err := eng.Resume(ctx, whoami()); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "medic is resumed (%s)\n", where)
		return nil
	})
}

func runAudit(ctx context.Context, e *env, args []string) int {
	fset := e.flags("audit")
	sf := addStoreFlags(fset)
	fset.Duration("since", 24*time.Hour, "show entries newer than this")
	fset.String("incident", "", "show only this incident's entries (all of them unless --since is given)")
	fset.String("format", "text", "output format: text or json")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	var pass []string // the audit flags the user gave, for engine.AuditCommand
	fset.Visit(func(f *flag.Flag) {
		if f.Name != "store" && f.Name != "table" {
			pass = append(pass, "--"+f.Name+"="+f.Value.String())
		}
	})
	return e.withEngine(ctx, "audit", sf, false, func(eng *engine.Engine, where storeChoice) error {
		fmt.Fprintf(e.stderr, "medic audit: reading %s\n", where)
		return engine.AuditCommand(ctx, eng, pass, e.stdout, e.stderr, time.Now())
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

// storeChoice is the store a command uses: a DynamoDB table or an embedded
// store file.
type storeChoice struct {
	table, path string
}

func (c storeChoice) String() string {
	if c.table != "" {
		return "DynamoDB table " + c.table
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

// withEngine runs fn on the engine over the store the flags choose. Only
// pause may create an embedded store (so a server started later starts
// paused); a table must exist (the stack creates it). The engine is the
// wiring's control engine: the store and nothing else, so the emergency
// stop works with GitHub, Secrets Manager or Slack failing (no secret is
// read, no client of theirs built).
func (e *env) withEngine(ctx context.Context, name string, sf *storeFlags, create bool, fn func(*engine.Engine, storeChoice) error) int {
	return e.withApp(ctx, name, sf, create, func(app *wiring.App, where storeChoice) error { return fn(app.Engine, where) })
}

// withApp is withEngine giving fn the whole control App (its Store too).
func (e *env) withApp(ctx context.Context, name string, sf *storeFlags, create bool, fn func(*wiring.App, storeChoice) error) int {
	where, err := sf.resolve(os.Getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "medic %s: %v\n", name, err)
		return exitUsage
	}
	if where.table == "" {
		if _, err := os.Stat(where.path); err != nil && !create {
			fmt.Fprintf(e.stderr, "medic: store %s: %v\n", where.path, err)
			return exitUsage
		}
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	app, err := wiring.BuildControl(ctx, where.table, where.path, wiring.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(e.stderr, "medic: %v\n", err)
		return exitUsage
	}
	defer app.Close()
	if err := fn(app, where); err != nil {
		fmt.Fprintf(e.stderr, "medic %s (%s): %v\n", name, where, err)
		return exitFindings
	}
	return exitOK
}

func whoami() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "cli"
}

func slackOptions(app *wiring.App) []slackapi.Option {
	return []slackapi.Option{slackapi.OptionAPIURL(app.Config.SlackAPIURL)}
}
