package alb

import (
	"fmt"
	"slices"
	"strings"

	"github.com/medicbot/medic/remediations"
)

// Values of the shadowing parameter: what Plan does when rules medic does
// not own would answer maintenance requests ahead of the 503 rule.
const (
	ShadowingMove   = "move"
	ShadowingRefuse = "refuse"
)

// shadow is a rule medic does not own that takes some of the maintenance
// requests: ahead of the 503 rule it would answer them instead.
type shadow struct {
	ARN      string
	Priority int32
	Rule     string // describeExisting
	// Unsure names the conditions medic could not evaluate and assumed to
	// hold; "" when the rule surely takes some of the requests.
	Unsure string
}

// String names the rule for people: "rule <arn> at priority 1 (path-pattern
// /* -> forward to targetgroup/api/...)".
func (s shadow) String() string {
	out := fmt.Sprintf("rule %s at priority %d (%s)", s.ARN, s.Priority, s.Rule)
	if s.Unsure != "" {
		out += " [assumed to match: " + s.Unsure + "]"
	}
	return out
}

// shadows lists the rules medic does not own that take some of q, by
// priority.
func shadows(rules []listenerRule, q requests) []shadow {
	var out []shadow
	for _, r := range rules {
		if r.Default || r.medic() {
			continue
		}
		if ok, unsure := takes(r, q); ok {
			out = append(out, shadow{ARN: r.ARN, Priority: r.Priority, Rule: describeExisting(r), Unsure: unsure})
		}
	}
	return out
}

// ruleMove is one rule medic does not own that Apply renumbers to make room
// for medic's rules, and Undo numbers back.
type ruleMove struct {
	ARN  string `json:"arn"`
	From int32  `json:"from"`
	To   int32  `json:"to"`
	// Rule says in words what the rule does (describeExisting); Apply
	// refuses when it changed since the plan.
	Rule string `json:"rule"`
	// Why says why it moves: it takes maintenance requests, or it only
	// keeps its place behind a rule that does.
	Why string `json:"why"`
}

// placement is where medic's rules go on a listener.
type placement struct {
	// Priorities are medic's rules' priorities, ascending: the allow rules
	// first, the 503 rule last.
	Priorities []int32
	// Moves renumber the rules from the first shadowing one up, keeping
	// their order, so that all of medic's rules come before it; empty when
	// the free priorities ahead of the first shadowing rule suffice.
	Moves []ruleMove
	// Shadows are the rules that take maintenance requests and sit where
	// the 503 rule would go without moves (at lower numbers than the n-th
	// free priority): the ones a "refuse" plan names.
	Shadows []shadow
}

// place decides where n medic rules go on a listener with rules (in any
// order; medic's own are never counted as shadowing) so that the last of them, the 503
// rule, answers every request of q: before every rule that takes some of
// them. It takes free priorities ahead of the first such rule; when fewer
// than n are free there, it renumbers that rule and the ones right behind
// it, in order, into free priorities further on (never onto a number that
// is taken, so one SetRulePriorities call does it), moving as few rules as
// it can. The listener's rules keep their order relative to each other,
// so routing of requests outside maintenance does not change. It fails
// with remediations.ErrInvalid when ALB's 50,000 priorities leave no room.
func place(rules []listenerRule, q requests, n int) (placement, error) {
	if n < 1 || n > maxPriority {
		return placement{}, fmt.Errorf("place rules: %d rules cannot be placed: %w", n, remediations.ErrInvalid)
	}
	rules = slices.Clone(rules)
	slices.SortStableFunc(rules, byPriority)
	taken := make(map[int32]bool, len(rules))
	var others []listenerRule // non-default rules by priority
	for _, r := range rules {
		if !r.Default {
			taken[r.Priority] = true
			others = append(others, r)
		}
	}
	var pl placement
	sh := shadows(rules, q)
	why := make(map[string]string, len(sh))
	for _, s := range sh {
		why[s.ARN] = "answers maintenance requests"
		if s.Unsure != "" {
			why[s.ARN] = "may answer maintenance requests (" + s.Unsure + ")"
		}
	}
	first := int32(maxPriority + 1) // the first shadowing rule's priority
	if len(sh) > 0 {
		first = sh[0].Priority
	}
	var free []int32 // the n lowest free priorities, as if nothing moved
	for p := int32(minPriority); p <= maxPriority && len(free) < n; p++ {
		if !taken[p] {
			free = append(free, p)
		}
	}
	for _, s := range sh {
		if len(free) < n || s.Priority < free[n-1] {
			pl.Shadows = append(pl.Shadows, s)
		}
	}
	if len(free) == n && free[n-1] < first {
		pl.Priorities = free
		return pl, nil
	}

	// Medic takes the free priorities ahead of first, then first and the
	// d numbers after it; the rules there move into free numbers behind.
	for _, p := range free {
		if p < first {
			pl.Priorities = append(pl.Priorities, p)
		}
	}
	d := int32(n - len(pl.Priorities))
	var behind []listenerRule // rules from first up
	for _, r := range others {
		if r.Priority >= first {
			behind = append(behind, r)
		}
	}
	// Move the first j rules of behind into the first j free numbers after
	// medic's; the rule after them stays, so those must all be below it.
	var targets []int32 // free numbers after medic's, as far as needed
	next := first + d
	for j := 1; j <= len(behind) && first+d-1 <= maxPriority; j++ {
		limit := int32(maxPriority + 1)
		if j < len(behind) {
			limit = behind[j].Priority
		}
		for ; len(targets) < j && next < limit; next++ {
			if !taken[next] {
				targets = append(targets, next)
			}
		}
		if len(targets) < j || first+d-1 >= limit {
			continue
		}
		for p := first; p < first+d; p++ {
			pl.Priorities = append(pl.Priorities, p)
		}
		for i, r := range behind[:j] {
			w := why[r.ARN]
			if w == "" {
				w = "keeps its place behind a rule that moves"
			}
			pl.Moves = append(pl.Moves, ruleMove{ARN: r.ARN, From: r.Priority, To: targets[i], Rule: describeExisting(r), Why: w})
		}
		return pl, nil
	}
	if len(sh) == 0 {
		return placement{}, fmt.Errorf("cannot place %d rule(s): the listener has only %d free priorities from %d to %d: %w", n, len(free), minPriority, maxPriority, remediations.ErrInvalid)
	}
	return placement{}, fmt.Errorf("cannot place %d rule(s) ahead of %s: the listener has too few free priorities up to %d: %w", n, sh[0], maxPriority, remediations.ErrInvalid)
}

// describeMoves says in words how rules move, e.g. "rule at priority 1
// (path-pattern /* -> forward to ...; answers maintenance requests) -> 3".
func describeMoves(ms []ruleMove) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("rule at priority %d (%s; %s) -> %d", m.From, m.Rule, m.Why, m.To))
	}
	return strings.Join(parts, ", ")
}

// describeShadows lists shadowing rules for an error.
func describeShadows(sh []shadow) string {
	parts := make([]string, 0, len(sh))
	for _, s := range sh {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, "; ")
}
