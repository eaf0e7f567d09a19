// Package policysuite is the test every policy directory medic ships runs
// (policies/ and examples/): the files load (`medic policy lint`), their
// fixtures pass (`medic policy test`), and every file on disk is in the
// embedded FS the binaries and tests read.
package policysuite

import (
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/policy/policytest"
	"github.com/medicbot/medic/remediations/builtin"
)

// Run checks the policy set embedded in fsys, whose files are on disk in
// dir (the test's own directory: ".").
func Run(t *testing.T, fsys fs.FS, dir string) {
	t.Helper()
	set, err := policy.Load(fsys, builtin.Catalog())
	if err != nil {
		t.Fatalf("the policies do not load:\n%v", err)
	}
	if len(set.Policies()) == 0 {
		t.Fatal("no policies")
	}
	t.Run("fixtures", func(t *testing.T) {
		results, err := policytest.Run(fsys, set)
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
	})
	// A file on disk the embed pattern misses (a .yml policy, a fixture
	// in a new folder) would be reviewed but never run.
	t.Run("everything is embedded", func(t *testing.T) {
		for _, sub := range []string{".", "tests", "tests/alarms"} {
			entries, err := os.ReadDir(path.Join(dir, sub))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				name := path.Join(sub, e.Name())
				if e.IsDir() || sub == "." && !policy.IsPolicyFile(e.Name()) {
					continue
				}
				if _, err := fs.Stat(fsys, name); err != nil {
					t.Errorf("%s is on disk but not embedded (name it *.yaml)", name)
				}
			}
		}
	})
}
