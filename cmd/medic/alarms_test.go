package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/internal/testenv"
)

func alarmsEnv(t *testing.T) *testenv.Prod {
	t.Helper()
	m := testenv.Moto(t)
	prod, err := testenv.CreateProd(context.Background(), m.Config)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": testenv.Region, "AWS_ENDPOINT_URL": m.URL,
	} {
		t.Setenv(k, v)
	}
	return prod
}

func runMedic(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestAlarmsWritesATemplateForThePoliciesTargetGroups(t *testing.T) {
	embedExamples(t)
	prod := alarmsEnv(t)
	file := filepath.Join(t.TempDir(), "alarms.yaml")
	code, _, stderr := runMedic("alarms", "--slo", "99.9", "--sns-topic", "arn:aws:sns:us-east-1:123456789012:medic-AlarmTopic", "--out", file)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "note: policy payments-elb-502-503") {
		t.Errorf("stderr %q does not note that the payments load balancer does not exist", stderr)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources map[string]struct {
			Properties struct {
				AlarmName    string   `yaml:"AlarmName"`
				AlarmActions []string `yaml:"AlarmActions"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool)
	for _, r := range doc.Resources {
		names[r.Properties.AlarmName] = true
		if len(r.Properties.AlarmActions) != 1 {
			t.Errorf("%s: actions %v, want the topic", r.Properties.AlarmName, r.Properties.AlarmActions)
		}
	}
	for _, want := range []string{"checkout-prod-checkout-target-5xx", "checkout-prod-elb-503", "checkout-prod-checkout-burn-fast", "checkout-prod-checkout-burn-slow"} {
		if !names[want] {
			t.Errorf("template has no alarm %s (has %v)", want, names)
		}
	}
	if !bytes.Contains(body, []byte(prod.TargetGroupDim)) {
		t.Errorf("template does not name the target group dimension %s", prod.TargetGroupDim)
	}
}

func TestAlarmsApplyTwiceChangesNothing(t *testing.T) {
	embedExamples(t)
	alarmsEnv(t)
	code, stdout, stderr := runMedic("alarms", "--apply", "--alb", "checkout-prod")
	if code != exitOK || !strings.Contains(stdout, "7 alarm(s): 7 created, 0 updated, 0 unchanged") {
		t.Fatalf("first run: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runMedic("alarms", "--apply", "--alb", "checkout-prod")
	if code != exitOK || !strings.Contains(stdout, "7 alarm(s): 0 created, 0 updated, 7 unchanged") ||
		!strings.Contains(stdout, "unchanged checkout-prod-checkout-target-5xx") {
		t.Fatalf("second run: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestAlarmsTagsEveryAlarm(t *testing.T) {
	alarmsEnv(t)
	args := []string{"alarms", "--alb", "checkout-prod", "--tag", "medic-cluster=prod", "--tag", "medic-service=checkout"}
	code, stdout, stderr := runMedic(args...)
	if code != exitOK {
		t.Fatalf("template: exit %d: %s", code, stderr)
	}
	var doc struct {
		Resources map[string]struct {
			Properties struct {
				AlarmName string              `yaml:"AlarmName"`
				Tags      []map[string]string `yaml:"Tags"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{{"Key": "medic-cluster", "Value": "prod"}, {"Key": "medic-service", "Value": "checkout"}}
	for _, r := range doc.Resources {
		if !reflect.DeepEqual(r.Properties.Tags, want) {
			t.Errorf("template: %s has tags %v, want %v", r.Properties.AlarmName, r.Properties.Tags, want)
		}
	}
	if len(doc.Resources) != 7 || !strings.Contains(stdout, "alarm tag propagation") {
		t.Errorf("template: %d resources, propagation note %v; want 7 and the note", len(doc.Resources), strings.Contains(stdout, "alarm tag propagation"))
	}

	if code, stdout, stderr = runMedic(append(args, "--apply")...); code != exitOK || !strings.Contains(stdout, "7 alarm(s): 7 created") {
		t.Fatalf("first apply: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr = runMedic(append(args, "--apply")...); code != exitOK || !strings.Contains(stdout, "7 alarm(s): 0 created, 0 updated, 7 unchanged") {
		t.Fatalf("second apply: exit %d\n%s%s", code, stdout, stderr)
	}
	args[len(args)-1] = "medic-service=checkout-v2"
	if code, stdout, stderr = runMedic(append(args, "--apply")...); code != exitOK || !strings.Contains(stdout, "7 alarm(s): 0 created, 7 updated, 0 unchanged") {
		t.Fatalf("apply with a new tag value: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestAlarmsErrors(t *testing.T) {
	alarmsEnv(t)
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"an impossible objective", []string{"alarms", "--slo", "90"}, exitUsage, "use an objective of at least"},
		{"a malformed objective", []string{"alarms", "--slo", "high"}, exitUsage, `slo "high"`},
		{"a topic that is not an ARN", []string{"alarms", "--sns-topic", "medic"}, exitUsage, "take ARNs"},
		{"an unknown load balancer", []string{"alarms", "--alb", "nope"}, exitUsage, "look up load balancer nope"},
		{"policies that name nothing that exists", []string{"alarms", "testdata/elsewhere"}, exitFindings, "no load balancer or target group found"},
		{"both a directory and --alb", []string{"alarms", "--alb", "checkout-prod", "policies"}, exitUsage, "not both"},
		{"a tag without =", []string{"alarms", "--alb", "checkout-prod", "--tag", "medic-cluster"}, exitUsage, `"medic-cluster"`},
		{"a reserved aws: tag key", []string{"alarms", "--alb", "checkout-prod", "--tag", "aws:cloudformation:stack-name=x"}, exitUsage, `"aws:cloudformation:stack-name"`},
		{"a tag key given twice", []string{"alarms", "--alb", "checkout-prod", "--tag", "medic-cluster=a", "--tag", "medic-cluster=b"}, exitUsage, "medic-cluster is given twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runMedic(tt.args...)
			// The flag package reports a bad flag value itself, with the usage.
			prefixed := strings.HasPrefix(stderr, "medic alarms: ") || strings.HasPrefix(stderr, "invalid value ")
			if code != tt.code || !strings.Contains(stderr, tt.want) || !prefixed && tt.code != exitFindings {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

// policy check --aws warns about the policies no existing alarm can match,
// and stops once `medic alarms --apply` has created the alarms they expect.
func TestPolicyCheckWarnsAboutPoliciesNoAlarmMatches(t *testing.T) {
	embedExamples(t)
	alarmsEnv(t) // has one hand-made alarm, checkout-prod-target-5xx
	t.Setenv("GITHUB_TOKEN", "")
	t.Setenv("GITHUB_APP_ID", "")
	warned := func(stderr string) map[string]bool {
		out := make(map[string]bool)
		for _, line := range strings.Split(stderr, "\n") {
			if _, rest, ok := strings.Cut(line, ": policy "); ok && strings.Contains(rest, "warning: no existing alarm can match it") {
				name, _, _ := strings.Cut(rest, ":")
				out[name] = true
			}
		}
		return out
	}
	code, _, stderr := runMedic("policy", "check", "--aws")
	if code == exitUsage {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := warned(stderr)
	for name, want := range map[string]bool{
		"checkout-target-5xx": false, "checkout-elb-503": true, "checkout-5xx-rate-shadow": true,
		"payments-elb-502-503": true, "degraded-restart-shadow": true,
	} {
		if got[name] != want {
			t.Errorf("before generating: warned about %s = %v, want %v\n%s", name, got[name], want, stderr)
		}
	}
	if !strings.Contains(stderr, "examples/checkout.yaml:") {
		t.Errorf("warnings do not name the policy file:\n%s", stderr)
	}

	if code, stdout, stderr := runMedic("alarms", "--apply", "--alb", "checkout-prod"); code != exitOK {
		t.Fatalf("alarms --apply: exit %d\n%s%s", code, stdout, stderr)
	}
	_, _, stderr = runMedic("policy", "check", "--aws")
	got = warned(stderr)
	for name, want := range map[string]bool{
		"checkout-target-5xx": false, "checkout-elb-503": false, "checkout-5xx-rate-shadow": false,
		"payments-elb-502-503": true, "degraded-restart-shadow": true,
	} {
		if got[name] != want {
			t.Errorf("after generating: warned about %s = %v, want %v\n%s", name, got[name], want, stderr)
		}
	}
}
