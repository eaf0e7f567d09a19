package main

import (
	"context"
	"fmt"
	"os"

	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/policycheck"
	"github.com/medicbot/medic/internal/wiring"
)

// runPolicyCheck checks that the resources the policies name exist. Exit
// status: 0 all found, 1 some missing, 2 a lookup failed or bad input.
func runPolicyCheck(ctx context.Context, e *env, args []string) int {
	fset := e.flags("policy check")
	checkAWS := fset.Bool("aws", false, "look up the ECS services, ALB listeners (and, with a GitHub credential, repositories) the policies name")
	endpoint := fset.String("endpoint-url", "", "send every AWS call here (e.g. a moto server); default AWS_ENDPOINT_URL or AWS")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	switch {
	case fset.NArg() > 1:
		fmt.Fprintln(e.stderr, "medic policy check: at most one DIR")
		return exitUsage
	case !*checkAWS:
		fmt.Fprintln(e.stderr, "medic policy check: say what to check: --aws")
		return exitUsage
	}
	set, fsys, code := e.loadPolicies(fset.Arg(0))
	if set == nil {
		return code
	}
	_, name := policyDir(fset.Arg(0))

	awsCfg, err := wiring.AWSConfig(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "medic policy check: %v\n", err)
		return exitUsage
	}
	if *endpoint != "" {
		awsCfg.BaseEndpoint = endpoint
	}
	cfg, err := config.FromEnv(ctx, os.Getenv, wiring.Secrets(awsCfg))
	if err != nil {
		fmt.Fprintf(e.stderr, "medic policy check: %v\n", err)
		return exitUsage
	}
	checker, err := wiring.PolicyChecker(cfg, awsCfg)
	if err != nil {
		fmt.Fprintf(e.stderr, "medic policy check: %v\n", err)
		return exitUsage
	}
	results, err := checker.Check(ctx, fsys, set)
	if err != nil {
		fmt.Fprintf(e.stderr, "medic policy check: %s: %v\n", name, err)
		return exitUsage
	}
	counts := make(map[policycheck.Status]int)
	for _, r := range results {
		counts[r.Status]++
		r.File = joinName(name, r.File)
		switch r.Status {
		case policycheck.Missing, policycheck.NotChecked:
			fmt.Fprintln(e.stdout, r)
		case policycheck.Failed:
			fmt.Fprintln(e.stderr, r)
		}
	}
	fmt.Fprintf(e.stdout, "%s: %d resource reference(s): %d found, %d missing, %d not checked, %d failed\n", name, len(results),
		counts[policycheck.Found], counts[policycheck.Missing], counts[policycheck.NotChecked], counts[policycheck.Failed])
	// Policies no existing alarm can match are warnings: they leave the
	// exit status alone, as lint's warnings do.
	unmatched, err := policycheck.UnmatchedPolicies(ctx, wiring.CloudWatch(awsCfg, awsCfg.BaseEndpoint != nil), set)
	if err != nil {
		fmt.Fprintf(e.stderr, "medic policy check: %s: %v\n", name, err)
		return exitUsage
	}
	for _, u := range unmatched {
		shown := *u.Policy
		shown.File = joinName(name, shown.File)
		u.Policy = &shown
		fmt.Fprintln(e.stderr, u)
	}
	switch {
	case counts[policycheck.Failed] > 0:
		return exitUsage
	case counts[policycheck.Missing] > 0:
		return exitFindings
	}
	return exitOK
}
