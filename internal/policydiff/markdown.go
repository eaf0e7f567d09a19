package policydiff

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/medicbot/medic/internal/history"
	"github.com/medicbot/medic/internal/policy"
)

// Headings of the Markdown report, for tools and tests that read it.
const (
	HeadingTitle    = "## medic policy diff"
	HeadingWidening = "### ⚠ widens automation"
	HeadingAlarms   = "### Alarms handled differently"
	HeadingAdded    = "### Policies added"
	HeadingRemoved  = "### Policies removed"
	HeadingChanged  = "### Policies changed"
	HeadingReplay   = "### Replay of recorded alarms"
	HeadingNoChange = "No behaviour change."
)

// Markdown writes the report: its notes, then the widening findings, the
// alarms handled differently, the policies added, removed and changed, the
// history replay under both versions, and what was evaluated. Sections
// without content are left out. The output depends only on the report.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: `%s` → `%s`\n\n", HeadingTitle, r.BaseName, r.HeadName)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "> %s\n\n", n)
	}
	if !r.BehaviourChanged() {
		b.WriteString(HeadingNoChange + "\n\n")
	}
	if len(r.Widening) > 0 {
		b.WriteString(HeadingWidening + "\n\n")
		for _, f := range r.Widening {
			line := "- `" + f.Policy + "`"
			if f.Path != "" {
				line += " " + f.Path
			}
			line += ": " + f.Msg
			if f.Where != "" {
				line += " (" + f.Where + ")"
			}
			b.WriteString(line + "\n")
		}
		b.WriteString("\n")
	}
	if len(r.Alarms) > 0 {
		b.WriteString(HeadingAlarms + "\n\n")
		b.WriteString("| alarm | seen in | base | head |\n|---|---|---|---|\n")
		for _, a := range r.Alarms {
			src := a.Source
			if a.Count > 1 {
				src = fmt.Sprintf("%s (%d×)", src, a.Count)
			}
			head := outcomesText(a.Head)
			if a.Widens {
				head = "⚠ " + head
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", a.Alarm, cell(src), cell(outcomesText(a.Base)), cell(head))
		}
		b.WriteString("\n")
	}
	for _, s := range []struct {
		heading string
		refs    []PolicyRef
	}{{HeadingAdded, r.Added}, {HeadingRemoved, r.Removed}} {
		if len(s.refs) == 0 {
			continue
		}
		b.WriteString(s.heading + "\n\n")
		for _, p := range s.refs {
			fmt.Fprintf(&b, "- `%s` (%s): %s\n", p.Name, p.Where, p.Steps)
		}
		b.WriteString("\n")
	}
	if len(r.Changed) > 0 {
		b.WriteString(HeadingChanged + "\n\n")
		for _, c := range r.Changed {
			note := ""
			if c.Cosmetic() {
				note = " — wording only"
			}
			fmt.Fprintf(&b, "#### `%s` (%s)%s\n\n| field | base | head |\n|---|---|---|\n", c.Name, c.Where, note)
			for _, f := range c.Fields {
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Path, code(f.Base), code(f.Head))
			}
			b.WriteString("\n")
		}
	}
	if r.BaseReplay != nil && r.HeadReplay != nil {
		writeReplay(&b, r.BaseReplay, r.HeadReplay)
	}
	fmt.Fprintf(&b, "_Evaluated %d fixture alarm(s) (base ∪ head)", r.Samples)
	if r.BaseReplay != nil {
		fmt.Fprintf(&b, " and %d recorded state change(s)", r.HistoryRecords)
	}
	b.WriteString(" under both versions._\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeReplay writes one table row per policy of either version: how often
// it fired and what it did first, base and head, and the self-resolved
// hint under head.
func writeReplay(b *strings.Builder, base, head *history.Replay) {
	fmt.Fprintf(b, "%s\n\n%d recorded state change(s), %d to ALARM; ALARM transitions matched by no policy: %d (base), %d (head).\n\n",
		HeadingReplay, head.Records, head.AlarmTransitions, base.Unmatched, head.Unmatched)
	b.WriteString("| policy | fired (base → head) | first step (base → head) | returned to OK by itself (head) |\n|---|---|---|---|\n")
	names := make(map[string]bool)
	for _, p := range base.Policies {
		names[p.Policy] = true
	}
	for _, p := range head.Policies {
		names[p.Policy] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		bp, hp := base.Policy(name), head.Policy(name)
		fired := fmt.Sprintf("%s → %s", firedText(bp), firedText(hp))
		first := fmt.Sprintf("%s → %s", stepText(bp), stepText(hp))
		resolved := "-"
		if hp != nil {
			resolved = hp.SelfResolvedText()
			if hp.Fired > 0 {
				resolved += " within " + policy.FormatDuration(hp.Window)
			}
		}
		mark := ""
		if firedText(bp) != firedText(hp) || stepText(bp) != stepText(hp) {
			mark = " ✱"
		}
		fmt.Fprintf(b, "| `%s`%s | %s | %s | %s |\n", name, mark, fired, cell(first), resolved)
	}
	b.WriteString("\n✱ behaves differently on the recorded alarms. _Fired_: matched and not held back by the policy's cooldown on the same target " +
		"or its cap for the hour (nor unable to render). _Returned to OK by itself_: of the firings, those whose alarm's next state change was to OK " +
		"within the window in which neither a human nor the next step would have acted (the second step's `after`, else the cooldown).\n\n")
}

func firedText(p *history.PolicyReplay) string {
	switch {
	case p == nil:
		return "absent"
	case !p.Enabled:
		return "disabled"
	}
	return p.FiredText()
}

func stepText(p *history.PolicyReplay) string {
	if p == nil {
		return "absent"
	}
	return p.FirstStep()
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

// code renders a field value as inline code, "—" when absent.
func code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + strings.ReplaceAll(cell(s), "`", "'") + "`"
}
