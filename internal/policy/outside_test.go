package policy_test

import (
	"testing"
	"testing/fstest"

	"github.com/medicbot/medic/internal/policy"
)

func TestOutsideDeployment(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yaml": {Data: []byte(`version: 1
policies:
  - name: ours
    match: {alarm: x, accounts: ["111111111111"], regions: [us-east-1, eu-west-1]}
    steps: [{action: ecs.restart, approval: auto}]
  - name: anywhere
    match: {alarm: x}
    steps: [{action: ecs.restart, approval: auto}]
  - name: theirs
    match:
      alarm: x
      accounts: "222222222222"
      regions: ["eu-*"]
    steps: [{action: ecs.restart, approval: auto}]
`)},
		"b.yaml": {Data: []byte(`version: 1
policies:
  - name: by-glob
    match: {alarm: y, accounts: ["1111*"]}
    steps: [{action: ecs.restart, approval: auto}]
  - name: switched-off
    enabled: false
    match: {alarm: y, regions: ap-south-1}
    steps: [{action: ecs.restart, approval: auto}]
`)},
	}
	set, err := policy.Load(fsys, testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	type warning struct {
		file string
		line int
		path string
		msg  string
	}
	accountMsg := "does not include account 111111111111: medic acts only in account 111111111111 (its own) and would block this policy's steps"
	regionMsg := "does not include region us-east-1: medic acts only in region us-east-1 (its own) and would block this policy's steps"
	cases := []struct {
		name            string
		account, region string
		want            []warning
	}{
		{"policies naming other accounts and regions are warned about, each field where it is written",
			"111111111111", "us-east-1", []warning{
				{"a.yaml", 12, "policies[2].match.accounts", accountMsg},
				{"a.yaml", 13, "policies[2].match.regions", regionMsg},
				{"b.yaml", 8, "policies[1].match.regions", regionMsg},
			}},
		{"a region some list includes is no warning for it", "111111111111", "eu-west-1", []warning{
			{"a.yaml", 12, "policies[2].match.accounts", accountMsg},
			{"b.yaml", 8, "policies[1].match.regions",
				"does not include region eu-west-1: medic acts only in region eu-west-1 (its own) and would block this policy's steps"},
		}},
		{"an unknown account is not checked", "", "us-east-1", []warning{
			{"a.yaml", 13, "policies[2].match.regions", regionMsg},
			{"b.yaml", 8, "policies[1].match.regions", regionMsg},
		}},
		{"nothing known, nothing checked", "", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []warning
			for _, w := range set.OutsideDeployment(tc.account, tc.region) {
				got = append(got, warning{w.File, w.Line, w.Path, w.Msg})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d warnings, want %d:\n%v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("warning %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
