package deploycheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeTablesEveryParameter keeps the README's parameter table in step
// with template.yaml: one row per parameter, none extra, the IAM scoping
// parameters first, and "required" exactly for those without a Default.
func TestReadmeTablesEveryParameter(t *testing.T) {
	p := loadTemplateNodes(t)
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z0-9]+)` \\| (yes|no) \\|")
	var names []string
	required := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		if _, isParam := p.parameters[m[1]]; !isParam && !strings.HasSuffix(m[1], "Arns") && !strings.HasSuffix(m[1], "Arn") {
			continue // another table's row
		}
		names = append(names, m[1])
		required[m[1]] = m[2] == "yes"
	}
	for _, name := range sortedKeys(p.parameters) {
		if !slices.Contains(names, name) {
			t.Errorf("README's parameter table lacks %s", name)
			continue
		}
		if want := get(p.parameters[name], "Default") == nil; required[name] != want {
			t.Errorf("README says %s required=%v, the template %v", name, required[name], want)
		}
	}
	for _, name := range names {
		if _, ok := p.parameters[name]; !ok {
			t.Errorf("README's parameter table names %s, which template.yaml does not have", name)
		}
	}
	if len(names) >= len(scopingParameters) {
		if first := names[:len(scopingParameters)]; !slices.Equal(slices.Sorted(slices.Values(first)), slices.Sorted(slices.Values(scopingParameters))) {
			t.Errorf("README's parameter table starts with %v, want the IAM scoping parameters %v first", first, scopingParameters)
		}
	}
}
