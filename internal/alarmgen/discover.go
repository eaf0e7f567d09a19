package alarmgen

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/internal/policy"
)

// ELBv2API is the ELBv2 calls Discover makes.
type ELBv2API interface {
	DescribeLoadBalancers(ctx context.Context, in *elb.DescribeLoadBalancersInput, opts ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error)
	DescribeTargetGroups(ctx context.Context, in *elb.DescribeTargetGroupsInput, opts ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error)
}

// Selection says which target groups to generate alarms for: those given
// (load balancers by name or ARN: each of their target groups; target
// groups by name or ARN), or, when none is given, those the policies name
// through their LoadBalancer and TargetGroup dimension patterns.
type Selection struct {
	LoadBalancers []string
	TargetGroups  []string
	Policies      []*policy.Policy
}

// Discovered is what Discover found.
type Discovered struct {
	Targets []Target
	// Notes say which policies name no existing load balancer or target
	// group, or name none at all.
	Notes []string
}

// Discover looks the selected load balancers and target groups up.
func Discover(ctx context.Context, api ELBv2API, sel Selection) (*Discovered, error) {
	out := &Discovered{}
	add := func(t Target) {
		for _, have := range out.Targets {
			if have == t {
				return
			}
		}
		out.Targets = append(out.Targets, t)
	}
	if len(sel.LoadBalancers) > 0 || len(sel.TargetGroups) > 0 {
		var errs []error
		for _, want := range sel.LoadBalancers {
			lbs, err := loadBalancers(ctx, api, []string{want})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, lb := range lbs {
				if err := addLoadBalancer(ctx, api, lb, nil, add); err != nil {
					errs = append(errs, err)
				}
			}
		}
		for _, want := range sel.TargetGroups {
			in := &elb.DescribeTargetGroupsInput{Names: []string{want}}
			if strings.HasPrefix(want, "arn:") {
				in = &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{want}}
			}
			tgs, err := targetGroups(ctx, api, in)
			if err != nil {
				errs = append(errs, fmt.Errorf("look up target group %s: %w", want, err))
				continue
			}
			for _, tg := range tgs {
				if len(tg.LoadBalancerArns) == 0 {
					errs = append(errs, fmt.Errorf("target group %s is attached to no load balancer, so it has no ALB metrics: attach it to a listener first", want))
				}
				for _, lbARN := range tg.LoadBalancerArns {
					add(Target{LoadBalancer: arnTail(lbARN, "loadbalancer/"), TargetGroup: arnTail(aws.ToString(tg.TargetGroupArn), "")})
				}
			}
		}
		return out, errors.Join(errs...)
	}

	all, err := loadBalancers(ctx, api, nil)
	if err != nil {
		return nil, err
	}
	for _, p := range sel.Policies {
		lbPat, tgPat := p.Match.Dimensions["LoadBalancer"], p.Match.Dimensions["TargetGroup"]
		if !p.Enabled || (lbPat == "" && tgPat == "") || !namespaceMayBeALB(p.Match.Namespace) {
			if p.Enabled {
				out.Notes = append(out.Notes, fmt.Sprintf("policy %s (%s:%d) names no LoadBalancer or TargetGroup dimension: no alarms generated for it", p.Name, p.File, p.Line))
			}
			continue
		}
		found := 0
		for _, lb := range all {
			dim := arnTail(aws.ToString(lb.LoadBalancerArn), "loadbalancer/")
			if lbPat != "" && !globMatch(lbPat, dim) {
				continue
			}
			var keep func(string) bool // every target group, or the load balancer alone
			if tgPat == "" {
				found++
			} else {
				keep = func(tgDim string) bool {
					ok := globMatch(tgPat, tgDim)
					if ok {
						found++
					}
					return ok
				}
			}
			if err := addLoadBalancer(ctx, api, lb, keep, add); err != nil {
				return nil, err
			}
		}
		if found == 0 {
			what := "load balancer matches LoadBalancer " + lbPat
			if lbPat == "" {
				what = "target group matches TargetGroup " + tgPat
			}
			out.Notes = append(out.Notes, fmt.Sprintf("policy %s (%s:%d): no %s", p.Name, p.File, p.Line, what))
		}
	}
	return out, nil
}

