package waf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/wafv2"
	"github.com/aws/aws-sdk-go-v2/service/wafv2/types"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// ActionName is the name policies use for the rate limit.
const ActionName = "waf.rate_limit"

// What a plan does.
const (
	opCreateRule = "create-rule" // add medic's rule to the web ACL
	opTighten    = "tighten"     // tighten the rule medic made earlier
	opCreateACL  = "create-acl"  // create a web ACL with medic's rule and associate it
)

// dimLoadBalancer is the CloudWatch dimension naming an ALB: app/<name>/<id>.
const dimLoadBalancer = "LoadBalancer"

// retryableCodes are WAF answers that say "not yet": a web ACL just created
// cannot be associated for a few seconds, one just disassociated cannot be
// deleted at once.
var retryableCodes = []string{"WAFUnavailableEntityException", "WAFAssociatedItemException"}

// RateLimit is the waf.rate_limit action. It implements remediations.Action
// and remediations.Undoer.
type RateLimit struct {
	waf WAFv2API
	elb LoadBalancerDescriber
	// wait is how long to wait before trying a "not yet" answer again.
	wait time.Duration
}

var (
	_ remediations.Action = (*RateLimit)(nil)
	_ remediations.Undoer = (*RateLimit)(nil)
)

// New returns waf.rate_limit on the given clients (in production a
// *wafv2.Client and an *elasticloadbalancingv2.Client). Schema works with
// nil clients; Plan, Apply and Undo then return an error.
func New(w WAFv2API, e LoadBalancerDescriber) *RateLimit {
	if v := reflect.ValueOf(w); w != nil && v.Kind() == reflect.Pointer && v.IsNil() {
		w = nil
	}
	if v := reflect.ValueOf(e); e != nil && v.Kind() == reflect.Pointer && v.IsNil() {
		e = nil
	}
	return &RateLimit{waf: w, elb: e, wait: 2 * time.Second}
}

// Name returns "waf.rate_limit".
func (r *RateLimit) Name() string { return ActionName }

// Schema returns RateLimitSchema().
func (r *RateLimit) Schema() remediations.Schema { return RateLimitSchema() }

// aclRef names a regional web ACL.
type aclRef struct {
	ARN  string `json:"arn"`
	Name string `json:"name"`
	ID   string `json:"id"`
}

// planData is waf.rate_limit's Plan.Data.
type planData struct {
	Op string `json:"op"`
	// LoadBalancer is the ARN of the load balancer whose ACL is changed
	// (empty when the policy named the web ACL).
	LoadBalancer string `json:"load_balancer,omitempty"`
	ACL          aclRef `json:"acl"`
	// LockToken is the web ACL's lock token when planned: Apply refuses
	// when the ACL changed since (and WAF refuses an update with it).
	LockToken string `json:"lock_token,omitempty"`
	// Rule is the rule the plan sets; Previous the medic rule it
	// tightens (op tighten).
	Rule     rateRule  `json:"rule"`
	Previous *rateRule `json:"previous,omitempty"`
	Alarm    string    `json:"alarm,omitempty"`
}

// resultData is waf.rate_limit's Result.Data: what Undo reverses.
type resultData struct {
	Op           string    `json:"op"`
	LoadBalancer string    `json:"load_balancer,omitempty"`
	ACL          aclRef    `json:"acl"`
	Rule         rateRule  `json:"rule"`
	Previous     *rateRule `json:"previous,omitempty"`
	// Undone is set on an Undo's result.
	Undone bool `json:"undone,omitempty"`
}

func (r *RateLimit) ready() error {
	if r == nil || r.waf == nil {
		return fmt.Errorf("%s: no wafv2 client configured", ActionName)
	}
	return nil
}

