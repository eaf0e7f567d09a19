package evidence_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/policy/policytest"
	"github.com/medicbot/medic/internal/store"
)

// TestTheShippedRulesLoad: readings.yaml is built into the binary, so a
// mistake in it must fail here rather than leave cards without a reading.
func TestTheShippedRulesLoad(t *testing.T) {
	if _, err := evidence.ShippedRules(); err != nil {
		t.Fatalf("the shipped reading rules do not load:\n%v", err)
	}
	data, err := os.ReadFile("readings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.ParseRules("readings.yaml", data); err != nil {
		t.Fatalf("readings.yaml as on disk does not load:\n%v", err)
	}
}

type readingCase struct {
	Name     string               `yaml:"name"`
	Evidence *policytest.Evidence `yaml:"evidence"`
	Reading  *string              `yaml:"reading"`
}

type readingFixture struct {
	Cases []readingCase `yaml:"cases"`
}

// TestReadingFixtures runs testdata/readings/*.yaml against the shipped
// rules: each case's evidence must read as its reading.
func TestReadingFixtures(t *testing.T) {
	rules, err := evidence.ShippedRules()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/readings/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no reading fixtures (%v)", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var f readingFixture
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("%v", policy.DecodeErrors(file, data, err, reflect.TypeFor[readingFixture](), reflect.TypeFor[readingCase](), reflect.TypeFor[policytest.Evidence]()))
		}
		if len(f.Cases) == 0 {
			t.Fatalf("%s: no cases", file)
		}
		for i, c := range f.Cases {
			t.Run(filepath.Base(file)+"/"+c.Name, func(t *testing.T) {
				if c.Reading == nil {
					t.Fatalf("%s: case %d (%s): reading is required", file, i+1, c.Name)
				}
				ev, err := c.Evidence.Gathered()
				if err != nil {
					t.Fatalf("%s: case %d: %v", file, i+1, err)
				}
				got := rules.Read(ev)
				if got.Line != *c.Reading {
					t.Errorf("%s: case %d:\n got %q\nwant %q\nrules that held: %v", file, i+1, got.Line, *c.Reading, got.Rules)
				}
				// Read, which the gatherer calls, says the same.
				if line, _ := evidence.Read(ev, nil); line != got.Line {
					t.Errorf("Read = %q, the rules %q", line, got.Line)
				}
			})
		}
	}
}

// TestBadRuleFilesAreRefusedWithFileAndLine: every problem of a rules file
// is reported at once, each naming file, line and path.
func TestBadRuleFilesAreRefusedWithFileAndLine(t *testing.T) {
	const head = "version: 1\nparts: [pattern, targets]\nrules:\n"
	cases := []struct {
		name  string
		rules string
		want  []string // prefixes of the problems, in order
	}{
		{"an unknown field of a rule", head + "  - name: a\n    part: pattern\n    sey: ELB\n",
			[]string{`r.yaml:6: rules[0].sey: unknown field "sey" (known: name, part, when, say)`}},
		{"an unknown condition", head + "  - name: a\n    part: pattern\n    when: {sorce: elb}\n    say: ELB\n",
			[]string{`r.yaml:6: rules[0].when.sorce: unknown field "sorce" (known: deploy_within, unhealthy_targets, source, code, targets)`}},
		{"a bad condition", head + "  - name: a\n    part: pattern\n    when: {source: alb, targets: some}\n    say: ELB\n",
			[]string{
				`r.yaml:6: rules[0].when.source: must be elb or target, got "alb"`,
				`r.yaml:6: rules[0].when.targets: must be a count with an optional operator`,
			}},
		{"an empty when", head + "  - name: a\n    part: pattern\n    when: {}\n    say: ELB\n",
			[]string{`r.yaml:6: rules[0].when: has no condition`}},
		{"a template that does not parse", head + "  - name: a\n    part: pattern\n    say: \"ELB {{ .Code \"\n",
			[]string{`r.yaml:6: rules[0].say: bad template: `}},
		{"a field the view lacks", head + "  - name: a\n    part: pattern\n    say: \"ELB {{ .Status }}\"\n",
			[]string{`r.yaml:6: rules[0].say: bad template: unknown field .Status (fields: .Source .Code .ErrorRate`}},
		{"a template that fails on evidence", head + "  - name: a\n    part: pattern\n    say: \"{{ if eq .Targets \\\"6\\\" }}six{{ end }}\"\n",
			[]string{`r.yaml:6: rules[0].say: template fails on a sample of evidence: `}},
		{"an unknown part, a missing say and a name given twice", head +
			"  - name: a\n    part: patern\n    say: ELB\n  - name: a\n    part: targets\n",
			[]string{
				`r.yaml:5: rules[0].part: unknown part "patern" (parts: pattern, targets)`,
				`r.yaml:7: rules[1].name: "a" is already the name of the rule at line 4`,
				`r.yaml:7: rules[1].say: required`,
			}},
		{"no version, parts or rules", "parts: []\n", []string{
			`r.yaml:1: version: required`,
			`r.yaml:1: parts: at least one part is required`,
			`r.yaml:1: rules: at least one rule is required`,
		}},
		{"an empty file", "", []string{"r.yaml: empty file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := evidence.ParseRules("r.yaml", []byte(tc.rules))
			var problems *policy.Errors
			if !errors.As(err, &problems) || rules != nil {
				t.Fatalf("ParseRules = %v, %v; want *policy.Errors", rules, err)
			}
			if len(*problems) != len(tc.want) {
				t.Fatalf("problems:\n%v\nwant %d:\n%s", err, len(tc.want), strings.Join(tc.want, "\n"))
			}
			for i, want := range tc.want {
				if got := (*problems)[i].Error(); !strings.HasPrefix(got, want) {
					t.Errorf("problem %d:\n got %q\nwant it to start with %q", i, got, want)
				}
			}
		})
	}
}

