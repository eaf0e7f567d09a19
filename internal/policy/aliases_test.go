package policy_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/remediations/builtin"
)

const aliasPolicy = `version: 1
policies:
  - name: checkout-5xx
    match:
      alarm: checkout-5xx
      accounts: ["@prod", "999999999999"]
    steps:
      - action: ecs.scale
        approval: required
        approvers: [U0ONCALL1]
        params: {cluster: prod, service: checkout, add: 2, max: 20}
`

func TestAccountAliasesMatchEveryAccountTheyList(t *testing.T) {
	set, err := policy.Load(fstest.MapFS{
		"accounts.yaml": {Data: []byte("accounts:\n  prod: [\"111111111111\", \"222222222222\"]\n")},
		"checkout.yaml": {Data: []byte(aliasPolicy)},
	}, builtin.Catalog())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	for _, c := range []struct {
		account string
		want    bool
	}{{"111111111111", true}, {"222222222222", true}, {"999999999999", true}, {"333333333333", false}} {
		got := len(set.Match(&alarm.Alarm{Name: "checkout-5xx", Account: c.account, Region: "eu-west-1", State: alarm.StateAlarm})) == 1
		if got != c.want {
			t.Errorf("account %s matched = %v, want %v", c.account, got, c.want)
		}
	}
}

func TestUnknownAliasesAndBadAccountsFilesAreReportedAtTheirLine(t *testing.T) {
	cases := []struct {
		name     string
		accounts string
		want     []string
	}{
		{"an alias the file does not define", "accounts:\n  staging: [\"111111111111\"]\n",
			[]string{`checkout.yaml:6: policies[0].match.accounts[0]: unknown account alias "@prod" (accounts.yaml defines @staging)`}},
		{"no accounts file at all", "",
			[]string{`checkout.yaml:6: policies[0].match.accounts[0]: unknown account alias "@prod": no accounts.yaml defines aliases`}},
		{"an account ID that is not one", "accounts:\n  prod:\n    - \"111111111111\"\n    - prod-account\n",
			[]string{`accounts.yaml:4: accounts.prod[1]: want a 12-digit account ID (quoted), got "prod-account"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{"checkout.yaml": {Data: []byte(aliasPolicy)}}
			if c.accounts != "" {
				fsys["accounts.yaml"] = &fstest.MapFile{Data: []byte(c.accounts)}
			}
			_, err := policy.Load(fsys, builtin.Catalog())
			var errs *policy.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want *policy.Errors", err)
			}
			var got []string
			for _, e := range *errs {
				got = append(got, e.Error())
			}
			for _, w := range c.want {
				found := false
				for _, g := range got {
					found = found || g == w
				}
				if !found {
					t.Errorf("errors %q\nlack %q", strings.Join(got, "\n"), w)
				}
			}
		})
	}
}

func TestTheAccountsFileIsNotAPolicyFile(t *testing.T) {
	if policy.IsPolicyFile(policy.AccountsFile) {
		t.Errorf("%s is read as policies", policy.AccountsFile)
	}
	if !policy.IsPolicyFile("checkout.yaml") {
		t.Error("checkout.yaml is not read as policies")
	}
}
