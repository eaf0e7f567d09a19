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
	"github.com/medicbot/medic/internal/maintpage"
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
	opts   Options
}

// Options configure alb.maintenance beyond its client.
type Options struct {
	// TargetGroup is the ARN of the maintenance function's lambda target
	// group the stack provides (MEDIC_MAINTENANCE_TARGET_GROUP_ARN); with
	// it, mode on forwards to the function. Empty: mode on answers with a
	// fixed response unless the policy names a target_group.
	TargetGroup string
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
	return NewWithOptions(client, Options{})
}

// NewWithOptions returns alb.maintenance using client with opts.
func NewWithOptions(client ELBv2API, opts Options) *Maintenance {
	if v := reflect.ValueOf(client); client != nil && v.Kind() == reflect.Pointer && v.IsNil() {
		client = nil
	}
	return &Maintenance{client: client, opts: opts}
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
	// Requests are the requests the maintenance rule answers; Apply places
	// medic's rules for them again to check that the plan still holds, and
	// checks after the change that they reach the maintenance rule.
	Requests requests `json:"requests"`
	// Moves renumber rules medic does not own that would answer
	// maintenance requests ahead of the maintenance rule (and the rules
	// right behind them, keeping their order) to priorities behind it.
	Moves []ruleMove `json:"moves,omitempty"`
	// Ahead lists the rules medic does not own that stay ahead of the
	// maintenance rule (they answer none of the maintenance requests);
	// Apply refuses when another rule moved ahead or one of these changed.
	Ahead []aheadRule `json:"ahead,omitempty"`
	// Remove lists the rules mode off deletes, in deletion order.
	Remove []ruleRef `json:"remove,omitempty"`
	// Exit is when maintenance may end (mode on with exit_* params).
	Exit *ExitCondition `json:"exit,omitempty"`
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
	// Moved lists the rules medic does not own that Apply renumbered
	// (mode on); Undo numbers them back.
	Moved []ruleMove `json:"moved,omitempty"`
	// Exit is the plan's exit condition; Since is when Apply turned
	// maintenance on (mode on). ExitOf reads both.
	Exit  *ExitCondition `json:"exit,omitempty"`
	Since time.Time      `json:"since,omitzero"`
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
	// How the 503 is answered: lambda or fixed. The plan records mode on.
	response := ModeFixed
	tg := p.String("target_group")
	if tg == "" {
		tg = m.opts.TargetGroup
	}
	switch {
	case mode == ModeLambda && tg == "":
		return nil, fmt.Errorf("plan %s: mode lambda needs the maintenance function's target group: deploy the stack's MaintenanceTargetGroup (MEDIC_MAINTENANCE_TARGET_GROUP_ARN) or name target_group: %w", ActionName, remediations.ErrInvalid)
	case mode == ModeLambda || (mode == ModeOn && tg != ""):
		response = ModeLambda
	}
	if _, ok := p["allow_paths"]; ok && mode != ModeOff && response != ModeLambda {
		return nil, fmt.Errorf("plan %s: allow_paths needs the maintenance function (mode lambda), and no maintenance target group is configured: %w", ActionName, remediations.ErrInvalid)
	}
	if mode != ModeOff {
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
		tgFor := ""
		if response == ModeLambda {
			tgFor = tg
		}
		plan, err = planOn(&d, rules, p, l.DefaultActions, tgFor)
		if err != nil {
			return nil, fmt.Errorf("plan %s on %s: %w", ActionName, label, err)
		}
		if d.Exit, err = exitCondition(p, a, l); err != nil {
			return nil, fmt.Errorf("plan %s on %s: %w", ActionName, label, err)
		}
		if d.Exit != nil && !plan.NoOp {
			plan.Summary += "; exit: " + describeExit(d.Exit)
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
//
// With targetGroup (mode lambda) the maintenance rule forwards to the
// maintenance function's target group and rewrites the URL to carry the
// page's message, retry-after and allow_paths (maintpage.Encode); without
// it, the rule answers ALB's fixed 503.
func planOn(d *planData, rules []listenerRule, p remediations.Params, defaults []types.Action, targetGroup string) (*remediations.Plan, error) {
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
	var (
		body, contentType, rewrite string
		truncated                  bool
	)
	if targetGroup == "" {
		body, contentType, truncated = renderBody(format, p.String("message"), retryAfter)
	} else {
		enc, err := maintpage.Encode(maintpage.Config{Message: cleanMessage(p.String("message")), RetryAfter: retryAfter, AllowPaths: p.Strings("allow_paths")})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, remediations.ErrInvalid)
		}
		rewrite = maintpage.PathPrefix + enc
	}

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
	if targetGroup != "" {
		maint.Actions = []ruleAction{{Type: string(types.ActionTypeEnumForward), TargetGroups: []target{{ARN: targetGroup}}}}
		maint.Rewrite = rewrite
	}
	create := append(slices.Clip(allow), maint)
	d.Requests = requestsOf(maint)
	pl, err := place(rules, d.Requests, len(create))
	if err != nil {
		return nil, err
	}
	if len(pl.Moves) > 0 && p.String("shadowing") == ShadowingRefuse {
		return nil, fmt.Errorf("%d rule(s) medic does not own would answer maintenance requests (%s) before the maintenance rule: %s; with shadowing: move the plan moves them behind it, keeping their order, and Undo moves them back: %w: %w",
			len(pl.Shadows), d.Requests, describeShadows(pl.Shadows), ErrShadowed, remediations.ErrInvalid)
	}
	for i := range create {
		create[i].Priority = pl.Priorities[i]
	}
	d.Create = create
	d.Moves = pl.Moves
	allow, maint = create[:len(create)-1], create[len(create)-1]
	d.Ahead = rulesAhead(rules, maint.Priority, d.Moves)

	var b strings.Builder
	if targetGroup != "" {
		fmt.Fprintf(&b, "listener %s: add maintenance rule (503 from the maintenance function %s, Retry-After %ds, page by Accept) at priority %d", d.Label, shortARN(targetGroup), retryAfter, maint.Priority)
		if ap := p.Strings("allow_paths"); len(ap) > 0 {
			fmt.Fprintf(&b, "; %s answered 200", strings.Join(ap, ", "))
		}
	} else {
		fmt.Fprintf(&b, "listener %s: add maintenance rule (503 %s, retry after %ds) at priority %d", d.Label, format, retryAfter, maint.Priority)
	}
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
	if len(d.Moves) > 0 {
		fmt.Fprintf(&b, "; move %d rule(s) medic does not own behind it, keeping their order (undo moves them back): %s", len(d.Moves), describeMoves(d.Moves))
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
	changes = append(changes, moveChanges(d.Moves, false)...)
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
	if d.Mode == ModeOn && len(d.Requests.Paths) == 0 && len(d.Create) > 0 {
		// A plan from before plans recorded their requests: the
		// maintenance rule's conditions say which they are.
		d.Requests = requestsOf(d.Create[len(d.Create)-1])
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
	moves, err := recheck(d, rules)
	if err != nil {
		return nil, err
	}

	if len(moves) > 0 {
		if err := m.setPriorities(ctx, d.Listener, moves, false); err != nil {
			if errorCode(err) == "PriorityInUse" {
				err = stale("a priority the plan moves a rule to was taken after the plan was checked (nothing was changed): %w", err)
			}
			return nil, fmt.Errorf("move %d rule(s) behind the maintenance rule: %w", len(moves), err)
		}
		res.Changes = append(res.Changes, moveChanges(moves, false)...)
	}
	var created []ruleRef
	for _, r := range d.Create {
		ref, err := m.createRule(ctx, d, r)
		if err != nil {
			return nil, m.rollback(ctx, d, created, moves, fmt.Errorf("create %s rule at priority %d: %w", r.Role, r.Priority, err))
		}
		created = append(created, ref)
		res.Changes = append(res.Changes, remediations.Change{
			Resource: d.Listener,
			Field:    fmt.Sprintf("rule at priority %d", r.Priority),
			From:     "none",
			To:       describeRule(r) + " (" + shortARN(ref.ARN) + ")",
		})
	}
	if err := m.verify(ctx, d, created[len(created)-1]); err != nil {
		return nil, m.rollback(ctx, d, created, moves, err)
	}
	res.Summary = fmt.Sprintf("listener %s: maintenance on: added %s", d.Label, describeRefs(created))
	if len(moves) > 0 {
		res.Summary += fmt.Sprintf("; moved %d rule(s) behind it: %s", len(moves), describeMoves(moves))
	}
	res.Summary += fmt.Sprintf("; checked: %s now reach the maintenance rule", d.Requests)
	return &resultData{Mode: ModeOn, Listener: d.Listener, Label: d.Label, Rules: created, Moved: moves, Exit: d.Exit, Since: time.Now().UTC()}, nil
}

// recheck compares the listener's rules now with those the plan was made
// from and returns the moves to make: the planned ones, less those of rules
// that have gone. It places medic's rules again and refuses, with an error
// wrapping remediations.ErrStalePlan that says what changed, when the
// placement differs from the plan's, a rule to move or one that stays ahead
// of the maintenance rule changed, a rule moved ahead of it, or a medic
// rule appeared.
func recheck(d *planData, rules []listenerRule) ([]ruleMove, error) {
	planned := make(map[int32]bool, len(d.Create))
	var prios []int32
	for _, r := range d.Create {
		planned[r.Priority] = true
		prios = append(prios, r.Priority)
	}
	top := prios[len(prios)-1]
	moving := make(map[string]ruleMove, len(d.Moves))
	target := make(map[int32]ruleMove, len(d.Moves))
	for _, mv := range d.Moves {
		moving[mv.ARN] = mv
		target[mv.To] = mv
	}
	present := make(map[string]bool, len(rules))
	for _, r := range rules {
		present[r.ARN] = true
		if r.Default {
			continue
		}
		if r.medic() {
			return nil, stale("a medic %s rule appeared at priority %d (%s)", r.Role, r.Priority, r.ARN)
		}
		if mv, ok := moving[r.ARN]; planned[r.Priority] && (!ok || mv.From != r.Priority) {
			return nil, stale("priority %d is now taken by rule %s (%s); the plan chose it as free", r.Priority, r.ARN, describeExisting(r))
		}
		if mv, ok := target[r.Priority]; ok {
			return nil, stale("priority %d, where the plan moves rule %s, is now taken by rule %s (%s)", r.Priority, mv.ARN, r.ARN, describeExisting(r))
		}
	}
	pl, err := place(rules, d.Requests, len(d.Create))
	if err != nil {
		return nil, stale("the listener's rules changed since the plan: %w", err)
	}
	if !slices.Equal(pl.Priorities, prios) {
		return nil, stale("medic's rules would now go at priorities %s, not %s as planned: the listener's rules changed since the plan", joinPriorities(pl.Priorities), joinPriorities(prios))
	}
	now := make(map[string]bool, len(pl.Moves))
	for _, mv := range pl.Moves {
		now[mv.ARN] = true
		was, ok := moving[mv.ARN]
		switch {
		case !ok:
			return nil, stale("rule %s at priority %d (%s) would now have to move to %d (it %s), which the plan did not say", mv.ARN, mv.From, mv.Rule, mv.To, mv.Why)
		case was != mv:
			return nil, stale("rule %s to move changed since the plan: priority %d -> %d (%s), was %d -> %d (%s)", mv.ARN, mv.From, mv.To, mv.Rule, was.From, was.To, was.Rule)
		}
	}
	for _, was := range d.Moves {
		if present[was.ARN] && !now[was.ARN] {
			return nil, stale("rule %s, which the plan moves from priority %d, no longer needs to move: the listener's rules changed since the plan", was.ARN, was.From)
		}
	}
	ahead := make(map[string]aheadRule, len(d.Ahead))
	for _, r := range d.Ahead {
		ahead[r.ARN] = r
	}
	for _, r := range rulesAhead(rules, top, pl.Moves) {
		was, ok := ahead[r.ARN]
		switch {
		case !ok:
			return nil, stale("rule %s at priority %d (%s) now sits ahead of the maintenance rule at %d, which the plan did not say", r.ARN, r.Priority, r.Rule, top)
		case was != r:
			return nil, stale("rule %s ahead of the maintenance rule changed since the plan: priority %d (%s), was priority %d (%s)", r.ARN, r.Priority, r.Rule, was.Priority, was.Rule)
		}
	}
	return pl.Moves, nil
}

// verify reads the listener back and checks that the maintenance requests
// reach medic's maintenance rule maint, and that it answers with a fixed
// 503: ALB evaluates rules by priority, and apart from medic's allow rules
// (which answer allow-listed clients on purpose) no rule may take any of
// those requests before it. It returns an error wrapping ErrNotEffective
// naming the rule that answers instead.
func (m *Maintenance) verify(ctx context.Context, d *planData, maint ruleRef) error {
	rules, err := readRules(ctx, m.client, d.Listener)
	if err != nil {
		return fmt.Errorf("check that %s reach the maintenance rule: read the rules back: %w", d.Requests, err)
	}
	var rest []listenerRule
	var mine *listenerRule
	for i, r := range rules {
		if r.ARN == maint.ARN {
			mine = &rules[i]
		}
		if r.Role != roleAllow {
			rest = append(rest, r)
		}
	}
	if mine == nil {
		return fmt.Errorf("%w: the maintenance rule %s is not on the listener read back", ErrNotEffective, maint.ARN)
	}
	// The conditions medic created match every maintenance request; the
	// rule read back must still have them.
	if got, want := conditionsText(mine.Conditions), conditionsText(sdkConditions(d.Create[len(d.Create)-1].Conditions)); got != want {
		return fmt.Errorf("%w: the maintenance rule %s read back matches %s, not %s as created", ErrNotEffective, maint.ARN, got, want)
	}
	planned := d.Create[len(d.Create)-1]
	if tgs := planned.Actions[0].TargetGroups; len(tgs) > 0 {
		forwards := slices.ContainsFunc(mine.Actions, func(a types.Action) bool { return forwardsTo(a, tgs[0].ARN) })
		if !forwards {
			return fmt.Errorf("%w: the maintenance rule %s read back does not forward to the maintenance function's target group %s (%s)", ErrNotEffective, maint.ARN, shortARN(tgs[0].ARN), describeExisting(*mine))
		}
	} else {
		is503 := slices.ContainsFunc(mine.Actions, func(a types.Action) bool {
			return a.FixedResponseConfig != nil && aws.ToString(a.FixedResponseConfig.StatusCode) == "503"
		})
		if !is503 {
			return fmt.Errorf("%w: the maintenance rule %s read back does not answer with a fixed 503 (%s)", ErrNotEffective, maint.ARN, describeExisting(*mine))
		}
	}
	if first, unsure, _ := firstTaker(rest, d.Requests); first.ARN != maint.ARN {
		sh := shadow{ARN: first.ARN, Priority: first.Priority, Rule: describeExisting(first), Unsure: unsure}
		return fmt.Errorf("%w: after the change %s answers %s ahead of the maintenance rule at priority %d", ErrNotEffective, sh, d.Requests, maint.Priority)
	}
	return nil
}

// conditionsText says in words what conditions match, in a stable order.
func conditionsText(cs []types.RuleCondition) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, conditionText(c))
	}
	slices.Sort(parts)
	return strings.Join(parts, " and ")
}