// desired returns the rule the params ask for (priority not yet chosen).
func desired(p remediations.Params) rateRule {
	limit, _ := p.Int("limit")
	window, ok := p.Int("window")
	if !ok {
		window = 300
	}
	rr := rateRule{Limit: int64(limit), Window: int64(window), Key: p.String("key"), Path: p.String("path_prefix"), Host: strings.ToLower(p.String("host")), Action: p.String("action")}
	if rr.Key == "" {
		rr.Key = KeyIP
	}
	if rr.Key == KeyForwardedIP {
		rr.Header = p.String("forwarded_header")
		if rr.Header == "" {
			rr.Header = "X-Forwarded-For"
		}
	}
	if rr.Action == "" {
		rr.Action = ActionBlock
	}
	rr.Name = ruleName(rr.Key, rr.Header, rr.Path, rr.Host)
	return rr
}

// strength orders actions from the mildest (count) to the strictest (block).
func strength(action string) int {
	switch action {
	case ActionCount:
		return 0
	case ActionChallenge:
		return 1
	case ActionCaptcha:
		return 2
	}
	return 3
}

// looser reports whether want lets more through than have: a higher rate
// (limit per window) or a milder action.
func looser(want, have rateRule) bool {
	return want.Limit*have.Window > have.Limit*want.Window || strength(want.Action) < strength(have.Action)
}

// Plan reads the web ACL and says which rule Apply will add or tighten (or
// which web ACL it will create). It changes nothing.
func (r *RateLimit) Plan(ctx context.Context, a *alarm.Alarm, p remediations.Params) (*remediations.Plan, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	if errs := RateLimitSchema().Validate(p, nil); len(errs) > 0 {
		return nil, fmt.Errorf("plan %s: %w: %w", ActionName, remediations.ErrInvalid, errors.Join(errs...))
	}
	want := desired(p)
	d := planData{Rule: want}
	if a != nil {
		d.Alarm = a.Name
	}
	var ref aclRef
	var lbLabel string
	if arn := p.String("web_acl"); arn != "" {
		var err error
		if ref, err = parseACLARN(arn); err != nil {
			return nil, fmt.Errorf("plan %s: %w", ActionName, err)
		}
	} else {
		lbARN, label, err := r.loadBalancer(ctx, a, p.String("load_balancer"))
		if err != nil {
			return nil, fmt.Errorf("plan %s: %w", ActionName, err)
		}
		d.LoadBalancer, lbLabel = lbARN, label
		out, err := r.waf.GetWebACLForResource(ctx, &wafv2.GetWebACLForResourceInput{ResourceArn: aws.String(lbARN)})
		if err != nil {
			return nil, fmt.Errorf("plan %s: %w", ActionName, classify(err, "wafv2:GetWebACLForResource", lbARN))
		}
		if out.WebACL == nil {
			return r.planNoACL(&d, label, p.Bool("create_acl", false))
		}
		ref = aclRef{ARN: aws.ToString(out.WebACL.ARN), Name: aws.ToString(out.WebACL.Name), ID: aws.ToString(out.WebACL.Id)}
	}
	acl, token, err := r.getACL(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", ActionName, err)
	}
	if acl.ManagedByFirewallManager {
		return nil, fmt.Errorf("plan %s: web ACL %s is managed by Firewall Manager, whose policies overwrite changes made here: %w", ActionName, ref.Name, remediations.ErrInvalid)
	}
	d.ACL, d.LockToken = ref, token
	where := "web ACL " + ref.Name
	if lbLabel != "" {
		where += " (of " + lbLabel + ")"
	}
	plan := &remediations.Plan{Action: ActionName, Target: "waf:" + ref.ARN}
	existing, found := findRule(acl.Rules, want.Name)
	if !found {
		d.Op = opCreateRule
		d.Rule.Priority = freePriority(acl.Rules)
		plan.Summary = fmt.Sprintf("%s: add rate-based rule %s at priority %d: %s", where, want.Name, d.Rule.Priority, d.Rule)
		if allows := allowsAhead(acl.Rules, d.Rule.Priority); len(allows) > 0 {
			plan.Summary += fmt.Sprintf("; requests allowed by %s are not counted", strings.Join(allows, ", "))
		}
		plan.Changes = []remediations.Change{{Resource: ref.ARN, Field: "rule " + want.Name, From: "none", To: fmt.Sprintf("priority %d: %s", d.Rule.Priority, d.Rule)}}
	} else {
		cur, ok := fromSDK(existing)
		if !ok {
			return nil, fmt.Errorf("plan %s: %s: rule %s has medic's name but not a rate-based rule medic could have made (edited by hand?); rename or remove it: %w", ActionName, where, want.Name, remediations.ErrInvalid)
		}
		d.Rule.Priority = cur.Priority
		switch {
		case cur == d.Rule:
			plan.NoOp = true
			plan.Summary = fmt.Sprintf("%s: medic's rule %s already in place (%s); nothing to change", where, want.Name, cur)
		case looser(d.Rule, cur):
			plan.NoOp = true
			plan.Summary = fmt.Sprintf("%s: medic's rule %s is already tighter (%s) than asked (%s); %s never loosens a rule, undo the step that set it", where, want.Name, cur, d.Rule, ActionName)
		default:
			d.Op, d.Previous = opTighten, &cur
			plan.Summary = fmt.Sprintf("%s: tighten medic's rule %s: %s", where, want.Name, tightenText(cur, d.Rule))
			plan.Changes = []remediations.Change{{Resource: ref.ARN, Field: "rule " + want.Name, From: cur.String(), To: d.Rule.String()}}
		}
	}
	plan.Reversible = !plan.NoOp
	return r.finish(plan, &d)
}

