// Package evidence gathers what a person would look at first when a 5xx
// alarm fires: the 5xx pattern (pattern.go), the service's recent changes
// (changes.go) and the health of its targets and tasks (health.go). Each
// collector is one file, declares the IAM actions it calls (IAM, like a
// remediation's Schema().IAM) and returns its part of a store.Evidence.
//
// Gatherer runs every collector in parallel, once, when an incident is
// opened, under one time budget: what has arrived when the budget runs out
// is stored on the incident, and each collector that has not answered (or
// failed) is listed in Evidence.Missing with the reason ("timed out after
// 4s", "access denied", "not configured"). Cards render from that record;
// nothing here is called by a render.
//
// Read tells what the evidence suggests in one line and which step it
// favours (reading.go): a reading, never a verdict. The line comes from
// reading rules, data built into the binary (readings.yaml, compiled by
// ParseRules in rules.go): for each part of the line (pattern, targets,
// change) the first rule whose when: conditions hold and whose evidence
// was gathered says its clause. docs/readings.md describes the format and
// testdata/readings/ holds the readings the shipped rules must give.
package evidence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// ErrNotConfigured is returned by a collector that has nothing to look at
// for this alarm (no load balancer dimension, no ECS service in the
// policy). The card says "not configured" and why.
var ErrNotConfigured = errors.New("not configured")

// Target is what the collectors look at: the alarm and the resources it
// names, resolved once by TargetOf.
type Target struct {
	// Alarm is the alarm state change; Now is when gathering started.
	Alarm *alarm.Alarm
	Now   time.Time
	// Region and Account locate the resources.
	Region  string
	Account string
	// LoadBalancer and TargetGroup are the CloudWatch dimension values
	// (app/NAME/ID, targetgroup/NAME/ID); empty when the alarm has none.
	LoadBalancer string
	TargetGroup  string
	// Cluster and Service name the ECS service, from the first ecs.* step
	// of the matched policies; empty when none names one.
	Cluster string
	Service string
	// Probe is the first matched policy's probe; Upstreams the upstreams
	// the matched policies name (by name, the first wins).
	Probe     *policy.Probe
	Upstreams []policy.Upstream
	// Logs is the first matched policy's Logs Insights query.
	Logs *policy.Logs
}

// ServiceName is cluster/service, "" when no service is known.
func (t *Target) ServiceName() string {
	if t.Cluster == "" || t.Service == "" {
		return ""
	}
	return t.Cluster + "/" + t.Service
}

// TargetGroupARN is the target group's ARN built from the dimension, ""
// when the alarm has no TargetGroup dimension.
func (t *Target) TargetGroupARN() string {
	if t.TargetGroup == "" || t.Region == "" || t.Account == "" {
		return ""
	}
	return "arn:aws:elasticloadbalancing:" + t.Region + ":" + t.Account + ":" + t.TargetGroup
}

// RenderFunc renders a step's parameters against an alarm; the method
// expression (*policy.Step).Render is one.
type RenderFunc func(step *policy.Step, a *alarm.Alarm) (remediations.Params, error)

// TargetOf finds what to look at for a: the load balancer and target group
// from the alarm's dimensions, the ECS service from the cluster and
// service parameters of the first ecs.* step of matched (rendered against
// a, as the step itself would be).
func TargetOf(a *alarm.Alarm, matched []*policy.Policy, render RenderFunc, now time.Time) *Target {
	t := &Target{Alarm: a, Now: now, Region: a.Region, Account: a.Account}
	for _, m := range a.Metrics {
		if t.LoadBalancer == "" {
			t.LoadBalancer = m.Dimensions["LoadBalancer"]
		}
		if t.TargetGroup == "" {
			t.TargetGroup = m.Dimensions["TargetGroup"]
		}
	}
	seen := map[string]bool{}
	for _, p := range matched {
		if p == nil {
			continue
		}
		if t.Logs == nil && p.Logs != nil {
			l := *p.Logs
			t.Logs = &l
		}
		if t.Probe == nil && p.Probe != nil {
			pr := *p.Probe
			t.Probe = &pr
		}
		for _, u := range p.Upstreams {
			if !seen[u.Name] && len(t.Upstreams) < store.MaxUpstreams {
				seen[u.Name] = true
				t.Upstreams = append(t.Upstreams, u)
			}
		}
	}
	for _, p := range matched {
		if p == nil || t.Service != "" {
			continue
		}
		for _, st := range p.Steps {
			if st == nil || !strings.HasPrefix(st.Action, "ecs.") {
				continue
			}
			params, err := render(st, a)
			if err != nil {
				continue
			}
			if c, s := params.String("cluster"), params.String("service"); c != "" && s != "" {
				t.Cluster, t.Service = c, s
				break
			}
		}
	}
	return t
}

