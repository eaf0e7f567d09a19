package builtin

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/actions.md from the action schemas")

const referenceFile = "../../docs/actions.md"

// TestActionReferenceUpToDate keeps docs/actions.md in step with the action
// schemas: a parameter added, renamed or redescribed fails it until the
// file is regenerated with -update.
func TestActionReferenceUpToDate(t *testing.T) {
	var b bytes.Buffer
	if err := WriteReference(&b); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(referenceFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatalf("%v: run go test ./remediations/builtin -update", err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Errorf("%s is not what the action schemas say: run go test ./remediations/builtin -update", referenceFile)
	}
	for name, s := range Catalog() {
		for _, p := range s.Params {
			if !strings.Contains(b.String(), "| `"+p.Name+"` |") {
				t.Errorf("the reference lacks %s's parameter %s", name, p.Name)
			}
		}
	}
}
