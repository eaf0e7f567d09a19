package alb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// ActionName is the name policies use for maintenance mode.
const ActionName = "alb.maintenance"

// Defaults of the optional parameters.
const (
	defaultRetryAfter = 300
	defaultFormat     = "html"
)

// cleanupTimeout bounds the rollback after a failed apply; it runs even when
// the apply's context was cancelled.
const cleanupTimeout = 30 * time.Second

// Maintenance is the alb.maintenance action. It implements
// remediations.Action and remediations.Undoer.
type Maintenance struct {
	client ELBv2API
}

// Maintenance is an undoable action.
var (
	_ remediations.Action = (*Maintenance)(nil)
	_ remediations.Undoer = (*Maintenance)(nil)
)

// New returns alb.maintenance using client (in production an
// *elasticloadbalancingv2.Client). Schema works with a nil client; Plan,
// Apply and Undo then return an error.
func New(client ELBv2API) *Maintenance {
	if v := reflect.ValueOf(client); client != nil && v.Kind() == reflect.Pointer && v.IsNil() {
		client = nil
	}
	return &Maintenance{client: client}
}

// Name returns "alb.maintenance".
func (m *Maintenance) Name() string { return ActionName }

// Schema returns MaintenanceSchema().
func (m *Maintenance) Schema() remediations.Schema { return MaintenanceSchema() }

// planData is what a plan records for Apply: the listener, and the rules to
// create (mode on) or remove (mode off).
type planData struct {
	Mode     string `json:"mode"`
	Listener string `json:"listener"`
	Label    string `json:"label"`
	// Alarm is the alarm name, put in the rules' medic:alarm tag.
	Alarm string `json:"alarm,omitempty"`
	// Create lists the rules mode on creates, in creation order: allow
	// rules first, then the maintenance rule.
	Create []plannedRule `json:"create,omitempty"`
	// DefaultActions are the listener's default actions the allow rules
	// copy; Apply refuses when they changed.
	DefaultActions []ruleAction `json:"default_actions,omitempty"`
	// Ahead lists the rules medic does not own that sit ahead of the
	// maintenance rule and keep answering during maintenance; Apply refuses
	// when another rule moved ahead or one of these changed.
	Ahead []aheadRule `json:"ahead,omitempty"`
	// Remove lists the rules mode off deletes, in deletion order.
	Remove []ruleRef `json:"remove,omitempty"`
}

// ruleRef names one rule medic created or removed.
type ruleRef struct {
	ARN      string `json:"arn"`
	Role     string `json:"role"`
	Priority int32  `json:"priority"`
}

// resultData is what a result records: the rules created (mode on, what Undo
// removes) or removed (mode off).
type resultData struct {
	Mode     string    `json:"mode"`
	Listener string    `json:"listener"`
	Label    string    `json:"label"`
	Rules    []ruleRef `json:"rules,omitempty"`
}

func (m *Maintenance) ready() error {
	if m == nil || m.client == nil {
		return fmt.Errorf("%s: no elasticloadbalancingv2 client configured", ActionName)
	}
	return nil
}

// Plan reads the listener and its rules and says which rules Apply will
// create (mode on) or delete (mode off). It changes nothing.
func (m *Maintenance) Plan(ctx context.Context, a *alarm.Alarm, p remediations.Params) (*remediations.Plan, error) {
	if err := m.ready(); err != nil {
		return nil, err
	}
	if errs := MaintenanceSchema().Validate(p, nil); len(errs) > 0 {
		return nil, fmt.Errorf("plan %s: %w: %w", ActionName, remediations.ErrInvalid, errors.Join(errs...))
	}
	mode := p.String("mode")
	if mode == "" {
		mode = ModeOn
	}
	port, havePort := p.Int("port")
	l, err := findListener(ctx, m.client, a, p.String("listener"), port, havePort)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", ActionName, err)
	}
	listenerARN := aws.ToString(l.ListenerArn)
	label := listenerLabel(l)
	if mode == ModeOn && l.Protocol != "" && l.Protocol != types.ProtocolEnumHttp && l.Protocol != types.ProtocolEnumHttps {
		return nil, fmt.Errorf("plan %s on %s: the listener speaks %s; only Application Load Balancer HTTP and HTTPS listeners have rules: %w", ActionName, label, l.Protocol, remediations.ErrInvalid)
	}
	rules, err := readRules(ctx, m.client, listenerARN)
	if err != nil {
		return nil, fmt.Errorf("plan %s on %s: %w", ActionName, label, err)
	}
	d := planData{Mode: mode, Listener: listenerARN, Label: label}
	if a != nil {
		d.Alarm = a.Name
	}
	var plan *remediations.Plan
	if mode == ModeOff {
		plan = planOff(&d, rules)
	} else {
		plan, err = planOn(&d, rules, p, l.DefaultActions)
		if err != nil {
			return nil, fmt.Errorf("plan %s on %s: %w", ActionName, label, err)
		}
	}
	plan.Action = ActionName
	plan.Target = "alb:" + listenerARN
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("plan %s on %s: encode plan data: %w", ActionName, label, err)
	}
	plan.Data = raw
	return plan, nil
}

