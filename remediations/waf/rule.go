package waf

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/wafv2/types"
)

// rulePrefix starts the name of every rule medic creates; medic finds its
// rules by it (WAF rules carry no tags).
const rulePrefix = "medic-rate-limit-"

// rateRule is a rate-based rule in medic's shape: what a plan sets and a
// result records, and what medic reads back from a web ACL.
type rateRule struct {
	Name     string `json:"name"`
	Priority int32  `json:"priority"`
	Limit    int64  `json:"limit"`
	Window   int64  `json:"window"`
	Key      string `json:"key"`
	Header   string `json:"header,omitempty"`
	Path     string `json:"path_prefix,omitempty"`
	Host     string `json:"host,omitempty"`
	Action   string `json:"action"`
}

// ruleName names medic's rule for a scope (key, header, path prefix, host):
// one rule per scope, so a later plan for the same scope tightens it.
func ruleName(key, header, path, host string) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s", key, strings.ToLower(header), path, strings.ToLower(host))
	return fmt.Sprintf("%s%08x", rulePrefix, h.Sum32())
}

// String says in words what the rule does, e.g. "500 requests per 5 min per
// IP on path /api/* -> block".
func (r rateRule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests per %s per ", r.Limit, windowText(r.Window))
	if r.Key == KeyForwardedIP {
		fmt.Fprintf(&b, "forwarded IP (%s)", r.Header)
	} else {
		b.WriteString("IP")
	}
	if r.Path != "" {
		fmt.Fprintf(&b, " on path %s*", r.Path)
	}
	if r.Host != "" {
		fmt.Fprintf(&b, " for host %s", r.Host)
	}
	b.WriteString(" -> " + r.Action)
	return b.String()
}

func windowText(sec int64) string {
	if sec%60 == 0 {
		return fmt.Sprintf("%d min", sec/60)
	}
	return fmt.Sprintf("%d s", sec)
}

// sdk returns the rule as WAF takes it.
func (r rateRule) sdk() types.Rule {
	st := &types.RateBasedStatement{
		Limit:               aws.Int64(r.Limit),
		EvaluationWindowSec: r.Window,
		AggregateKeyType:    types.RateBasedStatementAggregateKeyTypeIp,
	}
	if r.Key == KeyForwardedIP {
		st.AggregateKeyType = types.RateBasedStatementAggregateKeyTypeForwardedIp
		// Requests without the header are not counted: treating them as
		// matching would throttle them all as one client.
		st.ForwardedIPConfig = &types.ForwardedIPConfig{HeaderName: aws.String(r.Header), FallbackBehavior: types.FallbackBehaviorNoMatch}
	}
	var scope []types.Statement
	if r.Path != "" {
		scope = append(scope, types.Statement{ByteMatchStatement: &types.ByteMatchStatement{
			FieldToMatch:         &types.FieldToMatch{UriPath: &types.UriPath{}},
			PositionalConstraint: types.PositionalConstraintStartsWith,
			SearchString:         []byte(r.Path),
			TextTransformations:  []types.TextTransformation{{Priority: 0, Type: types.TextTransformationTypeNone}},
		}})
	}
	if r.Host != "" {
		scope = append(scope, types.Statement{ByteMatchStatement: &types.ByteMatchStatement{
			FieldToMatch:         &types.FieldToMatch{SingleHeader: &types.SingleHeader{Name: aws.String("host")}},
			PositionalConstraint: types.PositionalConstraintExactly,
			SearchString:         []byte(strings.ToLower(r.Host)),
			TextTransformations:  []types.TextTransformation{{Priority: 0, Type: types.TextTransformationTypeLowercase}},
		}})
	}
	switch len(scope) {
	case 1:
		st.ScopeDownStatement = &scope[0]
	case 2:
		st.ScopeDownStatement = &types.Statement{AndStatement: &types.AndStatement{Statements: scope}}
	}
	action := &types.RuleAction{}
	switch r.Action {
	case ActionCaptcha:
		action.Captcha = &types.CaptchaAction{}
	case ActionChallenge:
		action.Challenge = &types.ChallengeAction{}
	case ActionCount:
		action.Count = &types.CountAction{}
	default:
		action.Block = &types.BlockAction{}
	}
	return types.Rule{
		Name:      aws.String(r.Name),
		Priority:  r.Priority,
		Statement: &types.Statement{RateBasedStatement: st},
		Action:    action,
		VisibilityConfig: &types.VisibilityConfig{
			CloudWatchMetricsEnabled: true,
			SampledRequestsEnabled:   true,
			MetricName:               aws.String(r.Name),
		},
	}
}