// planNoACL plans for a load balancer without a web ACL: nothing unless the
// policy allows creating one.
func (r *RateLimit) planNoACL(d *planData, label string, create bool) (*remediations.Plan, error) {
	plan := &remediations.Plan{Action: ActionName, Target: "waf:" + d.LoadBalancer}
	if !create {
		plan.NoOp = true
		plan.Summary = fmt.Sprintf("load balancer %s has no web ACL, so there is no rule to add; nothing to change (create_acl: true lets medic create one)", label)
		return r.finish(plan, d)
	}
	d.Op = opCreateACL
	d.ACL = aclRef{Name: aclName(label)}
	plan.Summary = fmt.Sprintf("load balancer %s has no web ACL: create web ACL %s (default action allow) with rule %s: %s, and associate it", label, d.ACL.Name, d.Rule.Name, d.Rule)
	plan.Changes = []remediations.Change{
		{Resource: d.LoadBalancer, Field: "web ACL", From: "none", To: d.ACL.Name + " (created by medic)"},
		{Resource: d.ACL.Name, Field: "rule " + d.Rule.Name, From: "none", To: fmt.Sprintf("priority %d: %s", d.Rule.Priority, d.Rule)},
	}
	plan.Reversible = true
	return r.finish(plan, d)
}

func (r *RateLimit) finish(plan *remediations.Plan, d *planData) (*remediations.Plan, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("plan %s: encode plan data: %w", ActionName, err)
	}
	plan.Data = raw
	return plan, nil
}

// tightenText says what changes, e.g. "limit 2000 -> 500 per 5 min, action
// count -> block".
func tightenText(from, to rateRule) string {
	var parts []string
	if from.Limit != to.Limit || from.Window != to.Window {
		parts = append(parts, fmt.Sprintf("limit %d per %s -> %d per %s", from.Limit, windowText(from.Window), to.Limit, windowText(to.Window)))
	}
	if from.Action != to.Action {
		parts = append(parts, fmt.Sprintf("action %s -> %s", from.Action, to.Action))
	}
	return strings.Join(parts, ", ")
}

var aclNameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// aclName names the web ACL medic creates for a load balancer.
func aclName(label string) string {
	name := label
	if parts := strings.Split(label, "/"); len(parts) == 3 {
		name = parts[1]
	}
	name = "medic-" + aclNameUnsafe.ReplaceAllString(name, "-")
	if len(name) > 128 {
		name = name[:128]
	}
	return name
}

// parseACLARN reads arn:aws:wafv2:REGION:ACCOUNT:regional/webacl/NAME/ID.
func parseACLARN(arn string) (aclRef, error) {
	_, rest, ok := strings.Cut(arn, ":regional/webacl/")
	parts := strings.Split(rest, "/")
	if !strings.HasPrefix(arn, "arn:") || !ok || len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return aclRef{}, fmt.Errorf("web_acl %q is not a regional web ACL ARN (arn:aws:wafv2:REGION:ACCOUNT:regional/webacl/NAME/ID): %w", arn, remediations.ErrTarget)
	}
	return aclRef{ARN: arn, Name: parts[0], ID: parts[1]}, nil
}

