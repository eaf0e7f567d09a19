package policies_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/policy/policytest"
	"github.com/medicbot/medic/policies"
	"github.com/medicbot/medic/remediations/builtin"
)

var update = flag.Bool("update", false, "rewrite schema.json from the Go types and the built-in actions")

// TestPoliciesAreValid is `medic policy lint` over the embedded policies.
func TestPoliciesAreValid(t *testing.T) {
	set, err := policy.Load(policies.FS, builtin.Catalog())
	if err != nil {
		t.Fatalf("the policies do not load:\n%v", err)
	}
	if len(set.Policies()) == 0 {
		t.Fatal("no policies")
	}
}

// TestFixtures is `medic policy test` over the embedded policies.
func TestFixtures(t *testing.T) {
	set, err := policy.Load(policies.FS, builtin.Catalog())
	if err != nil {
		t.Fatalf("the policies do not load:\n%v", err)
	}
	results, err := policytest.Run(policies.FS, set)
	if err != nil {
		t.Fatalf("fixtures:\n%v", err)
	}
	if len(results) == 0 {
		t.Fatal("no fixtures under tests/")
	}
	for _, r := range results {
		t.Run(r.File+"/"+r.Name, func(t *testing.T) {
			if !r.Passed() {
				t.Errorf("want %v\n got %v\n err %v\n%s", r.Want, r.Got, r.Err, strings.Join(r.ParamDiffs(), "\n"))
			}
		})
	}
}

// TestEverythingIsEmbedded guards against policy files that exist on disk
// but would not be in the binary (e.g. a .yml file: the embed pattern is
// *.yaml).
func TestEverythingIsEmbedded(t *testing.T) {
	for _, dir := range []string{".", "tests", "tests/alarms"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := path.Join(dir, e.Name())
			if e.IsDir() || dir == "." && !policy.IsPolicyFile(e.Name()) {
				continue
			}
			if _, err := fs.Stat(policies.FS, name); err != nil {
				t.Errorf("%s is on disk but not embedded (name it *.yaml)", name)
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
