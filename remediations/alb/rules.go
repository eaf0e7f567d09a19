package alb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/remediations"
)

// Tags medic puts on every rule it creates, and reads to find its rules.
const (
	tagManaged = "medic:managed"
	tagRole    = "medic:role"
	tagAction  = "medic:action"
	tagAlarm   = "medic:alarm"
)

// Roles of medic's rules.
const (
	roleMaintenance = "maintenance"
	roleAllow       = "allow"
)

// Rule condition fields medic uses.
const (
	fieldPath     = "path-pattern"
	fieldHost     = "host-header"
	fieldSourceIP = "source-ip"
)

// Rule priorities ALB accepts.
const (
	minPriority = 1
	maxPriority = 50000
)

// describeTagsBatch is the most ARNs one DescribeTags call accepts.
const describeTagsBatch = 20

// condition is one rule condition in a serialisable form.
type condition struct {
	Field  string   `json:"field"`
	Values []string `json:"values"`
}

// target is one target group of a forward action.
type target struct {
	ARN    string `json:"arn"`
	Weight *int32 `json:"weight,omitempty"`
}

// stickiness is a forward action's target group stickiness.
type stickiness struct {
	Enabled         bool   `json:"enabled"`
	DurationSeconds *int32 `json:"duration_seconds,omitempty"`
}

// redirect is a redirect action's configuration.
type redirect struct {
	StatusCode string  `json:"status_code"`
	Protocol   *string `json:"protocol,omitempty"`
	Host       *string `json:"host,omitempty"`
	Port       *string `json:"port,omitempty"`
	Path       *string `json:"path,omitempty"`
	Query      *string `json:"query,omitempty"`
}

// fixedResponse is a fixed-response action's configuration.
type fixedResponse struct {
	StatusCode  string `json:"status_code"`
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body,omitempty"`
}

// ruleAction is one rule action in a serialisable form: forward, redirect or
// fixed-response, the action types medic creates or copies.
type ruleAction struct {
	Type          string         `json:"type"`
	Order         *int32         `json:"order,omitempty"`
	TargetGroups  []target       `json:"target_groups,omitempty"`
	Stickiness    *stickiness    `json:"stickiness,omitempty"`
	Redirect      *redirect      `json:"redirect,omitempty"`
	FixedResponse *fixedResponse `json:"fixed_response,omitempty"`
}

// plannedRule is one rule a plan creates.
type plannedRule struct {
	Role       string       `json:"role"`
	Priority   int32        `json:"priority"`
	Conditions []condition  `json:"conditions"`
	Actions    []ruleAction `json:"actions"`
	// Rewrite, on a maintenance rule forwarding to the maintenance
	// function, is the prefix its url-rewrite puts before every path
	// (maintpage.PathPrefix and the page's encoded config).
	Rewrite string `json:"rewrite,omitempty"`
}

// listenerRule is one existing rule of a listener as medic sees it.
type listenerRule struct {
	ARN      string
	Priority int32 // 0 for the default rule
	Default  bool
	// Role is medic's role tag when the rule is tagged medic:managed=true,
	// else "".
	Role       string
	Conditions []types.RuleCondition
	Actions    []types.Action
}

// medic reports whether medic created the rule for alb.maintenance.
func (r listenerRule) medic() bool {
	return r.Role == roleMaintenance || r.Role == roleAllow
}

