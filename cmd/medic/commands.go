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
	{"alarms", "[--alb NAME|ARN] [--target-group NAME|ARN] [--slo 99.9] [--sns-topic ARN] [--function ARN] [--tag KEY=VALUE] [--out FILE | --apply] [--endpoint-url URL] [DIR]", "generate the recommended CloudWatch alarms (5xx rates, ELB 502/503/504, p99, unhealthy hosts, SLO burn rates) for the target groups the policies name, as CloudFormation or applied", runAlarms},
	{"history export", "[--since 7d] [--alarm-prefix P] --out FILE [--endpoint-url URL]", "write CloudWatch alarm state changes to a JSON Lines file for replay", runHistoryExport},
	{"simulate", "--alarm FILE [--policies DIR] [--format json|text]", "show what the policies propose for an alarm payload; no side effects", runSimulate},
	{"serve", "[--addr HOST:PORT] [--policies DIR] [--store FILE] [--local-approvals USER] [--dry-run] [--insecure-no-token]", "run the whole bot in one process on the embedded store", runServe},
	{"pause", "[--table NAME | --store FILE] [--reason TEXT]", "stop medic executing anything (it still proposes); DynamoDB when --table or MEDIC_TABLE is set", runPause},
	{"resume", "[--table NAME | --store FILE]", "let medic execute again", runResume},
	{"demo", "[-v] [--keep]", "run the whole loop locally against moto and a Slack test server", runDemo},
	{"report", "[--table NAME | --store FILE] (--incident ID | --since 7d) [--format markdown|json] [--policies DIR]", "print an incident's report (timeline, time to first action and recovery, what ran and what did not, links) or a per-policy summary of a window", runReport},
	{"audit", "[--table NAME | --store FILE] [--since 1d] [--incident ID] [--format text|json]", "show the audit trail, from DynamoDB when --table or MEDIC_TABLE is set", runAudit},
}

// env is what commands read and write instead of globals, so tests can run
// them in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	catalog        policy.Catalog
	// cmd is the command being run, for its usage.
	cmd *command
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
	if args[0] == "-h" || args[0] == "--help" || (args[0] == "help" && len(args) == 1) {
		usage(stdout)
		return exitOK
	}
	if args[0] == "help" {
		// medic help COMMAND: that command's usage, or a group's commands.
		if c := findCommand(args[1:]); c != nil && len(strings.Fields(c.name)) == len(args)-1 {
			help := *e
			help.stderr = stdout
			help.cmd = c
			return c.run(ctx, &help, []string{"-h"})
		}
		if group := commandsIn(args[1:]); len(group) > 0 {
			groupUsage(stdout, group)
			return exitOK
		}
		fmt.Fprintf(stderr, "medic help: unknown command %q\n", strings.Join(args[1:], " "))
		usage(stderr)
		return exitUsage
	}
	found := findCommand(args)
	if found == nil {
		if group := commandsIn(args); len(group) > 0 && len(args) == 1 {
			fmt.Fprintf(stderr, "medic %s: which one?\n", args[0])
			groupUsage(stderr, group)
			return exitUsage
		}
		fmt.Fprintf(stderr, "medic: unknown command %q\n", strings.Join(args, " "))
		usage(stderr)
		return exitUsage
	}
	e.cmd = found
	return found.run(ctx, e, args[len(strings.Fields(found.name)):])
}

// findCommand returns the command whose name is the longest prefix of
// args, or nil.
func findCommand(args []string) *command {
	var found *command
	for i := range commands {
		words := strings.Fields(commands[i].name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) &&
			(found == nil || len(words) > len(strings.Fields(found.name))) {
			found = &commands[i]
		}
	}
	return found
}

// commandsIn returns the commands whose names start with the words of
// prefix ("policy" -> policy lint, policy test...).
func commandsIn(prefix []string) []command {
	var out []command
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(prefix) > 0 && len(words) > len(prefix) && slices.Equal(words[:len(prefix)], prefix) {
			out = append(out, c)
		}
	}
	return out
}

func groupUsage(w io.Writer, group []command) {
	fmt.Fprintln(w, "usage:")
	for _, c := range group {
		fmt.Fprintf(w, "  medic %s %s\n      %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintf(w, "\n`medic help %s` shows a command's flags.\n", group[0].name)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: medic COMMAND [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  medic %s %s\n      %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\n`medic help COMMAND` shows a command's flags.")
	fmt.Fprintln(w, "exit status: 0 ok, 1 findings, 2 usage or unreadable input")
}

// flags returns a flag set for a command that prints its usage to stderr.
func (e *env) flags(c string) *flag.FlagSet {
	fset := flag.NewFlagSet("medic "+c, flag.ContinueOnError)
	fset.SetOutput(e.stderr)
	fset.Usage = func() {
		w := fset.Output()
		if cmd := e.cmd; cmd != nil && cmd.name == c {
			fmt.Fprintf(w, "usage: medic %s %s\n\n%s\n", cmd.name, cmd.args, cmd.summary)
		}
		var n int
		fset.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(w, "\nflags:")
			fset.PrintDefaults()
		}
	}
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

// embeddedNote says which policy set a command uses when given no
// directory: the one built into the binary, not the files on disk.
const embeddedNote = "embedded in this binary; give DIR to use policy files on disk"

// policyDir resolves a DIR argument: a directory on disk, or the embedded
// policies when empty. name prefixes file names in messages.
func policyDir(dir string) (fsys fs.FS, name string) {
	if dir == "" {
		return policies.FS, policies.Dir
	}
	return os.DirFS(dir), dir
}

// loadPolicies loads the policies of dir. On failure it prints every
// problem to stderr and returns the exit code.
func (e *env) loadPolicies(dir string) (*policy.Set, fs.FS, int) {
	if dir != "" {
		// Say what is wrong with the path as the user typed it (os.DirFS
		// would report "open .").
		fi, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(e.stderr, "medic: %s: no such directory\n", dir)
			return nil, nil, exitUsage
		case err != nil:
			fmt.Fprintf(e.stderr, "medic: %s: %v\n", dir, errors.Unwrap(err))
			return nil, nil, exitUsage
		case !fi.IsDir():
			fmt.Fprintf(e.stderr, "medic: %s: not a directory (give the directory that holds the policy files)\n", dir)
			return nil, nil, exitUsage
		}
	}
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
