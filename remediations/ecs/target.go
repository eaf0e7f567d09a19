package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// describeBatch is the most services one DescribeServices call accepts.
const describeBatch = 10

// serviceRef names one ECS service by short cluster and service names.
type serviceRef struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
}

func (r serviceRef) String() string { return r.Cluster + "/" + r.Service }

// target is the Plan.Target lock key, e.g. "ecs:prod/checkout".
func (r serviceRef) target() string { return "ecs:" + r.String() }

// resourceID is the Application Auto Scaling resource ID of the service.
func (r serviceRef) resourceID() string { return "service/" + r.Cluster + "/" + r.Service }

func (r serviceRef) valid() bool { return r.Cluster != "" && r.Service != "" }

// lastSegment returns what follows the last "/" of an ARN or name.
func lastSegment(s string) string {
	return s[strings.LastIndex(s, "/")+1:]
}

// refFromParams returns the service the params name, if they name one.
func refFromParams(p remediations.Params) (serviceRef, bool, error) {
	cluster, service := p.String("cluster"), p.String("service")
	if service == "" {
		return serviceRef{}, false, nil
	}
	if cluster == "" {
		// A long-format service ARN names its cluster:
		// arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE.
		if i := strings.Index(service, ":service/"); i >= 0 {
			if parts := strings.Split(service[i+len(":service/"):], "/"); len(parts) == 2 {
				cluster = parts[0]
			}
		}
	}
	if cluster == "" {
		return serviceRef{}, false, fmt.Errorf("service %q is given without its cluster: %w", service, remediations.ErrTarget)
	}
	ref := serviceRef{Cluster: lastSegment(cluster), Service: lastSegment(service)}
	if !ref.valid() {
		return serviceRef{}, false, fmt.Errorf("cluster %q, service %q do not name a service: %w", cluster, service, remediations.ErrTarget)
	}
	return ref, true, nil
}

// resolve finds the service an action works on: the one the params name,
// or else the only service behind the target group the params or the alarm
// name. It never guesses: no match or several are an ErrTarget error.
func resolve(ctx context.Context, api ServicesAPI, a *alarm.Alarm, p remediations.Params) (serviceRef, *types.Service, error) {
	ref, named, err := refFromParams(p)
	if err != nil {
		return serviceRef{}, nil, err
	}
	if named {
		svc, err := describeService(ctx, api, ref)
		if err != nil {
			return serviceRef{}, nil, err
		}
		return ref, svc, nil
	}

	tg := p.String("target_group")
	var dims map[string]string
	if a != nil {
		dims = a.Dimensions()
	}
	if tg == "" {
		tgs := targetGroups(a)
		if len(tgs) > 1 {
			return serviceRef{}, nil, fmt.Errorf("alarm %q watches %d target groups (%s); name cluster and service, or target_group, in the policy: %w", alarmName(a), len(tgs), strings.Join(tgs, ", "), remediations.ErrTarget)
		}
		tg = dims["TargetGroup"]
	}
	if tg == "" {
		if lb := dims["LoadBalancer"]; lb != "" {
			return serviceRef{}, nil, fmt.Errorf("alarm %q names only load balancer %s, which can front several ECS services (an ELB 5xx metric has no TargetGroup dimension); name cluster and service, or target_group, in the policy: %w", alarmName(a), lb, remediations.ErrTarget)
		}
		return serviceRef{}, nil, fmt.Errorf("alarm %q has no TargetGroup dimension and the params name no cluster and service: %w", alarmName(a), remediations.ErrTarget)
	}
	return findByTargetGroup(ctx, api, p.String("cluster"), tg)
}

// targetGroups returns the distinct TargetGroup dimension values of the
// alarm's metrics (a metric-math alarm can watch several).
func targetGroups(a *alarm.Alarm) []string {
	if a == nil {
		return nil
	}
	var out []string
	for _, m := range a.Metrics {
		if tg := m.Dimensions["TargetGroup"]; tg != "" && !slices.Contains(out, tg) {
			out = append(out, tg)
		}
	}
	return out
}

func alarmName(a *alarm.Alarm) string {
	if a == nil {
		return ""
	}
	return a.Name
}

// targetGroupMatches reports whether a target group ARN is the one a
// TargetGroup dimension (targetgroup/NAME/ID, the tail of the ARN) or a full
// ARN names.
func targetGroupMatches(arn, tg string) bool {
	if arn == "" || tg == "" {
		return false
	}
	if strings.HasPrefix(tg, "arn:") {
		return arn == tg
	}
	return strings.HasSuffix(arn, ":"+tg)
}