// loadBalancer returns the ARN and the app/NAME/ID label of the load
// balancer the param (an ARN or app/NAME/ID) or else the alarm's
// LoadBalancer dimension names.
func (r *RateLimit) loadBalancer(ctx context.Context, a *alarm.Alarm, param string) (string, string, error) {
	if strings.HasPrefix(param, "arn:") {
		_, label, ok := strings.Cut(param, ":loadbalancer/")
		if !ok || !strings.HasPrefix(label, "app/") {
			return "", "", fmt.Errorf("load_balancer %q is not an Application Load Balancer ARN: %w", param, remediations.ErrTarget)
		}
		return param, label, nil
	}
	dim := param
	if dim == "" && a != nil {
		dim = a.Dimensions()[dimLoadBalancer]
	}
	if dim == "" {
		return "", "", fmt.Errorf("no load_balancer or web_acl given and the alarm has no %s dimension: %w", dimLoadBalancer, remediations.ErrTarget)
	}
	parts := strings.Split(dim, "/")
	if len(parts) != 3 || parts[0] != "app" || parts[1] == "" || parts[2] == "" {
		return "", "", fmt.Errorf("load balancer %q is not of the form app/<name>/<id>: %w", dim, remediations.ErrTarget)
	}
	if r.elb == nil {
		return "", "", fmt.Errorf("find load balancer %s: no elasticloadbalancingv2 client configured", dim)
	}
	out, err := r.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{parts[1]}})
	if err != nil && remediations.AWSErrorCode(err) != "LoadBalancerNotFound" {
		return "", "", classify(err, "elasticloadbalancing:DescribeLoadBalancers", dim)
	}
	if out != nil {
		for _, lb := range out.LoadBalancers {
			if arn := aws.ToString(lb.LoadBalancerArn); strings.HasSuffix(arn, ":loadbalancer/"+dim) {
				return arn, dim, nil
			}
		}
	}
	return "", "", fmt.Errorf("no load balancer matches %s: %w", dim, remediations.ErrTarget)
}

// getACL reads a web ACL and its lock token.
func (r *RateLimit) getACL(ctx context.Context, ref aclRef) (*types.WebACL, string, error) {
	out, err := r.waf.GetWebACL(ctx, &wafv2.GetWebACLInput{Name: aws.String(ref.Name), Id: aws.String(ref.ID), Scope: types.ScopeRegional})
	if err != nil {
		return nil, "", classify(err, "wafv2:GetWebACL", ref.Name)
	}
	if out.WebACL == nil {
		return nil, "", fmt.Errorf("get web ACL %s: the answer holds no web ACL: %w", ref.Name, remediations.ErrNotFound)
	}
	return out.WebACL, aws.ToString(out.LockToken), nil
}

// updateInput is UpdateWebACL of acl with rules, everything else as read:
// WAF replaces the whole ACL, so every setting is passed back.
func updateInput(acl *types.WebACL, rules []types.Rule, token string) *wafv2.UpdateWebACLInput {
	in := &wafv2.UpdateWebACLInput{
		Name: acl.Name, Id: acl.Id, Scope: types.ScopeRegional, LockToken: aws.String(token),
		DefaultAction: acl.DefaultAction, VisibilityConfig: acl.VisibilityConfig, Rules: rules,
		CustomResponseBodies: acl.CustomResponseBodies, CaptchaConfig: acl.CaptchaConfig, ChallengeConfig: acl.ChallengeConfig,
		TokenDomains: acl.TokenDomains, AssociationConfig: acl.AssociationConfig, DataProtectionConfig: acl.DataProtectionConfig,
		ApplicationConfig: acl.ApplicationConfig, OnSourceDDoSProtectionConfig: acl.OnSourceDDoSProtectionConfig,
	}
	if aws.ToString(acl.Description) != "" {
		in.Description = acl.Description
	}
	return in
}

