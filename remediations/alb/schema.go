package alb

import (
	"fmt"
	"strings"

	"github.com/medicbot/medic/remediations"
)

// Modes of alb.maintenance.
const (
	// ModeOn turns maintenance on through the maintenance function
	// (ModeLambda) where there is a maintenance target group (the stack's,
	// or the target_group param), else with a fixed response (ModeFixed).
	ModeOn = "on"
	// ModeLambda forwards the maintenance requests to the maintenance
	// function, which answers 503 with a Retry-After header.
	ModeLambda = "lambda"
	// ModeFixed answers them with ALB's fixed 503 (no Retry-After header).
	ModeFixed = "fixed"
	// ModeOff removes medic's maintenance rules.
	ModeOff = "off"
)

// Values of the exit parameter: what medic does when the exit condition
// holds.
const (
	ExitPropose = "propose"
	ExitAuto    = "auto"
)

// Limits ALB puts on one rule's conditions.
const (
	// maxValuesPerRule is the most condition values one rule may carry.
	maxValuesPerRule = 5
	// maxHostLen is the longest host-header value.
	maxHostLen = 128
)

// MaintenanceSchema declares the parameters of alb.maintenance.
func MaintenanceSchema() remediations.Schema {
	return remediations.Schema{
		Description: "Put an ALB listener into maintenance mode: a 503 (from the maintenance function, with a Retry-After header, or ALB's fixed response) for all paths (of host_headers) ahead of every rule that would answer those requests first (such rules move behind it, keeping their order, and move back on undo; or, with shadowing refuse, the plan names them and refuses), with an allow-list still forwarded to the default action; apply checks the listener read back answers with the 503 and reverts otherwise. mode off removes medic's maintenance rules.",
		Params: []remediations.Param{
			{Name: "mode", Type: remediations.TypeString, Enum: []string{ModeOn, ModeLambda, ModeFixed, ModeOff}, Default: ModeOn, Description: "on adds the maintenance rules: through the maintenance function (lambda) where the stack provides its target group or target_group names one, else a fixed response (fixed); lambda and fixed choose; off removes medic's maintenance rules from the listener"},
			{Name: "target_group", Type: remediations.TypeString, Description: "ARN of the lambda target group of the maintenance function to forward to (default: the stack's, MEDIC_MAINTENANCE_TARGET_GROUP_ARN); an ALB target group serves one load balancer"},
			{Name: "allow_paths", Type: remediations.TypeStringList, Description: "paths (exact, or a prefix ending in *) the maintenance function answers with 200 (health checks) while the rest get 503; mode lambda only"},
			{Name: "listener", Type: remediations.TypeString, Description: "listener ARN; resolved from the alarm's LoadBalancer dimension when omitted"},
			{Name: "port", Type: remediations.TypeInt, Min: remediations.Ptr(1), Max: remediations.Ptr(65535), Description: "listener port to pick when resolving from the LoadBalancer dimension"},
			{Name: "host_headers", Type: remediations.TypeStringList, Description: "only these host names go into maintenance (default: all); at most 5, at most 4 with allow_ips"},
			{Name: "allow_ips", Type: remediations.TypeCIDRList, Description: "CIDR blocks whose requests keep being forwarded to the listener's default action"},
			{Name: "retry_after", Type: remediations.TypeInt, Min: remediations.Ptr(0), Max: remediations.Ptr(86400), Default: 300, Description: "seconds clients should wait before retrying: the Retry-After header (mode lambda), or stated in the body (mode fixed: ALB cannot set the header)"},
			{Name: "format", Type: remediations.TypeString, Enum: []string{"html", "json"}, Default: "html", Description: "body format of the fixed 503 (mode lambda answers by the request's Accept header)"},
			{Name: "message", Type: remediations.TypeString, Description: "text shown to users; cut to keep the body within ALB's 1,024-character limit"},
			{Name: "exit", Type: remediations.TypeString, Enum: []string{ExitPropose, ExitAuto}, Description: "leave maintenance on evidence: when the exit condition (healthy targets, and exit_probe) holds, propose maintenance off (propose) or turn it off (auto); giving any exit_* param sets propose"},
			{Name: "exit_target_groups", Type: remediations.TypeStringList, Description: "target group ARNs whose targets must be healthy to leave maintenance (default: the alarm's TargetGroup dimensions, else the listener's default forward target groups)"},
			{Name: "exit_min_healthy", Type: remediations.TypeInt, Min: remediations.Ptr(1), Default: 1, Description: "healthy targets each exit target group needs"},
			{Name: "exit_probe", Type: remediations.TypeString, Description: "URL that must answer a GET with 2xx or 3xx too (e.g. the service's health endpoint, reached without the ALB's maintenance rule)"},
			{Name: "shadowing", Type: remediations.TypeString, Enum: []string{ShadowingMove, ShadowingRefuse}, Default: ShadowingMove, Description: "rules medic does not own that would answer maintenance requests ahead of the 503: move renumbers them (and the rules right behind them, keeping their order) to behind it, undo moves them back; refuse makes the plan fail naming them"},
		},
		Check:      checkParams,
		Reversible: true,
		IAM: []remediations.IAMPermission{
			// Describe calls support no resource-level permissions.
			{Actions: []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags"}, Resource: "*"},
			// The exit condition reads the target groups' health.
			{Actions: []string{"elasticloadbalancing:DescribeTargetHealth"}, Resource: "*"},
			// CreateRule is authorised on the listener only.
			{Actions: []string{"elasticloadbalancing:CreateRule"}, Resource: "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/*/*/*"},
			// CreateRule carries medic's tags, which are authorised as
			// AddTags on the new rule (tagging on create; grant it only with
			// the condition elasticloadbalancing:CreateAction = CreateRule).
			{Actions: []string{"elasticloadbalancing:AddTags"}, Resource: "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/*/*/*/*"},
			{Actions: []string{"elasticloadbalancing:DeleteRule"}, Resource: "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/*/*/*/*"},
			// Moving rules that would shadow the 503 behind it, and back
			// on undo: authorised on the rules moved.
			{Actions: []string{"elasticloadbalancing:SetRulePriorities"}, Resource: "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/*/*/*/*"},
		},
	}
}

// checkParams validates relations between parameters that ALB's rule limits
// impose.
func checkParams(p remediations.Params) []error {
	var errs []error
	hosts := p.Strings("host_headers")
	if len(hosts) > maxValuesPerRule {
		errs = append(errs, &remediations.FieldError{Param: "host_headers", Msg: fmt.Sprintf("at most %d host names fit in one rule, got %d", maxValuesPerRule, len(hosts))})
	} else if len(hosts) == maxValuesPerRule && len(p.Strings("allow_ips")) > 0 {
		errs = append(errs, &remediations.FieldError{Param: "host_headers", Msg: fmt.Sprintf("with allow_ips at most %d host names fit (an allow rule carries the host names and at least one CIDR, %d values per rule), got %d", maxValuesPerRule-1, maxValuesPerRule, len(hosts))})
	}
	for i, ap := range p.Strings("allow_paths") {
		if !strings.HasPrefix(ap, "/") || len(ap) > 128 {
			errs = append(errs, &remediations.FieldError{Param: "allow_paths", Msg: fmt.Sprintf("item %d must start with / and be at most 128 characters, got %q", i, ap)})
		}
	}
	if _, ok := p["allow_paths"]; ok && (p.String("mode") == ModeFixed || p.String("mode") == ModeOff) {
		errs = append(errs, &remediations.FieldError{Param: "allow_paths", Msg: "is answered by the maintenance function: mode lambda (or on) only"})
	}
	if p.String("mode") == ModeOff {
		for _, name := range []string{"exit", "exit_target_groups", "exit_min_healthy", "exit_probe"} {
			if _, ok := p[name]; ok {
				errs = append(errs, &remediations.FieldError{Param: name, Msg: "is when maintenance ends: not with mode off"})
			}
		}
	}
	for i, tg := range p.Strings("exit_target_groups") {
		if !strings.Contains(tg, ":targetgroup/") {
			errs = append(errs, &remediations.FieldError{Param: "exit_target_groups", Msg: fmt.Sprintf("item %d must be a target group ARN, got %q", i, tg)})
		}
	}
	if tg := p.String("target_group"); tg != "" && !strings.Contains(tg, ":targetgroup/") {
		errs = append(errs, &remediations.FieldError{Param: "target_group", Msg: fmt.Sprintf("must be a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID), got %q", tg)})
	}
	for i, h := range hosts {
		if h == "" || len(h) > maxHostLen {
			errs = append(errs, &remediations.FieldError{Param: "host_headers", Msg: fmt.Sprintf("item %d must be 1 to %d characters, got %d", i, maxHostLen, len(h))})
		}
	}
	return errs
}
