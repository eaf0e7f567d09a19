package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/medicbot/medic/internal/store"
)

// auditWidth is the widest line the audit text table writes.
const auditWidth = 120

// The widest each column of the audit table may be; with two spaces
// between columns a line is at most auditWidth.
const (
	auditTimeCol    = 20
	auditEventCol   = 20
	auditWhoCol     = 12
	auditStateCol   = 22
	auditSubjectCol = auditWidth - auditTimeCol - auditEventCol - auditWhoCol - auditStateCol - 4*2
)

// writeAudit writes entries as "json" (one JSON array) or "text": one
// line per entry in columns that fit auditWidth, with why, plan, result
// and error on indented lines below, wrapped to the same width.
func writeAudit(w io.Writer, entries []store.AuditEntry, format string) error {
	if format == "json" {
		if entries == nil {
			entries = []store.AuditEntry{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(entries); err != nil {
			return fmt.Errorf("write audit as json: %w", err)
		}
		return nil
	}
	type row struct {
		cells   [5]string
		details []string
	}
	rows := []row{{cells: [5]string{"TIME", "EVENT", "WHO", "STATE", "SUBJECT"}}}
	for _, a := range entries {
		state := string(a.To)
		if a.From != "" {
			state = string(a.From) + " -> " + state
		}
		subject := a.Proposal
		if subject == "" {
			subject = a.Incident
		}
		rows = append(rows, row{cells: [5]string{cut(a.Time.UTC().Format(time.RFC3339), auditTimeCol), cut(a.Event, auditEventCol),
			cut(orDash(a.Who), auditWhoCol), cut(orDash(state), auditStateCol), cut(orDash(subject), auditSubjectCol)},
			details: auditDetails(a)})
	}
	var widths [5]int
	for _, r := range rows {
		for i, c := range r.cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r.cells {
			b.WriteString(c)
			if i < len(r.cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		b.WriteString("\n")
		for _, d := range r.details {
			for _, line := range wrap(d, auditWidth-6) {
				b.WriteString("      " + line + "\n")
			}
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write audit as text: %w", err)
	}
	return nil
}

// auditDetails are the indented lines under an entry.
func auditDetails(a store.AuditEntry) []string {
	var out []string
	if why := squash(a.Why); why != "" {
		out = append(out, "why: "+why)
	}
	switch {
	case a.Result != nil && a.Result.Summary != "":
		out = append(out, "result: "+squash(a.Result.Summary))
	case a.Plan != nil && a.Plan.Summary != "" && a.To != "" && a.From == "":
		out = append(out, "plan: "+squash(a.Plan.Summary))
	}
	if a.Error != "" {
		out = append(out, "error: "+squash(a.Error))
	}
	return out
}

// cut shortens s to n runes, ending it with "…" when cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// wrap breaks s into lines of at most n runes, at spaces where it can.
func wrap(s string, n int) []string {
	var lines []string
	for len([]rune(s)) > n {
		r := []rune(s)
		i := n
		for i > n/2 && r[i] != ' ' {
			i--
		}
		if r[i] != ' ' {
			i = n
		}
		lines = append(lines, strings.TrimRight(string(r[:i]), " "))
		s = strings.TrimLeft(string(r[i:]), " ")
	}
	return append(lines, s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// writeOwed says, after the audit table, which incidents' cards medic has
// not delivered (nobody has been told of them) and how much other work it
// still owes; nothing when all is delivered. incident, when set, keeps
// only that incident's.
func writeOwed(w io.Writer, owed []*store.Owed, incident string) error {
	var b strings.Builder
	other := 0
	for _, o := range owed {
		if incident != "" && o.Incident != incident {
			continue
		}
		if o.Kind != store.OwedCard {
			other++
			continue
		}
		line := fmt.Sprintf("NOT TOLD: the card of incident %s is owed since %s", o.Incident, o.CreatedAt.UTC().Format(time.RFC3339))
		if o.Attempts > 0 {
			line += fmt.Sprintf(" (%d failed attempts; last error: %s)", o.Attempts, squash(o.LastError))
		}
		for _, l := range wrap(line, auditWidth) {
			b.WriteString(l + "\n")
		}
	}
	if other > 0 {
		fmt.Fprintf(&b, "%d queue message(s) owed, relayed with backoff\n", other)
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(w, "\n"+b.String())
	return err
}