// stale wraps a description of what changed since the plan.
func stale(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{remediations.ErrStalePlan}, args...)...)
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
	if plan.NoOp {
		return &d, nil
	}
	switch {
	case d.Op != opCreateRule && d.Op != opTighten && d.Op != opCreateACL:
		return nil, fmt.Errorf("apply %s: plan data has unknown op %q: %w", ActionName, d.Op, remediations.ErrInvalid)
	case d.Op == opCreateACL && (d.LoadBalancer == "" || d.ACL.Name == ""):
		return nil, fmt.Errorf("apply %s: plan data names no load balancer or web ACL to create: %w", ActionName, remediations.ErrInvalid)
	case d.Op != opCreateACL && (d.ACL.Name == "" || d.ACL.ID == "" || d.LockToken == ""):
		return nil, fmt.Errorf("apply %s: plan data names no web ACL or lock token: %w", ActionName, remediations.ErrInvalid)
	case !strings.HasPrefix(d.Rule.Name, rulePrefix) || d.Rule.Limit < minLimit:
		return nil, fmt.Errorf("apply %s: plan data holds no valid medic rule: %w", ActionName, remediations.ErrInvalid)
	case d.Op == opTighten && d.Previous == nil:
		return nil, fmt.Errorf("apply %s: tighten plan records no previous rule: %w", ActionName, remediations.ErrInvalid)
	}
	return &d, nil
}

// Apply re-checks the web ACL against the plan (its lock token: any change
// since the plan refuses it with remediations.ErrStalePlan) and adds or
// tightens medic's rule, or creates and associates the web ACL. It reads
// the ACL back to check the rule is there.
func (r *RateLimit) Apply(ctx context.Context, plan *remediations.Plan) (*remediations.Result, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	d, err := decodePlan(plan)
	if err != nil {
		return nil, err
	}
	res := &remediations.Result{Action: ActionName, Target: plan.Target}
	if plan.NoOp {
		res.Summary = "nothing to do: " + plan.Summary
		return res, nil
	}
	if d.Op == opCreateACL {
		err = r.applyCreateACL(ctx, d, res)
	} else {
		err = r.applyRule(ctx, d, res)
	}
	if err != nil {
		return nil, fmt.Errorf("apply %s: %w", ActionName, err)
	}
	res.Data, err = json.Marshal(resultData{Op: d.Op, LoadBalancer: d.LoadBalancer, ACL: d.ACL, Rule: d.Rule, Previous: d.Previous})
	if err != nil {
		return nil, fmt.Errorf("apply %s: encode result data: %w", ActionName, err)
	}
	return res, nil
}

func (r *RateLimit) applyRule(ctx context.Context, d *planData, res *remediations.Result) error {
	acl, token, err := r.getACL(ctx, d.ACL)
	if errors.Is(err, remediations.ErrNotFound) {
		return fmt.Errorf("%w (%w)", stale("web ACL %s no longer exists: %w", d.ACL.Name, err), remediations.ErrNotApplied)
	}
	if err != nil {
		return fmt.Errorf("web ACL %s: %w (%w)", d.ACL.Name, err, remediations.ErrNotApplied)
	}
	if token != d.LockToken {
		return fmt.Errorf("%w (%w)", stale("web ACL %s changed since the plan (lock token %s, planned at %s): plan again", d.ACL.Name, token, d.LockToken), remediations.ErrNotApplied)
	}
	// Planned from this very version (same lock token), so the rule is
	// still absent, or still the one to tighten, at a still free priority.
	if _, err := r.waf.UpdateWebACL(ctx, updateInput(acl, withRule(acl.Rules, d.Rule.sdk()), d.LockToken)); err != nil {
		err = classify(err, "wafv2:UpdateWebACL", d.ACL.Name)
		if errors.Is(err, remediations.ErrStalePlan) {
			err = stale("web ACL %s changed after the plan was checked: %w", d.ACL.Name, err)
		}
		return fmt.Errorf("%s rule %s: %w (%w)", d.Op, d.Rule.Name, err, remediations.ErrNotApplied)
	}
	if err := r.verify(ctx, d.ACL, d.Rule); err != nil {
		return err
	}
	if d.Op == opTighten {
		res.Summary = fmt.Sprintf("web ACL %s: tightened medic's rule %s: %s", d.ACL.Name, d.Rule.Name, tightenText(*d.Previous, d.Rule))
		res.Changes = []remediations.Change{{Resource: d.ACL.ARN, Field: "rule " + d.Rule.Name, From: d.Previous.String(), To: d.Rule.String()}}
	} else {
		res.Summary = fmt.Sprintf("web ACL %s: added rate-based rule %s at priority %d: %s", d.ACL.Name, d.Rule.Name, d.Rule.Priority, d.Rule)
		res.Changes = []remediations.Change{{Resource: d.ACL.ARN, Field: "rule " + d.Rule.Name, From: "none", To: fmt.Sprintf("priority %d: %s", d.Rule.Priority, d.Rule)}}
	}
	res.Summary += "; checked: the web ACL read back holds it"
	return nil
}

