package evidence

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// ServicesAPI is the ECS call the changes and health collectors make;
// *ecs.Client implements it.
type ServicesAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// Changes is the recent-changes collector: the ECS service's deployments
// (rollout state, task definition revision, when each started). Whether
// the spike began soon after one is the reading's business (reading.go).
type Changes struct{ ecs ServicesAPI }

// NewChanges returns the recent-changes collector.
func NewChanges(api ServicesAPI) *Changes { return &Changes{ecs: api} }

// Name is "changes".
func (*Changes) Name() string { return "changes" }

// IAM is ecs:DescribeServices.
func (*Changes) IAM() []remediations.IAMPermission {
	return []remediations.IAMPermission{{Actions: []string{"ecs:DescribeServices"}, Resource: "arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/*"}}
}

// Collect lists the deployments of t's service.
func (c *Changes) Collect(ctx context.Context, t *Target) (*store.Evidence, error) {
	svc, err := describeService(ctx, c.ecs, t)
	if err != nil {
		return nil, err
	}
	ch := &store.Changes{Service: t.ServiceName()}
	for _, d := range svc.Deployments {
		ch.Deployments = append(ch.Deployments, store.ECSDeployment{
			Status: aws.ToString(d.Status), Rollout: string(d.RolloutState), TaskDefinition: taskDefName(aws.ToString(d.TaskDefinition)),
			CreatedAt: aws.ToTime(d.CreatedAt).UTC(), UpdatedAt: aws.ToTime(d.UpdatedAt).UTC(),
			Running: int(d.RunningCount), Desired: int(d.DesiredCount),
		})
	}
	return &store.Evidence{Changes: ch}, nil
}

// describeService reads t's service; ErrNotConfigured when t names none.
func describeService(ctx context.Context, api ServicesAPI, t *Target) (*ecstypes.Service, error) {
	if t.ServiceName() == "" {
		return nil, missingConfig("no ecs step of the policy names a cluster and service")
	}
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(t.Cluster), Services: []string{t.Service}})
	if err != nil {
		return nil, callFailed("ecs:DescribeServices", t.ServiceName(), err)
	}
	for i := range out.Services {
		if aws.ToString(out.Services[i].Status) != "INACTIVE" {
			return &out.Services[i], nil
		}
	}
	return nil, missingConfig("service %s not found", t.ServiceName())
}

// taskDefName is family:revision from a task definition ARN.
func taskDefName(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}