// planOn fills d with the rules that put the listener into maintenance.
func planOn(d *planData, rules []listenerRule, p remediations.Params, defaults []types.Action) (*remediations.Plan, error) {
	var medicRules, others []listenerRule
	for _, r := range rules {
		switch {
		case r.Default:
		case r.medic():
			medicRules = append(medicRules, r)
		default:
			others = append(others, r)
		}
	}
	for _, r := range medicRules {
		if r.Role == roleMaintenance {
			return &remediations.Plan{
				Summary: fmt.Sprintf("maintenance already on for %s (medic rule at priority %d)", d.Label, r.Priority),
				NoOp:    true,
			}, nil
		}
	}
	if len(medicRules) > 0 {
		return nil, fmt.Errorf("medic allow rule(s) at priority %s but no maintenance rule (left over from an interrupted change or a hand edit): plan mode off first: %w", priorities(medicRules), remediations.ErrInvalid)
	}

	hosts := p.Strings("host_headers")
	var cidrs []string
	for _, c := range p.Strings("allow_ips") {
		pfx, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return nil, fmt.Errorf("allow_ips: %q is not a CIDR block: %w", c, remediations.ErrInvalid)
		}
		if s := pfx.Masked().String(); !slices.Contains(cidrs, s) {
			cidrs = append(cidrs, s)
		}
	}
	retryAfter, ok := p.Int("retry_after")
	if !ok {
		retryAfter = defaultRetryAfter
	}
	format := p.String("format")
	if format == "" {
		format = defaultFormat
	}
	body, contentType, truncated := renderBody(format, p.String("message"), retryAfter)

	var allow []plannedRule
	if len(cidrs) > 0 {
		actions, err := copyActions(defaults)
		if err != nil {
			return nil, err
		}
		d.DefaultActions = actions
		per := maxValuesPerRule - len(hosts)
		if per < 1 {
			return nil, fmt.Errorf("host_headers: %d host names leave no room for a CIDR in an allow rule (%d values per rule): %w", len(hosts), maxValuesPerRule, remediations.ErrInvalid)
		}
		for chunk := range slices.Chunk(cidrs, per) {
			conds := []condition{{Field: fieldSourceIP, Values: chunk}}
			if len(hosts) > 0 {
				conds = append(conds, condition{Field: fieldHost, Values: hosts})
			}
			allow = append(allow, plannedRule{Role: roleAllow, Conditions: conds, Actions: actions})
		}
	}
	// A host-header condition alone matches every path of those hosts and
	// leaves the rule's value budget to the host names.
	maintConds := []condition{{Field: fieldPath, Values: []string{"/*"}}}
	if len(hosts) > 0 {
		maintConds = []condition{{Field: fieldHost, Values: hosts}}
	}
	maint := plannedRule{
		Role:       roleMaintenance,
		Conditions: maintConds,
		Actions: []ruleAction{{
			Type:          "fixed-response",
			FixedResponse: &fixedResponse{StatusCode: "503", ContentType: contentType, Body: body},
		}},
	}
	create := append(slices.Clip(allow), maint)
	prios, err := choosePriorities(rules, len(create))
	if err != nil {
		return nil, err
	}
	for i := range create {
		create[i].Priority = prios[i]
	}
	d.Create = create
	allow, maint = create[:len(create)-1], create[len(create)-1]
	d.Ahead = rulesAhead(rules, maint.Priority)

	var b strings.Builder
	fmt.Fprintf(&b, "listener %s: add maintenance rule (503 %s, retry after %ds) at priority %d", d.Label, format, retryAfter, maint.Priority)
	if len(hosts) > 0 {
		fmt.Fprintf(&b, " for %s", strings.Join(hosts, ", "))
	}
	if len(allow) > 0 {
		word := "priority"
		if len(allow) > 1 {
			word = "priorities"
		}
		fmt.Fprintf(&b, "; allow %s at %s %s (%s)", strings.Join(cidrs, ", "), word, plannedPriorities(allow), describeAction(allow[0].Actions[len(allow[0].Actions)-1]))
		var skipped int
		for _, r := range others {
			if r.Priority > allow[0].Priority {
				skipped++
			}
		}
		if skipped > 0 {
			fmt.Fprintf(&b, "; allow-listed clients skip the listener's %d other rule(s) behind priority %d", skipped, allow[0].Priority)
		}
	}
	if len(d.Ahead) > 0 {
		fmt.Fprintf(&b, "; %s", describeAhead(d.Ahead))
	}
	if truncated {
		fmt.Fprintf(&b, "; message cut to fit ALB's %d-character body limit", maxBody)
	}
	changes := make([]remediations.Change, 0, len(create))
	for _, r := range create {
		changes = append(changes, remediations.Change{
			Resource: d.Listener,
			Field:    fmt.Sprintf("rule at priority %d", r.Priority),
			From:     "none",
			To:       describeRule(r),
		})
	}
	for _, r := range d.Ahead {
		changes = append(changes, remediations.Change{
			Resource: d.Listener,
			Field:    fmt.Sprintf("rule at priority %d", r.Priority),
			From:     r.Rule + " (" + shortARN(r.ARN) + ")",
			To:       fmt.Sprintf("unchanged: still answers before the maintenance rule at priority %d", maint.Priority),
		})
	}
	return &remediations.Plan{Summary: b.String(), Changes: changes, Reversible: true}, nil
}

