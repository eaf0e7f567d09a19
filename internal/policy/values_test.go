package policy_test

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/internal/policy"
)

func TestTemplatesOverValues(t *testing.T) {
	fields := []string{"Source", "Code", "Targets"}
	cases := []struct {
		name     string
		text     string
		values   policy.Values
		want     string
		required []string
		err      string // a parse error containing this
	}{
		{name: "fields, if/else and functions", text: `{{ .Source | upper }} {{ if .Code }}{{ .Code }}s{{ else }}5xx{{ end }} on {{ .Targets }}`,
			values: policy.Values{"Source": "elb", "Code": "", "Targets": 6}, want: "ELB 5xx on 6", required: []string{"Source", "Targets"}},
		{name: "fields only under if are not required", text: `x{{ if eq .Targets 0 }} {{ $.Code }}{{ end }}`,
			values: policy.Values{"Source": "", "Code": "502", "Targets": 0}, want: "x 502"},
		{name: "$.Field and chains in arguments are required", text: `{{ printf "%s/%s" $.Source (.Code | lower) }}`,
			values: policy.Values{"Source": "elb", "Code": "5XX", "Targets": 0}, want: "elb/5xx", required: []string{"Code", "Source"}},
		{name: "an unknown field", text: `{{ .Status }}`, err: "unknown field .Status (fields: .Source .Code .Targets)"},
		{name: "range is not supported", text: `{{ range .Source }}{{ end }}`, err: "range is not supported: templates support .Source .Code .Targets"},
		{name: "a syntax error", text: `{{ .Source `, err: "unclosed action"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := policy.ParseTemplate("t", tc.text, fields)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tmpl.Required(); !reflect.DeepEqual(got, tc.required) {
				t.Errorf("Required = %v, want %v", got, tc.required)
			}
			got, err := tmpl.Execute(tc.values)
			if err != nil || got != tc.want {
				t.Errorf("Execute = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	tmpl, err := policy.ParseTemplate("t", "{{ .Code }}", fields)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.Execute(policy.Values{"Source": "elb"}); err == nil || !strings.Contains(err.Error(), "can't evaluate field Code") {
		t.Errorf("a field the values lack: err = %v", err)
	}
}

func TestCompileConditions(t *testing.T) {
	src := `rules:
  - when:
      source: elb
      targets: "0"
  - when: {targets: many, code: ["418"]}
  - when: {}
`
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Rules []struct {
			When *policy.Conditions `yaml:"when"`
		} `yaml:"rules"`
	}
	if err := doc.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]

	w, errs := policy.CompileConditions("r.yaml", root, []any{"rules", 0, "when"}, raw.Rules[0].When)
	if errs != nil {
		t.Fatal(errs)
	}
	zero, three := 0, 3
	if ok, why := w.Holds(policy.Facts{Source: "elb", Targets: &zero}); !ok {
		t.Errorf("no targets registered: does not hold (%s)", why)
	}
	if ok, why := w.Holds(policy.Facts{Source: "elb", Targets: &three}); ok || why != "targets == 0: 3 registered" {
		t.Errorf("three targets: holds %v (%s)", ok, why)
	}
	if ok, why := w.Holds(policy.Facts{Source: "elb"}); ok || why != "targets: target health unknown" {
		t.Errorf("unknown health: holds %v (%s)", ok, why)
	}
	if got := w.String(); got != "source: elb, targets: == 0" {
		t.Errorf("String = %q", got)
	}

	_, errs = policy.CompileConditions("r.yaml", root, []any{"rules", 1, "when"}, raw.Rules[1].When)
	want := []string{
		`r.yaml:5: rules[1].when.code[0]: must be one of 502, 503, 504, 5xx, got "418"`,
		`r.yaml:5: rules[1].when.targets: must be a count with an optional operator such as ">= 1" or "0", got "many"`,
	}
	if got := errStrings(errs); !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	_, errs = policy.CompileConditions("r.yaml", root, []any{"rules", 2, "when"}, raw.Rules[2].When)
	if got := errStrings(errs); len(got) != 1 || !strings.HasPrefix(got[0], "r.yaml:6: rules[2].when: has no condition") {
		t.Errorf("an empty when: %v", got)
	}
	if w, errs := policy.CompileConditions("r.yaml", root, nil, nil); w != nil || errs != nil {
		t.Errorf("no when: %v, %v", w, errs)
	}
}

func errStrings(errs policy.Errors) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}
