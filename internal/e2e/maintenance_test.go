package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/medicbot/medic/internal/maintpage"
	"github.com/medicbot/medic/internal/testenv"
)

// TestBuiltMaintenanceFunctionAnswersALBRequests runs the maintenance
// function's bootstrap, built as the Makefile builds it, with the
// environment template.yaml gives it, behind the Lambda Runtime API, and
// delivers the requests an ALB sends a Lambda target
// (events.ALBTargetGroupRequest; aws-lambda-go's recorded shapes): the
// page a maintenance rule's url-rewrite carries, in HTML and JSON, a
// health-check path let through with 200, and multi-value headers.
func TestBuiltMaintenanceFunctionAnswersALBRequests(t *testing.T) {
	bin := testenv.BuildBootstrap(t, "./functions/maintenance")
	refs := map[string]string{
		// The Globals' variables, which the function ignores.
		"Table": "medic-Table-E2E", "WorkQueue": "http://127.0.0.1:1/q", "KillSwitch": killSwitchParam,
		"SlackChannel": defaultChannel, "SlackBotTokenSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:unused",
		"AWS::AccountId":   testenv.Account,
		"MemberExternalId": "", "MemberAccounts": "", "MemberRegions": "",
	}
	fn := startFunction(t, "maintenance", bin, functionEnv(t, "MaintenanceFunction", refs))

	var single, multi events.ALBTargetGroupRequest
	readJSON(t, "../maintpage/testdata/alb-lambda-target-request-headers-only.json", &single)
	readJSON(t, "../maintpage/testdata/alb-lambda-target-request-multivalue-headers.json", &multi)
	enc, err := maintpage.Encode(maintpage.Config{Message: "Checkout is being upgraded.", RetryAfter: 600, AllowPaths: []string{"/healthz"}})
	if err != nil {
		t.Fatal(err)
	}
	rewrite := func(req events.ALBTargetGroupRequest, path string) events.ALBTargetGroupRequest {
		req.Path = maintpage.PathPrefix + enc + path
		return req
	}
	answer := func(req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
		t.Helper()
		var res events.ALBTargetGroupResponse
		fn.decode(t, fn.invoke(t, req), &res)
		return res
	}

	res := answer(rewrite(single, "/cart"))
	if res.StatusCode != 503 || res.Headers["Retry-After"] != "600" || res.Headers["Cache-Control"] != "no-store" ||
		res.Headers["Content-Type"] != "text/html; charset=utf-8" || !strings.Contains(res.Body, "Checkout is being upgraded.") ||
		!strings.Contains(res.Body, "Please try again in 10 minutes.") {
		t.Errorf("page request: %d %v\n%s", res.StatusCode, res.Headers, res.Body)
	}

	api := rewrite(single, "/api/orders")
	api.Headers = map[string]string{"accept": "application/json", "host": "shop.example.com"}
	res = answer(api)
	var body struct {
		Status     int    `json:"status"`
		Message    string `json:"message"`
		RetryAfter int    `json:"retry_after"`
	}
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil || res.StatusCode != 503 || res.Headers["Content-Type"] != "application/json" ||
		body.Status != 503 || body.RetryAfter != 600 || body.Message != "Checkout is being upgraded." {
		t.Errorf("JSON request: %d %v %q (%v)", res.StatusCode, res.Headers, res.Body, err)
	}

	if res = answer(rewrite(single, "/healthz")); res.StatusCode != 200 {
		t.Errorf("allowed health path: %d, want 200", res.StatusCode)
	}

	res = answer(multi)
	if res.StatusCode != 503 || len(res.MultiValueHeaders["Retry-After"]) != 1 || res.MultiValueHeaders["Retry-After"][0] != "300" ||
		!strings.Contains(res.Body, "lambda-test-alb-1234567.us-east-1.elb.amazonaws.com is down for maintenance.") {
		t.Errorf("multi-value request without a config: %d %v\n%s", res.StatusCode, res.MultiValueHeaders, res.Body)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