// planOff fills d with medic's maintenance rules on the listener, which
// Apply deletes: the 503 rules first, so allow-listed clients are never cut
// off.
func planOff(d *planData, rules []listenerRule) *remediations.Plan {
	d.Remove = removalOrder(rules)
	if len(d.Remove) == 0 {
		return &remediations.Plan{Summary: fmt.Sprintf("maintenance already off for %s (no medic rules)", d.Label), NoOp: true}
	}
	return &remediations.Plan{
		Summary: fmt.Sprintf("listener %s: maintenance off: remove %s", d.Label, describeRefs(d.Remove)),
		Changes: removalChanges(d.Listener, d.Remove),
	}
}

// removalOrder returns medic's rules among rules in the order to delete
// them: maintenance rules, then allow rules, each by priority.
func removalOrder(rules []listenerRule) []ruleRef {
	var out []ruleRef
	for _, role := range []string{roleMaintenance, roleAllow} {
		for _, r := range rules {
			if !r.Default && r.Role == role {
				out = append(out, ruleRef{ARN: r.ARN, Role: r.Role, Priority: r.Priority})
			}
		}
	}
	return out
}

// Apply re-checks the state the plan was made from and creates (mode on) or
// deletes (mode off) the planned rules. A plan whose state no longer holds is
// refused with an error wrapping remediations.ErrStalePlan.
func (m *Maintenance) Apply(ctx context.Context, plan *remediations.Plan) (*remediations.Result, error) {
	if err := m.ready(); err != nil {
		return nil, err
	}
	d, err := decodePlan(plan)
	if err != nil {
		return nil, err
	}
	res := &remediations.Result{Action: ActionName, Target: "alb:" + d.Listener}
	if plan.NoOp {
		res.Summary = "nothing to do: " + plan.Summary
		res.Data, err = json.Marshal(resultData{Mode: d.Mode, Listener: d.Listener, Label: d.Label})
		return res, err
	}
	var rd *resultData
	if d.Mode == ModeOff {
		rd, err = m.applyOff(ctx, d, res)
	} else {
		rd, err = m.applyOn(ctx, d, res)
	}
	if err != nil {
		return nil, fmt.Errorf("apply %s on %s: %w", ActionName, d.Label, err)
	}
	if res.Data, err = json.Marshal(rd); err != nil {
		return nil, fmt.Errorf("apply %s on %s: encode result data: %w", ActionName, d.Label, err)
	}
	return res, nil
}

