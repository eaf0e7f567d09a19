package policies_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"reflect"
	"testing"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/policysuite"
	"github.com/medicbot/medic/policies"
	"github.com/medicbot/medic/remediations/builtin"
)

var update = flag.Bool("update", false, "rewrite schema.json from the Go types and the built-in actions")

// TestPolicies is `medic policy lint policies` and `medic policy test
// policies` over the embedded (deployed) policies.
func TestPolicies(t *testing.T) { policysuite.Run(t, policies.FS, ".") }

// TestAFirstDeployChangesNothing keeps the deployed set what a first
// deploy needs: every step of every policy is shadow-only (the examples
// with teeth live in examples/).
func TestAFirstDeployChangesNothing(t *testing.T) {
	set, err := policy.Load(policies.FS, builtin.Catalog())
	if err != nil {
		t.Fatalf("the policies do not load:\n%v", err)
	}
	for _, p := range set.Policies() {
		for _, st := range p.Steps {
			if st.Approval != policy.ApprovalShadow {
				t.Errorf("policies/%s: policy %s step %d (%s) is approval %s: the policies a fresh clone deploys only shadow (move it to examples/ or make it shadow)", p.File, p.Name, st.Index+1, st.Action, st.Approval)
			}
		}
	}
}

// TestSchemaUpToDate keeps schema.json in step with the parser's types and
// the built-in actions' schemas. Run `go generate ./policies` (or this test
// with -update) after changing either.
func TestSchemaUpToDate(t *testing.T) {
	want, err := policy.JSONSchema(builtin.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("schema.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := fs.ReadFile(policies.FS, "schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var gotV, wantV any
	if err := json.Unmarshal(got, &gotV); err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	if err := json.Unmarshal(want, &wantV); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotV, wantV) || !bytes.Equal(got, want) {
		t.Error("schema.json is out of date: run go generate ./policies (go test ./policies -run TestSchemaUpToDate -update)")
	}
}
