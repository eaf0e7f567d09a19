package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Markdown writes r as a Markdown document.
func (r Report) Markdown(w io.Writer) error {
	var b strings.Builder
	state := "open"
	if r.Resolved {
		state = "resolved"
	}
	fmt.Fprintf(&b, "# Incident %s: %s (%s)\n\n", r.Incident, mdText(r.Alarm), state)
	fmt.Fprintf(&b, "- **Alarm:** `%s` fired at %s", r.AlarmARN, stamp(r.AlarmAt))
	if r.Account != "" {
		fmt.Fprintf(&b, " (account %s, %s)", r.Account, r.Region)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "- **Policies:** %s\n", orNone(strings.Join(r.Policies, ", ")))
	fmt.Fprintf(&b, "- **Time to first action:** %s\n", since(r.TimeToFirstAction, r.FirstActionAt, "no step ran"))
	fmt.Fprintf(&b, "- **Time to recovery:** %s\n", since(r.TimeToRecovery, r.RecoveredAt, "not recovered"))
	for _, l := range r.Links {
		fmt.Fprintf(&b, "- [%s](%s)\n", mdText(l.Text), l.URL)
	}

	b.WriteString("\n## What ran\n\n")
	writeSteps(&b, r.Ran, "Nothing ran.")
	b.WriteString("\n## What did not run\n\n")
	writeSteps(&b, r.NotRun, "Every proposed step ran.")

	b.WriteString("\n## Timeline\n\n| time (UTC) | what | who |\n|---|---|---|\n")
	for _, e := range r.Timeline {
		fmt.Fprintf(&b, "| %s | %s: %s | %s |\n", e.At.UTC().Format("2006-01-02 15:04:05"), e.Kind, cell(e.Text), cell(e.Who))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write report of incident %s: %w", r.Incident, err)
	}
	return nil
}

// JSON writes r as one indented JSON object.
func (r Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report of incident %s as json: %w", r.Incident, err)
	}
	return nil
}

func writeSteps(b *strings.Builder, steps []Step, none string) {
	if len(steps) == 0 {
		b.WriteString(none + "\n")
		return
	}
	for _, s := range steps {
		fmt.Fprintf(b, "- **%s step %d** `%s`: %s", mdText(s.Policy), s.Step, s.Action, strings.ToLower(s.State))
		if s.Plan != "" {
			fmt.Fprintf(b, "; plan: %s", mdText(s.Plan))
		}
		if s.Outcome != "" {
			fmt.Fprintf(b, "; %s", mdText(s.Outcome))
		}
		if len(s.ApprovedBy) > 0 {
			fmt.Fprintf(b, "; approved by %s", strings.Join(s.ApprovedBy, ", "))
		}
		if s.DecidedBy != "" && !strings.Contains(s.Outcome, s.DecidedBy) {
			verb := "undo asked by"
			if s.State == "REJECTED" {
				verb = "rejected by"
			}
			fmt.Fprintf(b, "; %s %s", verb, s.DecidedBy)
		}
		b.WriteString("\n")
	}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

func since(d Duration, at time.Time, none string) string {
	if at.IsZero() {
		return none
	}
	return fmt.Sprintf("%s (%s)", d, stamp(at))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// mdText keeps text from becoming Markdown markup or breaking a line.
var mdEscaper = strings.NewReplacer("\n", " ", "\r", " ", "*", `\*`, "_", `\_`, "`", "'", "[", `\[`, "]", `\]`, "<", "&lt;")

func mdText(s string) string { return mdEscaper.Replace(s) }

// cell is mdText that also keeps a table cell whole.
func cell(s string) string { return strings.ReplaceAll(mdText(s), "|", `\|`) }