// Collector gathers one part of the evidence. Collect returns a
// store.Evidence with only its own part set; ErrNotConfigured when it has
// nothing to look at. It must return soon after ctx ends.
type Collector interface {
	// Name is the collector's name as cards show it ("pattern").
	Name() string
	// IAM lists the permissions Collect needs; the alarm function's role
	// must grant them (internal/deploycheck checks it).
	IAM() []remediations.IAMPermission
	Collect(ctx context.Context, t *Target) (*store.Evidence, error)
}

// DefaultBudget is how long gathering may take when no policy says.
const DefaultBudget = 4 * time.Second

// Gatherer runs collectors in parallel under a budget.
type Gatherer struct {
	collectors []Collector
	render     RenderFunc
	log        *slog.Logger
	now        func() time.Time
}

// NewGatherer returns a Gatherer over collectors. Policies' steps are
// rendered with render to find the ECS service; log nil is slog.Default().
func NewGatherer(render RenderFunc, log *slog.Logger, collectors ...Collector) *Gatherer {
	if log == nil {
		log = slog.Default()
	}
	return &Gatherer{collectors: collectors, render: render, log: log, now: time.Now}
}

// Collectors returns the gatherer's collectors.
func (g *Gatherer) Collectors() []Collector { return g.collectors }

// Gather runs every collector for a in parallel and returns what arrived
// within budget (never later), each missing part named with its reason.
// The result is bounded (store.BoundEvidence). It never fails: an
// incident opens with whatever is known.
func (g *Gatherer) Gather(ctx context.Context, a *alarm.Alarm, matched []*policy.Policy, budget time.Duration) *store.Evidence {
	ev, _ := g.gather(ctx, a, matched, budget, false)
	return ev
}

// LateLimit is how long collectors that missed the budget may still run
// for GatherLate.
const LateLimit = 30 * time.Second

// GatherLate is Gather, except that collectors that miss the budget keep
// running (until LateLimit): each answer that arrives after the budget
// sends the whole evidence again, updated, on the channel, which is
// buffered (an unread channel blocks nothing) and closed when every
// collector has answered or LateLimit has passed.
func (g *Gatherer) GatherLate(ctx context.Context, a *alarm.Alarm, matched []*policy.Policy, budget time.Duration) (*store.Evidence, <-chan *store.Evidence) {
	return g.gather(ctx, a, matched, budget, true)
}