// readRules lists a listener's rules with medic's role tags.
func readRules(ctx context.Context, c ELBv2API, listenerARN string) ([]listenerRule, error) {
	var rules []listenerRule
	pages := elasticloadbalancingv2.NewDescribeRulesPaginator(c, &elasticloadbalancingv2.DescribeRulesInput{ListenerArn: aws.String(listenerARN)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, classify(err, "elasticloadbalancing:DescribeRules", listenerARN)
		}
		for _, r := range page.Rules {
			arn := aws.ToString(r.RuleArn)
			if arn == "" {
				continue
			}
			lr := listenerRule{ARN: arn, Conditions: r.Conditions, Actions: r.Actions}
			p := aws.ToString(r.Priority)
			if aws.ToBool(r.IsDefault) || p == "default" {
				lr.Default = true
			} else {
				n, err := strconv.Atoi(p)
				if err != nil || n < minPriority || n > maxPriority {
					return nil, fmt.Errorf("read rules of %s: rule %s has priority %q, not a number from %d to %d", listenerARN, arn, p, minPriority, maxPriority)
				}
				lr.Priority = int32(n)
			}
			rules = append(rules, lr)
		}
	}
	var arns []string
	for _, r := range rules {
		if !r.Default {
			arns = append(arns, r.ARN)
		}
	}
	roles := make(map[string]string)
	for batch := range slices.Chunk(arns, describeTagsBatch) {
		out, err := c.DescribeTags(ctx, &elasticloadbalancingv2.DescribeTagsInput{ResourceArns: batch})
		if err != nil {
			return nil, classify(err, "elasticloadbalancing:DescribeTags", "rules of "+listenerARN)
		}
		for _, d := range out.TagDescriptions {
			tags := tagMap(d.Tags)
			if tags[tagManaged] == "true" {
				roles[aws.ToString(d.ResourceArn)] = tags[tagRole]
			}
		}
	}
	for i := range rules {
		rules[i].Role = roles[rules[i].ARN]
	}
	slices.SortFunc(rules, byPriority)
	return rules, nil
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// aheadRule is an existing rule medic does not own that stays ahead of (at
// a lower number than) the maintenance rule: it answers none of the
// maintenance requests, so it need not move.
type aheadRule struct {
	ARN      string `json:"arn"`
	Priority int32  `json:"priority"`
	// Rule says in words what the rule does, e.g.
	// "path-pattern /health -> forward to targetgroup/api/...". Apply
	// compares it to refuse a plan whose rules ahead changed.
	Rule string `json:"rule"`
}

// rulesAhead returns the rules medic does not own at a lower number than
// prio that do not move, by priority.
func rulesAhead(rules []listenerRule, prio int32, moves []ruleMove) []aheadRule {
	moving := make(map[string]bool, len(moves))
	for _, m := range moves {
		moving[m.ARN] = true
	}
	var out []aheadRule
	for _, r := range rules {
		if !r.Default && !r.medic() && !moving[r.ARN] && r.Priority < prio {
			out = append(out, aheadRule{ARN: r.ARN, Priority: r.Priority, Rule: describeExisting(r)})
		}
	}
	slices.SortFunc(out, func(a, b aheadRule) int { return int(a.Priority) - int(b.Priority) })
	return out
}

// describeExisting says in words what an existing rule does, e.g.
// "path-pattern /health -> forward to targetgroup/api/73e2d6bc24d8a067".
func describeExisting(r listenerRule) string {
	var conds []string
	for _, c := range r.Conditions {
		conds = append(conds, conditionText(c))
	}
	var acts []string
	for _, a := range r.Actions {
		if ra, err := copyActions([]types.Action{a}); err == nil {
			acts = append(acts, describeAction(ra[0]))
		} else {
			acts = append(acts, string(a.Type))
		}
	}
	if len(conds) == 0 {
		conds = []string{"any request"}
	}
	return strings.Join(conds, " and ") + " -> " + strings.Join(acts, ", ")
}

// conditionText says in words what one rule condition matches.
func conditionText(c types.RuleCondition) string {
	field := aws.ToString(c.Field)
	values := c.Values
	switch {
	case c.PathPatternConfig != nil && len(c.PathPatternConfig.Values) > 0:
		values = c.PathPatternConfig.Values
	case c.HostHeaderConfig != nil && len(c.HostHeaderConfig.Values) > 0:
		values = c.HostHeaderConfig.Values
	case c.SourceIpConfig != nil && len(c.SourceIpConfig.Values) > 0:
		values = c.SourceIpConfig.Values
	case c.HttpRequestMethodConfig != nil && len(c.HttpRequestMethodConfig.Values) > 0:
		values = c.HttpRequestMethodConfig.Values
	case c.HttpHeaderConfig != nil:
		field += " " + aws.ToString(c.HttpHeaderConfig.HttpHeaderName)
		if len(c.HttpHeaderConfig.Values) > 0 {
			values = c.HttpHeaderConfig.Values
		}
	case c.QueryStringConfig != nil && len(c.QueryStringConfig.Values) > 0:
		values = nil
		for _, kv := range c.QueryStringConfig.Values {
			if k := aws.ToString(kv.Key); k != "" {
				values = append(values, k+"="+aws.ToString(kv.Value))
			} else {
				values = append(values, aws.ToString(kv.Value))
			}
		}
	}
	return field + " " + strings.Join(values, ",")
}

// copyActions turns a listener's default actions into actions an allow rule
// can carry. Only forward, redirect and fixed-response can be copied
// (authentication actions need secrets DescribeListeners does not return).
func copyActions(actions []types.Action) ([]ruleAction, error) {
	if len(actions) == 0 {
		return nil, fmt.Errorf("the listener has no default action to forward allow-listed clients to: %w", remediations.ErrInvalid)
	}
	var out []ruleAction
	for _, a := range actions {
		ra := ruleAction{Type: string(a.Type), Order: a.Order}
		switch a.Type {
		case types.ActionTypeEnumForward:
			if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
				for _, tg := range a.ForwardConfig.TargetGroups {
					if arn := aws.ToString(tg.TargetGroupArn); arn != "" {
						ra.TargetGroups = append(ra.TargetGroups, target{ARN: arn, Weight: tg.Weight})
					}
				}
				if s := a.ForwardConfig.TargetGroupStickinessConfig; s != nil {
					ra.Stickiness = &stickiness{Enabled: aws.ToBool(s.Enabled), DurationSeconds: s.DurationSeconds}
				}
			} else if arn := aws.ToString(a.TargetGroupArn); arn != "" {
				ra.TargetGroups = []target{{ARN: arn}}
			}
			if len(ra.TargetGroups) == 0 {
				return nil, fmt.Errorf("the listener's default forward action names no target group: %w", remediations.ErrInvalid)
			}
		case types.ActionTypeEnumRedirect:
			rc := a.RedirectConfig
			if rc == nil {
				return nil, fmt.Errorf("the listener's default redirect action has no configuration: %w", remediations.ErrInvalid)
			}
			ra.Redirect = &redirect{StatusCode: string(rc.StatusCode), Protocol: rc.Protocol, Host: rc.Host, Port: rc.Port, Path: rc.Path, Query: rc.Query}
		case types.ActionTypeEnumFixedResponse:
			fc := a.FixedResponseConfig
			if fc == nil {
				return nil, fmt.Errorf("the listener's default fixed-response action has no configuration: %w", remediations.ErrInvalid)
			}
			ra.FixedResponse = &fixedResponse{StatusCode: aws.ToString(fc.StatusCode), ContentType: aws.ToString(fc.ContentType), Body: aws.ToString(fc.MessageBody)}
		default:
			return nil, fmt.Errorf("the listener's default action %s cannot be copied into an allow rule (only forward, redirect and fixed-response can): drop allow_ips or change the default action: %w", a.Type, remediations.ErrInvalid)
		}
		out = append(out, ra)
	}
	return out, nil
}