// verify reads the web ACL back and checks it holds want.
func (r *RateLimit) verify(ctx context.Context, ref aclRef, want rateRule) error {
	acl, _, err := r.getACL(ctx, ref)
	if err != nil {
		return fmt.Errorf("check web ACL %s after the change: %w", ref.Name, err)
	}
	got, found := findRule(acl.Rules, want.Name)
	if !found {
		return fmt.Errorf("check web ACL %s after the change: rule %s is not in it", ref.Name, want.Name)
	}
	if have, ok := fromSDK(got); !ok || have != want {
		return fmt.Errorf("check web ACL %s after the change: rule %s reads back as %s, not %s", ref.Name, want.Name, have, want)
	}
	return nil
}

func (r *RateLimit) applyCreateACL(ctx context.Context, d *planData, res *remediations.Result) error {
	cur, err := r.waf.GetWebACLForResource(ctx, &wafv2.GetWebACLForResourceInput{ResourceArn: aws.String(d.LoadBalancer)})
	if err != nil {
		return fmt.Errorf("%w (%w)", classify(err, "wafv2:GetWebACLForResource", d.LoadBalancer), remediations.ErrNotApplied)
	}
	if cur.WebACL != nil {
		return fmt.Errorf("%w (%w)", stale("the load balancer now has web ACL %s; plan again to add the rule to it", aws.ToString(cur.WebACL.Name)), remediations.ErrNotApplied)
	}
	out, err := r.waf.CreateWebACL(ctx, &wafv2.CreateWebACLInput{
		Name:          aws.String(d.ACL.Name),
		Scope:         types.ScopeRegional,
		Description:   aws.String("Created by medic (" + ActionName + "); undo removes it"),
		DefaultAction: &types.DefaultAction{Allow: &types.AllowAction{}},
		VisibilityConfig: &types.VisibilityConfig{
			CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: aws.String(d.ACL.Name),
		},
		Rules: []types.Rule{d.Rule.sdk()},
		Tags:  []types.Tag{{Key: aws.String("medic:managed"), Value: aws.String("true")}, {Key: aws.String("medic:action"), Value: aws.String(ActionName)}},
	})
	if err != nil {
		return fmt.Errorf("create web ACL %s: %w (%w)", d.ACL.Name, classify(err, "wafv2:CreateWebACL", d.ACL.Name), remediations.ErrNotApplied)
	}
	if out.Summary == nil {
		return fmt.Errorf("create web ACL %s: the answer holds no summary; look for the ACL by hand", d.ACL.Name)
	}
	d.ACL.ARN, d.ACL.ID = aws.ToString(out.Summary.ARN), aws.ToString(out.Summary.Id)
	err = r.retry(ctx, func() error {
		_, err := r.waf.AssociateWebACL(ctx, &wafv2.AssociateWebACLInput{WebACLArn: aws.String(d.ACL.ARN), ResourceArn: aws.String(d.LoadBalancer)})
		return err
	})
	if err != nil {
		err = classify(err, "wafv2:AssociateWebACL", d.LoadBalancer)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, derr := r.waf.DeleteWebACL(cctx, &wafv2.DeleteWebACLInput{Name: aws.String(d.ACL.Name), Id: aws.String(d.ACL.ID), Scope: types.ScopeRegional, LockToken: out.Summary.LockToken})
		if derr != nil {
			return fmt.Errorf("associate web ACL %s with %s: %w; deleting the new web ACL failed too, delete %s by hand: %w", d.ACL.Name, d.LoadBalancer, err, d.ACL.ARN, classify(derr, "wafv2:DeleteWebACL", d.ACL.Name))
		}
		return fmt.Errorf("associate web ACL %s with %s: %w; the new web ACL was deleted (%w)", d.ACL.Name, d.LoadBalancer, err, remediations.ErrNotApplied)
	}
	if err := r.verify(ctx, d.ACL, d.Rule); err != nil {
		return err
	}
	res.Target = "waf:" + d.ACL.ARN
	res.Summary = fmt.Sprintf("created web ACL %s with rule %s (%s) and associated it with %s", d.ACL.Name, d.Rule.Name, d.Rule, lbLabel(d.LoadBalancer))
	res.Changes = []remediations.Change{
		{Resource: d.LoadBalancer, Field: "web ACL", From: "none", To: d.ACL.ARN},
		{Resource: d.ACL.ARN, Field: "rule " + d.Rule.Name, From: "none", To: fmt.Sprintf("priority %d: %s", d.Rule.Priority, d.Rule)},
	}
	return nil
}

