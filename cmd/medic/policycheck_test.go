package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/medicbot/medic/internal/testenv"
)

// policy check --aws looks the resources up in moto (ECS, ELBv2) and in an
// httptest GitHub that knows one repository.
func TestPolicyCheckFindsMissingResources(t *testing.T) {
	embedExamples(t)
	m := testenv.Moto(t)
	prod, err := testenv.CreateProd(context.Background(), m.Config)
	if err != nil {
		t.Fatal(err)
	}
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer test-token" {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && r.URL.Path == "/repos/acme/checkout" {
			_, _ = w.Write([]byte(`{"id":1,"name":"checkout","full_name":"acme/checkout","default_branch":"main"}`))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest/repos/repos#get-a-repository"}`))
	}))
	defer gh.Close()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": testenv.Region,
		"GITHUB_TOKEN": "test-token", "GITHUB_API_URL": gh.URL + "/",
	} {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	policies := `version: 1
policies:
  - name: checkout
    match: {alarm: "checkout-*"}
    approvers: [U0ONCALL1]
    steps:
      - action: ecs.scale
        approval: required
        params: {cluster: prod, service: checkout, add: 2, max: 10}
      - action: ecs.restart
        approval: required
        params: {cluster: prod, service: gone}
      - action: alb.maintenance
        approval: required
        params: {listener: ` + prod.ListenerARN + `}
      - action: alb.maintenance
        approval: required
        params: {listener: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/checkout-prod/50dc6c495c0c9188/0000000000000000"}
      - action: github.rollback
        approval: required
        params: {repo: acme/checkout, environment: production}
      - action: github.rollback
        approval: required
        params: {repo: acme/gone, environment: production}
      - action: ecs.restart
        approval: required
        params: {cluster: prod, service: "{{ .Dimensions.TargetGroup | segment 1 }}"}
      - action: ecs.scale
        approval: required
        params: {cluster: nowhere, service: checkout, add: 1, max: 10}
`
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(policies), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"policy", "check", "--aws", "--endpoint-url", m.URL, dir}, nil, &stdout, &stderr)
	if code != exitFindings {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	out := stdout.String()
	for _, want := range []string{
		dir + "/p.yaml:12: policies[0].steps[1].params.service: ecs service prod/gone: missing (DescribeServices: MISSING)",
		dir + "/p.yaml:18: policies[0].steps[3].params.listener: alb listener arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/checkout-prod/50dc6c495c0c9188/0000000000000000: missing (listener not found)",
		dir + "/p.yaml:24: policies[0].steps[5].params.repo: github repository acme/gone: missing (GitHub answers 404",
		dir + "/p.yaml:27: policies[0].steps[6].params.service: not checked (templated: depends on the alarm)",
		dir + "/p.yaml:30: policies[0].steps[7].params.service: ecs service nowhere/checkout: missing",
		"8 resource reference(s): 3 found, 4 missing, 1 not checked, 0 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "prod/checkout") || strings.Contains(out, "acme/checkout") {
		t.Errorf("found resources are listed:\n%s", out)
	}
}

func TestPolicyCheckWithoutGitHubCredentialSaysSo(t *testing.T) {
	embedExamples(t)
	m := testenv.Moto(t)
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": testenv.Region, "GITHUB_TOKEN": "", "GITHUB_APP_ID": ""} {
		t.Setenv(k, v)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"policy", "check", "--aws", "--endpoint-url", m.URL}, nil, &stdout, &stderr)
	// The embedded policies name cluster prod, which this moto lacks.
	if code != exitFindings {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	// Line numbers of the embedded policies change with them: match any.
	for _, want := range []string{
		`examples/checkout.yaml:\d+: policies\[0\]\.steps\[2\]\.params\.repo: github repository acme/checkout: not checked \(no GitHub credential`,
		`examples/checkout.yaml:\d+: policies\[0\]\.steps\[0\]\.params\.service: not checked \(templated: depends on the alarm\)`,
		`examples/checkout.yaml:\d+: policies\[0\]\.steps\[3\]\.params: not checked \(no listener: resolved from the alarm's LoadBalancer dimension\)`,
		`examples/payments.yaml:\d+: policies\[0\]\.steps\[0\]\.params\.service: ecs service payments-prod/payments-api: missing \(cluster payments-prod not found\)`,
	} {
		if !regexp.MustCompile(want).MatchString(stdout.String()) {
			t.Errorf("stdout does not match %s:\n%s", want, &stdout)
		}
	}
}

func TestPolicyCheckNeedsWhatToCheck(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"policy", "check"}, nil, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "--aws") {
		t.Errorf("exit %d, stderr %q", code, &stderr)
	}
}