// setPriorities renumbers rules in one SetRulePriorities call: to each
// move's To, or back to its From.
func (m *Maintenance) setPriorities(ctx context.Context, listener string, moves []ruleMove, back bool) error {
	in := &elasticloadbalancingv2.SetRulePrioritiesInput{}
	for _, mv := range moves {
		p := mv.To
		if back {
			p = mv.From
		}
		in.RulePriorities = append(in.RulePriorities, types.RulePriorityPair{RuleArn: aws.String(mv.ARN), Priority: aws.Int32(p)})
	}
	_, err := m.client.SetRulePriorities(ctx, in)
	return classify(err, "elasticloadbalancing:SetRulePriorities", "rules of "+listener)
}

// restore numbers the rules an apply moved back to their priorities, in
// one call, after medic's rules are gone. Rules that have gone are
// skipped. When one of them no longer sits where medic moved it, or its old
// priority is taken by another rule, none is moved (moving only some could
// change their order) and note says why; the listener then still routes
// as before maintenance, since the moved rules kept their order.
func (m *Maintenance) restore(ctx context.Context, listener string, moved []ruleMove) (restored []ruleMove, note string, err error) {
	rules, err := readRules(ctx, m.client, listener)
	if err != nil {
		return nil, "", fmt.Errorf("read the rules to move back: %w", err)
	}
	byARN := make(map[string]listenerRule, len(rules))
	byPrio := make(map[int32]listenerRule, len(rules))
	for _, r := range rules {
		byARN[r.ARN] = r
		if !r.Default {
			byPrio[r.Priority] = r
		}
	}
	var todo []ruleMove
	var gone []string
	for _, mv := range moved {
		r, ok := byARN[mv.ARN]
		switch {
		case !ok:
			gone = append(gone, fmt.Sprintf("rule %s (moved from priority %d) is gone", shortARN(mv.ARN), mv.From))
		case r.Priority != mv.To:
			return nil, fmt.Sprintf("rule %s is at priority %d, not %d where medic moved it, so no moved rule was moved back (they keep their order, the one before maintenance)", shortARN(mv.ARN), r.Priority, mv.To), nil
		default:
			todo = append(todo, mv)
		}
	}
	for _, mv := range todo {
		if o, ok := byPrio[mv.From]; ok {
			return nil, fmt.Sprintf("priority %d, where rule %s was, is taken by rule %s, so no moved rule was moved back (they keep their order, the one before maintenance)", mv.From, shortARN(mv.ARN), shortARN(o.ARN)), nil
		}
	}
	if len(todo) > 0 {
		if err := m.setPriorities(ctx, listener, todo, true); err != nil {
			return nil, "", fmt.Errorf("move %d rule(s) back to their priorities: %w", len(todo), err)
		}
	}
	return todo, strings.Join(gone, "; "), nil
}

