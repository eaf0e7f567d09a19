package policydiff

import (
	"strings"
	"testing"
)

func TestCompareReportsAChangedWhenCondition(t *testing.T) {
	head := strings.Replace(basePolicy, "        quorum: 2\n", "        quorum: 2\n        when: {unhealthy_targets: \"0\"}\n", 1)
	r := Compare(Input{BaseName: "base", HeadName: "head", Base: load(t, basePolicy), Head: load(t, head)})
	if len(r.Changed) != 1 {
		t.Fatalf("changed = %+v, want policy web", r.Changed)
	}
	var found bool
	for _, f := range r.Changed[0].Fields {
		if f.Path == "steps[0].when" && f.Base == "" && f.Head == "unhealthy_targets: == 0" {
			found = true
		}
	}
	if !found || r.Changed[0].Cosmetic() {
		t.Errorf("fields = %+v, want steps[0].when added (a behaviour change)", r.Changed[0].Fields)
	}
}