func lbLabel(arn string) string {
	if _, label, ok := strings.Cut(arn, ":loadbalancer/"); ok {
		return label
	}
	return arn
}

// retry calls fn until it succeeds, fails with an answer other than "not
// yet" (retryableCodes), or has been tried 5 times.
func (r *RateLimit) retry(ctx context.Context, fn func() error) error {
	var err error
	for i := 0; i < 5; i++ {
		if err = fn(); err == nil || !isRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(r.wait):
		}
	}
	return err
}

func isRetryable(err error) bool {
	code := remediations.AWSErrorCode(err)
	for _, c := range retryableCodes {
		if c == code {
			return true
		}
	}
	return false
}

// Undo reverses what one Apply did and nothing else: it removes the rule
// that Apply added, puts back the rule it tightened, or (when it created the
// web ACL) disassociates and deletes that ACL, in each case only while
// medic's rule is still exactly what Apply set. A rule changed since is left
// in place and the result says so; a web ACL that gained other rules keeps
// them (only medic's rule is removed). A lock conflict (someone changed the
// ACL meanwhile) is re-read and tried again, a few times.
func (r *RateLimit) Undo(ctx context.Context, res *remediations.Result) (*remediations.Result, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	if res == nil || res.Action != ActionName {
		return nil, fmt.Errorf("undo %s: no result of this action: %w", ActionName, remediations.ErrInvalid)
	}
	var d resultData
	if len(res.Data) == 0 {
		// A NoOp apply records nothing: there is nothing to undo.
		return &remediations.Result{Action: ActionName, Target: res.Target, Summary: "nothing to undo: that apply changed nothing"}, nil
	}
	if err := json.Unmarshal(res.Data, &d); err != nil {
		return nil, fmt.Errorf("undo %s: decode result data: %w: %w", ActionName, remediations.ErrInvalid, err)
	}
	if d.Undone {
		return nil, fmt.Errorf("undo %s: that result is itself an undo: %w", ActionName, remediations.ErrNotReversible)
	}
	if d.ACL.Name == "" || d.ACL.ID == "" {
		return nil, fmt.Errorf("undo %s: result data names no web ACL: %w", ActionName, remediations.ErrInvalid)
	}
	out := &remediations.Result{Action: ActionName, Target: res.Target}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = r.undoOnce(ctx, &d, out)
		if !errors.Is(err, remediations.ErrStalePlan) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("undo %s on web ACL %s: %w", ActionName, d.ACL.Name, err)
	}
	d.Undone = true
	if out.Data, err = json.Marshal(d); err != nil {
		return nil, fmt.Errorf("undo %s: encode result data: %w", ActionName, err)
	}
	return out, nil
}

