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

// localApp wires medic on the embedded store and the in-process queue, for
// serve, pause, resume and audit. Configuration comes from the environment.
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
	cfg.Table, cfg.QueueURL = "", "" // the embedded default
	opts := wiring.Options{DryRun: dryRun, Logger: log, StoreBatchDelay: batch}
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
	if code, ok := parse(fset, args); !ok {
		return code
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	app, err := e.localApp(ctx, *storePath, *dir, *dryRun, log, 2*time.Millisecond)
	if err != nil {
		fmt.Fprintf(e.stderr, "medic serve: %v\n", err)
		return exitUsage
	}
	defer app.Close()
	srv, err := server.New(app, log, server.Options{Addr: *addr, PendingFile: *storePath + ".pending.json"})
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
	storePath := fset.String("store", "medic.db", "embedded store file")
	why := fset.String("reason", "", "why medic is paused (shown on cards)")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	return e.withEngine(ctx, *storePath, true, func(eng *engine.Engine) error {
		if err := eng.Pause(ctx, whoami(), *why); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "medic is paused: nothing executes until `medic resume`")
		return nil
	})
}

func runResume(ctx context.Context, e *env, args []string) int {
	fset := e.flags("resume")
	storePath := fset.String("store", "medic.db", "embedded store file")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	return e.withEngine(ctx, *storePath, false, func(eng *engine.Engine) error {
		if err := eng.Resume(ctx, whoami()); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "medic is resumed")
		return nil
	})
}

func runAudit(ctx context.Context, e *env, args []string) int {
	fset := e.flags("audit")
	storePath := fset.String("store", "medic.db", "embedded store file")
	fset.Duration("since", 24*time.Hour, "show entries newer than this")
	fset.String("incident", "", "show only this incident's entries (all of them unless --since is given)")
	fset.String("format", "text", "output format: text or json")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	var pass []string // the audit flags the user gave, for engine.AuditCommand
	fset.Visit(func(f *flag.Flag) {
		if f.Name != "store" {
			pass = append(pass, "--"+f.Name+"="+f.Value.String())
		}
	})
	return e.withEngine(ctx, *storePath, false, func(eng *engine.Engine) error {
		return engine.AuditCommand(ctx, eng, pass, e.stdout, e.stderr, time.Now())
	})
}

// withEngine runs fn on the engine over the store at storePath. Only pause
// may create the store (so a server started later starts paused).
func (e *env) withEngine(ctx context.Context, storePath string, create bool, fn func(*engine.Engine) error) int {
	if _, err := os.Stat(storePath); err != nil && !create {
		fmt.Fprintf(e.stderr, "medic: store %s: %v\n", storePath, err)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	app, err := e.localApp(ctx, storePath, "", false, log, 0)
	if err != nil {
		fmt.Fprintf(e.stderr, "medic: %v\n", err)
		return exitUsage
	}
	defer app.Close()
	if err := fn(app.Engine); err != nil {
		fmt.Fprintf(e.stderr, "medic: %v\n", err)
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
