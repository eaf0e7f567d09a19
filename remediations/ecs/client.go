package ecs

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/medicbot/medic/remediations"
)

// The ECS and Application Auto Scaling calls this package makes, one small
// interface per operation. *ecs.Client and *applicationautoscaling.Client
// satisfy them; tests pass small fakes.

// ClusterLister lists clusters (target resolution).
type ClusterLister interface {
	ListClusters(ctx context.Context, in *ecs.ListClustersInput, optFns ...func(*ecs.Options)) (*ecs.ListClustersOutput, error)
}

// ServiceLister lists a cluster's services (target resolution).
type ServiceLister interface {
	ListServices(ctx context.Context, in *ecs.ListServicesInput, optFns ...func(*ecs.Options)) (*ecs.ListServicesOutput, error)
}

// ServiceDescriber reads services.
type ServiceDescriber interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// ServiceUpdater changes a service's desired count or deployment.
type ServiceUpdater interface {
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
}

// TaskDefinitionLister lists the revisions of a task definition family.
type TaskDefinitionLister interface {
	ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
}

// TaskDefinitionDescriber reads one task definition.
type TaskDefinitionDescriber interface {
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// ServicesAPI is what every action in this package calls: finding, reading
// and updating one service.
type ServicesAPI interface {
	ClusterLister
	ServiceLister
	ServiceDescriber
	ServiceUpdater
}

// ECSAPI is every ECS call this package makes (ecs.rollback needs the task
// definition calls on top of ServicesAPI).
type ECSAPI interface {
	ServicesAPI
	TaskDefinitionLister
	TaskDefinitionDescriber
}

// ScalableTargetDescriber reads Application Auto Scaling scalable targets.
type ScalableTargetDescriber interface {
	DescribeScalableTargets(ctx context.Context, in *applicationautoscaling.DescribeScalableTargetsInput, optFns ...func(*applicationautoscaling.Options)) (*applicationautoscaling.DescribeScalableTargetsOutput, error)
}

// ScalableTargetRegisterer updates a scalable target's min and max capacity.
type ScalableTargetRegisterer interface {
	RegisterScalableTarget(ctx context.Context, in *applicationautoscaling.RegisterScalableTargetInput, optFns ...func(*applicationautoscaling.Options)) (*applicationautoscaling.RegisterScalableTargetOutput, error)
}

// AutoScalingAPI is every Application Auto Scaling call ecs.scale makes.
type AutoScalingAPI interface {
	ScalableTargetDescriber
	ScalableTargetRegisterer
}

// Compile-time checks that the SDK clients fit.
var (
	_ ECSAPI         = (*ecs.Client)(nil)
	_ AutoScalingAPI = (*applicationautoscaling.Client)(nil)
)

// Actions returns ecs.scale, ecs.restart and ecs.rollback built on the given
// clients. Their Schema works with nil clients; Plan, Apply and Undo return
// an error when the client they need is nil.
func Actions(c ECSAPI, a AutoScalingAPI) []remediations.Action {
	return []remediations.Action{
		NewScale(c, a),
		NewRestart(c),
		NewRollback(c),
	}
}
