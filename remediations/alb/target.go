package alb

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// dimLoadBalancer is the CloudWatch dimension naming an ALB: app/<name>/<id>.
const dimLoadBalancer = "LoadBalancer"

// findListener returns the listener the action works on: the listener
// parameter when given, else the one listener of the load balancer named by
// the alarm's LoadBalancer dimension (picked by port when there are several).
// It never guesses: anything ambiguous is an error wrapping
// remediations.ErrTarget.
func findListener(ctx context.Context, c ELBv2API, a *alarm.Alarm, listenerARN string, port int, havePort bool) (*types.Listener, error) {
	if listenerARN != "" {
		l, err := describeListener(ctx, c, listenerARN)
		if err != nil {
			return nil, err
		}
		if havePort && aws.ToInt32(l.Port) != int32(port) {
			return nil, fmt.Errorf("listener %s listens on port %d, not on port %d: %w", listenerARN, aws.ToInt32(l.Port), port, remediations.ErrTarget)
		}
		return l, nil
	}
	var dim string
	if a != nil {
		dim = a.Dimensions()[dimLoadBalancer]
	}
	if dim == "" {
		return nil, fmt.Errorf("no listener given and the alarm has no %s dimension: %w", dimLoadBalancer, remediations.ErrTarget)
	}
	lb, err := findLoadBalancer(ctx, c, dim)
	if err != nil {
		return nil, err
	}
	listeners, err := loadBalancerListeners(ctx, c, aws.ToString(lb.LoadBalancerArn))
	if err != nil {
		return nil, err
	}
	if len(listeners) == 0 {
		return nil, fmt.Errorf("load balancer %s (%s dimension) has no listeners: %w", dim, dimLoadBalancer, remediations.ErrTarget)
	}
	var nums []int
	var match []types.Listener
	for _, l := range listeners {
		nums = append(nums, int(aws.ToInt32(l.Port)))
		if !havePort || aws.ToInt32(l.Port) == int32(port) {
			match = append(match, l)
		}
	}
	slices.Sort(nums)
	ports := make([]string, len(nums))
	for i, n := range nums {
		ports[i] = strconv.Itoa(n)
	}
	switch {
	case len(match) == 1:
		return &match[0], nil
	case havePort && len(match) == 0:
		return nil, fmt.Errorf("load balancer %s has no listener on port %d (ports: %s): %w", dim, port, strings.Join(ports, ", "), remediations.ErrTarget)
	case havePort:
		return nil, fmt.Errorf("load balancer %s has %d listeners on port %d: %w", dim, len(match), port, remediations.ErrTarget)
	default:
		return nil, fmt.Errorf("load balancer %s has %d listeners (ports %s): set the port or listener parameter: %w", dim, len(match), strings.Join(ports, ", "), remediations.ErrTarget)
	}
}

// describeListener reads one listener by ARN.
func describeListener(ctx context.Context, c ELBv2API, arn string) (*types.Listener, error) {
	out, err := c.DescribeListeners(ctx, &elasticloadbalancingv2.DescribeListenersInput{ListenerArns: []string{arn}})
	if err != nil {
		return nil, classify(err, "elasticloadbalancing:DescribeListeners", arn)
	}
	for i := range out.Listeners {
		if aws.ToString(out.Listeners[i].ListenerArn) == arn {
			return &out.Listeners[i], nil
		}
	}
	return nil, fmt.Errorf("describe listener %s: not in the answer: %w", arn, remediations.ErrNotFound)
}

// findLoadBalancer returns the load balancer whose ARN ends in
// ":loadbalancer/" + dim.
func findLoadBalancer(ctx context.Context, c ELBv2API, dim string) (*types.LoadBalancer, error) {
	parts := strings.Split(dim, "/")
	if len(parts) != 3 || parts[0] != "app" || parts[1] == "" || parts[2] == "" {
		return nil, fmt.Errorf("%s dimension %q is not of the form app/<name>/<id>: %w", dimLoadBalancer, dim, remediations.ErrTarget)
	}
	suffix := ":loadbalancer/" + dim
	pages := elasticloadbalancingv2.NewDescribeLoadBalancersPaginator(c, &elasticloadbalancingv2.DescribeLoadBalancersInput{Names: []string{parts[1]}})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if errorCode(err) == "LoadBalancerNotFound" {
			break
		}
		if err != nil {
			return nil, classify(err, "elasticloadbalancing:DescribeLoadBalancers", dim)
		}
		for i := range out.LoadBalancers {
			if strings.HasSuffix(aws.ToString(out.LoadBalancers[i].LoadBalancerArn), suffix) {
				return &out.LoadBalancers[i], nil
			}
		}
	}
	return nil, fmt.Errorf("no load balancer matches the %s dimension %s: %w", dimLoadBalancer, dim, remediations.ErrTarget)
}

// loadBalancerListeners lists every listener of a load balancer.
func loadBalancerListeners(ctx context.Context, c ELBv2API, lbARN string) ([]types.Listener, error) {
	var out []types.Listener
	pages := elasticloadbalancingv2.NewDescribeListenersPaginator(c, &elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, classify(err, "elasticloadbalancing:DescribeListeners", lbARN)
		}
		out = append(out, page.Listeners...)
	}
	return out, nil
}

// listenerLabel names a listener for people: "app/<name>/<id>:<port>", the
// load balancer as the LoadBalancer dimension shows it, and the port.
func listenerLabel(l *types.Listener) string {
	arn := aws.ToString(l.ListenerArn)
	name := arn
	if i := strings.Index(arn, ":listener/"); i >= 0 {
		name = arn[i+len(":listener/"):]
		if j := strings.LastIndex(name, "/"); j > 0 {
			name = name[:j]
		}
	}
	return fmt.Sprintf("%s:%d", name, aws.ToInt32(l.Port))
}
