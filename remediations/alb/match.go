package alb

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Rule condition fields ALB evaluates that medic reads but never creates.
const (
	fieldMethod      = "http-request-method"
	fieldHTTPHeader  = "http-header"
	fieldQueryString = "query-string"
)

// requests describes a set of requests as ALB rule conditions see them:
// every request whose path matches one of Paths and, when Hosts is set,
// whose host matches one of Hosts and, when Methods is set, whose method is
// one of Methods. Paths and Hosts are ALB wildcard patterns ('*' any run of
// characters, '?' exactly one), so one concrete request is a requests value
// without wildcards. Nothing else (client address, headers, query string)
// is constrained.
type requests struct {
	Paths   []string `json:"paths"`
	Hosts   []string `json:"hosts,omitempty"`
	Methods []string `json:"methods,omitempty"`
}

// String says which requests these are, e.g. "paths /* of hosts
// shop.example.com".
func (q requests) String() string {
	s := "paths " + strings.Join(q.Paths, ", ")
	if len(q.Hosts) > 0 {
		s += " of hosts " + strings.Join(q.Hosts, ", ")
	}
	if len(q.Methods) > 0 {
		s += " with methods " + strings.Join(q.Methods, ", ")
	}
	return s
}

// takes reports whether rule r takes some of the requests q: every one of
// its conditions can hold for one request of q. A condition medic cannot
// evaluate (an unknown field, regex values) is assumed to hold, and unsure
// names it, so that callers treat such a rule as taking the requests and can
// say why. A condition that surely fails makes takes false whatever the
// others are. The default rule takes every request.
func takes(r listenerRule, q requests) (ok bool, unsure string) {
	var unknown []string
	for _, c := range r.Conditions {
		holds, why := conditionHolds(c, q)
		if !holds {
			return false, ""
		}
		if why != "" {
			unknown = append(unknown, why)
		}
	}
	return true, strings.Join(unknown, "; ")
}

// conditionHolds reports whether condition c can hold for one request of
// q; unsure is set when medic cannot evaluate c and assumed it holds.
func conditionHolds(c types.RuleCondition, q requests) (holds bool, unsure string) {
	field := aws.ToString(c.Field)
	switch field {
	case fieldPath:
		var values, regex []string
		if c.PathPatternConfig != nil {
			values, regex = c.PathPatternConfig.Values, c.PathPatternConfig.RegexValues
		}
		return patternsHold(field, orValues(values, c.Values), regex, q.Paths, false)
	case fieldHost:
		if len(q.Hosts) == 0 {
			return true, "" // every host is among the requests
		}
		var values, regex []string
		if c.HostHeaderConfig != nil {
			values, regex = c.HostHeaderConfig.Values, c.HostHeaderConfig.RegexValues
		}
		return patternsHold(field, orValues(values, c.Values), regex, q.Hosts, true)
	case fieldMethod:
		if len(q.Methods) == 0 {
			return true, ""
		}
		var values []string
		if c.HttpRequestMethodConfig != nil {
			values = c.HttpRequestMethodConfig.Values
		}
		values = orValues(values, c.Values)
		if len(values) == 0 {
			return true, field + " condition without values"
		}
		for _, v := range values {
			if slices.Contains(q.Methods, v) {
				return true, ""
			}
		}
		return false, ""
	case fieldSourceIP, fieldHTTPHeader, fieldQueryString:
		// The requests are every client's, with any headers and query
		// string: some of them satisfy such a condition.
		return true, ""
	}
	if field == "" {
		return true, "a condition without a field"
	}
	return true, "condition " + field + " cannot be evaluated"
}

// patternsHold reports whether one of a condition's patterns (values) and
// one of want can match the same string; fold compares case-insensitively,
// as ALB compares host names.
func patternsHold(field string, values, regex, want []string, fold bool) (bool, string) {
	if len(regex) > 0 {
		return true, fmt.Sprintf("%s regex %s cannot be evaluated", field, strings.Join(regex, ","))
	}
	if len(values) == 0 {
		return true, field + " condition without values"
	}
	for _, v := range values {
		for _, w := range want {
			if fold {
				v, w = strings.ToLower(v), strings.ToLower(w)
			}
			if globsOverlap(v, w) {
				return true, ""
			}
		}
	}
	return false, ""
}

// orValues returns values, or the legacy Values field when values is empty.
func orValues(values, legacy []string) []string {
	if len(values) > 0 {
		return values
	}
	return legacy
}

// globsOverlap reports whether some string matches both ALB wildcard
// patterns a and b, where '*' matches any run of characters (also none) and
// '?' exactly one. A pattern without wildcards is one string, so
// globsOverlap("/api/*", "/api/orders") says whether the pattern matches the
// path. It walks pairs of positions (i in a, j in b) reachable while
// spelling one common string, so it takes at most len(a)*len(b) steps.
func globsOverlap(a, b string) bool {
	x, y := []rune(a), []rune(b)
	type pos struct{ i, j int }
	seen := make(map[pos]bool)
	todo := []pos{{0, 0}}
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		if p.i == len(x) && p.j == len(y) {
			return true
		}
		// A '*' may match nothing.
		if p.i < len(x) && x[p.i] == '*' {
			todo = append(todo, pos{p.i + 1, p.j})
		}
		if p.j < len(y) && y[p.j] == '*' {
			todo = append(todo, pos{p.i, p.j + 1})
		}
		// Both patterns take the next character of the common string; a
		// '*' stays where it is, as it may take more.
		if p.i < len(x) && p.j < len(y) && (isWild(x[p.i]) || isWild(y[p.j]) || x[p.i] == y[p.j]) {
			next := pos{p.i + 1, p.j + 1}
			if x[p.i] == '*' {
				next.i = p.i
			}
			if y[p.j] == '*' {
				next.j = p.j
			}
			todo = append(todo, next)
		}
	}
	return false
}

func isWild(r rune) bool { return r == '*' || r == '?' }

// firstTaker returns the rule that answers first among rules for some of
// the requests q: the lowest-numbered rule that takes some of them, the
// default rule when no other does. ALB evaluates rules from the lowest
// priority number up and stops at the first whose conditions all hold.
// When that rule's conditions could not all be evaluated, unsure says
// which. rules may be in any order; ok is false when rules is empty.
func firstTaker(rules []listenerRule, q requests) (first listenerRule, unsure string, ok bool) {
	sorted := slices.Clone(rules)
	slices.SortStableFunc(sorted, byPriority)
	for _, r := range sorted {
		if t, why := takes(r, q); t {
			return r, why, true
		}
	}
	return listenerRule{}, "", false
}

// byPriority orders rules as ALB evaluates them: by priority number, the
// default rule last.
func byPriority(a, b listenerRule) int {
	switch {
	case a.Default != b.Default:
		if a.Default {
			return 1
		}
		return -1
	default:
		return int(a.Priority) - int(b.Priority)
	}
}
