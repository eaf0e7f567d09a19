package ecs

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// ScaleName is the policy name of the scale action.
const ScaleName = "ecs.scale"

// Scale is the ecs.scale action: it raises a service's desired count and,
// when the service has an Application Auto Scaling target, its floor
// (MinCapacity, and MaxCapacity when needed) so that auto scaling does not
// scale it back in. It never scales in.
type Scale struct {
	ecs ServicesAPI
	as  AutoScalingAPI
}

// NewScale returns the ecs.scale action.
func NewScale(c ServicesAPI, a AutoScalingAPI) *Scale {
	return &Scale{ecs: c, as: a}
}

// Name returns "ecs.scale".
func (s *Scale) Name() string { return ScaleName }

// Schema returns ScaleSchema().
func (s *Scale) Schema() remediations.Schema { return ScaleSchema() }

// capacity is a scalable target's min and max capacity.
type capacity struct {
	Min int32 `json:"min"`
	Max int32 `json:"max"`
}

func (c *capacity) String() string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("%d/%d", c.Min, c.Max)
}

// scaleData is ecs.scale's Plan.Data and Result.Data: the state the plan
// was made from and the state it sets.
type scaleData struct {
	Ref serviceRef `json:"service"`
	// Desired is the desired count the plan was made at; Target the one
	// it sets.
	Desired int32 `json:"desired"`
	Target  int32 `json:"target"`
	// AutoScaling is the scalable target's capacity the plan was made at
	// (nil: the service had none); NewAutoScaling the capacity it sets.
	AutoScaling    *capacity `json:"auto_scaling,omitempty"`
	NewAutoScaling *capacity `json:"new_auto_scaling,omitempty"`
}

// scaleTarget computes the desired count the params ask for from the
// current one: add, set or factor (rounded up), raised to min and capped at
// max. capped reports that max lowered it.
func scaleTarget(current int32, p remediations.Params) (target int32, capped bool) {
	want := float64(current)
	if n, ok := p.Number("add"); ok {
		want = float64(current) + n
	} else if n, ok := p.Number("set"); ok {
		want = n
	} else if f, ok := p.Number("factor"); ok {
		// The epsilon keeps 10 * 1.1 = 11.000000000000002 at 11.
		want = math.Ceil(float64(current)*f - 1e-9)
	}
	if lo, ok := p.Number("min"); ok && want < lo {
		want = lo
	}
	if hi, ok := p.Number("max"); ok && want > hi {
		want, capped = hi, true
	}
	want = math.Max(0, math.Min(want, math.MaxInt32))
	if math.IsNaN(want) {
		want = 0
	}
	return int32(want), capped
}

// Plan reads the service (and its scalable target) and says how many tasks
// it will run. A plan never exceeds the max param; a target at or below the
// current desired count is a NoOp.
func (s *Scale) Plan(ctx context.Context, a *alarm.Alarm, p remediations.Params) (*remediations.Plan, error) {
	if err := checkParams(ScaleName, ScaleSchema(), p); err != nil {
		return nil, err
	}
	if s.ecs == nil || s.as == nil {
		return nil, fmt.Errorf("plan %s: %w", ScaleName, errNoClient)
	}
	ref, svc, err := resolve(ctx, s.ecs, a, p)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", ScaleName, err)
	}
	cur, err := readCapacity(ctx, s.as, ref)
	if err != nil {
		return nil, fmt.Errorf("plan %s for %s: %w", ScaleName, ref, err)
	}
	target, capped := scaleTarget(svc.DesiredCount, p)
	d := scaleData{Ref: ref, Desired: svc.DesiredCount, Target: target, AutoScaling: cur}
	plan := &remediations.Plan{Action: ScaleName, Target: ref.target()}

	if target <= svc.DesiredCount {
		plan.NoOp = true
		plan.Summary = fmt.Sprintf("%s: already %d tasks (target %d%s); nothing to change", ref, svc.DesiredCount, target, cappedNote(capped, p))
		d.Target = svc.DesiredCount
		d.NewAutoScaling = cur
		plan.Data = encodeData(d)
		return plan, nil
	}

	parts := []string{fmt.Sprintf("%s: desired %d -> %d tasks%s", ref, svc.DesiredCount, target, cappedNote(capped, p))}
	plan.Changes = []remediations.Change{{Resource: ref.target(), Field: "desiredCount", From: itoa(svc.DesiredCount), To: itoa(target)}}
	if cur != nil {
		next := &capacity{Min: max(cur.Min, target), Max: max(cur.Max, target)}
		d.NewAutoScaling = next
		var as []string
		if next.Min != cur.Min {
			as = append(as, fmt.Sprintf("min %d -> %d", cur.Min, next.Min))
			plan.Changes = append(plan.Changes, remediations.Change{Resource: aasResource(ref), Field: "MinCapacity", From: itoa(cur.Min), To: itoa(next.Min)})
		}
		if next.Max != cur.Max {
			as = append(as, fmt.Sprintf("max %d -> %d", cur.Max, next.Max))
			plan.Changes = append(plan.Changes, remediations.Change{Resource: aasResource(ref), Field: "MaxCapacity", From: itoa(cur.Max), To: itoa(next.Max)})
		}
		if len(as) > 0 {
			parts = append(parts, "auto scaling "+strings.Join(as, ", "))
		}
	}
	plan.Summary = strings.Join(parts, "; ")
	plan.Reversible = true
	plan.Data = encodeData(d)
	return plan, nil
}

