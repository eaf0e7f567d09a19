package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/policies"
	"github.com/medicbot/medic/remediations/builtin"
)

// Exit statuses.
const (
	exitOK       = 0
	exitFindings = 1 // the command ran and found problems
	exitUsage    = 2 // bad arguments, unreadable or malformed input
)

// command is one subcommand. To add one (serve, pause, audit...), write a
// func(ctx, *env, args) int beside the others and add a line to commands.
type command struct {
	name    string // the words after "medic", e.g. "policy lint"
	args    string // argument synopsis, e.g. "[DIR]"
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

var commands = []command{
	{"policy lint", "[--account ID] [--region NAME] [DIR]", "validate the policies in DIR (default: the embedded policies); warn about those naming another account or region", runPolicyLint},
	{"policy test", "[DIR]", "run the fixtures in DIR/tests against the policies in DIR", runPolicyTest},
	{"policy diff", "--base REF [--head REF|DIR] [--path DIR] [--repo DIR] [--history FILE]", "show as Markdown how the policies behave differently from those at git REF; exit 0 unchanged, 1 changed, 2 error", runPolicyDiff},
	{"policy check", "--aws [--endpoint-url URL] [DIR]", "check that the ECS services, ALB listeners and GitHub repositories the policies name exist; warn about policies no existing alarm can match", runPolicyCheck},
	{"alarms", "[--alb NAME|ARN] [--target-group NAME|ARN] [--slo 99.9] [--sns-topic ARN] [--function ARN] [--out FILE | --apply] [--endpoint-url URL] [DIR]", "generate the recommended CloudWatch alarms (5xx rates, ELB 502/503/504, p99, unhealthy hosts, SLO burn rates) for the target groups the policies name, as CloudFormation or applied", runAlarms},
	{"history export", "[--since 168h] [--alarm-prefix P] --out FILE [--endpoint-url URL]", "write CloudWatch alarm state changes to a JSON Lines file for replay", runHistoryExport},
	{"simulate", "--alarm FILE [--policies DIR] [--format json|text]", "show what the policies propose for an alarm payload; no side effects", runSimulate},
	{"serve", "[--addr HOST:PORT] [--policies DIR] [--store FILE] [--dry-run] [--insecure-no-token]", "run the whole bot in one process on the embedded store", runServe},
	{"pause", "[--table NAME | --store FILE] [--reason TEXT]", "stop medic executing anything (it still proposes); DynamoDB when --table or MEDIC_TABLE is set", runPause},
	{"resume", "[--table NAME | --store FILE]", "let medic execute again", runResume},
	{"demo", "[-v]", "run the whole loop locally against moto and a Slack test server", runDemo},
	{"report", "[--table NAME | --store FILE] (--incident ID | --since 7d) [--format markdown|json] [--policies DIR]", "print an incident's report (timeline, time to first action and recovery, what ran and what did not, links) or a per-policy summary of a window", runReport},
	{"audit", "[--table NAME | --store FILE] [--since 24h] [--incident ID] [--format text|json]", "show the audit trail, from DynamoDB when --table or MEDIC_TABLE is set", runAudit},
}

// env is what commands read and write instead of globals, so tests can run
// them in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	catalog        policy.Catalog
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// SIGINT from a terminal, SIGTERM from a service manager (systemd,
	// Docker, Kubernetes): either cancels ctx, and `medic serve` shuts down
	// gracefully, keeping its queued work.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, catalog: builtin.Catalog()}

	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return exitOK
	}
	// The longest command name that prefixes args wins.
	var found *command
	for i := range commands {
		words := strings.Fields(commands[i].name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) &&
			(found == nil || len(words) > len(strings.Fields(found.name))) {
			found = &commands[i]
		}
	}
	if found == nil {
		fmt.Fprintf(stderr, "medic: unknown command %q\n", strings.Join(args, " "))
		usage(stderr)
		return exitUsage
	}
	return found.run(ctx, e, args[len(strings.Fields(found.name)):])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: medic COMMAND [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  medic %s %s\n      %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nexit status: 0 ok, 1 findings, 2 usage or unreadable input")
}

// flags returns a flag set for a command that prints its usage to stderr.
func (e *env) flags(c string) *flag.FlagSet {
	fset := flag.NewFlagSet("medic "+c, flag.ContinueOnError)
	fset.SetOutput(e.stderr)
	return fset
}

// parse parses flags; ok is false when the command must stop with code.
func parse(fset *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

// policyDir resolves a DIR argument: a directory on disk, or the embedded
// policies when empty. name prefixes file names in messages.
func policyDir(dir string) (fsys fs.FS, name string) {
	if dir == "" {
		return policies.FS, "policies"
	}
	return os.DirFS(dir), dir
}

// loadPolicies loads the policies of dir. On failure it prints every
// problem to stderr and returns the exit code.
func (e *env) loadPolicies(dir string) (*policy.Set, fs.FS, int) {
	fsys, name := policyDir(dir)
	set, err := policy.Load(fsys, e.catalog)
	var errs *policy.Errors
	switch {
	case errors.As(err, &errs):
		for _, pe := range *errs {
			if pe.File != "" {
				pe.File = joinName(name, pe.File)
			} else {
				pe.File = name
			}
			fmt.Fprintln(e.stderr, pe)
		}
		fmt.Fprintf(e.stderr, "%d problem(s) in %s\n", len(*errs), name)
		return nil, nil, exitFindings
	case err != nil:
		fmt.Fprintf(e.stderr, "medic: %s: %v\n", name, err)
		return nil, nil, exitUsage
	}
	return set, fsys, exitOK
}

// joinName joins a directory as the user wrote it and a slash-separated
// name inside it.
func joinName(dir, name string) string {
	return strings.TrimSuffix(dir, "/") + "/" + name
}
