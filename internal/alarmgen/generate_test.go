package alarmgen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/examples"
	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/remediations/builtin"
)

var (
	checkout = Target{LoadBalancer: "app/checkout-prod/50dc6c495c0c9188", TargetGroup: "targetgroup/checkout/73e2d6bc24d8a067"}
	payments = Target{LoadBalancer: "app/payments-prod/7e1f9a2b3c4d5e6f", TargetGroup: "targetgroup/payments-api/0a1b2c3d4e5f6a7b"}
)

// The SRE workbook's worked numbers (chapter "Alerting on SLOs", table of
// recommended parameters): for a 99.9% objective the fast pair alerts at
// 14.4 x 0.1% = 1.44% and the slow pair at 6 x 0.1% = 0.6%.
func TestThresholdsAreTheWorkbooks(t *testing.T) {
	tests := []struct {
		slo        string
		fast, slow float64
	}{
		{"99.9", 0.0144, 0.006},
		{"99.9%", 0.0144, 0.006},
		{"99.95", 0.0072, 0.003},
		{"99.99", 0.00144, 0.0006},
		{"99", 0.144, 0.06},
		{"95", 0.72, 0.3},
	}
	for _, tt := range tests {
		t.Run(tt.slo, func(t *testing.T) {
			got, err := Thresholds(tt.slo)
			if err != nil {
				t.Fatal(err)
			}
			// Exact: computed in decimal, not 14.4 * (1 - 0.999) in floats
			// (which gives 0.014400000000000012).
			if got[0] != tt.fast || got[1] != tt.slow {
				t.Errorf("Thresholds(%s) = %v, want [%v %v]", tt.slo, got, tt.fast, tt.slow)
			}
		})
	}
}

func TestThresholdsRefuseObjectivesThatCannotAlert(t *testing.T) {
	for _, slo := range []string{"", "abc", "0", "100", "101", "-5", "1e2", "1/2", "90"} {
		t.Run(slo, func(t *testing.T) {
			if got, err := Thresholds(slo); err == nil {
				t.Errorf("Thresholds(%q) = %v, want an error", slo, got)
			}
		})
	}
}

func TestBurnAlarmsUseTheWorkbookWindowsAndThresholds(t *testing.T) {
	alarms, err := Generate([]Target{checkout}, Options{SLO: "99.9"})
	if err != nil {
		t.Fatal(err)
	}
	byName := make(map[string]Alarm)
	for _, a := range alarms {
		byName[a.Name] = a
	}
	const p = "checkout-prod-checkout-burn-"
	windows := []struct {
		name      string
		period    int
		threshold float64
		minReq    string
	}{
		{"1h", 3600, 0.0144, "1200"}, {"5m", 300, 0.0144, "100"},
		{"6h", 21600, 0.006, "7200"}, {"30m", 1800, 0.006, "600"},
	}
	for _, w := range windows {
		a, ok := byName[p+w.name]
		if !ok {
			t.Fatalf("no alarm %s%s among %v", p, w.name, Names(alarms))
		}
		if a.Threshold != w.threshold || a.EvaluationPeriods != 1 || a.DatapointsToAlarm != 1 || a.ComparisonOperator != "GreaterThanThreshold" {
			t.Errorf("%s: threshold %v over %d/%d %s, want > %v over 1 of 1", a.Name, a.Threshold, a.DatapointsToAlarm, a.EvaluationPeriods, a.ComparisonOperator, w.threshold)
		}
		for _, q := range a.Metrics[1:] {
			if q.Period != w.period || q.Stat != "Sum" {
				t.Errorf("%s: metric %s period %d stat %s, want %d Sum", a.Name, q.ID, q.Period, q.Stat, w.period)
			}
		}
		if !strings.Contains(a.Metrics[0].Expression, ">= "+w.minReq+",") {
			t.Errorf("%s: expression %q, want a guard of %s requests", a.Name, a.Metrics[0].Expression, w.minReq)
		}
	}
	for pair, rule := range map[string]string{
		"fast": `ALARM("checkout-prod-checkout-burn-1h") AND ALARM("checkout-prod-checkout-burn-5m")`,
		"slow": `ALARM("checkout-prod-checkout-burn-6h") AND ALARM("checkout-prod-checkout-burn-30m")`,
	} {
		a := byName[p+pair]
		if a.Kind != CompositeAlarm || a.AlarmRule != rule {
			t.Errorf("%s%s: kind %q rule %q, want composite %q", p, pair, a.Kind, a.AlarmRule, rule)
		}
	}
}