func cappedNote(capped bool, p remediations.Params) string {
	if !capped {
		return ""
	}
	hi, _ := p.Int("max")
	return fmt.Sprintf(", capped at max %d", hi)
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func aasResource(ref serviceRef) string { return "application-autoscaling:" + ref.resourceID() }

// Apply re-reads the service and its scalable target, refuses a stale plan,
// then raises the auto scaling capacity (first, so auto scaling does not
// undo the new desired count) and sets the desired count.
func (s *Scale) Apply(ctx context.Context, plan *remediations.Plan) (*remediations.Result, error) {
	var d scaleData
	if err := decodePlan(plan, ScaleName, &d); err != nil {
		return nil, err
	}
	if plan.NoOp {
		return &remediations.Result{Action: ScaleName, Target: plan.Target, Summary: plan.Summary, Data: plan.Data}, nil
	}
	return s.move(ctx, "scale", d.Ref, from{d.Desired, d.AutoScaling}, from{d.Target, d.NewAutoScaling}, "since the plan", "plan was made at")
}

// Undo restores the desired count and the auto scaling capacity the plan
// started from, provided they are still what Apply set.
func (s *Scale) Undo(ctx context.Context, res *remediations.Result) (*remediations.Result, error) {
	var d scaleData
	if err := decodeResult(res, ScaleName, &d); err != nil {
		return nil, err
	}
	if d.Target == d.Desired && d.NewAutoScaling.String() == d.AutoScaling.String() {
		return &remediations.Result{Action: ScaleName, Target: res.Target, Summary: fmt.Sprintf("%s: nothing to undo", d.Ref)}, nil
	}
	return s.move(ctx, "undo scale of", d.Ref, from{d.Target, d.NewAutoScaling}, from{d.Desired, d.AutoScaling}, "since medic scaled it", "medic set")
}

// from is one side of a scale: a desired count and a capacity (nil: no
// scalable target).
type from struct {
	desired int32
	cap     *capacity
}

// move checks that ref is at was and moves it to next. since and basis word
// the stale-plan message ("changed since the plan: desired count is now 5,
// plan was made at 4").
func (s *Scale) move(ctx context.Context, doing string, ref serviceRef, was, next from, since, basis string) (*remediations.Result, error) {
	if !ref.valid() {
		return nil, fmt.Errorf("%s %s: the plan names no service: %w", doing, ref, remediations.ErrInvalid)
	}
	if s.ecs == nil || s.as == nil {
		return nil, fmt.Errorf("%s %s: %w", doing, ref, errNoClient)
	}
	svc, err := describeService(ctx, s.ecs, ref)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", doing, ref, err)
	}
	if svc.DesiredCount != was.desired {
		return nil, fmt.Errorf("%s changed %s: desired count is now %d, %s %d: %w", ref, since, svc.DesiredCount, basis, was.desired, remediations.ErrStalePlan)
	}
	cur, err := readCapacity(ctx, s.as, ref)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", doing, ref, err)
	}
	switch {
	case cur == nil && was.cap != nil:
		return nil, fmt.Errorf("%s changed %s: its auto scaling target is gone, %s min/max %s: %w", ref, since, basis, was.cap, remediations.ErrStalePlan)
	case cur != nil && was.cap == nil:
		return nil, fmt.Errorf("%s changed %s: it now has an auto scaling target (min/max %s), %s none: %w", ref, since, cur, basis, remediations.ErrStalePlan)
	case cur != nil && *cur != *was.cap:
		return nil, fmt.Errorf("%s changed %s: auto scaling min/max is now %s, %s %s: %w", ref, since, cur, basis, was.cap, remediations.ErrStalePlan)
	}

	res := &remediations.Result{Action: ScaleName, Target: ref.target()}
	var done []string
	// capSet: the scalable target's capacity was changed and must be put
	// back if the desired count cannot be set.
	capSet := false
	if cur != nil && next.cap != nil && *cur != *next.cap {
		in := &applicationautoscaling.RegisterScalableTargetInput{
			ServiceNamespace:  aastypes.ServiceNamespaceEcs,
			ResourceId:        aws.String(ref.resourceID()),
			ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
			MinCapacity:       aws.Int32(next.cap.Min),
			MaxCapacity:       aws.Int32(next.cap.Max),
		}
		if _, err := s.as.RegisterScalableTarget(ctx, in); err != nil {
			return nil, fmt.Errorf("%s %s: set auto scaling min/max %s -> %s: %w (%w)", doing, ref, cur, next.cap,
				classify(err, "application-autoscaling:RegisterScalableTarget", ref.resourceID()), remediations.ErrNotApplied)
		}
		capSet = true
		var as []string
		if cur.Min != next.cap.Min {
			res.Changes = append(res.Changes, remediations.Change{Resource: aasResource(ref), Field: "MinCapacity", From: itoa(cur.Min), To: itoa(next.cap.Min)})
			as = append(as, fmt.Sprintf("min %d -> %d", cur.Min, next.cap.Min))
		}
		if cur.Max != next.cap.Max {
			res.Changes = append(res.Changes, remediations.Change{Resource: aasResource(ref), Field: "MaxCapacity", From: itoa(cur.Max), To: itoa(next.cap.Max)})
			as = append(as, fmt.Sprintf("max %d -> %d", cur.Max, next.cap.Max))
		}
		done = append(done, "auto scaling "+strings.Join(as, ", "))
	}
	if svc.DesiredCount != next.desired {
		_, err := s.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster:      aws.String(ref.Cluster),
			Service:      aws.String(ref.Service),
			DesiredCount: aws.Int32(next.desired),
		})
		if err != nil {
			err = classify(err, "ecs:UpdateService", ref.String())
			if capSet {
				return nil, s.putBack(ctx, doing, ref, svc.DesiredCount, next.desired, cur, next.cap, err)
			}
			return nil, fmt.Errorf("%s %s: set desired count %d -> %d: %w (%w)", doing, ref, svc.DesiredCount, next.desired, err, remediations.ErrNotApplied)
		}
		res.Changes = append([]remediations.Change{{Resource: ref.target(), Field: "desiredCount", From: itoa(svc.DesiredCount), To: itoa(next.desired)}}, res.Changes...)
		done = append([]string{fmt.Sprintf("desired %d -> %d tasks", svc.DesiredCount, next.desired)}, done...)
	}
	if len(done) == 0 {
		res.Summary = fmt.Sprintf("%s: nothing changed", ref)
	} else {
		res.Summary = fmt.Sprintf("%s: %s", ref, strings.Join(done, "; "))
	}
	res.Data = encodeData(scaleData{Ref: ref, Desired: was.desired, Target: next.desired, AutoScaling: was.cap, NewAutoScaling: next.cap})
	return res, nil
}