func (r *RateLimit) undoOnce(ctx context.Context, d *resultData, out *remediations.Result) error {
	acl, token, err := r.getACL(ctx, d.ACL)
	if errors.Is(err, remediations.ErrNotFound) {
		out.Summary = fmt.Sprintf("web ACL %s is already gone; nothing to undo", d.ACL.Name)
		return nil
	}
	if err != nil {
		return err
	}
	got, found := findRule(acl.Rules, d.Rule.Name)
	if !found {
		out.Summary = fmt.Sprintf("web ACL %s: medic's rule %s is already gone; nothing to undo", d.ACL.Name, d.Rule.Name)
		return nil
	}
	if have, ok := fromSDK(got); !ok || have != d.Rule {
		out.Summary = fmt.Sprintf("web ACL %s: rule %s changed since medic set it (now %s, medic set %s); left in place", d.ACL.Name, d.Rule.Name, have, d.Rule)
		return nil
	}
	if d.Op == opCreateACL && len(acl.Rules) == 1 {
		return r.deleteACL(ctx, d, token, out)
	}
	rules := withoutRule(acl.Rules, d.Rule.Name)
	what := fmt.Sprintf("removed medic's rule %s (%s)", d.Rule.Name, d.Rule)
	to := "none"
	if d.Op == opTighten && d.Previous != nil {
		rules = withRule(acl.Rules, d.Previous.sdk())
		what = fmt.Sprintf("put medic's rule %s back: %s", d.Rule.Name, tightenText(d.Rule, *d.Previous))
		to = d.Previous.String()
	}
	if _, err := r.waf.UpdateWebACL(ctx, updateInput(acl, rules, token)); err != nil {
		return classify(err, "wafv2:UpdateWebACL", d.ACL.Name)
	}
	out.Summary = fmt.Sprintf("web ACL %s: %s", d.ACL.Name, what)
	if d.Op == opCreateACL {
		out.Summary += fmt.Sprintf("; the web ACL medic created stays, since it now holds %d other rule(s)", len(rules))
	}
	out.Changes = []remediations.Change{{Resource: d.ACL.ARN, Field: "rule " + d.Rule.Name, From: d.Rule.String(), To: to}}
	return nil
}

// deleteACL disassociates the web ACL medic created from its load balancer
// (while it is still the one associated) and deletes it.
func (r *RateLimit) deleteACL(ctx context.Context, d *resultData, token string, out *remediations.Result) error {
	cur, err := r.waf.GetWebACLForResource(ctx, &wafv2.GetWebACLForResourceInput{ResourceArn: aws.String(d.LoadBalancer)})
	if err != nil {
		return classify(err, "wafv2:GetWebACLForResource", d.LoadBalancer)
	}
	if cur.WebACL != nil && aws.ToString(cur.WebACL.ARN) == d.ACL.ARN {
		if _, err := r.waf.DisassociateWebACL(ctx, &wafv2.DisassociateWebACLInput{ResourceArn: aws.String(d.LoadBalancer)}); err != nil {
			return classify(err, "wafv2:DisassociateWebACL", d.LoadBalancer)
		}
		out.Changes = append(out.Changes, remediations.Change{Resource: d.LoadBalancer, Field: "web ACL", From: d.ACL.ARN, To: "none"})
	}
	err = r.retry(ctx, func() error {
		_, err := r.waf.DeleteWebACL(ctx, &wafv2.DeleteWebACLInput{Name: aws.String(d.ACL.Name), Id: aws.String(d.ACL.ID), Scope: types.ScopeRegional, LockToken: aws.String(token)})
		return err
	})
	if err != nil {
		return fmt.Errorf("delete web ACL %s (already disassociated from %s): %w", d.ACL.Name, lbLabel(d.LoadBalancer), classify(err, "wafv2:DeleteWebACL", d.ACL.Name))
	}
	out.Changes = append(out.Changes, remediations.Change{Resource: d.ACL.ARN, Field: "web ACL", From: d.ACL.Name + " with rule " + d.Rule.Name, To: "deleted"})
	out.Summary = fmt.Sprintf("disassociated and deleted web ACL %s, which medic had created for %s", d.ACL.Name, lbLabel(d.LoadBalancer))
	return nil
}