func decodePlan(plan *remediations.Plan) (*planData, error) {
	if plan == nil {
		return nil, fmt.Errorf("apply %s: no plan: %w", ActionName, remediations.ErrInvalid)
	}
	if plan.Action != ActionName {
		return nil, fmt.Errorf("apply %s: plan is for %q: %w", ActionName, plan.Action, remediations.ErrInvalid)
	}
	var d planData
	if err := json.Unmarshal(plan.Data, &d); err != nil {
		return nil, fmt.Errorf("apply %s: decode plan data: %w: %w", ActionName, remediations.ErrInvalid, err)
	}
	if d.Listener == "" || (d.Mode != ModeOn && d.Mode != ModeOff) {
		return nil, fmt.Errorf("apply %s: plan data names no listener or mode: %w", ActionName, remediations.ErrInvalid)
	}
	if !plan.NoOp && d.Mode == ModeOn && len(d.Create) == 0 {
		return nil, fmt.Errorf("apply %s: plan data lists no rules to create: %w", ActionName, remediations.ErrInvalid)
	}
	return &d, nil
}

// stale wraps a description of what changed since the plan.
func stale(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{remediations.ErrStalePlan}, args...)...)
}

func (m *Maintenance) applyOn(ctx context.Context, d *planData, res *remediations.Result) (*resultData, error) {
	l, err := describeListener(ctx, m.client, d.Listener)
	if errors.Is(err, remediations.ErrNotFound) {
		return nil, stale("the listener no longer exists: %w", err)
	}
	if err != nil {
		return nil, err
	}
	if len(d.DefaultActions) > 0 && !sameActions(l.DefaultActions, d.DefaultActions) {
		return nil, stale("the listener's default action changed since the plan (allow rules were to %s)", describeAction(d.DefaultActions[len(d.DefaultActions)-1]))
	}
	rules, err := readRules(ctx, m.client, d.Listener)
	if errors.Is(err, remediations.ErrNotFound) {
		return nil, stale("the listener no longer exists: %w", err)
	}
	if err != nil {
		return nil, err
	}
	var top int32
	planned := make(map[int32]bool)
	for _, r := range d.Create {
		planned[r.Priority] = true
		top = max(top, r.Priority)
	}
	ahead := make(map[string]aheadRule, len(d.Ahead))
	for _, r := range d.Ahead {
		ahead[r.ARN] = r
	}
	for _, r := range rules {
		if r.Default {
			continue
		}
		if r.medic() {
			return nil, stale("a medic %s rule appeared at priority %d (%s)", r.Role, r.Priority, r.ARN)
		}
		if planned[r.Priority] {
			return nil, stale("priority %d is now taken by rule %s (%s); the plan chose it as free", r.Priority, r.ARN, describeExisting(r))
		}
		if r.Priority >= top {
			continue
		}
		was, ok := ahead[r.ARN]
		now := describeExisting(r)
		switch {
		case !ok:
			return nil, stale("rule %s at priority %d (%s) now sits ahead of the maintenance rule at %d, which the plan did not say", r.ARN, r.Priority, now, top)
		case was.Priority != r.Priority || was.Rule != now:
			return nil, stale("rule %s ahead of the maintenance rule changed since the plan: priority %d (%s), was priority %d (%s)", r.ARN, r.Priority, now, was.Priority, was.Rule)
		}
	}

	var created []ruleRef
	for _, r := range d.Create {
		ref, err := m.createRule(ctx, d, r)
		if err != nil {
			return nil, m.rollback(ctx, d, created, fmt.Errorf("create %s rule at priority %d: %w", r.Role, r.Priority, err))
		}
		created = append(created, ref)
		res.Changes = append(res.Changes, remediations.Change{
			Resource: d.Listener,
			Field:    fmt.Sprintf("rule at priority %d", r.Priority),
			From:     "none",
			To:       describeRule(r) + " (" + shortARN(ref.ARN) + ")",
		})
	}
	res.Summary = fmt.Sprintf("listener %s: maintenance on: added %s", d.Label, describeRefs(created))
	if still := rulesAhead(rules, top); len(still) > 0 {
		res.Summary += "; " + describeAhead(still)
	}
	return &resultData{Mode: ModeOn, Listener: d.Listener, Label: d.Label, Rules: created}, nil
}

