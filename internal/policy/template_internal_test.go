package policy

import (
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/medicbot/medic/internal/alarm"
)

// textTemplateFuncs are the helpers as text/template called them before
// medic evaluated templates itself; the fuzz test below holds the two
// evaluators to the same results. (Tests are not linked into the Lambda
// binaries, so text/template may be used here.)
var textTemplateFuncs = template.FuncMap{
	"tail": func(s string) string {
		_, after, _ := strings.Cut(s, "/")
		return after
	},
	"last": func(s string) string { return s[strings.LastIndex(s, "/")+1:] },
	"segment": func(n int, s string) string {
		parts := strings.Split(s, "/")
		if n < 0 || n >= len(parts) {
			return ""
		}
		return parts[n]
	},
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"default": func(def, s string) string {
		if s == "" {
			return def
		}
		return s
	},
}

// FuzzTemplateAgreesWithTextTemplate: whatever template medic accepts,
// text/template accepts too and renders the same; medic may refuse more
// (range, with, variables, methods of time.Time other than Format, Unix and
// UTC...), never less.
func FuzzTemplateAgreesWithTextTemplate(f *testing.F) {
	for _, seed := range []string{
		`{{ .Dimensions.TargetGroup | segment 1 }}`,
		`{{ index .Tags "team" | default "x" | upper }}`,
		`{{ if eq .State "OK" }}ok{{ else if .Tags.team }}{{ .Tags.team }}{{ end }}`,
		`{{ and .Name (or "" 0 .Region) (not false) }}`,
		`{{ (index .Metrics 0).Dimensions.LoadBalancer | tail | last }}`,
		`{{ printf "%s-%d-%v" .Name (len .Metrics) .HTTP5xx }}{{ print 1.5 'a' 0x1F }}`,
		`{{ .Timestamp.Format "2006" }} {{ .Timestamp.UTC.Unix }} {{ .Timestamp }} {{ . }}`,
		`{{ eq 1 1.0 }}{{ ne .Tags .Tags }}{{ .Tags.nope }}{{ $.Metrics }}`,
		`{{- /* c */ -}} {{ ("x" | print) }}{{ .Name | lower 1 }}`,
	} {
		f.Add(seed)
	}
	alarms := []*TemplateData{sampleData, NewTemplateData(&alarm.Alarm{
		Name: "checkout-prod-5xx", State: alarm.StateAlarm, Timestamp: time.Date(2024, 5, 14, 9, 21, 37, 0, time.UTC),
		Tags:    map[string]string{"team": "payments"},
		Metrics: []alarm.Metric{{Namespace: "AWS/ApplicationELB", Dimensions: map[string]string{"TargetGroup": "targetgroup/checkout/73e2", "LoadBalancer": "app/checkout/50dc"}}},
		HTTP5xx: &alarm.HTTP5xx{Source: "elb", Code: "502"},
	}), NewTemplateData(&alarm.Alarm{Name: "bare"})}
	f.Fuzz(func(t *testing.T, text string) {
		pt, err := parseTemplate("t", text)
		if err != nil {
			return
		}
		tt, err := template.New("t").Funcs(textTemplateFuncs).Parse(text)
		if err != nil {
			t.Fatalf("medic accepts %q, text/template does not: %v", text, err)
		}
		for _, data := range alarms {
			for _, trial := range []bool{false, true} {
				got, gotErr := pt.execute(data, trial)
				opt := "missingkey=error"
				if trial {
					opt = "missingkey=zero"
				}
				var want strings.Builder
				wantErr := tt.Option(opt).Execute(&want, data)
				switch {
				case gotErr == nil && wantErr != nil:
					t.Fatalf("%q on %s (%s): medic renders %q, text/template fails: %v", text, data.Name, opt, got, wantErr)
				case gotErr == nil && got != want.String():
					t.Fatalf("%q on %s (%s): medic renders %q, text/template %q", text, data.Name, opt, got, want.String())
				case gotErr != nil && wantErr == nil && strings.Contains(gotErr.Error(), "map has no entry"):
					t.Fatalf("%q on %s (%s): medic fails (%v), text/template renders %q", text, data.Name, opt, gotErr, want.String())
				}
			}
		}
	})
}