// restoreTimeout bounds putting a scalable target's capacity back after a
// failed desired count update. The restore runs even when ctx is done (the
// failure may be ctx's deadline): medic must not leave a half-applied scale
// behind silently.
const restoreTimeout = 15 * time.Second

// putBack is called when move changed the scalable target's capacity from
// orig to set and then failed (updErr) to set the desired count from
// desired to want. It puts the capacity back to orig, best effort, and
// returns an error saying what failed and whether the capacity was put
// back or is still at set and must be fixed by hand. The error wraps
// updErr (and the restore's error, when that failed too).
func (s *Scale) putBack(ctx context.Context, doing string, ref serviceRef, desired, want int32, orig, set *capacity, updErr error) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restoreTimeout)
	defer cancel()
	_, err := s.as.RegisterScalableTarget(rctx, &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace:  aastypes.ServiceNamespaceEcs,
		ResourceId:        aws.String(ref.resourceID()),
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		MinCapacity:       aws.Int32(orig.Min),
		MaxCapacity:       aws.Int32(orig.Max),
	})
	// Apply raises the capacity; Undo lowers it.
	moved := "changed"
	if set.Min >= orig.Min && set.Max >= orig.Max {
		moved = "raised"
	}
	if err != nil {
		err = classify(err, "application-autoscaling:RegisterScalableTarget", ref.resourceID())
		return fmt.Errorf("%s %s: set desired count %d -> %d failed: %w; auto scaling min/max had been %s %s -> %s and putting it back failed: %w; "+
			"auto scaling min/max is still %s at %s: set %s back to min/max %s by hand",
			doing, ref, desired, want, updErr, moved, orig, set, err, moved, set, aasResource(ref), orig)
	}
	return fmt.Errorf("%s %s: set desired count %d -> %d failed: %w; auto scaling min/max had been %s %s -> %s and was put back to %s (%w)",
		doing, ref, desired, want, updErr, moved, orig, set, orig, remediations.ErrNotApplied)
}

// readCapacity returns the service's scalable target capacity, or nil when
// it has no scalable target.
func readCapacity(ctx context.Context, api ScalableTargetDescriber, ref serviceRef) (*capacity, error) {
	out, err := api.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{
		ServiceNamespace:  aastypes.ServiceNamespaceEcs,
		ResourceIds:       []string{ref.resourceID()},
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
	})
	if err != nil {
		return nil, classify(err, "application-autoscaling:DescribeScalableTargets", ref.resourceID())
	}
	if out == nil {
		return nil, nil
	}
	for _, t := range out.ScalableTargets {
		if aws.ToString(t.ResourceId) == ref.resourceID() && t.ScalableDimension == aastypes.ScalableDimensionECSServiceDesiredCount {
			return &capacity{Min: aws.ToInt32(t.MinCapacity), Max: aws.ToInt32(t.MaxCapacity)}, nil
		}
	}
	return nil, nil
}