// findByTargetGroup searches cluster (every cluster when empty) for the one
// active service registered with target group tg.
func findByTargetGroup(ctx context.Context, api ServicesAPI, cluster, tg string) (serviceRef, *types.Service, error) {
	var clusters []string
	if cluster != "" {
		clusters = []string{cluster}
	} else {
		pages := ecs.NewListClustersPaginator(api, &ecs.ListClustersInput{})
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx)
			if err != nil {
				return serviceRef{}, nil, fmt.Errorf("find the ECS service behind target group %s: %w", tg, classify(err, "ecs:ListClusters", "*"))
			}
			clusters = append(clusters, out.ClusterArns...)
		}
	}

	type match struct {
		ref serviceRef
		svc types.Service
	}
	var matches []match
	searched := 0
	for _, c := range clusters {
		pages := ecs.NewListServicesPaginator(api, &ecs.ListServicesInput{Cluster: aws.String(c), MaxResults: aws.Int32(100)})
		var arns []string
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx)
			if err != nil {
				return serviceRef{}, nil, fmt.Errorf("find the ECS service behind target group %s: %w", tg, classify(err, "ecs:ListServices", "cluster "+lastSegment(c)))
			}
			arns = append(arns, out.ServiceArns...)
		}
		for start := 0; start < len(arns); start += describeBatch {
			batch := arns[start:min(start+describeBatch, len(arns))]
			out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(c), Services: batch})
			if err != nil {
				return serviceRef{}, nil, fmt.Errorf("find the ECS service behind target group %s: %w", tg, classify(err, "ecs:DescribeServices", "cluster "+lastSegment(c)))
			}
			if out == nil {
				continue
			}
			for _, svc := range out.Services {
				if !isActive(&svc) {
					continue
				}
				searched++
				for _, lb := range svc.LoadBalancers {
					if targetGroupMatches(aws.ToString(lb.TargetGroupArn), tg) {
						matches = append(matches, match{refOf(&svc, c), svc})
						break
					}
				}
			}
		}
	}

	switch len(matches) {
	case 1:
		return matches[0].ref, &matches[0].svc, nil
	case 0:
		return serviceRef{}, nil, fmt.Errorf("find the ECS service behind target group %s: none of %d active services in %s uses it: %w",
			tg, searched, describeClusters(clusters), remediations.ErrTarget)
	default:
		names := make([]string, len(matches))
		for i, m := range matches {
			names[i] = m.ref.String()
		}
		return serviceRef{}, nil, fmt.Errorf("find the ECS service behind target group %s: %d services use it (%s); name cluster and service in the policy: %w",
			tg, len(matches), strings.Join(names, ", "), remediations.ErrTarget)
	}
}

func describeClusters(clusters []string) string {
	if len(clusters) == 0 {
		return "no clusters (ListClusters returned none)"
	}
	const show = 10
	names := make([]string, 0, show)
	for i, c := range clusters {
		if i == show {
			break
		}
		names = append(names, lastSegment(c))
	}
	s := "cluster"
	if len(clusters) > 1 {
		s += "s"
	}
	s += " " + strings.Join(names, ", ")
	if len(clusters) > show {
		s += fmt.Sprintf(" and %d more", len(clusters)-show)
	}
	return s
}

// refOf names svc, falling back to the cluster it was listed in.
func refOf(svc *types.Service, cluster string) serviceRef {
	ref := serviceRef{Cluster: lastSegment(cluster), Service: lastSegment(aws.ToString(svc.ServiceName))}
	if c := aws.ToString(svc.ClusterArn); c != "" {
		ref.Cluster = lastSegment(c)
	}
	if ref.Service == "" {
		ref.Service = lastSegment(aws.ToString(svc.ServiceArn))
	}
	return ref
}

func isActive(svc *types.Service) bool {
	s := aws.ToString(svc.Status)
	return s == "" || s == "ACTIVE"
}

// describeService reads one service; a missing or inactive service is an
// ErrNotFound error.
func describeService(ctx context.Context, api ServiceDescriber, ref serviceRef) (*types.Service, error) {
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(ref.Cluster),
		Services: []string{ref.Service},
	})
	if err != nil {
		return nil, classify(err, "ecs:DescribeServices", ref.String())
	}
	if out != nil {
		for i := range out.Services {
			svc := &out.Services[i]
			if lastSegment(aws.ToString(svc.ServiceName)) != ref.Service && lastSegment(aws.ToString(svc.ServiceArn)) != ref.Service {
				continue
			}
			if !isActive(svc) {
				return nil, fmt.Errorf("read service %s: it is %s: %w", ref, aws.ToString(svc.Status), remediations.ErrNotFound)
			}
			return svc, nil
		}
		for _, f := range out.Failures {
			return nil, fmt.Errorf("read service %s: %s: %w", ref, strings.ToLower(aws.ToString(f.Reason)), remediations.ErrNotFound)
		}
	}
	return nil, fmt.Errorf("read service %s: not in the DescribeServices answer: %w", ref, remediations.ErrNotFound)
}