// TestAPartSaysItsFirstRuleThatHolds: rules are tried in file order within
// their part, and a rule needing a field that was not gathered (outside
// an if) does not hold.
func TestAPartSaysItsFirstRuleThatHolds(t *testing.T) {
	rules, err := evidence.ParseRules("r.yaml", []byte(`version: 1
parts: [change, pattern]
rules:
  - name: rate
    part: pattern
    say: "{{ .ErrorRate }} errors"
  - name: source
    part: pattern
    say: "from the {{ .Source }}{{ if .Code }} ({{ .Code }}){{ end }}"
  - name: deploy
    part: change
    when: {deploy_within: 10m}
    say: "after {{ .Deploy }}"
`))
	if err != nil {
		t.Fatal(err)
	}
	began := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		ev   *store.Evidence
		want string
		by   []string
	}{
		{"the first rule holds", &store.Evidence{Pattern: &store.Pattern{Source: "elb", Code: "502", ErrorRate: 0.5}}, "50% errors", []string{"rate"}},
		{"an unknown rate: the next rule, with its optional code", &store.Evidence{Pattern: &store.Pattern{Source: "elb", Code: "502", ErrorRate: -1}}, "from the elb (502)", []string{"source"}},
		{"no code: the if leaves it out", &store.Evidence{Pattern: &store.Pattern{Source: "target", ErrorRate: -1}}, "from the target", []string{"source"}},
		{"parts in the order of parts, whatever the order of rules", &store.Evidence{
			Pattern: &store.Pattern{Source: "target", ErrorRate: 0.2, StartedAt: began},
			Changes: &store.Changes{Deployments: []store.ECSDeployment{{TaskDefinition: "checkout:7", CreatedAt: began.Add(-time.Minute)}}},
		}, "after task definition checkout:7, 20% errors", []string{"deploy", "rate"}},
		{"conditions that do not hold", &store.Evidence{
			Pattern: &store.Pattern{Source: "target", ErrorRate: -1, StartedAt: began},
			Changes: &store.Changes{Deployments: []store.ECSDeployment{{TaskDefinition: "checkout:7", CreatedAt: began.Add(-time.Hour)}}},
		}, "from the target", []string{"source"}},
		{"nothing gathered", &store.Evidence{}, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rules.Read(tc.ev)
			if got.Line != tc.want || !reflect.DeepEqual(got.Rules, tc.by) {
				t.Errorf("Read = %q by %v, want %q by %v", got.Line, got.Rules, tc.want, tc.by)
			}
		})
	}
}

func BenchmarkRead(b *testing.B) {
	began := time.Date(2026, 12, 3, 8, 14, 0, 0, time.UTC)
	ev := &store.Evidence{
		Pattern: &store.Pattern{Source: "elb", Code: "502", ErrorRate: 0.12, StartedAt: began},
		Health: &store.Health{TargetGroup: "checkout", Healthy: 3, Unhealthy: 3,
			Reasons: []store.ReasonCount{{Reason: "Target.ResponseCodeMismatch", Count: 3}}},
		Changes: &store.Changes{Service: "prod/checkout", Deployments: []store.ECSDeployment{
			{Status: "PRIMARY", TaskDefinition: "checkout:42", CreatedAt: began.Add(-4 * time.Minute)},
		}},
	}
	if _, err := evidence.ShippedRules(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r, _ := evidence.Read(ev, nil); r == "" {
			b.Fatal("no reading")
		}
	}
}

// FuzzParseRules: no rules file makes the parser or a reading panic, and
// rules that load read any evidence.
func FuzzParseRules(f *testing.F) {
	shipped, err := os.ReadFile("readings.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(shipped))
	f.Add("version: 1\nparts: [p]\nrules: [{name: a, part: p, when: {targets: \"> 2\"}, say: \"{{ .Targets }}\"}]\n")
	f.Add("version: 1\nparts: [p]\nrules: [{name: a, part: p, say: \"{{ printf \\\"%d\\\" .Code }}\"}]\n")
	began := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	evs := []*store.Evidence{nil, {}, {
		Pattern: &store.Pattern{Source: "elb", Code: "502", ErrorRate: 0.3, StartedAt: began},
		Health:  &store.Health{TargetGroup: "tg", Unhealthy: 1, Reasons: []store.ReasonCount{{Reason: "Target.Timeout", Count: 1}}},
		Changes: &store.Changes{Deployments: []store.ECSDeployment{{TaskDefinition: "a:1", CreatedAt: began.Add(-time.Minute)}}},
	}}
	f.Fuzz(func(t *testing.T, src string) {
		rules, err := evidence.ParseRules("f.yaml", []byte(src))
		if err != nil {
			return
		}
		for _, ev := range evs {
			rules.Read(ev)
		}
	})
}
