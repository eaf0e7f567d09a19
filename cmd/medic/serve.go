package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/server"
	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/wiring"
)

// localApp wires medic for `medic serve`: the in-process queue and the
// embedded store at storePath (MEDIC_TABLE does not move it off it).
// Configuration comes from the environment.
func (e *env) localApp(ctx context.Context, storePath, policiesDir string, dryRun bool, localUser string, log *slog.Logger, batch time.Duration) (*wiring.App, error) {
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
	if err := wiring.CheckCredentials(ctx, awsCfg); err != nil {
		log.WarnContext(ctx, "alarms will be answered, but no step can be planned or run", slog.Any("error", err))
	}
	opts := wiring.Options{DryRun: dryRun, Logger: log, StoreBatchDelay: batch, Intake: true, LocalApprover: localUser}
	source := "embedded in this binary (--policies DIR uses files on disk)"
	if policiesDir != "" {
		if fi, err := os.Stat(policiesDir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--policies %s: not a directory", policiesDir)
		}
		opts.Policies = os.DirFS(policiesDir)
		source = policiesDir
	}
	log.InfoContext(ctx, "policies", slog.String("source", source))
	return wiring.Build(ctx, cfg, awsCfg, opts)
}

func runServe(ctx context.Context, e *env, args []string) int {
	fset := e.flags("serve")
	addr := fset.String("addr", "127.0.0.1:8080", "listen on HOST:PORT")
	dir := fset.String("policies", "", "policy directory (default: the embedded policies)")
	storePath := fset.String("store", "medic.db", "embedded store file")
	dryRun := fset.Bool("dry-run", false, "plan and post everything, apply nothing")
	localUser := fset.String("local-approvals", "", "let the console at /ui approve, reject and undo as this user (for trying medic without Slack; "+
		"with Slack it must be a Slack user ID among the step's approvers)")
	adminAny := fset.Bool("admin-any-client", false, "let clients beyond this machine use the admin endpoint (with its token); by default only loopback clients may")
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
	app, err := e.localApp(ctx, *storePath, *dir, *dryRun, *localUser, log, 2*time.Millisecond)
	if err != nil {
		fmt.Fprintf(e.stderr, "medic serve: %v\n", err)
		return exitUsage
	}
	defer app.Close()
	srv, err := server.New(app, log, server.Options{Addr: *addr, PendingFile: *storePath + ".pending.json",
		AdminFile: *storePath + server.AdminFileSuffix, LocalApprovals: *localUser, AdminAnyClient: *adminAny, InsecureNoToken: *insecure})
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

// withApp runs fn on the control App (the store and an engine over it, no
// other client) of the store the flags choose; only create may create an
// embedded store.
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