// createRule creates one planned rule, tagged as medic's.
func (m *Maintenance) createRule(ctx context.Context, d *planData, r plannedRule) (ruleRef, error) {
	out, err := m.client.CreateRule(ctx, &elasticloadbalancingv2.CreateRuleInput{
		ListenerArn: aws.String(d.Listener),
		Priority:    aws.Int32(r.Priority),
		Conditions:  sdkConditions(r.Conditions),
		Actions:     sdkActions(r.Actions),
		Tags:        ruleTags(r.Role, d.Alarm),
	})
	if err != nil {
		err = classify(err, "elasticloadbalancing:CreateRule", d.Listener)
		if errorCode(err) == "PriorityInUse" {
			err = stale("priority %d was taken by another rule after the plan was checked: %w", r.Priority, err)
		}
		return ruleRef{}, err
	}
	ref := ruleRef{Role: r.Role, Priority: r.Priority}
	if len(out.Rules) > 0 {
		ref.ARN = aws.ToString(out.Rules[0].RuleArn)
	}
	if ref.ARN == "" {
		// The rule exists but the answer did not name it: find it, so a
		// rollback or Undo can remove it.
		rules, rerr := readRules(ctx, m.client, d.Listener)
		if rerr != nil {
			return ruleRef{}, fmt.Errorf("created a rule but the answer named no ARN, and reading the rules back failed: %w", rerr)
		}
		for _, x := range rules {
			if !x.Default && x.Priority == r.Priority && x.Role == r.Role {
				ref.ARN = x.ARN
			}
		}
		if ref.ARN == "" {
			return ruleRef{}, fmt.Errorf("created a rule but the answer named no ARN and none is at priority %d", r.Priority)
		}
	}
	return ref, nil
}

