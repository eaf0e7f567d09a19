package policy_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/remediations"
)

func TestRender(t *testing.T) {
	cases := []struct {
		name   string
		action string
		params string
		change func(a *alarm.Alarm)
		want   remediations.Params
		// On failure: the param named and a word of the message.
		errParam string
		errSays  string
	}{
		{
			name: "literal params come back as written", action: "ecs.scale",
			params: `{cluster: prod, service: checkout, add: 2, max: 20}`,
			want:   remediations.Params{"cluster": "prod", "service": "checkout", "add": 2, "max": 20},
		},
		{
			name: "templates read the alarm; helpers cut ARN-like values", action: "ecs.scale",
			params: `{cluster: "{{ .Tags.cluster }}", service: "{{ .Dimensions.TargetGroup | segment 1 }}", add: 1, max: 4}`,
			want:   remediations.Params{"cluster": "prod", "service": "checkout", "add": 1, "max": 4},
		},
		{
			name: "numeric strings become numbers for integer params", action: "ecs.scale",
			params: `{add: "{{ index .Tags \"add\" | default \"3\" }}", max: "{{ .Tags.max }}"}`,
			want:   remediations.Params{"add": 3, "max": 12},
		},
		{
			name: "templates inside lists and maps are rendered", action: "github.rollback",
			params: `{repo: acme/checkout, environment: production, inputs: {alarm: "{{ .Name }}", lb: "{{ .Dimensions.LoadBalancer | tail }}"}}`,
			want: remediations.Params{"repo": "acme/checkout", "environment": "production",
				"inputs": map[string]any{"alarm": "checkout-prod-5xx", "lb": "checkout-prod/50dc6c495c0c9188"}},
		},
		{
			name: "a missing dimension names the policy, step and param", action: "ecs.restart",
			params:   `{service: "{{ .Dimensions.ServiceName }}"}`,
			errParam: "service", errSays: `map has no entry for key "ServiceName"`,
		},
		{
			name: "a template rendering nothing is an error", action: "ecs.restart",
			params:   `{service: "{{ index .Tags \"service\" }}"}`,
			errParam: "service", errSays: "empty string",
		},
		{
			name: "a rendered value that is not a number is an error", action: "ecs.scale",
			params:   `{add: "{{ .Tags.team }}", max: 5}`,
			errParam: "add", errSays: `rendered "payments", not a whole number`,
		},
		{
			name: "rendered values are validated against the schema", action: "ecs.scale",
			params:   `{add: 1, min: "{{ .Tags.max }}", max: 5}`,
			errParam: "max", errSays: "must be >= min (12)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := "version: 1\npolicies:\n  - name: p\n    match: {alarm: x}\n    steps:\n      - action: " + tc.action +
				"\n        approval: auto\n        params: " + tc.params + "\n"
			set, err := policy.Parse("render.yaml", []byte(doc), testCatalog)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			a := checkoutAlarm()
			a.Tags = map[string]string{"team": "payments", "cluster": "prod", "max": "12"}
			got, err := set.Policy("p").Steps[0].Render(a)
			if tc.errSays != "" {
				var re *policy.RenderError
				if !errors.As(err, &re) {
					t.Fatalf("Render error = %v, want a *RenderError", err)
				}
				if re.Policy != "p" || re.Step != 0 || re.Action != tc.action || re.Param != tc.errParam || !strings.Contains(re.Err.Error(), tc.errSays) {
					t.Errorf("RenderError = %+v (%v), want param %s saying ...%s...", re, re, tc.errParam, tc.errSays)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Render = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestRenderDoesNotShareState(t *testing.T) {
	doc := `version: 1
policies:
  - name: p
    match: {alarm: x}
    steps: [{action: github.rollback, approval: auto, params: {repo: a/b, environment: prod, inputs: {k: v}}}]
`
	set, err := policy.Parse("p.yaml", []byte(doc), testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	st := set.Policy("p").Steps[0]
	first, err := st.Render(checkoutAlarm())
	if err != nil {
		t.Fatal(err)
	}
	first["inputs"].(map[string]any)["k"] = "changed"
	second, _ := st.Render(checkoutAlarm())
	if got := second["inputs"].(map[string]any)["k"]; got != "v" {
		t.Errorf("a caller's change leaked into the policy: inputs.k = %v", got)
	}
	if got := st.Params()["inputs"].(map[string]any)["k"]; got != "v" {
		t.Errorf("Params().inputs.k = %v, want v", got)
	}
}