func TestWithoutSLONoBurnAlarms(t *testing.T) {
	alarms, err := Generate([]Target{checkout}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"checkout-prod-elb-5xx-rate", "checkout-prod-elb-502", "checkout-prod-elb-503", "checkout-prod-elb-504",
		"checkout-prod-checkout-target-5xx", "checkout-prod-checkout-target-p99", "checkout-prod-checkout-unhealthy-hosts",
	}
	if got := Names(alarms); !slices.Equal(got, want) {
		t.Errorf("names = %v, want %v", got, want)
	}
	for _, a := range alarms {
		if len(a.AlarmActions) != 0 || len(a.OKActions) != 0 {
			t.Errorf("%s has actions %v %v; EventBridge needs none", a.Name, a.AlarmActions, a.OKActions)
		}
	}
}

func TestTargetRateHasAMinimumRequestGuard(t *testing.T) {
	alarms, err := Generate([]Target{checkout}, Options{MinRequests: 250, MaxErrorRate: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(alarms, func(a Alarm) bool { return a.Name == "checkout-prod-checkout-target-5xx" })
	a := alarms[i]
	if got, want := a.Metrics[0].Expression, "IF(requests >= 50, FILL(errors, 0) / requests, 0)"; got != want {
		t.Errorf("expression %q, want %q (250 per 5 minutes is 50 per minute)", got, want)
	}
	if a.Metrics[1].MetricName != "HTTPCode_Target_5XX_Count" || a.Metrics[2].MetricName != "RequestCount" || a.Threshold != 0.02 {
		t.Errorf("rate of %s / %s > %v, want HTTPCode_Target_5XX_Count / RequestCount > 0.02", a.Metrics[1].MetricName, a.Metrics[2].MetricName, a.Threshold)
	}
	if a.TreatMissingData != "notBreaching" {
		t.Errorf("TreatMissingData %q: no requests must not page", a.TreatMissingData)
	}
}

func TestGenerateReportsEveryProblem(t *testing.T) {
	_, err := Generate([]Target{{LoadBalancer: "checkout-prod"}, {LoadBalancer: checkout.LoadBalancer, TargetGroup: "checkout"}},
		Options{SLO: "100", MaxErrorRate: 5})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`"checkout-prod"`, `"checkout"`, `slo "100"`, "max error rate 5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestActionsOnEveryAlarm(t *testing.T) {
	acts := Actions{SNSTopic: "arn:aws:sns:us-east-1:123456789012:medic-AlarmTopic", Function: "arn:aws:lambda:us-east-1:123456789012:function:medic-alarm"}
	alarms, err := Generate([]Target{checkout}, Options{SLO: "99.9", Actions: acts})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alarms {
		if !slices.Equal(a.AlarmActions, acts.List()) || !slices.Equal(a.OKActions, acts.List()) {
			t.Errorf("%s: ALARM %v OK %v, want both %v (medic resolves incidents on OK)", a.Name, a.AlarmActions, a.OKActions, acts.List())
		}
	}
}

// asAlarm is the state change CloudWatch would send when a fired, as the
// decoders normalise it.
func asAlarm(a Alarm) *alarm.Alarm {
	out := &alarm.Alarm{
		Name: a.Name, ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + a.Name,
		Account: "123456789012", Region: "us-east-1", State: alarm.StateAlarm,
	}
	dims := func(ds []Dimension) map[string]string {
		m := make(map[string]string)
		for _, d := range ds {
			m[d.Name] = d.Value
		}
		return m
	}
	if a.MetricName != "" {
		out.Metrics = append(out.Metrics, alarm.Metric{Namespace: a.Namespace, Name: a.MetricName, Dimensions: dims(a.Dimensions)})
	}
	for _, q := range a.Metrics {
		if q.MetricName != "" {
			out.Metrics = append(out.Metrics, alarm.Metric{ID: q.ID, Namespace: Namespace, Name: q.MetricName, Dimensions: dims(q.Dimensions)})
		} else {
			out.Expressions = append(out.Expressions, alarm.Expression{ID: q.ID, Expression: q.Expression, ReturnData: q.ReturnData})
		}
	}
	if a.Kind == CompositeAlarm {
		out.CompositeRule = a.AlarmRule
	}
	return out
}

func examplePolicies(t *testing.T) *policy.Set {
	t.Helper()
	set, err := policy.Load(examples.FS, builtin.Catalog())
	if err != nil {
		t.Fatalf("load the example policies: %v", err)
	}
	return set
}

// The naming scheme is the example policies' contract: each generated alarm
// is answered by the policy written for it, and by no other.
func TestGeneratedNamesMatchTheExamplePolicies(t *testing.T) {
	set := examplePolicies(t)
	alarms, err := Generate([]Target{checkout, payments}, Options{SLO: "99.9"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"checkout-prod-checkout-target-5xx": "checkout-target-5xx",
		"checkout-prod-elb-503":             "checkout-elb-503",
		"checkout-prod-elb-5xx-rate":        "checkout-5xx-rate-shadow",
		"payments-prod-elb-502":             "payments-elb-502-503",
		"payments-prod-elb-503":             "payments-elb-502-503",
	}
	matched := make(map[string]bool)
	for _, a := range alarms {
		var got []string
		for _, p := range set.Match(asAlarm(a)) {
			got = append(got, p.Name)
			matched[p.Name] = true
		}
		var exp []string
		if w, ok := want[a.Name]; ok {
			exp = []string{w}
		}
		if !slices.Equal(got, exp) {
			t.Errorf("alarm %s matches %v, want %v", a.Name, got, exp)
		}
	}
	// Every example policy on ALB metrics answers some generated alarm.
	for _, p := range set.Policies() {
		if p.Match.Dimensions["LoadBalancer"] != "" && !matched[p.Name] {
			t.Errorf("example policy %s (%s) matches no generated alarm", p.Name, p.File)
		}
	}
}

func TestLogicalID(t *testing.T) {
	for in, want := range map[string]string{
		"checkout-prod-elb-503":           "CheckoutProdElb503",
		"checkout-prod-checkout-burn-30m": "CheckoutProdCheckoutBurn30m",
		"5xx":                             "Alarm5xx",
		"a_b.c":                           "ABC",
	} {
		if got := LogicalID(in); got != want {
			t.Errorf("LogicalID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDuplicateNamesAreRefused(t *testing.T) {
	other := Target{LoadBalancer: "app/checkout-prod/ffffffffffffffff", TargetGroup: "targetgroup/checkout/eeeeeeeeeeeeeeee"}
	if _, err := Generate([]Target{checkout, other}, Options{}); err == nil || !strings.Contains(err.Error(), "generated twice") {
		t.Errorf("two load balancers called checkout-prod: err = %v, want a duplicate name", err)
	}
}

func TestTemplatePassesCfnLint(t *testing.T) {
	lint := testenv.CfnLint(t)
	for name, opts := range map[string]Options{
		"eventbridge": {},
		"slo and sns": {SLO: "99.9", Actions: Actions{SNSTopic: "arn:aws:sns:us-east-1:123456789012:medic-AlarmTopic"}},
		"direct":      {SLO: "99.95", Actions: Actions{Function: "arn:aws:lambda:us-east-1:123456789012:function:medic-alarm"}},
		"tags":        {SLO: "99.9", Tags: starterTags},
	} {
		t.Run(name, func(t *testing.T) {
			alarms, err := Generate([]Target{checkout, payments}, opts)
			if err != nil {
				t.Fatal(err)
			}
			body, err := Template(alarms, "medic's recommended alarms")
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "alarms.yaml")
			if err := os.WriteFile(file, body, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(lint, file).CombinedOutput(); err != nil {
				t.Fatalf("cfn-lint: %v\n%s\n%s", err, out, body)
			}
			checkTemplate(t, body, alarms)
			if note := bytes.Contains(body, []byte("alarm tag propagation")); note != (len(opts.Tags) > 0) {
				t.Errorf("template has the tag propagation note: %v, want %v (tags %v)", note, len(opts.Tags) > 0, opts.Tags)
			}
		})
	}
}

// The tags the starter policy matches (policies/starter.yaml).
var starterTags = []Tag{{"medic-cluster", "prod"}, {"medic-service", "checkout"}}

func TestTagsOnEveryAlarm(t *testing.T) {
	alarms, err := Generate([]Target{checkout}, Options{SLO: "99.9", Tags: starterTags})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alarms {
		if !slices.Equal(a.Tags, starterTags) {
			t.Errorf("%s: tags %v, want %v", a.Name, a.Tags, starterTags)
		}
	}
}

func TestBadTagsAreRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		tags []Tag
		want []string // each must be named by the error
	}{
		{"a reserved aws: key", []Tag{{"aws:cloudformation:stack-name", "x"}}, []string{"aws:cloudformation:stack-name", "reserved"}},
		{"an AWS: key in capitals", []Tag{{"AWS:x", "y"}}, []string{"AWS:x", "reserved"}},
		{"an empty key", []Tag{{"", "prod"}}, []string{"key is empty"}},
		{"a key given twice", []Tag{{"medic-cluster", "prod"}, {"medic-cluster", "staging"}}, []string{"medic-cluster", "twice"}},
		{"a key too long", []Tag{{strings.Repeat("k", 129), ""}}, []string{"longer than 128"}},
		{"a value too long", []Tag{{"k", strings.Repeat("v", 257)}}, []string{"longer than 256"}},
		{"every problem at once", []Tag{{"aws:a", ""}, {"", "b"}}, []string{"aws:a", "key is empty"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate([]Target{checkout}, Options{Tags: tt.tags})
			if err == nil {
				t.Fatalf("tags %v: no error", tt.tags)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("tags %v: error %q does not say %q", tt.tags, err, w)
				}
			}
		})
	}
}

func TestParseTag(t *testing.T) {
	for in, want := range map[string]Tag{
		"medic-cluster=prod": {"medic-cluster", "prod"},
		"note=a=b":           {"note", "a=b"},
		"empty=":             {"empty", ""},
	} {
		if got, err := ParseTag(in); err != nil || got != want {
			t.Errorf("ParseTag(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"medic-cluster", "=prod", "aws:x=y", ""} {
		if _, err := ParseTag(in); err == nil {
			t.Errorf("ParseTag(%q): no error", in)
		}
	}
}

// checkTemplate reads the template back: one resource per alarm, composite
// alarms depending on their children.
func checkTemplate(t *testing.T, body []byte, alarms []Alarm) {
	t.Helper()
	var doc struct {
		Resources map[string]struct {
			Type       string         `yaml:"Type"`
			DependsOn  []string       `yaml:"DependsOn"`
			Properties map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Resources) != len(alarms) {
		t.Errorf("%d resources for %d alarms", len(doc.Resources), len(alarms))
	}
	for _, a := range alarms {
		r, ok := doc.Resources[LogicalID(a.Name)]
		if !ok || r.Properties["AlarmName"] != a.Name {
			t.Errorf("alarm %s: resource %s missing or misnamed (%v)", a.Name, LogicalID(a.Name), r.Properties["AlarmName"])
			continue
		}
		if a.Kind == CompositeAlarm {
			if r.Type != "AWS::CloudWatch::CompositeAlarm" || r.Properties["AlarmRule"] != a.AlarmRule ||
				!slices.Equal(r.DependsOn, []string{LogicalID(a.Children[0]), LogicalID(a.Children[1])}) {
				t.Errorf("composite %s: type %s rule %v depends on %v", a.Name, r.Type, r.Properties["AlarmRule"], r.DependsOn)
			}
		} else if r.Type != "AWS::CloudWatch::Alarm" {
			t.Errorf("alarm %s: type %s", a.Name, r.Type)
		}
		var tags []Tag
		raw, _ := r.Properties["Tags"].([]any)
		for _, x := range raw {
			m, _ := x.(map[string]any)
			k, _ := m["Key"].(string)
			v, _ := m["Value"].(string)
			tags = append(tags, Tag{k, v})
		}
		if !slices.Equal(tags, a.Tags) {
			t.Errorf("alarm %s: template tags %v, want %v", a.Name, tags, a.Tags)
		}
	}
}
