package builtin

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/medicbot/medic/remediations"
)

// WriteReference writes the reference of every built-in action's
// parameters, as Markdown, from the action schemas (docs/actions.md; a test
// keeps the file in step).
func WriteReference(w io.Writer) error {
	cat := Catalog()
	var b strings.Builder
	b.WriteString("# Action reference\n\n")
	b.WriteString("Generated from the action schemas (`remediations/builtin`); `go test ./remediations/builtin -update` rewrites it.\n")
	b.WriteString("Every parameter may be a Go template over the alarm (`{{ .Dimensions.TargetGroup | segment 1 }}`), rendered when the alarm arrives.\n")
	for _, name := range slices.Sorted(maps.Keys(cat)) {
		s := cat[name]
		fmt.Fprintf(&b, "\n## `%s`\n\n%s\n\n", name, strings.TrimSpace(s.Description))
		if s.Reversible {
			b.WriteString("Reversible: the card offers Undo once it ran, and `on_recovery: undo` reverses it when it ran automatically.\n\n")
		} else {
			b.WriteString("Not reversible: no Undo.\n\n")
		}
		b.WriteString("| parameter | type | required | default | allowed | description |\n|---|---|---|---|---|---|\n")
		for _, p := range s.Params {
			req := ""
			if p.Required {
				req = "yes"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", p.Name, p.Type, req, cell(defaultText(p)), cell(allowed(p)), cell(p.Description))
		}
		for _, group := range s.ExactlyOne {
			fmt.Fprintf(&b, "\nExactly one of `%s` must be given.\n", strings.Join(group, "`, `"))
		}
		if len(s.IAM) > 0 {
			b.WriteString("\nIAM permissions it needs:\n\n")
			for _, st := range s.IAM {
				fmt.Fprintf(&b, "- `%s` on `%s`\n", strings.Join(st.Actions, "`, `"), st.Resource)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func defaultText(p remediations.Param) string {
	if p.Default == nil {
		return ""
	}
	return fmt.Sprintf("`%v`", p.Default)
}

func allowed(p remediations.Param) string {
	var parts []string
	if len(p.Enum) > 0 {
		parts = append(parts, "`"+strings.Join(p.Enum, "`, `")+"`")
	}
	if p.Min != nil {
		parts = append(parts, fmt.Sprintf(">= %v", *p.Min))
	}
	if p.Max != nil {
		parts = append(parts, fmt.Sprintf("<= %v", *p.Max))
	}
	return strings.Join(parts, "; ")
}

// cell keeps a text in one Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
}
