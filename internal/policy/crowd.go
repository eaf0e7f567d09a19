package policy

import (
	"fmt"
	"strings"
)

// ApprovalCrowds warns of policies that could put more steps awaiting
// approval on one alarm's card than the card keeps buttons for (limit: the
// Slack package's MaxActionableSteps). All the policies that match an alarm
// share its card, and each shows at most one step awaiting approval at a
// time (its ladder proposes one step at a time), so a policy is warned of
// when it and more than limit-1 other policies with a required step may
// match the same alarm.
//
// "May match the same alarm" is judged conservatively, from the match
// blocks alone (every policy answers ALARM, see ActsOn): two policies cannot
// both match when their alarm-name, account, region or shared tag patterns
// cannot both hold (literal values that differ, a literal the other's glob
// does not match, globs whose literal prefixes part ways). Anything else may
// overlap. Disabled policies never match.
//
// Each warning names the policy's file, line and path, as the problems of
// Load do; the set stays valid.
func (s *Set) ApprovalCrowds(limit int) Errors {
	var asking []*Policy
	for _, p := range s.policies {
		if p.matcher.enabled && asksApproval(p) {
			asking = append(asking, p)
		}
	}
	var out Errors
	index := map[string]int{} // the next policy's index in its file
	positions := map[*Policy]int{}
	for _, p := range s.policies {
		positions[p] = index[p.File]
		index[p.File]++
	}
	for _, p := range asking {
		var with []string
		for _, q := range asking {
			if q != p && mayOverlap(&p.matcher, &q.matcher) {
				with = append(with, q.Name)
			}
		}
		if 1+len(with) <= limit {
			continue
		}
		shown := with
		if len(shown) > 5 {
			shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(with)-5))
		}
		out = append(out, &Error{
			File: p.File, Line: p.Line, Path: fmt.Sprintf("policies[%d]", positions[p]),
			Msg: fmt.Sprintf("%d policies that ask for approval may match the same alarm as this one (%s); "+
				"a card is sure to keep the buttons of only %d steps awaiting approval, the rest wait off it: "+
				"narrow the match blocks so that fewer can match together", len(with), strings.Join(shown, ", "), limit),
		})
	}
	out.sort()
	return out
}

func asksApproval(p *Policy) bool {
	for _, st := range p.Steps {
		if st.Approval == ApprovalRequired {
			return true
		}
	}
	return false
}

// mayOverlap reports whether some alarm could match both a and b.
func mayOverlap(a, b *matcher) bool {
	if !a.enabled || !b.enabled ||
		a.alarm.disjoint(b.alarm) || a.accounts.disjoint(b.accounts) || a.regions.disjoint(b.regions) {
		return false
	}
	for _, ta := range a.tags {
		for _, tb := range b.tags {
			if ta.key == tb.key && ta.glob.disjoint(tb.glob) {
				return false
			}
		}
	}
	return true
}

// disjoint reports whether no string can match both gs and hs. Empty lists
// match anything.
func (gs globs) disjoint(hs globs) bool {
	if len(gs) == 0 || len(hs) == 0 {
		return false
	}
	for _, g := range gs {
		for _, h := range hs {
			if !g.disjoint(h) {
				return false
			}
		}
	}
	return true
}

// disjoint reports whether no string can match both g and h, as far as
// their literal text shows.
func (g glob) disjoint(h glob) bool {
	switch {
	case g.literal && h.literal:
		return g.pattern != h.pattern
	case g.literal:
		return !h.match(g.pattern)
	case h.literal:
		return !g.match(h.pattern)
	}
	pg, ph := g.prefix(), h.prefix()
	return !strings.HasPrefix(pg, ph) && !strings.HasPrefix(ph, pg)
}
