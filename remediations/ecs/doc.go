// Package ecs holds medic's ECS remediations:
//
//   - ecs.scale raises a service's desired count by add, set or factor
//     (rounded up), bounded by min and max; it never scales in. When the
//     service has an Application Auto Scaling scalable target it also raises
//     the target's MinCapacity (and MaxCapacity when needed), so auto scaling
//     does not take the tasks away again. Undo restores the desired count and
//     the min/max it started from. The min/max is set first; when setting
//     the desired count then fails, the min/max is put back to what the
//     plan recorded and the error says so, or, when putting it back fails
//     too, that it is still changed and must be set back by hand.
//   - ecs.restart forces a new deployment with the same task definition. It
//     cannot be undone.
//   - ecs.rollback moves a service to the previous ACTIVE revision of its
//     task definition family, or to the revision or task definition the
//     params name; a task_definition of another family than the service's
//     is refused (remediations.ErrInvalid). Undo rolls forward to the task
//     definition it replaced.
//     ecs.restart and ecs.rollback plan a NoOp while a deployment is in
//     progress or ECS is already rolling back (deployment circuit breaker or
//     CloudWatch alarms): they do not pile on.
//
// # Target
//
// Each action works on one service: the cluster and service params, or
// else the only active service whose load balancer configuration names the
// target group of the target_group param or of the alarm's TargetGroup
// dimension (targetgroup/NAME/ID, the tail of the target group ARN). The
// search pages ListClusters (or uses the cluster param), ListServices and
// DescribeServices. No match or several matches are an error wrapping
// remediations.ErrTarget; so is an alarm with only a LoadBalancer dimension
// (an ELB 5xx metric), which cannot tell ECS services apart, and an alarm
// whose metrics name several target groups.
//
// # Plans
//
// Plans are side-effect free and round-trip through JSON. Apply re-reads the
// service (and the scalable target) and refuses, with an error wrapping
// remediations.ErrStalePlan, when the desired count, task definition,
// deployment or min/max differ from what the plan recorded. Undo makes the
// same check against what Apply set.
//
// # Errors
//
// AWS API errors are classified (see APIError): not-found codes wrap
// remediations.ErrNotFound, AccessDeniedException wraps
// remediations.ErrAccessDenied and names the IAM action and the resource,
// InvalidParameterException, ClientException and ValidationException wrap
// remediations.ErrInvalid. Other errors (throttling or 5xx after the SDK's
// standard bounded retryer gave up, network errors) are wrapped
// unclassified: they may succeed later. The package configures no retries
// of its own.
//
// # IAM
//
// Every action (Schema().IAM lists the same, per action):
//
//	ecs:UpdateService                          arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/*
//	ecs:DescribeServices                       arn:aws:ecs:REGION:ACCOUNT:service/*/*
//	ecs:ListClusters, ecs:ListServices         *
//
// ecs.scale also:
//
//	application-autoscaling:DescribeScalableTargets,
//	application-autoscaling:RegisterScalableTarget   *
//
// ecs.rollback also:
//
//	ecs:ListTaskDefinitions, ecs:DescribeTaskDefinition   *
//	iam:PassRole   the task definitions' task and execution roles
//
// DescribeServices may be narrowed to service/CLUSTER/* when every policy
// names its cluster. ecs.scale only updates scalable targets that exist; it
// never registers a new one, so it needs no iam:CreateServiceLinkedRole.
//
// Production passes *ecs.Client and *applicationautoscaling.Client from
// github.com/aws/aws-sdk-go-v2 to Actions; tests pass fakes of the small
// per-operation interfaces in this package.
package ecs
