package ecs

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// RestartName is the policy name of the restart action.
const RestartName = "ecs.restart"

// Restart is the ecs.restart action: a forced new deployment that replaces
// every task with the same task definition. It cannot be undone (the old
// tasks are gone), so it does not implement remediations.Undoer.
type Restart struct {
	ecs ServicesAPI
}

// NewRestart returns the ecs.restart action.
func NewRestart(c ServicesAPI) *Restart { return &Restart{ecs: c} }

// Name returns "ecs.restart".
func (r *Restart) Name() string { return RestartName }

// Schema returns RestartSchema().
func (r *Restart) Schema() remediations.Schema { return RestartSchema() }

// restartData is ecs.restart's Plan.Data and Result.Data.
type restartData struct {
	Ref            serviceRef `json:"service"`
	TaskDefinition string     `json:"task_definition"`
	// Deployment is the PRIMARY deployment id the plan was made at (Plan)
	// or the one the restart started (Result).
	Deployment string `json:"deployment,omitempty"`
}

// Plan reads the service and says which tasks a restart replaces. While a
// deployment is in progress (or ECS is rolling back) the plan is a NoOp: a
// forced deployment would pile on.
func (r *Restart) Plan(ctx context.Context, a *alarm.Alarm, p remediations.Params) (*remediations.Plan, error) {
	if err := checkParams(RestartName, RestartSchema(), p); err != nil {
		return nil, err
	}
	if r.ecs == nil {
		return nil, fmt.Errorf("plan %s: %w", RestartName, errNoClient)
	}
	ref, svc, err := resolve(ctx, r.ecs, a, p)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", RestartName, err)
	}
	if err := checkController(ref, svc, "plan "+RestartName+" for"); err != nil {
		return nil, err
	}
	td := aws.ToString(svc.TaskDefinition)
	if td == "" {
		return nil, fmt.Errorf("plan %s for %s: the service has no task definition: %w", RestartName, ref, remediations.ErrInvalid)
	}
	d := restartData{Ref: ref, TaskDefinition: td, Deployment: primaryDeployment(svc)}
	plan := &remediations.Plan{Action: RestartName, Target: ref.target(), Data: encodeData(d)}
	if why := inFlight(svc); why != "" {
		plan.NoOp = true
		plan.Summary = fmt.Sprintf("%s: not restarting: %s; a forced deployment would pile on", ref, why)
		return plan, nil
	}
	plan.Summary = fmt.Sprintf("%s: restart all %d tasks on %s (forced new deployment)", ref, svc.DesiredCount, taskDefName(td))
	plan.Changes = []remediations.Change{{Resource: ref.target(), Field: "deployment", From: d.Deployment, To: "new deployment of " + taskDefName(td)}}
	return plan, nil
}

// Apply re-reads the service, refuses a stale plan (task definition or
// deployment changed, or a deployment started since), then forces a new
// deployment with the current task definition.
func (r *Restart) Apply(ctx context.Context, plan *remediations.Plan) (*remediations.Result, error) {
	var d restartData
	if err := decodePlan(plan, RestartName, &d); err != nil {
		return nil, err
	}
	if plan.NoOp {
		return &remediations.Result{Action: RestartName, Target: plan.Target, Summary: plan.Summary}, nil
	}
	if !d.Ref.valid() {
		return nil, fmt.Errorf("restart %s: the plan names no service: %w", d.Ref, remediations.ErrInvalid)
	}
	if r.ecs == nil {
		return nil, fmt.Errorf("restart %s: %w", d.Ref, errNoClient)
	}
	svc, err := describeService(ctx, r.ecs, d.Ref)
	if err != nil {
		return nil, fmt.Errorf("restart %s: %w", d.Ref, err)
	}
	if td := aws.ToString(svc.TaskDefinition); taskDefName(td) != taskDefName(d.TaskDefinition) {
		return nil, fmt.Errorf("%s changed since the plan: task definition is now %s, plan was made at %s: %w", d.Ref, taskDefName(td), taskDefName(d.TaskDefinition), remediations.ErrStalePlan)
	}
	if dep := primaryDeployment(svc); dep != d.Deployment {
		return nil, fmt.Errorf("%s changed since the plan: primary deployment is now %s, plan was made at %s: %w", d.Ref, dep, d.Deployment, remediations.ErrStalePlan)
	}
	if why := inFlight(svc); why != "" {
		return nil, fmt.Errorf("%s changed since the plan: %s: %w", d.Ref, why, remediations.ErrStalePlan)
	}
	out, err := r.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster:            aws.String(d.Ref.Cluster),
		Service:            aws.String(d.Ref.Service),
		ForceNewDeployment: true,
	})
	if err != nil {
		return nil, fmt.Errorf("restart %s: force new deployment: %w", d.Ref, classify(err, "ecs:UpdateService", d.Ref.String()))
	}
	started := ""
	if out != nil && out.Service != nil {
		started = primaryDeployment(out.Service)
	}
	res := &remediations.Result{
		Action: RestartName,
		Target: d.Ref.target(),
		Data:   encodeData(restartData{Ref: d.Ref, TaskDefinition: d.TaskDefinition, Deployment: started}),
	}
	if started == "" {
		started = "(id not reported)"
	}
	res.Summary = fmt.Sprintf("%s: new deployment %s started on %s, replacing deployment %s", d.Ref, started, taskDefName(d.TaskDefinition), d.Deployment)
	res.Changes = []remediations.Change{{Resource: d.Ref.target(), Field: "deployment", From: d.Deployment, To: started}}
	return res, nil
}
