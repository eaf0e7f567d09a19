package policy_test

import (
	"errors"
	"os"
	"testing"

	"github.com/medicbot/medic/internal/policy"
)

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and it must
// either return a usable Set or an *Errors naming the file.
func FuzzParse(f *testing.F) {
	brief, err := os.ReadFile("testdata/brief.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(brief),
		matchPolicies,
		"",
		"version: 1\npolicies: [\n",
		"version: 1\npolicies:\n  - {name: a, match: {alarm: \"x[\"}, steps: [{action: ecs.scale, approval: auto, params: {add: \"{{ .Tags.x }}\", max: 3}}]}\n",
		"version: 1\npolicies:\n  - name: a\n    name: b\n",
		"a: &x [b]\nversion: *x\n",
		"version: 1\n---\nversion: 1\n",
		"- [a, {b: c}]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := policy.Parse("fuzz.yaml", data, testCatalog)
		if err == nil {
			if set == nil {
				t.Fatal("nil Set without an error")
			}
			for _, p := range set.Policies() {
				if p.Name == "" || len(p.Steps) == 0 || set.Policy(p.Name) != p {
					t.Fatalf("invalid policy compiled: %+v", p)
				}
				_ = set.Match(checkoutAlarm())
				for _, st := range p.Steps {
					_, _ = st.Render(checkoutAlarm())
				}
			}
			return
		}
		var errs *policy.Errors
		if !errors.As(err, &errs) || len(*errs) == 0 {
			t.Fatalf("error %v (%T) is not a non-empty *policy.Errors", err, err)
		}
		for _, e := range *errs {
			if e.File != "fuzz.yaml" || e.Msg == "" {
				t.Fatalf("problem %+v does not name the file or says nothing", e)
			}
		}
		_ = err.Error()
	})
}