func (g *Gatherer) gather(ctx context.Context, a *alarm.Alarm, matched []*policy.Policy, budget time.Duration, late bool) (*store.Evidence, <-chan *store.Evidence) {
	if budget <= 0 {
		budget = DefaultBudget
	}
	start := g.now().UTC()
	own := *a // collectors may outlive Gather
	t := TargetOf(&own, matched, g.render, start)
	limit := budget
	if late {
		limit = max(LateLimit, budget)
	}
	if late {
		// Late answers outlive the caller's request.
		ctx = context.WithoutCancel(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	type answer struct {
		i   int
		ev  *store.Evidence
		err error
	}
	answers := make(chan answer, len(g.collectors))
	for i, c := range g.collectors {
		go func() {
			ev, err := c.Collect(ctx, t)
			answers <- answer{i, ev, err}
		}()
	}
	got := make([]*answer, len(g.collectors))
	timer := time.NewTimer(budget)
	defer timer.Stop()
	received := 0
wait:
	for received < len(g.collectors) {
		select {
		case ans := <-answers:
			got[ans.i] = &ans
			received++
		case <-timer.C:
			break wait
		}
	}
	snapshot := func() *store.Evidence {
		out := &store.Evidence{GatheredAt: start, Budget: budget}
		for i, c := range g.collectors {
			ans := got[i]
			switch {
			case ans == nil:
				out.Missing = append(out.Missing, store.MissingEvidence{Collector: c.Name(), Reason: "timed out after " + budget.String()})
			case ans.err != nil:
				out.Missing = append(out.Missing, store.MissingEvidence{Collector: c.Name(), Reason: Reason(ans.err, limit)})
			default:
				merge(out, ans.ev)
			}
		}
		out.Reading, out.Favours = Read(out, matched)
		return store.BoundEvidence(out)
	}
	logFailure := func(ans *answer) {
		if ans.err != nil && !errors.Is(ans.err, ErrNotConfigured) {
			g.log.WarnContext(ctx, "evidence missing", slog.String("collector", g.collectors[ans.i].Name()), slog.String("alarm", a.Name),
				slog.String("reason", Reason(ans.err, limit)), slog.Any("error", ans.err))
		}
	}
	for _, ans := range got {
		if ans != nil {
			logFailure(ans)
		}
	}
	first := snapshot()
	if !late || received == len(g.collectors) {
		cancel()
		return first, nil
	}
	updates := make(chan *store.Evidence, len(g.collectors)-received)
	go func() {
		defer close(updates)
		defer cancel()
		for received < len(g.collectors) {
			select {
			case ans := <-answers:
				got[ans.i] = &ans
				received++
				logFailure(&ans)
				updates <- snapshot()
			case <-ctx.Done():
				return
			}
		}
	}()
	return first, updates
}

// merge copies the parts part has into ev.
func merge(ev, part *store.Evidence) {
	if part == nil {
		return
	}
	if part.Pattern != nil {
		ev.Pattern = part.Pattern
	}
	if part.Changes != nil {
		ev.Changes = part.Changes
	}
	if part.Health != nil {
		ev.Health = part.Health
	}
	if part.Probe != nil {
		ev.Probe = part.Probe
	}
	if part.Logs != nil {
		ev.Logs = part.Logs
	}
	if part.Graph != nil {
		ev.Graph = part.Graph
	}
	if part.Upstreams != nil {
		ev.Upstreams = part.Upstreams
	}
	// The parts a collector could not read, while it read others.
	ev.Missing = append(ev.Missing, part.Missing...)
}

// Reason says in a few words, for the card, why a collector returned
// nothing.
func Reason(err error, budget time.Duration) string {
	var nc notConfigured
	switch {
	case errors.As(err, &nc):
		return "not configured: " + nc.why
	case errors.Is(err, ErrNotConfigured):
		return "not configured"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out after " + budget.String()
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	code := remediations.AWSErrorCode(err)
	switch {
	case strings.Contains(code, "AccessDenied"), strings.Contains(code, "Unauthorized"), code == "AuthorizationError":
		var op opError
		if errors.As(err, &op) {
			return "access denied (" + op.op + ")"
		}
		return "access denied"
	case code != "":
		return "AWS answered " + code
	}
	return "failed"
}

// notConfigured is ErrNotConfigured with the reason.
type notConfigured struct{ why string }

func (e notConfigured) Error() string { return "not configured: " + e.why }
func (e notConfigured) Is(target error) bool {
	return target == ErrNotConfigured
}

func missingConfig(format string, args ...any) error {
	return notConfigured{why: fmt.Sprintf(format, args...)}
}

// opError is a failed call: the IAM action and what it was called on.
type opError struct {
	op, on string
	err    error
}

func (e opError) Error() string { return e.op + " on " + e.on + ": " + e.err.Error() }
func (e opError) Unwrap() error { return e.err }

func callFailed(op, on string, err error) error { return opError{op: op, on: on, err: err} }