// createRule creates one planned rule, tagged as medic's.
func (m *Maintenance) createRule(ctx context.Context, d *planData, r plannedRule) (ruleRef, error) {
	out, err := m.client.CreateRule(ctx, &elasticloadbalancingv2.CreateRuleInput{
		ListenerArn: aws.String(d.Listener),
		Priority:    aws.Int32(r.Priority),
		Conditions:  sdkConditions(r.Conditions),
		Actions:     sdkActions(r.Actions),
		Transforms:  sdkTransforms(r.Rewrite),
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

// rollback undoes what a failed apply did: it deletes the rules it created
// and then moves the rules it moved back, and returns cause with what was
// cleaned up, so the listener is never left half-changed silently.
func (m *Maintenance) rollback(ctx context.Context, d *planData, created []ruleRef, moved []ruleMove, cause error) error {
	if len(created) == 0 && len(moved) == 0 {
		return fmt.Errorf("%w (nothing was created)", cause)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var left []string
	var errs []error
	for _, r := range slices.Backward(created) {
		if err := m.deleteRule(ctx, r.ARN); err != nil {
			left = append(left, r.ARN)
			errs = append(errs, err)
		}
	}
	var done []string
	if len(created) > 0 && len(left) == 0 {
		done = append(done, fmt.Sprintf("removed the %d rule(s) this apply had created", len(created)))
	}
	if len(moved) > 0 && len(left) > 0 {
		left = append(left, fmt.Sprintf("and the %d moved rule(s) at their new priorities (same order)", len(moved)))
	}
	if len(moved) > 0 && len(left) == 0 {
		back, note, err := m.restore(ctx, d.Listener, moved)
		switch {
		case err != nil:
			left = append(left, fmt.Sprintf("the %d moved rule(s) at their new priorities (same order)", len(moved)))
			errs = append(errs, err)
		case len(back) > 0:
			done = append(done, fmt.Sprintf("moved %d rule(s) back to priorities %s", len(back), joinPriorities(fromPriorities(back))))
		}
		if note != "" {
			done = append(done, note)
		}
	}
	if len(left) == 0 {
		return fmt.Errorf("%w (reverted: %s)", cause, strings.Join(done, "; "))
	}
	return fmt.Errorf("%w; rollback failed, %s left on the listener, plan mode off to remove medic's rules: %w", cause, strings.Join(left, ", "), errors.Join(errs...))
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
	if len(d.Moved) > 0 {
		back, note, err := m.restore(ctx, d.Listener, d.Moved)
		if err != nil {
			return nil, fmt.Errorf("undo %s on %s: %s, but the %d rule(s) that apply moved stay at their new priorities (same order): %w", ActionName, d.Label, out.Summary, len(d.Moved), err)
		}
		if len(back) > 0 {
			out.Summary += fmt.Sprintf("; moved %d rule(s) back: %s", len(back), describeMovesBack(back))
			out.Changes = append(out.Changes, moveChanges(back, true)...)
		}
		if note != "" {
			notes = append(notes, note)
		}
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

// moveChanges lists rule moves as changes, or their reversal when back.
func moveChanges(moves []ruleMove, back bool) []remediations.Change {
	var out []remediations.Change
	for _, mv := range moves {
		c := remediations.Change{Resource: mv.ARN, Field: "priority", From: fmt.Sprint(mv.From), To: fmt.Sprintf("%d (%s; %s)", mv.To, mv.Rule, mv.Why)}
		if back {
			c.From, c.To = fmt.Sprint(mv.To), fmt.Sprintf("%d (%s)", mv.From, mv.Rule)
		}
		out = append(out, c)
	}
	return out
}

// describeMovesBack says in words how rules move back: "rule at priority 4
// -> 1, rule at priority 5 -> 3".
func describeMovesBack(ms []ruleMove) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("rule at priority %d -> %d", m.To, m.From))
	}
	return strings.Join(parts, ", ")
}

func fromPriorities(ms []ruleMove) []int32 {
	out := make([]int32, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.From)
	}
	return out
}

func joinPriorities(ps []int32) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, fmt.Sprint(p))
	}
	return strings.Join(parts, ", ")
}

