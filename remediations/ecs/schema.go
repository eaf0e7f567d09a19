package ecs

import (
	"fmt"

	"github.com/medicbot/medic/remediations"
)

var serviceParams = []remediations.Param{
	{Name: "cluster", Type: remediations.TypeString, Description: "ECS cluster name or ARN; resolved from the alarm's TargetGroup dimension when omitted"},
	{Name: "service", Type: remediations.TypeString, Description: "ECS service name or ARN; resolved from the alarm's TargetGroup dimension when omitted"},
	{Name: "target_group", Type: remediations.TypeString, Description: "target group (targetgroup/NAME/ID or its ARN) whose one ECS service to act on, instead of the alarm's TargetGroup dimension; with cluster, only that cluster is searched"},
}

// serviceIAM is what every action calls to find, read and update a service.
// DescribeServices needs every cluster's services when the target is
// resolved from a target group; narrow it to service/CLUSTER/* when policies
// always name the cluster.
var serviceIAM = []remediations.IAMPermission{
	{Actions: []string{"ecs:UpdateService"}, Resource: "arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/*"},
	{Actions: []string{"ecs:DescribeServices"}, Resource: "arn:aws:ecs:REGION:ACCOUNT:service/*/*"},
	{Actions: []string{"ecs:ListClusters", "ecs:ListServices"}, Resource: "*"},
}

func withIAM(extra ...remediations.IAMPermission) []remediations.IAMPermission {
	return append(append([]remediations.IAMPermission{}, serviceIAM...), extra...)
}

// ScaleSchema declares the parameters of ecs.scale.
func ScaleSchema() remediations.Schema {
	return remediations.Schema{
		Description: "Raise an ECS service's desired count (and its auto scaling floor when it has one).",
		Params: append(append([]remediations.Param{}, serviceParams...),
			remediations.Param{Name: "add", Type: remediations.TypeInt, Min: remediations.Ptr(1), Widens: true, Description: "tasks to add to the current desired count"},
			remediations.Param{Name: "set", Type: remediations.TypeInt, Min: remediations.Ptr(0), Widens: true, Description: "desired count to set"},
			remediations.Param{Name: "factor", Type: remediations.TypeNumber, Min: remediations.Ptr(1), Widens: true, Description: "multiply the current desired count by this factor (rounded up)"},
			remediations.Param{Name: "min", Type: remediations.TypeInt, Min: remediations.Ptr(0), Widens: true, Description: "never plan fewer tasks than this"},
			remediations.Param{Name: "max", Type: remediations.TypeInt, Required: true, Min: remediations.Ptr(1), Widens: true, Description: "never plan more tasks than this"},
		),
		ExactlyOne: [][]string{{"add", "set", "factor"}},
		Check: func(p remediations.Params) []error {
			lo, okLo := p.Int("min")
			hi, okHi := p.Int("max")
			if okLo && okHi && lo > hi {
				return []error{&remediations.FieldError{Param: "max", Msg: fmt.Sprintf("must be >= min (%d), got %d", lo, hi)}}
			}
			return nil
		},
		Reversible: true,
		IAM: withIAM(
			remediations.IAMPermission{Actions: []string{"application-autoscaling:DescribeScalableTargets", "application-autoscaling:RegisterScalableTarget"}, Resource: "*"},
		),
	}
}

// RestartSchema declares the parameters of ecs.restart.
func RestartSchema() remediations.Schema {
	return remediations.Schema{
		Description: "Force a new deployment of an ECS service: tasks are replaced with the same task definition.",
		Params:      append([]remediations.Param{}, serviceParams...),
		IAM:         withIAM(),
	}
}

// RollbackSchema declares the parameters of ecs.rollback.
func RollbackSchema() remediations.Schema {
	return remediations.Schema{
		Description: "Move an ECS service to the previous task definition revision of its family (or a named one).",
		Params: append(append([]remediations.Param{}, serviceParams...),
			remediations.Param{Name: "revision", Type: remediations.TypeInt, Min: remediations.Ptr(1), Description: "task definition revision of the service's family to roll back to"},
			remediations.Param{Name: "task_definition", Type: remediations.TypeString, Description: "full task definition (family:revision or ARN) to roll back to; must be of the service's own family"},
		),
		Check: func(p remediations.Params) []error {
			_, rev := p["revision"]
			_, td := p["task_definition"]
			if rev && td {
				return []error{&remediations.FieldError{Msg: "give revision or task_definition, not both"}}
			}
			return nil
		},
		Reversible: true,
		IAM: withIAM(
			remediations.IAMPermission{Actions: []string{"ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition"}, Resource: "*"},
			// UpdateService with a task definition passes its task and
			// execution roles.
			remediations.IAMPermission{Actions: []string{"iam:PassRole"}, Resource: "arn:aws:iam::ACCOUNT:role/TASK-ROLES"},
		),
	}
}
