package policy_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
)

// templateStep parses a policy whose one step has service: tmpl.
func templateStep(t *testing.T, tmpl string) (*policy.Step, error) {
	t.Helper()
	doc := "version: 1\npolicies:\n  - name: p\n    match: {alarm: x}\n    steps:\n      - action: ecs.restart\n" +
		"        approval: auto\n        params:\n          service: |-\n            " + tmpl + "\n"
	set, err := policy.Parse("t.yaml", []byte(doc), testCatalog)
	if err != nil {
		return nil, err
	}
	return set.Policy("p").Steps[0], nil
}

func templateAlarm() *alarm.Alarm {
	a := checkoutAlarm()
	a.Timestamp = time.Date(2024, 5, 14, 9, 21, 37, 0, time.UTC)
	a.HTTP5xx = &alarm.HTTP5xx{Source: "target", Code: "502"}
	return a
}

func TestTemplatesRender(t *testing.T) {
	cases := []struct{ name, tmpl, want string }{
		{"a pipeline passes each value as the last argument", `{{ .Dimensions.LoadBalancer | segment 1 | upper }}`, "CHECKOUT-PROD"},
		{"text around actions is kept", `svc-{{ .Tags.team }}-{{ .Region }}`, "svc-payments-us-east-1"},
		{"trim markers and comments work", `{{- /* the team */ -}}  {{ .Tags.team | lower }}`, "payments"},
		{"if takes the branch of a present tag", `{{ if .Tags.team }}{{ .Tags.team }}{{ else }}none{{ end }}`, "payments"},
		{"else if chains", `{{ if eq .State "OK" }}ok{{ else if eq .State "ALARM" }}alarm{{ else }}?{{ end }}`, "alarm"},
		{"eq compares with each of several values", `{{ if eq .Region "eu-west-1" "us-east-1" }}yes{{ end }}`, "yes"},
		{"and, or and not combine conditions", `{{ if and .Tags.team (not (eq .Account "1")) (or false true) }}both{{ end }}`, "both"},
		{"or returns the first non-empty value", `{{ or (index .Tags "service") .Tags.team }}`, "payments"},
		{"ne compares two values", `{{ if ne .HTTP5xx.Code "5XX" }}{{ .HTTP5xx.Source }}-{{ .HTTP5xx.Code }}{{ end }}`, "target-502"},
		{"metrics are indexed by position", `{{ (index .Metrics 0).Namespace }}/{{ index (index .Metrics 0).Dimensions "TargetGroup" | last }}`, "AWS/ApplicationELB/73e2"},
		{"$ is the alarm", `{{ $.Name }}`, "checkout-prod-5xx"},
		{"printf and len format values", `{{ printf "%s-%d" .Tags.team (len .Metrics) }}`, "payments-1"},
		{"print joins its arguments", `{{ print .Tags.team 7 }}`, "payments7"},
		{"the timestamp prints as a time", `{{ .Timestamp }}`, "2024-05-14 09:21:37 +0000 UTC"},
		{"the timestamp formats", `{{ .Timestamp.Format "2006-01-02" }} {{ .Timestamp.Unix }}`, "2024-05-14 1715678497"},
		{"default fills an empty value", `{{ index .Tags "service" | default "checkout" }}`, "checkout"},
		{"tail keeps what follows the first slash", `{{ .Dimensions.LoadBalancer | tail }}`, "checkout-prod/50dc6c495c0c9188"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := templateStep(t, tc.tmpl)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := st.Render(templateAlarm())
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got["service"] != tc.want {
				t.Errorf("rendered %q, want %q", got["service"], tc.want)
			}
		})
	}
}

func TestTemplatesOutsideTheSupportedSetFailToLoad(t *testing.T) {
	cases := []struct{ name, tmpl, says string }{
		{"range", `{{ range .Metrics }}{{ .Name }}{{ end }}`, "range is not supported"},
		{"with", `{{ with .Tags.team }}{{ . }}{{ end }}`, "with is not supported"},
		{"define", `{{ define "x" }}a{{ end }}b`, "define and block are not supported"},
		{"template", `{{ template "x" }}`, "template is not supported"},
		{"block", `{{ block "x" . }}a{{ end }}`, "define and block are not supported"},
		{"variables", `{{ $x := .Name }}{{ $x }}`, "declaring variables is not supported"},
		{"a built-in medic does not offer", `{{ html .Name }}`, `function "html" is not supported`},
		{"nil", `{{ if eq .Name nil }}x{{ end }}`, "nil is not supported"},
		{"an unknown function", `{{ .Name | tial }}`, `function "tial" not defined`},
		{"too few arguments", `{{ segment .Name }}`, "wrong number of args for segment: want 2 got 1"},
		{"too many arguments in a branch the sample does not take", `{{ if false }}{{ .Name | upper 1 }}{{ end }}x`, "wrong number of args for upper: want 1 got 2"},
		{"a function as an argument takes no arguments", `{{ if false }}{{ eq .Name upper }}{{ end }}x`, "wrong number of args for upper: want 1 got 0"},
		{"an unknown field in a branch the sample does not take", `{{ if false }}{{ .Nmae }}{{ end }}x`, "can't evaluate field Nmae in the alarm"},
		{"an argument of the wrong type", `{{ .Metrics | lower }}`, "argument 1 must be a string, got []alarm.Metric"},
		{"a field of a string", `{{ .Name.First }}`, "can't evaluate field First in type string"},
		{"a field of a metric that is not there", `{{ (index .Metrics 0).Unit }}`, "can't evaluate field Unit in a metric"},
		{"arguments to a field", `{{ .Name 1 }}`, "Name is not a method but has arguments"},
		{"comparing a number with text", `{{ if eq (len .Metrics) "1" }}x{{ end }}`, "incompatible types for comparison"},
		{"a parse error", `{{ .Name `, "unclosed action"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := templateStep(t, tc.tmpl)
			var errs *policy.Errors
			if !errors.As(err, &errs) || len(*errs) != 1 {
				t.Fatalf("Parse error = %v, want one problem", err)
			}
			e := (*errs)[0]
			if e.File != "t.yaml" || e.Line != 9 || e.Path != "policies[0].steps[0].params.service" || !strings.Contains(e.Msg, tc.says) {
				t.Errorf("problem = %s, want t.yaml:9: policies[0].steps[0].params.service: ...%s...", e, tc.says)
			}
		})
	}
}

func TestTemplateRenderErrorsNameTheMissingKey(t *testing.T) {
	for _, tmpl := range []string{`{{ if .Tags.owner }}x{{ end }}`, `{{ .Tags.owner | default "x" }}`, `{{ (index .Metrics 0).Dimensions.owner }}`} {
		st, err := templateStep(t, tmpl)
		if err != nil {
			t.Fatalf("Parse %s: %v", tmpl, err)
		}
		_, err = st.Render(templateAlarm())
		if err == nil || !strings.Contains(err.Error(), `map has no entry for key "owner"`) {
			t.Errorf("Render %s: error = %v, want one naming the missing key", tmpl, err)
		}
	}
}