// inFlight says why svc's deployments have not settled, or "" when a single
// PRIMARY deployment is not in progress. It recognises ECS rolling back on
// its own (deployment circuit breaker or CloudWatch alarms with rollback).
func inFlight(svc *types.Service) string {
	var primary *types.Deployment
	var failed *types.Deployment
	rollingBack := false
	for i := range svc.Deployments {
		d := &svc.Deployments[i]
		if aws.ToString(d.Status) == "PRIMARY" {
			primary = d
		}
		if d.RolloutState == types.DeploymentRolloutStateFailed {
			failed = d
		}
		reason := strings.ToLower(aws.ToString(d.RolloutStateReason))
		if strings.Contains(reason, "rolling back") || strings.Contains(reason, "rollback") || strings.Contains(reason, "circuit breaker") {
			rollingBack = true
		}
	}
	primaryBusy := primary != nil && primary.RolloutState == types.DeploymentRolloutStateInProgress
	if len(svc.Deployments) <= 1 && !primaryBusy {
		return ""
	}
	switch {
	case failed != nil:
		return fmt.Sprintf("ECS is already rolling back: deployment %s failed (%s)", aws.ToString(failed.Id), aws.ToString(failed.RolloutStateReason))
	case rollingBack:
		return "ECS is already rolling back"
	case len(svc.Deployments) > 1:
		return fmt.Sprintf("a deployment is in progress (%d deployments)", len(svc.Deployments))
	default:
		return fmt.Sprintf("deployment %s is in progress", aws.ToString(primary.Id))
	}
}

// primaryDeployment returns the id of svc's PRIMARY deployment, or "".
func primaryDeployment(svc *types.Service) string {
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return aws.ToString(d.Id)
		}
	}
	return ""
}

// checkController refuses services whose deployments ECS does not run.
func checkController(ref serviceRef, svc *types.Service, doing string) error {
	if svc.DeploymentController == nil || svc.DeploymentController.Type == "" || svc.DeploymentController.Type == types.DeploymentControllerTypeEcs {
		return nil
	}
	return fmt.Errorf("%s %s: its deployment controller is %s, which UpdateService cannot deploy: %w", doing, ref, svc.DeploymentController.Type, remediations.ErrInvalid)
}

// taskDefName shortens a task definition ARN to FAMILY:REVISION.
func taskDefName(arn string) string {
	return lastSegment(arn)
}

// decodePlan checks that plan belongs to action and decodes its data.
func decodePlan(plan *remediations.Plan, action string, data any) error {
	if plan == nil {
		return fmt.Errorf("apply %s: no plan: %w", action, remediations.ErrInvalid)
	}
	if plan.Action != action {
		return fmt.Errorf("apply %s: the plan is for %q: %w", action, plan.Action, remediations.ErrInvalid)
	}
	return decodeData(plan.Data, action, data)
}

// decodeResult checks that res belongs to action and decodes its data.
func decodeResult(res *remediations.Result, action string, data any) error {
	if res == nil {
		return fmt.Errorf("undo %s: no result: %w", action, remediations.ErrInvalid)
	}
	if res.Action != action {
		return fmt.Errorf("undo %s: the result is from %q: %w", action, res.Action, remediations.ErrInvalid)
	}
	return decodeData(res.Data, action, data)
}

// checkParams validates params against the action's schema.
func checkParams(action string, s remediations.Schema, p remediations.Params) error {
	errs := s.Validate(p, nil)
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("plan %s: params: %s: %w", action, strings.Join(msgs, "; "), remediations.ErrInvalid)
}

// decodeData unmarshals an action's Plan.Data or Result.Data.
func decodeData(raw json.RawMessage, action string, data any) error {
	if len(raw) == 0 {
		return fmt.Errorf("%s: no action data: %w", action, remediations.ErrInvalid)
	}
	if err := json.Unmarshal(raw, data); err != nil {
		return fmt.Errorf("%s: decode action data: %v: %w", action, err, remediations.ErrInvalid)
	}
	return nil
}

// encodeData marshals an action's data; the types in this package always
// marshal.
func encodeData(data any) json.RawMessage {
	b, err := json.Marshal(data)
	if err != nil {
		return nil
	}
	return b
}

// errNoClient is returned when an action built without a client is asked to
// do I/O.
var errNoClient = errors.New("no AWS client configured")