// rollback deletes the rules a failed apply created and returns cause with
// what was cleaned up, so the listener is never left half-changed silently.
func (m *Maintenance) rollback(ctx context.Context, d *planData, created []ruleRef, cause error) error {
	if len(created) == 0 {
		return fmt.Errorf("%w (nothing was created)", cause)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	slices.Reverse(created)
	var left []string
	var errs []error
	for _, r := range created {
		if err := m.deleteRule(ctx, r.ARN); err != nil {
			left = append(left, r.ARN)
			errs = append(errs, err)
		}
	}
	if len(left) == 0 {
		return fmt.Errorf("%w (removed the %d rule(s) this apply had created)", cause, len(created))
	}
	return fmt.Errorf("%w; rollback failed, rule(s) %s left on the listener, plan mode off to remove them: %w", cause, strings.Join(left, ", "), errors.Join(errs...))
}

// deleteRule deletes one rule; a rule that is already gone is not an error.
func (m *Maintenance) deleteRule(ctx context.Context, arn string) error {
	_, err := m.client.DeleteRule(ctx, &elasticloadbalancingv2.DeleteRuleInput{RuleArn: aws.String(arn)})
	if errorCode(err) == "RuleNotFound" {
		return nil
	}
	return classify(err, "elasticloadbalancing:DeleteRule", arn)
}

func (m *Maintenance) applyOff(ctx context.Context, d *planData, res *remediations.Result) (*resultData, error) {
	rules, err := readRules(ctx, m.client, d.Listener)
	if errors.Is(err, remediations.ErrNotFound) {
		return nil, stale("the listener no longer exists: %w", err)
	}
	if err != nil {
		return nil, err
	}
	planned := make(map[string]bool)
	for _, r := range d.Remove {
		planned[r.ARN] = true
	}
	present := make(map[string]listenerRule)
	for _, r := range rules {
		present[r.ARN] = r
		if r.medic() && !planned[r.ARN] {
			return nil, stale("a medic %s rule appeared at priority %d (%s)", r.Role, r.Priority, r.ARN)
		}
	}
	var todo []ruleRef
	for _, r := range d.Remove {
		cur, ok := present[r.ARN]
		if !ok {
			continue // already gone
		}
		if !cur.medic() {
			return nil, stale("rule %s at priority %d no longer carries medic's tags", r.ARN, cur.Priority)
		}
		todo = append(todo, ruleRef{ARN: r.ARN, Role: cur.Role, Priority: cur.Priority})
	}
	removed, err := m.deleteRules(ctx, todo)
	res.Changes = removalChanges(d.Listener, removed)
	if err != nil {
		return nil, err
	}
	res.Summary = fmt.Sprintf("listener %s: maintenance off: removed %s", d.Label, describeRefs(removed))
	if len(removed) == 0 {
		res.Summary = fmt.Sprintf("listener %s: maintenance off: the planned rules were already gone", d.Label)
	}
	return &resultData{Mode: ModeOff, Listener: d.Listener, Label: d.Label, Rules: removed}, nil
}

// deleteRules deletes rules in order and stops at the first failure, so an
// allow rule is never removed while its 503 rule stays.
func (m *Maintenance) deleteRules(ctx context.Context, rules []ruleRef) ([]ruleRef, error) {
	var removed []ruleRef
	for _, r := range rules {
		if err := m.deleteRule(ctx, r.ARN); err != nil {
			msg := fmt.Sprintf("delete %s rule at priority %d", r.Role, r.Priority)
			if len(removed) > 0 {
				msg += fmt.Sprintf(" (after removing %s)", describeRefs(removed))
			}
			return removed, fmt.Errorf("%s: %w", msg, err)
		}
		removed = append(removed, r)
	}
	return removed, nil
}

// Undo turns maintenance off as far as res turned it on: it deletes the
// rules res records as created (maintenance rules first, then allow rules),
// each only while it is still on the listener and still tagged as medic's.
// A recorded rule already gone is reported as such; one that lost medic's
// tags is left in place and reported. No other rule is touched, not even a
// medic rule another apply created: Undo of a result that created nothing
// (a NoOp "on", maintenance already on) changes nothing and says so. Plan
// mode off to remove every medic rule on a listener. When the listener is
// gone (its rules went with it) Undo returns an error wrapping
// remediations.ErrNotFound.
func (m *Maintenance) Undo(ctx context.Context, res *remediations.Result) (*remediations.Result, error) {
	if err := m.ready(); err != nil {
		return nil, err
	}
	if res == nil {
		return nil, fmt.Errorf("undo %s: no result: %w", ActionName, remediations.ErrInvalid)
	}
	if res.Action != ActionName {
		return nil, fmt.Errorf("undo %s: result is for %q: %w", ActionName, res.Action, remediations.ErrInvalid)
	}
	var d resultData
	if err := json.Unmarshal(res.Data, &d); err != nil {
		return nil, fmt.Errorf("undo %s: decode result data: %w: %w", ActionName, remediations.ErrInvalid, err)
	}
	if d.Listener == "" {
		return nil, fmt.Errorf("undo %s: result data names no listener: %w", ActionName, remediations.ErrInvalid)
	}
	if d.Mode == ModeOff {
		return nil, fmt.Errorf("undo %s on %s: turning maintenance off cannot be undone, plan mode on instead: %w", ActionName, d.Label, remediations.ErrNotReversible)
	}
	out := &remediations.Result{Action: ActionName, Target: "alb:" + d.Listener}
	var err error
	if len(d.Rules) == 0 {
		out.Summary = fmt.Sprintf("listener %s: nothing to undo: that apply created no rules, so none were removed (medic rules from other applies stay; plan mode off to remove them)", d.Label)
		if out.Data, err = json.Marshal(resultData{Mode: ModeOff, Listener: d.Listener, Label: d.Label}); err != nil {
			return nil, fmt.Errorf("undo %s on %s: encode result data: %w", ActionName, d.Label, err)
		}
		return out, nil
	}
	rules, err := readRules(ctx, m.client, d.Listener)
	if err != nil {
		return nil, fmt.Errorf("undo %s on %s: %w", ActionName, d.Label, err)
	}
	present := make(map[string]listenerRule, len(rules))
	for _, r := range rules {
		present[r.ARN] = r
	}
	recorded := make(map[string]bool, len(d.Rules))
	var notes []string
	for _, r := range d.Rules {
		recorded[r.ARN] = true
		cur, ok := present[r.ARN]
		switch {
		case !ok:
			notes = append(notes, fmt.Sprintf("%s rule %s (priority %d) already gone", r.Role, shortARN(r.ARN), r.Priority))
		case !cur.medic():
			notes = append(notes, fmt.Sprintf("rule %s at priority %d no longer carries medic's tags, left in place", shortARN(r.ARN), cur.Priority))
		}
	}
	var mine []listenerRule
	for _, r := range rules {
		if recorded[r.ARN] && r.medic() {
			mine = append(mine, r)
		} else if r.medic() {
			notes = append(notes, fmt.Sprintf("medic %s rule at priority %d from another apply left in place", r.Role, r.Priority))
		}
	}
	todo := removalOrder(mine)
	removed, err := m.deleteRules(ctx, todo)
	out.Changes = removalChanges(d.Listener, removed)
	if err != nil {
		return nil, fmt.Errorf("undo %s on %s: %w", ActionName, d.Label, err)
	}
	if len(removed) == 0 {
		out.Summary = fmt.Sprintf("listener %s: maintenance off: nothing removed, none of the %d rule(s) that apply created is still medic's", d.Label, len(d.Rules))
	} else {
		out.Summary = fmt.Sprintf("listener %s: maintenance off: removed %s", d.Label, describeRefs(removed))
	}
	if len(notes) > 0 {
		out.Summary += "; " + strings.Join(notes, "; ")
	}
	if out.Data, err = json.Marshal(resultData{Mode: ModeOff, Listener: d.Listener, Label: d.Label, Rules: removed}); err != nil {
		return nil, fmt.Errorf("undo %s on %s: encode result data: %w", ActionName, d.Label, err)
	}
	return out, nil
}

// describeRule says in words what a planned rule does, e.g.
// "path-pattern /* -> fixed-response 503 text/html (212 bytes)".
func describeRule(r plannedRule) string {
	var conds []string
	for _, c := range r.Conditions {
		conds = append(conds, c.Field+" "+strings.Join(c.Values, ","))
	}
	var acts []string
	for _, a := range r.Actions {
		acts = append(acts, describeAction(a))
	}
	return r.Role + ": " + strings.Join(conds, " and ") + " -> " + strings.Join(acts, ", ")
}

// describeRefs lists rules for a summary: "maintenance rule at priority 2,
// allow rule at priority 1".
func describeRefs(rs []ruleRef) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s rule at priority %d", r.Role, r.Priority))
	}
	if len(parts) == 0 {
		return "no rules"
	}
	return strings.Join(parts, ", ")
}

func removalChanges(listener string, rs []ruleRef) []remediations.Change {
	var out []remediations.Change
	for _, r := range rs {
		out = append(out, remediations.Change{
			Resource: listener,
			Field:    fmt.Sprintf("rule at priority %d", r.Priority),
			From:     fmt.Sprintf("medic %s rule %s", r.Role, shortARN(r.ARN)),
			To:       "none",
		})
	}
	return out
}

func priorities(rs []listenerRule) string {
	var p []string
	for _, r := range rs {
		p = append(p, fmt.Sprint(r.Priority))
	}
	return strings.Join(p, ", ")
}

func plannedPriorities(rs []plannedRule) string {
	var p []string
	for _, r := range rs {
		p = append(p, fmt.Sprint(r.Priority))
	}
	return strings.Join(p, ", ")
}
