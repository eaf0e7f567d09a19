package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/policy/policytest"
	"github.com/medicbot/medic/internal/slack"
)

// accountID and regionName are the shapes of --account and --region.
var (
	accountID  = regexp.MustCompile(`^[0-9]{12}$`)
	regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// runPolicyLint validates the policies. Problems are errors (stderr, exit
// 1); policies whose match.accounts or match.regions leave out the
// deployment's account or region are warnings (stderr, "warning:" after
// the field), which do not change the exit status.
func runPolicyLint(_ context.Context, e *env, args []string) int {
	fset := e.flags("policy lint")
	account := fset.String("account", "", "the AWS account ID medic is deployed in: warn about policies whose match.accounts leave it out (default $MEDIC_ACCOUNT_ID; empty: no such warning)")
	region := fset.String("region", "", "the AWS region medic is deployed in: warn about policies whose match.regions leave it out (default $AWS_REGION, then $AWS_DEFAULT_REGION; empty: no such warning)")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	if fset.NArg() > 1 {
		fmt.Fprintln(e.stderr, "medic policy lint: at most one DIR")
		return exitUsage
	}
	given := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { given[f.Name] = true })
	acct, accountFrom := *account, "--account"
	if !given["account"] {
		acct, accountFrom = os.Getenv("MEDIC_ACCOUNT_ID"), "MEDIC_ACCOUNT_ID"
	}
	reg, regionFrom := *region, "--region"
	if !given["region"] {
		reg, regionFrom = os.Getenv("AWS_REGION"), "AWS_REGION"
		if reg == "" {
			reg, regionFrom = os.Getenv("AWS_DEFAULT_REGION"), "AWS_DEFAULT_REGION"
		}
	}
	if acct != "" && !accountID.MatchString(acct) {
		fmt.Fprintf(e.stderr, "medic policy lint: %s must be a 12-digit AWS account ID, got %q\n", accountFrom, acct)
		return exitUsage
	}
	if reg != "" && !regionName.MatchString(reg) {
		fmt.Fprintf(e.stderr, "medic policy lint: %s must be an AWS region code such as us-east-1, got %q\n", regionFrom, reg)
		return exitUsage
	}
	set, _, code := e.loadPolicies(fset.Arg(0))
	if set == nil {
		return code
	}
	_, name := policyDir(fset.Arg(0))
	// Warnings do not fail lint: the policies are valid, but a card may not
	// keep every Approve button, or medic would block a policy's steps.
	crowds := set.ApprovalCrowds(slack.MaxActionableSteps)
	for _, w := range crowds {
		w.File = joinName(name, w.File)
		fmt.Fprintf(e.stderr, "warning: %v\n", w)
	}
	outside := set.OutsideDeployment(acct, reg)
	for _, w := range outside {
		w.File = joinName(name, w.File)
		w.Msg = "warning: " + w.Msg
		fmt.Fprintln(e.stderr, w)
	}
	disruptive := set.AutoDisruptive()
	for _, w := range disruptive {
		w.File = joinName(name, w.File)
		w.Msg = "warning: " + w.Msg
		fmt.Fprintln(e.stderr, w)
	}
	warnings := len(crowds) + len(outside) + len(disruptive)
	from := ""
	if fset.Arg(0) == "" {
		from = " (" + embeddedNote + ")"
	}
	if warnings > 0 {
		fmt.Fprintf(e.stdout, "%s: %d policies OK, %d warning(s)%s\n", name, len(set.Policies()), warnings, from)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "%s: %d policies OK%s\n", name, len(set.Policies()), from)
	return exitOK
}

func runPolicyTest(_ context.Context, e *env, args []string) int {
	fset := e.flags("policy test")
	verbose := fset.Bool("v", false, "print passing cases too")
	historyFile := fset.String("history", "", "replay this alarm history (JSON Lines from `medic history export`) instead of the fixtures")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	if fset.NArg() > 1 {
		fmt.Fprintln(e.stderr, "medic policy test: at most one DIR")
		return exitUsage
	}
	set, fsys, code := e.loadPolicies(fset.Arg(0))
	if set == nil {
		return code
	}
	_, name := policyDir(fset.Arg(0))
	if *historyFile != "" {
		return e.replayHistory(set, name, *historyFile)
	}
	results, err := policytest.Run(fsys, set)
	var problems *policy.Errors
	if err != nil && !errors.As(err, &problems) {
		fmt.Fprintf(e.stderr, "medic policy test: %s: %v\n", name, err)
		return exitUsage
	}
	failed := 0
	for _, r := range results {
		where := joinName(name, r.File) + ": " + r.Name
		if r.Passed() {
			if *verbose && r.Ignored != "" {
				fmt.Fprintf(e.stdout, "ok    %s (payload ignored: %s)\n", where, r.Ignored)
			} else if *verbose {
				fmt.Fprintf(e.stdout, "ok    %s\n", where)
			}
			continue
		}
		failed++
		fmt.Fprintf(e.stdout, "FAIL  %s\n", where)
		fmt.Fprintf(e.stdout, "      expected: %s\n", describe(r.Want))
		fmt.Fprintf(e.stdout, "      got:      %s\n", describe(r.Got))
		if r.Ignored != "" {
			fmt.Fprintf(e.stdout, "      (payload ignored: %s)\n", r.Ignored)
		}
		if r.Err != nil {
			fmt.Fprintf(e.stdout, "      error:    %v\n", r.Err)
		}
		for _, d := range r.ParamDiffs() {
			fmt.Fprintf(e.stdout, "      %s\n", d)
		}
		if !r.ReadingPassed() {
			fmt.Fprintf(e.stdout, "      reading expected: %q\n", *r.WantReading)
			fmt.Fprintf(e.stdout, "      reading got:      %q (rules: %s)\n", r.Reading, strings.Join(r.ReadingRules, ", "))
		}
	}
	// A fixture file that cannot be read is not a failed case: its cases
	// did not run at all.
	var fileErrs int
	if problems != nil {
		for _, p := range *problems {
			p.File = joinName(name, p.File)
			fmt.Fprintf(e.stdout, "ERROR fixture file %s\n", p)
		}
		fileErrs = len(*problems)
	}
	var summary []string
	if fileErrs > 0 {
		summary = append(summary, fmt.Sprintf("%d fixture file error(s) (the cases of those files did not run)", fileErrs))
	}
	switch {
	case failed > 0:
		summary = append(summary, fmt.Sprintf("%d of %d fixture cases failed", failed, len(results)))
	case len(results) > 0 && fileErrs > 0:
		summary = append(summary, fmt.Sprintf("%d fixture cases passed", len(results)))
	case len(results) == 0 && fileErrs == 0:
		fmt.Fprintf(e.stdout, "no fixtures in %s\n", joinName(name, policytest.Dir))
		return exitFindings
	}
	if len(summary) > 0 {
		fmt.Fprintf(e.stdout, "%s\n", strings.Join(summary, "; "))
		return exitFindings
	}
	from := ""
	if fset.Arg(0) == "" {
		from = " (" + embeddedNote + ")"
	}
	fmt.Fprintf(e.stdout, "%s: %d fixture cases passed%s\n", name, len(results), from)
	return exitOK
}

// describe renders expectations as "[a -> ecs.scale, b -> ecs.restart]", or
// "no match".
func describe(es []policytest.Expect) string {
	if len(es) == 0 {
		return "no match"
	}
	out := ""
	for i, e := range es {
		if i > 0 {
			out += ", "
		}
		out += e.String()
	}
	return out
}