// fromSDK reads a rule back in medic's shape; ok is false when the rule is
// not a rate-based rule medic could have made (a hand edit changed its
// shape), in which case medic neither tightens nor removes it.
func fromSDK(r types.Rule) (rateRule, bool) {
	out := rateRule{Name: aws.ToString(r.Name), Priority: r.Priority}
	if r.Statement == nil || r.Statement.RateBasedStatement == nil || r.Action == nil {
		return out, false
	}
	st := r.Statement.RateBasedStatement
	out.Limit = aws.ToInt64(st.Limit)
	out.Window = st.EvaluationWindowSec
	if out.Window == 0 {
		out.Window = 300 // WAF's default
	}
	switch st.AggregateKeyType {
	case types.RateBasedStatementAggregateKeyTypeIp:
		out.Key = KeyIP
	case types.RateBasedStatementAggregateKeyTypeForwardedIp:
		if st.ForwardedIPConfig == nil {
			return out, false
		}
		out.Key, out.Header = KeyForwardedIP, aws.ToString(st.ForwardedIPConfig.HeaderName)
	default:
		return out, false
	}
	var scope []types.Statement
	if sd := st.ScopeDownStatement; sd != nil {
		if sd.AndStatement != nil {
			scope = sd.AndStatement.Statements
		} else {
			scope = []types.Statement{*sd}
		}
	}
	for _, s := range scope {
		bm := s.ByteMatchStatement
		switch {
		case bm == nil || bm.FieldToMatch == nil:
			return out, false
		case bm.FieldToMatch.UriPath != nil && bm.PositionalConstraint == types.PositionalConstraintStartsWith && out.Path == "":
			out.Path = string(bm.SearchString)
		case bm.FieldToMatch.SingleHeader != nil && strings.EqualFold(aws.ToString(bm.FieldToMatch.SingleHeader.Name), "host") && out.Host == "":
			out.Host = string(bytes.ToLower(bm.SearchString))
		default:
			return out, false
		}
	}
	switch a := r.Action; {
	case a.Block != nil:
		out.Action = ActionBlock
	case a.Captcha != nil:
		out.Action = ActionCaptcha
	case a.Challenge != nil:
		out.Action = ActionChallenge
	case a.Count != nil:
		out.Action = ActionCount
	default:
		return out, false
	}
	return out, true
}

// findRule returns the rule named name in rules.
func findRule(rules []types.Rule, name string) (types.Rule, bool) {
	for _, r := range rules {
		if aws.ToString(r.Name) == name {
			return r, true
		}
	}
	return types.Rule{}, false
}

// freePriority returns the lowest priority no rule of rules uses.
func freePriority(rules []types.Rule) int32 {
	used := make(map[int32]bool, len(rules))
	for _, r := range rules {
		used[r.Priority] = true
	}
	p := int32(0)
	for used[p] {
		p++
	}
	return p
}

// allowsAhead names the rules ahead of priority p that allow requests:
// requests they allow never reach medic's rule and are not counted.
func allowsAhead(rules []types.Rule, p int32) []string {
	var out []string
	for _, r := range rules {
		if r.Priority < p && r.Action != nil && r.Action.Allow != nil {
			out = append(out, fmt.Sprintf("%s (priority %d)", aws.ToString(r.Name), r.Priority))
		}
	}
	return out
}

// withRule returns rules with r in place of the rule of the same name, or
// added when there is none.
func withRule(rules []types.Rule, r types.Rule) []types.Rule {
	out := make([]types.Rule, 0, len(rules)+1)
	done := false
	for _, x := range rules {
		if aws.ToString(x.Name) == aws.ToString(r.Name) {
			out = append(out, r)
			done = true
			continue
		}
		out = append(out, x)
	}
	if !done {
		out = append(out, r)
	}
	return out
}

// withoutRule returns rules without the rule named name.
func withoutRule(rules []types.Rule, name string) []types.Rule {
	out := make([]types.Rule, 0, len(rules))
	for _, x := range rules {
		if aws.ToString(x.Name) != name {
			out = append(out, x)
		}
	}
	return out
}
