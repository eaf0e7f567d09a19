package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/store"
)

// Summary is what medic did per policy over a window.
type Summary struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Incidents counts the incidents opened in the window, Resolved those
	// of them that recovered in it.
	Incidents int `json:"incidents"`
	Resolved  int `json:"resolved"`
	// Executed counts the steps that started executing.
	Executed int             `json:"executed"`
	Policies []PolicySummary `json:"policies"`
}

// PolicySummary is one policy's share of a Summary.
type PolicySummary struct {
	Policy    string `json:"policy"`
	Incidents int    `json:"incidents"`
	Proposed  int    `json:"proposed"`
	Executed  int    `json:"executed"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	Rejected  int    `json:"rejected"`
	// Undone counts the steps undone at a person's request; UndoneOnRecovery
	// those medic undid because the alarm recovered (on_recovery: undo).
	Undone           int `json:"undone"`
	UndoneOnRecovery int `json:"undone_on_recovery"`
	Expired          int `json:"expired"`
	Blocked          int `json:"blocked"`
	// Approvals counts the steps people approved; ApprovalMedian and
	// ApprovalMax are the time from proposal to approval.
	Approvals      int      `json:"approvals"`
	ApprovalMedian Duration `json:"approval_median,omitzero"`
	ApprovalMax    Duration `json:"approval_max,omitzero"`
	// FalsePositives counts the incidents in which a step of the policy was
	// rejected or undone by a person: the policy acted, or wanted to, where
	// people judged it should not have.
	FalsePositives int `json:"false_positives"`
}

// Summarise aggregates audit entries (of the window [from, to]) per policy.
// A proposal counts for the policy named in its ID.
func Summarise(entries []store.AuditEntry, from, to time.Time) Summary {
	s := Summary{From: sec(from), To: sec(to), Policies: []PolicySummary{}}
	entries = slices.Clone(entries)
	slices.SortStableFunc(entries, func(a, b store.AuditEntry) int { return a.Time.Compare(b.Time) })

	type acc struct {
		PolicySummary
		incidents map[string]bool
		executed  map[string]bool
		falsePos  map[string]bool
		latencies []time.Duration
	}
	by := make(map[string]*acc)
	opened := make(map[string]time.Time) // proposal -> created
	humanUndo := make(map[string]bool)   // proposals a person asked to undo
	for _, e := range entries {
		switch e.Event {
		case "incident.opened":
			s.Incidents++
			continue
		case "incident.resolved":
			s.Resolved++
			continue
		}
		if e.Proposal == "" {
			continue
		}
		_, pol, _, err := store.ParseProposalID(e.Proposal)
		if err != nil {
			continue
		}
		a := by[pol]
		if a == nil {
			a = &acc{PolicySummary: PolicySummary{Policy: pol}, incidents: map[string]bool{}, executed: map[string]bool{}, falsePos: map[string]bool{}}
			by[pol] = a
		}
		human := e.Who != "" && e.Who != "medic"
		switch e.Event {
		case "proposal.created":
			a.Proposed++
			a.incidents[e.Incident] = true
			opened[e.Proposal] = e.Time
			if e.To == store.StateBlocked {
				a.Blocked++
			}
		case "proposal.approved":
			if human {
				a.Approvals++
				if t, ok := opened[e.Proposal]; ok {
					a.latencies = append(a.latencies, e.Time.Sub(t))
				}
			}
		case "proposal.executing":
			if !a.executed[e.Proposal] {
				a.executed[e.Proposal] = true
				a.Executed++
				s.Executed++
			}
		case "proposal.succeeded":
			a.Succeeded++
		case "proposal.failed":
			a.Failed++
		case "proposal.rejected":
			a.Rejected++
			a.falsePos[e.Incident] = true
		case "proposal.expired":
			a.Expired++
		case "proposal.blocked":
			a.Blocked++
		case "undo.requested":
			if human {
				humanUndo[e.Proposal] = true
			}
		case "proposal.undone":
			if humanUndo[e.Proposal] {
				a.Undone++
				a.falsePos[e.Incident] = true
			} else {
				a.UndoneOnRecovery++
			}
		}
	}
	for _, name := range sortedKeys(by) {
		a := by[name]
		a.Incidents = len(a.incidents)
		a.FalsePositives = len(a.falsePos)
		if n := len(a.latencies); n > 0 {
			slices.Sort(a.latencies)
			med := a.latencies[n/2]
			if n%2 == 0 {
				med = (a.latencies[n/2-1] + a.latencies[n/2]) / 2
			}
			a.ApprovalMedian, a.ApprovalMax = Duration(med.Round(time.Second)), Duration(a.latencies[n-1].Round(time.Second))
		}
		s.Policies = append(s.Policies, a.PolicySummary)
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Markdown writes s as a Markdown table, one row per policy.
func (s Summary) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# medic from %s to %s\n\n", stamp(s.From), stamp(s.To))
	fmt.Fprintf(&b, "%d incident(s) opened, %d resolved; %d step(s) executed.\n\n", s.Incidents, s.Resolved, s.Executed)
	if len(s.Policies) == 0 {
		b.WriteString("No policy proposed anything.\n")
	} else {
		b.WriteString("| policy | incidents | proposed | executed | succeeded | failed | rejected | undone (by a person / on recovery) | expired | blocked | approvals | approval median | approval max | false positives |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, p := range s.Policies {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d / %d | %d | %d | %d | %s | %s | %d |\n",
				cell(p.Policy), p.Incidents, p.Proposed, p.Executed, p.Succeeded, p.Failed, p.Rejected, p.Undone, p.UndoneOnRecovery,
				p.Expired, p.Blocked, p.Approvals, orDash(p.Approvals, p.ApprovalMedian), orDash(p.Approvals, p.ApprovalMax), p.FalsePositives)
		}
		var flagged []string
		for _, p := range s.Policies {
			if p.FalsePositives > 0 {
				flagged = append(flagged, fmt.Sprintf("%s (%d)", p.Policy, p.FalsePositives))
			}
		}
		if len(flagged) > 0 {
			fmt.Fprintf(&b, "\nPossible false positives (a step rejected or undone by a person): %s. Review their match and steps.\n", mdText(strings.Join(flagged, ", ")))
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// JSON writes s as one indented JSON object.
func (s Summary) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write summary as json: %w", err)
	}
	return nil
}

func orDash(n int, d Duration) string {
	if n == 0 {
		return "-"
	}
	return d.String()
}