// sameActions reports whether a listener's default actions still copy to
// want.
func sameActions(have []types.Action, want []ruleAction) bool {
	got, err := copyActions(have)
	if err != nil {
		return false
	}
	a, errA := json.Marshal(got)
	b, errB := json.Marshal(want)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// describeAction says in words what an action does, e.g.
// "forward to targetgroup/web/73e2d6bc24d8a067".
func describeAction(a ruleAction) string {
	switch {
	case a.FixedResponse != nil:
		return fmt.Sprintf("fixed-response %s %s (%d bytes)", a.FixedResponse.StatusCode, a.FixedResponse.ContentType, len(a.FixedResponse.Body))
	case a.Redirect != nil:
		r := a.Redirect
		return fmt.Sprintf("redirect %s to %s://%s:%s%s?%s", r.StatusCode, aws.ToString(r.Protocol), aws.ToString(r.Host), aws.ToString(r.Port), aws.ToString(r.Path), aws.ToString(r.Query))
	case len(a.TargetGroups) > 0:
		var names []string
		for _, t := range a.TargetGroups {
			n := shortARN(t.ARN)
			if t.Weight != nil {
				n += fmt.Sprintf(" (weight %d)", *t.Weight)
			}
			names = append(names, n)
		}
		return "forward to " + strings.Join(names, ", ")
	}
	return a.Type
}

// shortARN drops the "arn:aws:elasticloadbalancing:REGION:ACCOUNT:" prefix.
func shortARN(arn string) string {
	if i := strings.LastIndex(arn, ":"); i >= 0 && strings.HasPrefix(arn, "arn:") {
		return arn[i+1:]
	}
	return arn
}

// sdkConditions converts conditions for CreateRule.
func sdkConditions(cs []condition) []types.RuleCondition {
	out := make([]types.RuleCondition, 0, len(cs))
	for _, c := range cs {
		rc := types.RuleCondition{Field: aws.String(c.Field)}
		switch c.Field {
		case fieldPath:
			rc.PathPatternConfig = &types.PathPatternConditionConfig{Values: c.Values}
		case fieldHost:
			rc.HostHeaderConfig = &types.HostHeaderConditionConfig{Values: c.Values}
		case fieldSourceIP:
			rc.SourceIpConfig = &types.SourceIpConditionConfig{Values: c.Values}
		default:
			rc.Values = c.Values
		}
		out = append(out, rc)
	}
	return out
}

// sdkActions converts actions for CreateRule.
func sdkActions(as []ruleAction) []types.Action {
	out := make([]types.Action, 0, len(as))
	for _, a := range as {
		sa := types.Action{Type: types.ActionTypeEnum(a.Type), Order: a.Order}
		switch {
		case a.FixedResponse != nil:
			f := a.FixedResponse
			sa.FixedResponseConfig = &types.FixedResponseActionConfig{StatusCode: aws.String(f.StatusCode)}
			if f.ContentType != "" {
				sa.FixedResponseConfig.ContentType = aws.String(f.ContentType)
			}
			if f.Body != "" {
				sa.FixedResponseConfig.MessageBody = aws.String(f.Body)
			}
		case a.Redirect != nil:
			r := a.Redirect
			sa.RedirectConfig = &types.RedirectActionConfig{StatusCode: types.RedirectActionStatusCodeEnum(r.StatusCode), Protocol: r.Protocol, Host: r.Host, Port: r.Port, Path: r.Path, Query: r.Query}
		case len(a.TargetGroups) > 0:
			fc := &types.ForwardActionConfig{}
			for _, t := range a.TargetGroups {
				fc.TargetGroups = append(fc.TargetGroups, types.TargetGroupTuple{TargetGroupArn: aws.String(t.ARN), Weight: t.Weight})
			}
			if a.Stickiness != nil {
				fc.TargetGroupStickinessConfig = &types.TargetGroupStickinessConfig{Enabled: aws.Bool(a.Stickiness.Enabled), DurationSeconds: a.Stickiness.DurationSeconds}
			}
			sa.ForwardConfig = fc
		}
		out = append(out, sa)
	}
	return out
}

// ruleTags are the tags medic puts on a rule it creates.
func ruleTags(role, alarmName string) []types.Tag {
	tags := []types.Tag{
		{Key: aws.String(tagManaged), Value: aws.String("true")},
		{Key: aws.String(tagRole), Value: aws.String(role)},
		{Key: aws.String(tagAction), Value: aws.String(ActionName)},
	}
	if v := tagValue(alarmName); v != "" {
		tags = append(tags, types.Tag{Key: aws.String(tagAlarm), Value: aws.String(v)})
	}
	return tags
}

// tagValue makes s a valid ELB tag value: letters, digits, spaces and
// _ . : / = + - @, at most 256 characters.
func tagValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || strings.ContainsRune("_.:/=+-@", r) {
			return r
		}
		return '_'
	}, s)
	if r := []rune(s); len(r) > 256 {
		s = string(r[:256])
	}
	return strings.TrimSpace(s)
}
