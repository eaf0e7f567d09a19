package ecs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// RollbackName is the policy name of the rollback action.
const RollbackName = "ecs.rollback"

// Rollback is the ecs.rollback action: it moves a service to the previous
// ACTIVE revision of its task definition family (or to the revision or task
// definition of that family the params name). Undo rolls forward to the
// task definition it replaced.
type Rollback struct {
	ecs ECSAPI
}

// NewRollback returns the ecs.rollback action.
func NewRollback(c ECSAPI) *Rollback { return &Rollback{ecs: c} }

// Name returns "ecs.rollback".
func (r *Rollback) Name() string { return RollbackName }

// Schema returns RollbackSchema().
func (r *Rollback) Schema() remediations.Schema { return RollbackSchema() }

// rollbackData is ecs.rollback's Plan.Data and Result.Data: the task
// definition ARN the service was on and the one it moves to.
type rollbackData struct {
	Ref  serviceRef `json:"service"`
	From string     `json:"from"`
	To   string     `json:"to"`
}

// parseTaskDef splits a task definition ARN or FAMILY:REVISION.
func parseTaskDef(s string) (family string, revision int, ok bool) {
	name := lastSegment(s)
	i := strings.LastIndex(name, ":")
	if i <= 0 {
		return "", 0, false
	}
	rev, err := strconv.Atoi(name[i+1:])
	if err != nil || rev < 1 {
		return "", 0, false
	}
	return name[:i], rev, true
}

// Plan reads the service and picks the task definition to roll back to. It
// is a NoOp while a deployment is in progress or ECS is already rolling
// back, an error (ErrNotFound) when the family has no earlier ACTIVE
// revision, and an error (ErrInvalid) when the task_definition param names
// another family than the service's.
func (r *Rollback) Plan(ctx context.Context, a *alarm.Alarm, p remediations.Params) (*remediations.Plan, error) {
	if err := checkParams(RollbackName, RollbackSchema(), p); err != nil {
		return nil, err
	}
	if r.ecs == nil {
		return nil, fmt.Errorf("plan %s: %w", RollbackName, errNoClient)
	}
	ref, svc, err := resolve(ctx, r.ecs, a, p)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", RollbackName, err)
	}
	if err := checkController(ref, svc, "plan "+RollbackName+" for"); err != nil {
		return nil, err
	}
	current := aws.ToString(svc.TaskDefinition)
	family, rev, ok := parseTaskDef(current)
	if !ok {
		return nil, fmt.Errorf("plan %s for %s: its task definition %q has no FAMILY:REVISION: %w", RollbackName, ref, current, remediations.ErrInvalid)
	}
	plan := &remediations.Plan{Action: RollbackName, Target: ref.target()}
	if why := inFlight(svc); why != "" {
		plan.NoOp = true
		plan.Summary = fmt.Sprintf("%s: not rolling back from %s: %s", ref, taskDefName(current), why)
		plan.Data = encodeData(rollbackData{Ref: ref, From: current, To: current})
		return plan, nil
	}

	var to string
	switch {
	case p.String("task_definition") != "":
		to, err = r.namedTaskDef(ctx, p.String("task_definition"), family)
	case hasParam(p, "revision"):
		n, _ := p.Int("revision")
		to, err = r.activeTaskDef(ctx, family+":"+strconv.Itoa(n))
	default:
		to, err = r.previous(ctx, family, rev)
	}
	if err != nil {
		return nil, fmt.Errorf("plan %s for %s (on %s): %w", RollbackName, ref, taskDefName(current), err)
	}
	d := rollbackData{Ref: ref, From: current, To: to}
	plan.Data = encodeData(d)
	if taskDefName(to) == taskDefName(current) {
		plan.NoOp = true
		plan.Summary = fmt.Sprintf("%s: already on %s; nothing to change", ref, taskDefName(current))
		return plan, nil
	}
	plan.Summary = fmt.Sprintf("%s: task definition %s -> %s (new deployment of %d tasks)", ref, taskDefName(current), taskDefName(to), svc.DesiredCount)
	plan.Changes = []remediations.Change{{Resource: ref.target(), Field: "taskDefinition", From: taskDefName(current), To: taskDefName(to)}}
	plan.Reversible = true
	return plan, nil
}

func hasParam(p remediations.Params, name string) bool {
	_, ok := p[name]
	return ok
}

// previous returns the ARN of the highest ACTIVE revision of family below
// rev. It reads every page and does not rely on the listing's order (moto
// ignores Sort).
func (r *Rollback) previous(ctx context.Context, family string, rev int) (string, error) {
	pages := ecs.NewListTaskDefinitionsPaginator(r.ecs, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family),
		Status:       types.TaskDefinitionStatusActive,
		Sort:         types.SortOrderDesc,
	})
	best, bestRev, seen := "", 0, 0
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list revisions of %s: %w", family, classify(err, "ecs:ListTaskDefinitions", "family "+family))
		}
		for _, arn := range out.TaskDefinitionArns {
			// FamilyPrefix is a prefix: "checkout" also lists
			// "checkout-worker".
			f, n, ok := parseTaskDef(arn)
			if !ok || f != family {
				continue
			}
			seen++
			if n < rev && n > bestRev {
				best, bestRev = arn, n
			}
		}
	}
	if best == "" {
		return "", fmt.Errorf("no ACTIVE revision of %s older than %s:%d (%d ACTIVE revisions listed): %w", family, family, rev, seen, remediations.ErrNotFound)
	}
	return best, nil
}

// taskDefFamily returns the family a task definition name (FAMILY,
// FAMILY:REVISION or either as an ARN) names.
func taskDefFamily(name string) string {
	name = lastSegment(name)
	if i := strings.LastIndex(name, ":"); i >= 0 {
		return name[:i]
	}
	return name
}

