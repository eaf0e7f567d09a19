package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/medicbot/medic/internal/alarmgen"
	"github.com/medicbot/medic/internal/wiring"
)

// listFlag is a repeatable flag that also takes comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// tagFlag is the repeatable --tag KEY=VALUE.
type tagFlag []alarmgen.Tag

func (f *tagFlag) String() string {
	var out []string
	for _, t := range *f {
		out = append(out, t.Key+"="+t.Value)
	}
	return strings.Join(out, " ")
}

func (f *tagFlag) Set(s string) error {
	t, err := alarmgen.ParseTag(s)
	if err != nil {
		return err
	}
	*f = append(*f, t)
	return nil
}

// runAlarms generates medic's recommended alarms for the ALB target groups
// the policies name (or --alb / --target-group) as a CloudFormation
// template, or creates and updates them with --apply. Exit status: 0 done,
// 1 nothing to generate alarms for, 2 bad input or a failed AWS call.
func runAlarms(ctx context.Context, e *env, args []string) int {
	fset := e.flags("alarms")
	var albs, tgs listFlag
	var tags tagFlag
	fset.Var(&albs, "alb", "an application load balancer, by name or ARN: alarms for it and each of its target groups (repeatable)")
	fset.Var(&tgs, "target-group", "a target group, by name or ARN (repeatable); without --alb and --target-group: those the policies name")
	slo := fset.String("slo", "", "availability objective in percent (e.g. 99.9): adds the multiwindow burn-rate alarms")
	maxRate := fset.Float64("max-error-rate", alarmgen.DefaultOptions.MaxErrorRate*100, "target and ELB 5xx rate (percent of requests) that fires the rate alarms")
	minReq := fset.Int("min-requests", alarmgen.DefaultOptions.MinRequests, "requests per 5 minutes below which no rate alarm fires (quiet hours)")
	maxCount := fset.Int("max-elb-count", alarmgen.DefaultOptions.Max5xxCount, "ELB 502, 503 or 504 per minute that fires their alarms")
	maxP99 := fset.Duration("max-p99", alarmgen.DefaultOptions.MaxP99, "p99 target response time that fires the latency alarm")
	topic := fset.String("sns-topic", "", "also notify medic through this SNS topic (the stack's AlarmTopicArn); EventBridge needs nothing")
	function := fset.String("function", "", "also notify medic by invoking this function directly (the stack's AlarmFunctionArn)")
	fset.Var(&tags, "tag", "tag every alarm KEY=VALUE and turn on its tag propagation, so medic sees the tags (repeatable; e.g. medic-cluster=prod, which policies/starter.yaml matches)")
	out := fset.String("out", "-", "write the CloudFormation template here (- for standard output)")
	apply := fset.Bool("apply", false, "create or update the alarms through the CloudWatch API instead of writing a template")
	endpoint := fset.String("endpoint-url", "", "send every AWS call here (e.g. a moto server); default AWS_ENDPOINT_URL or AWS")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(e.stderr, "medic alarms: "+format+"\n", args...)
		return code
	}
	switch {
	case fset.NArg() > 1:
		return fail(exitUsage, "at most one DIR")
	case *maxRate <= 0 || *maxRate >= 100:
		return fail(exitUsage, "--max-error-rate %g: want a percentage between 0 and 100", *maxRate)
	case *minReq < 1 || *maxCount < 1 || *maxP99 <= 0:
		return fail(exitUsage, "--min-requests, --max-elb-count and --max-p99 must be more than 0")
	case *topic != "" && !strings.HasPrefix(*topic, "arn:aws") || *function != "" && !strings.HasPrefix(*function, "arn:aws"):
		return fail(exitUsage, "--sns-topic and --function take ARNs (the stack's AlarmTopicArn and AlarmFunctionArn outputs)")
	}
	opts := alarmgen.Options{
		SLO: *slo, MaxErrorRate: *maxRate / 100, MinRequests: *minReq, Max5xxCount: *maxCount, MaxP99: *maxP99,
		Actions: alarmgen.Actions{SNSTopic: *topic, Function: *function}, Tags: tags,
	}
	if *slo != "" {
		if _, err := alarmgen.Thresholds(*slo); err != nil {
			return fail(exitUsage, "--slo: %v", err)
		}
	}
	sel := alarmgen.Selection{LoadBalancers: albs, TargetGroups: tgs}
	if len(albs)+len(tgs) == 0 {
		set, _, code := e.loadPolicies(fset.Arg(0))
		if set == nil {
			return code
		}
		sel.Policies = set.Policies()
	} else if fset.NArg() > 0 {
		return fail(exitUsage, "give either DIR (the policies name the target groups) or --alb/--target-group, not both")
	}

	awsCfg, err := wiring.AWSConfig(ctx)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if *endpoint != "" {
		awsCfg.BaseEndpoint = endpoint
	}
	found, err := alarmgen.Discover(ctx, elasticloadbalancingv2.NewFromConfig(awsCfg), sel)
	if found != nil {
		for _, n := range found.Notes {
			fmt.Fprintf(e.stderr, "medic alarms: note: %s\n", n)
		}
	}
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if len(found.Targets) == 0 {
		return fail(exitFindings, "no load balancer or target group found to generate alarms for: give --alb or --target-group, or name them in the policies' match.dimensions")
	}
	alarms, err := alarmgen.Generate(found.Targets, opts)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if !*apply {
		body, err := alarmgen.Template(alarms, templateDescription(found.Targets, *slo))
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		if *out == "-" {
			_, err = e.stdout.Write(body)
		} else {
			err = writeFileAtomic(*out, func(w io.Writer) error { _, err := w.Write(body); return err })
		}
		if err != nil {
			return fail(exitUsage, "write the template: %v", err)
		}
		fmt.Fprintf(e.stderr, "medic alarms: %d alarm(s) for %d target(s) -> %s\n", len(alarms), len(found.Targets), orStdout(*out))
		return exitOK
	}
	// Emulators speak CloudWatch's query protocol only.
	changes, err := alarmgen.Apply(ctx, wiring.CloudWatch(awsCfg, awsCfg.BaseEndpoint != nil), alarms)
	counts := make(map[alarmgen.Outcome]int)
	for _, c := range changes {
		counts[c.Outcome]++
		fmt.Fprintf(e.stdout, "%-9s %s\n", c.Outcome, c.Name)
	}
	if err != nil {
		return fail(exitUsage, "%v (%d of %d alarm(s) done)", err, len(changes), len(alarms))
	}
	fmt.Fprintf(e.stdout, "%d alarm(s): %d created, %d updated, %d unchanged\n", len(alarms),
		counts[alarmgen.Created], counts[alarmgen.Updated], counts[alarmgen.Unchanged])
	return exitOK
}

func orStdout(name string) string {
	if name == "-" {
		return "standard output"
	}
	return name
}

func templateDescription(targets []alarmgen.Target, slo string) string {
	var names []string
	for _, t := range targets {
		n := t.LoadBalancer
		if t.TargetGroup != "" {
			n += " " + t.TargetGroup
		}
		names = append(names, n)
	}
	d := "medic's recommended alarms for " + strings.Join(names, ", ")
	if slo != "" {
		d += " (burn rates for a " + strings.TrimSuffix(slo, "%") + "% objective)"
	}
	if len(d) > 1024 { // CloudFormation's limit
		d = d[:1000] + "... (" + strconv.Itoa(len(targets)) + " targets)"
	}
	return d
}