// addLoadBalancer adds the target groups of lb that keep accepts (all when
// keep is nil), or the load balancer alone when keep is nil and it has
// none.
func addLoadBalancer(ctx context.Context, api ELBv2API, lb elbtypes.LoadBalancer, keep func(string) bool, add func(Target)) error {
	lbDim := arnTail(aws.ToString(lb.LoadBalancerArn), "loadbalancer/")
	tgs, err := targetGroups(ctx, api, &elb.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil {
		return fmt.Errorf("look up the target groups of %s: %w", aws.ToString(lb.LoadBalancerName), err)
	}
	kept := 0
	for _, tg := range tgs {
		tgDim := arnTail(aws.ToString(tg.TargetGroupArn), "")
		if keep != nil && !keep(tgDim) {
			continue
		}
		kept++
		add(Target{LoadBalancer: lbDim, TargetGroup: tgDim})
	}
	if kept == 0 && keep == nil {
		add(Target{LoadBalancer: lbDim})
	}
	return nil
}

// loadBalancers describes the application load balancers named (names or
// ARNs), or all of them.
func loadBalancers(ctx context.Context, api ELBv2API, want []string) ([]elbtypes.LoadBalancer, error) {
	in := &elb.DescribeLoadBalancersInput{}
	for _, w := range want {
		if strings.HasPrefix(w, "arn:") {
			in.LoadBalancerArns = append(in.LoadBalancerArns, w)
		} else {
			in.Names = append(in.Names, w)
		}
	}
	var out []elbtypes.LoadBalancer
	for {
		page, err := api.DescribeLoadBalancers(ctx, in)
		if err != nil {
			if len(want) > 0 {
				return nil, fmt.Errorf("look up load balancer %s: %w", strings.Join(want, ", "), err)
			}
			return nil, fmt.Errorf("list load balancers: %w", err)
		}
		for _, lb := range page.LoadBalancers {
			if lb.Type == elbtypes.LoadBalancerTypeEnumApplication || lb.Type == "" {
				out = append(out, lb)
			} else if len(want) > 0 {
				return nil, fmt.Errorf("load balancer %s is a %s load balancer: medic's alarms are for application load balancers", aws.ToString(lb.LoadBalancerName), lb.Type)
			}
		}
		if aws.ToString(page.NextMarker) == "" {
			return out, nil
		}
		in.Marker = page.NextMarker
	}
}

func targetGroups(ctx context.Context, api ELBv2API, in *elb.DescribeTargetGroupsInput) ([]elbtypes.TargetGroup, error) {
	var out []elbtypes.TargetGroup
	for {
		page, err := api.DescribeTargetGroups(ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, page.TargetGroups...)
		if aws.ToString(page.NextMarker) == "" {
			return out, nil
		}
		in.Marker = page.NextMarker
	}
}

// arnTail returns the CloudWatch dimension of an ELBv2 ARN: the part after
// "loadbalancer/" for a load balancer (app/name/id), after the resource
// type separator for a target group (targetgroup/name/id).
func arnTail(arn, after string) string {
	_, res, ok := strings.Cut(arn, ":elasticloadbalancing:")
	if !ok {
		return arn
	}
	// res is REGION:ACCOUNT:loadbalancer/app/... or REGION:ACCOUNT:targetgroup/...
	parts := strings.SplitN(res, ":", 3)
	if len(parts) < 3 {
		return arn
	}
	return strings.TrimPrefix(parts[2], after)
}

func globMatch(pattern, s string) bool {
	ok, _ := path.Match(pattern, s)
	return ok
}

// namespaceMayBeALB reports whether a policy's namespace patterns allow
// AWS/ApplicationELB.
func namespaceMayBeALB(patterns []string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if globMatch(p, Namespace) {
			return true
		}
	}
	return false
}