// namedTaskDef checks that the task_definition param names an ACTIVE task
// definition of family, the service's current family, and returns its ARN.
// A rollback moves a service back within its family: a task definition of
// another family is refused (ErrInvalid) before it is read, and again
// after, on the family ECS answers with.
func (r *Rollback) namedTaskDef(ctx context.Context, name, family string) (string, error) {
	otherFamily := func(f string) error {
		return fmt.Errorf("task_definition %s is of family %s, not of the service's family %s: a rollback stays within the family: %w",
			name, f, family, remediations.ErrInvalid)
	}
	if f := taskDefFamily(name); f != family {
		return "", otherFamily(f)
	}
	arn, err := r.activeTaskDef(ctx, name)
	if err != nil {
		return "", err
	}
	if f, _, ok := parseTaskDef(arn); !ok || f != family {
		return "", otherFamily(taskDefFamily(arn))
	}
	return arn, nil
}

// activeTaskDef checks that the task definition name (FAMILY:REVISION or
// ARN) exists and is ACTIVE, and returns its ARN.
func (r *Rollback) activeTaskDef(ctx context.Context, name string) (string, error) {
	out, err := r.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(name)})
	if err != nil {
		var ae smithy.APIError
		// ECS answers ClientException for a task definition that does
		// not exist.
		if errors.As(err, &ae) && ae.ErrorCode() == "ClientException" {
			return "", &APIError{Op: "ecs:DescribeTaskDefinition", Resource: name, Kind: remediations.ErrNotFound, Err: err}
		}
		return "", classify(err, "ecs:DescribeTaskDefinition", name)
	}
	if out == nil || out.TaskDefinition == nil || aws.ToString(out.TaskDefinition.TaskDefinitionArn) == "" {
		return "", fmt.Errorf("read task definition %s: empty answer: %w", name, remediations.ErrNotFound)
	}
	td := out.TaskDefinition
	if td.Status != "" && td.Status != types.TaskDefinitionStatusActive {
		return "", fmt.Errorf("task definition %s is %s, not ACTIVE: %w", name, td.Status, remediations.ErrInvalid)
	}
	return aws.ToString(td.TaskDefinitionArn), nil
}

// Apply re-reads the service, refuses a stale plan (task definition changed
// or a deployment started since), then deploys the planned task definition.
func (r *Rollback) Apply(ctx context.Context, plan *remediations.Plan) (*remediations.Result, error) {
	var d rollbackData
	if err := decodePlan(plan, RollbackName, &d); err != nil {
		return nil, err
	}
	if plan.NoOp {
		return &remediations.Result{Action: RollbackName, Target: plan.Target, Summary: plan.Summary, Data: plan.Data}, nil
	}
	return r.deploy(ctx, "roll back", d, "since the plan", "plan was made at")
}

// Undo rolls forward to the task definition the rollback replaced,
// provided the service is still on the one the rollback set.
func (r *Rollback) Undo(ctx context.Context, res *remediations.Result) (*remediations.Result, error) {
	var d rollbackData
	if err := decodeResult(res, RollbackName, &d); err != nil {
		return nil, err
	}
	if taskDefName(d.From) == taskDefName(d.To) {
		return &remediations.Result{Action: RollbackName, Target: res.Target, Summary: fmt.Sprintf("%s: nothing to undo", d.Ref)}, nil
	}
	return r.deploy(ctx, "roll forward", rollbackData{Ref: d.Ref, From: d.To, To: d.From}, "since medic rolled it back", "medic set")
}

// deploy moves d.Ref from d.From to d.To.
func (r *Rollback) deploy(ctx context.Context, doing string, d rollbackData, since, basis string) (*remediations.Result, error) {
	if !d.Ref.valid() || d.To == "" {
		return nil, fmt.Errorf("%s %s: the plan names no service or task definition: %w", doing, d.Ref, remediations.ErrInvalid)
	}
	if r.ecs == nil {
		return nil, fmt.Errorf("%s %s: %w", doing, d.Ref, errNoClient)
	}
	svc, err := describeService(ctx, r.ecs, d.Ref)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", doing, d.Ref, err)
	}
	if cur := aws.ToString(svc.TaskDefinition); taskDefName(cur) != taskDefName(d.From) {
		return nil, fmt.Errorf("%s changed %s: task definition is now %s, %s %s: %w", d.Ref, since, taskDefName(cur), basis, taskDefName(d.From), remediations.ErrStalePlan)
	}
	if doing == "roll back" {
		if why := inFlight(svc); why != "" {
			return nil, fmt.Errorf("%s changed %s: %s: %w", d.Ref, since, why, remediations.ErrStalePlan)
		}
	}
	_, err = r.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster:        aws.String(d.Ref.Cluster),
		Service:        aws.String(d.Ref.Service),
		TaskDefinition: aws.String(d.To),
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s to %s: %w", doing, d.Ref, taskDefName(d.To), classify(err, "ecs:UpdateService", d.Ref.String()))
	}
	verb := "rolled back"
	if doing == "roll forward" {
		verb = "rolled forward"
	}
	return &remediations.Result{
		Action:  RollbackName,
		Target:  d.Ref.target(),
		Summary: fmt.Sprintf("%s: %s task definition %s -> %s", d.Ref, verb, taskDefName(d.From), taskDefName(d.To)),
		Changes: []remediations.Change{{Resource: d.Ref.target(), Field: "taskDefinition", From: taskDefName(d.From), To: taskDefName(d.To)}},
		Data:    encodeData(d),
	}, nil
}
