package ecs

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// fakeECS is a small stateful ECS for decision-logic tests: clusters hold
// services, list calls page by pageSize, DescribeServices refuses more than
// ten services like ECS does, and errs injects an error per operation.
type fakeECS struct {
	clusters map[string][]types.Service // cluster name -> services
	order    []string                   // cluster names in ListClusters order
	taskDefs []string                   // ARNs
	pageSize int
	errs     map[string]error // operation name -> error
	calls    []string
	updates  []*ecs.UpdateServiceInput
}

func newFakeECS() *fakeECS {
	return &fakeECS{clusters: map[string][]types.Service{}, errs: map[string]error{}, pageSize: 100}
}

func clusterARN(name string) string {
	return "arn:aws:ecs:us-east-1:123456789012:cluster/" + name
}

func (f *fakeECS) add(cluster string, svc types.Service) *types.Service {
	if _, ok := f.clusters[cluster]; !ok {
		f.order = append(f.order, cluster)
	}
	svc.ClusterArn = aws.String(clusterARN(cluster))
	svc.ServiceArn = aws.String("arn:aws:ecs:us-east-1:123456789012:service/" + cluster + "/" + aws.ToString(svc.ServiceName))
	if svc.Status == nil {
		svc.Status = aws.String("ACTIVE")
	}
	f.clusters[cluster] = append(f.clusters[cluster], svc)
	s := f.clusters[cluster]
	return &s[len(s)-1]
}

func (f *fakeECS) record(op string) error {
	f.calls = append(f.calls, op)
	return f.errs[op]
}

// page returns items[start:start+pageSize] and the next token.
func page(items []string, token *string, size int) ([]string, *string) {
	start, _ := strconv.Atoi(aws.ToString(token))
	end := min(start+size, len(items))
	var next *string
	if end < len(items) {
		next = aws.String(strconv.Itoa(end))
	}
	return items[start:end], next
}

func (f *fakeECS) ListClusters(_ context.Context, in *ecs.ListClustersInput, _ ...func(*ecs.Options)) (*ecs.ListClustersOutput, error) {
	if err := f.record("ListClusters"); err != nil {
		return nil, err
	}
	var arns []string
	for _, c := range f.order {
		arns = append(arns, clusterARN(c))
	}
	p, next := page(arns, in.NextToken, f.pageSize)
	return &ecs.ListClustersOutput{ClusterArns: p, NextToken: next}, nil
}

func (f *fakeECS) ListServices(_ context.Context, in *ecs.ListServicesInput, _ ...func(*ecs.Options)) (*ecs.ListServicesOutput, error) {
	if err := f.record("ListServices"); err != nil {
		return nil, err
	}
	svcs, ok := f.clusters[lastSegment(aws.ToString(in.Cluster))]
	if !ok {
		return nil, apiErr("ClusterNotFoundException", "Cluster not found.")
	}
	var arns []string
	for _, s := range svcs {
		arns = append(arns, aws.ToString(s.ServiceArn))
	}
	p, next := page(arns, in.NextToken, f.pageSize)
	return &ecs.ListServicesOutput{ServiceArns: p, NextToken: next}, nil
}

func (f *fakeECS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	if err := f.record("DescribeServices"); err != nil {
		return nil, err
	}
	if len(in.Services) > 10 {
		return nil, apiErr("InvalidParameterException", "too many services")
	}
	svcs, ok := f.clusters[lastSegment(aws.ToString(in.Cluster))]
	if !ok {
		return nil, apiErr("ClusterNotFoundException", "Cluster not found.")
	}
	out := &ecs.DescribeServicesOutput{}
	for _, name := range in.Services {
		found := false
		for _, s := range svcs {
			if aws.ToString(s.ServiceName) == lastSegment(name) {
				out.Services = append(out.Services, s)
				found = true
			}
		}
		if !found {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(name), Reason: aws.String("MISSING")})
		}
	}
	return out, nil
}

func (f *fakeECS) UpdateService(_ context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	if err := f.record("UpdateService"); err != nil {
		return nil, err
	}
	f.updates = append(f.updates, in)
	svcs := f.clusters[lastSegment(aws.ToString(in.Cluster))]
	for i := range svcs {
		s := &svcs[i]
		if aws.ToString(s.ServiceName) != aws.ToString(in.Service) {
			continue
		}
		if in.DesiredCount != nil {
			s.DesiredCount = *in.DesiredCount
		}
		if in.TaskDefinition != nil {
			s.TaskDefinition = in.TaskDefinition
		}
		return &ecs.UpdateServiceOutput{Service: s}, nil
	}
	return nil, apiErr("ServiceNotFoundException", "Service not found.")
}

func (f *fakeECS) ListTaskDefinitions(_ context.Context, in *ecs.ListTaskDefinitionsInput, _ ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error) {
	if err := f.record("ListTaskDefinitions"); err != nil {
		return nil, err
	}
	p, next := page(f.taskDefs, in.NextToken, f.pageSize)
	return &ecs.ListTaskDefinitionsOutput{TaskDefinitionArns: p, NextToken: next}, nil
}

func (f *fakeECS) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	if err := f.record("DescribeTaskDefinition"); err != nil {
		return nil, err
	}
	for _, arn := range f.taskDefs {
		if taskDefName(arn) == taskDefName(aws.ToString(in.TaskDefinition)) {
			return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &types.TaskDefinition{TaskDefinitionArn: aws.String(arn), Status: types.TaskDefinitionStatusActive}}, nil
		}
	}
	return nil, apiErr("ClientException", "Unable to describe task definition.")
}

// fakeAAS is a one-target Application Auto Scaling. registerErrs fail
// RegisterScalableTarget calls in order (a nil entry succeeds); registers
// records every call that got past ctx.
type fakeAAS struct {
	target       *aastypes.ScalableTarget
	errs         map[string]error
	registerErrs []error
	registers    []*applicationautoscaling.RegisterScalableTargetInput
}

func (f *fakeAAS) DescribeScalableTargets(_ context.Context, in *applicationautoscaling.DescribeScalableTargetsInput, _ ...func(*applicationautoscaling.Options)) (*applicationautoscaling.DescribeScalableTargetsOutput, error) {
	if err := f.errs["DescribeScalableTargets"]; err != nil {
		return nil, err
	}
	out := &applicationautoscaling.DescribeScalableTargetsOutput{}
	if f.target != nil {
		out.ScalableTargets = []aastypes.ScalableTarget{*f.target}
	}
	return out, nil
}

func (f *fakeAAS) RegisterScalableTarget(ctx context.Context, in *applicationautoscaling.RegisterScalableTargetInput, _ ...func(*applicationautoscaling.Options)) (*applicationautoscaling.RegisterScalableTargetOutput, error) {
	if err := ctx.Err(); err != nil {
		// The SDK fails a call on a done context before sending it.
		return nil, err
	}
	f.registers = append(f.registers, in)
	if err := f.errs["RegisterScalableTarget"]; err != nil {
		return nil, err
	}
	if len(f.registerErrs) > 0 {
		err := f.registerErrs[0]
		f.registerErrs = f.registerErrs[1:]
		if err != nil {
			return nil, err
		}
	}
	if f.target == nil {
		return nil, fmt.Errorf("fake: no scalable target")
	}
	if in.MinCapacity != nil {
		f.target.MinCapacity = in.MinCapacity
	}
	if in.MaxCapacity != nil {
		f.target.MaxCapacity = in.MaxCapacity
	}
	return &applicationautoscaling.RegisterScalableTargetOutput{}, nil
}