// requestsOf returns the requests a maintenance rule answers: the paths of
// its path-pattern condition ("/*" without one) of the hosts of its
// host-header condition (every host without one).
func requestsOf(r plannedRule) requests {
	q := requests{Paths: []string{"/*"}}
	for _, c := range r.Conditions {
		switch c.Field {
		case fieldPath:
			q.Paths = c.Values
		case fieldHost:
			q.Hosts = c.Values
		}
	}
	return q
}

// forwardsTo reports whether a forwards (only) to target group arn.
func forwardsTo(a types.Action, arn string) bool {
	if a.Type != types.ActionTypeEnumForward {
		return false
	}
	if aws.ToString(a.TargetGroupArn) == arn {
		return true
	}
	return a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) == 1 && aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn) == arn
}

// sdkTransforms is the url-rewrite that hands the maintenance function
// its page: every path P becomes prefix + P. None without a prefix.
func sdkTransforms(prefix string) []types.RuleTransform {
	if prefix == "" {
		return nil
	}
	return []types.RuleTransform{{
		Type: types.TransformTypeEnumUrlRewrite,
		UrlRewriteConfig: &types.UrlRewriteConfig{Rewrites: []types.RewriteConfig{{
			Regex: aws.String("^(.*)$"), Replace: aws.String(prefix + "$1"),
		}}},
	}}
}
