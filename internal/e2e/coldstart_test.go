package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/testenv"
)

// configChange is an EventBridge event the alarm function ignores without
// any I/O: what it costs to handle is the cold start itself.
const configChange = `{"version":"0","id":"7c9e1a3b-5d7f-4a9c-b1d3-a5c7e9b1d3f5",` +
	`"detail-type":"CloudWatch Alarm Configuration Change","source":"aws.cloudwatch","account":"123456789012",` +
	`"time":"2025-01-01T10:00:00Z","region":"us-east-1",` +
	`"resources":["arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx"],` +
	`"detail":{"alarmName":"checkout-prod-target-5xx","operation":"update","state":{"value":"OK","timestamp":"2025-01-01T10:00:00.000+0000"}}}`

// BenchmarkColdStart measures, per op, one cold start: process start to the
// first event's answer, with a fresh Runtime API each time. "hello" is the
// smallest aws-lambda-go function; "alarm" is medic's alarm function, whose
// init reads the configuration, loads the AWS configuration, builds every
// client and compiles the embedded policies. Its secrets come from plain
// environment variables here: in AWS the two Secrets Manager reads add a
// round trip each. Every AWS endpoint points at a closed port, so an init
// that made a network call would fail here rather than be measured.
//
// "hello-sdk" is hello plus the AWS SDK clients medic's Lambdas build (ssm
// for the kill switch included) and nothing of medic: the floor set by the
// SDK (its generated schemas and endpoint tables initialise at package init,
// whether used or not), so x-hello-sdk is what medic itself adds, and the
// figure the cold-start goal is set on.
//
// Metrics: x-hello and x-hello-sdk (alarm / hello, alarm / hello-sdk,
// reported on alarm when those ran; hello-sdk reports its own x-hello) and
// MiB-peak-rss (the largest child RSS over the ops).
func BenchmarkColdStart(b *testing.B) {
	var helloPerOp, sdkPerOp time.Duration
	b.Run("hello", func(b *testing.B) {
		bin := bootstrap(b, "hello")
		helloPerOp = coldStarts(b, "hello", bin, lambdaEnv("hello"), []byte(`{"name":"medic"}`), func(b *testing.B, resp []byte) {
			var got map[string]string
			if err := json.Unmarshal(resp, &got); err != nil || got["hello"] != "medic" {
				b.Fatalf("hello answered %s", resp)
			}
		})
	})
	b.Run("hello-sdk", func(b *testing.B) {
		bin := bootstrap(b, "hellosdk")
		sdkPerOp = coldStarts(b, "hellosdk", bin, lambdaEnv("hellosdk"), []byte(`{"name":"medic"}`), func(b *testing.B, resp []byte) {
			var got struct {
				Hello   string
				Clients int
			}
			if err := json.Unmarshal(resp, &got); err != nil || got.Hello != "medic" || got.Clients == 0 {
				b.Fatalf("hello-sdk answered %s", resp)
			}
		})
		if helloPerOp > 0 {
			b.ReportMetric(float64(sdkPerOp)/float64(helloPerOp), "x-hello")
		}
	})
	b.Run("alarm", func(b *testing.B) {
		bin := bootstrap(b, "alarm")
		closed := "http://127.0.0.1:1"
		refs := map[string]string{
			"Table": "medic-Table-BENCH", "WorkQueue": closed + "/123456789012/medic-WorkQueue-BENCH",
			"KillSwitch": killSwitchParam, "SlackChannel": defaultChannel, "GitHubSecretArn": "",
			"AWS::AccountId": testenv.Account, "OpsTopic": "", "MaintenanceTargetGroup": "",
			"MemberExternalId": "", "MemberAccounts": "", "MemberRegions": "", // a single-account stack
			// Overridden by the plain variables below: no Secrets Manager read.
			"SlackBotTokenSecretArn": "", "SlackSigningSecretArn": "",
		}
		env := functionEnv(b, "AlarmFunction", refs,
			"SLACK_BOT_TOKEN="+botToken, "SLACK_SIGNING_SECRET="+signingSecret,
			"AWS_ENDPOINT_URL="+closed, "SLACK_API_URL="+closed+"/", "GITHUB_API_URL="+closed+"/")
		perOp := coldStarts(b, "alarm", bin, env, []byte(configChange), func(b *testing.B, resp []byte) {
			var got doors.AlarmResult
			if err := json.Unmarshal(resp, &got); err != nil || got.Ignored == "" {
				b.Fatalf("alarm answered %s, want the configuration change ignored", resp)
			}
		})
		if helloPerOp > 0 {
			b.ReportMetric(float64(perOp)/float64(helloPerOp), "x-hello")
		}
		if sdkPerOp > 0 {
			b.ReportMetric(float64(perOp)/float64(sdkPerOp), "x-hello-sdk")
		}
	})
}

// coldStarts runs b.N cold starts of bin, checking each answer, and
// returns the mean time per cold start. Only process start to answer is
// timed; setting up the Runtime API and stopping the process are not.
func coldStarts(b *testing.B, name, bin string, env []string, payload []byte, check func(*testing.B, []byte)) time.Duration {
	b.Helper()
	var total time.Duration
	var peak int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		f := newFunction(b, name, bin, env)
		b.StartTimer()
		start := time.Now()
		f.start(b)
		resp := f.invoke(b, payload)
		total += time.Since(start)
		b.StopTimer()
		check(b, resp)
		rss, err := f.peakRSS()
		if err != nil {
			b.Fatalf("%v\n%s output:\n%s", err, name, f.out.String())
		}
		peak = max(peak, rss)
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-rss")
	return total / time.Duration(b.N)
}

// lambdaFunctions are the template's functions and their Makefile targets.
var lambdaFunctions = []struct{ name, target string }{
	{"alarm", "build-AlarmFunction"},
	{"slack", "build-SlackFunction"},
	{"executor", "build-ExecutorFunction"},
}

// BenchmarkBinarySize builds the three bootstraps with the Makefile targets
// SAM calls (linux/arm64, stripped, lambda.norpc) and reports their sizes
// in MB (10^6 bytes, as the Lambda console counts), e.g. MB-alarm. ns/op is
// the time to build all three (link time when the build cache is warm).
// The target is under 20 MB each.
func BenchmarkBinarySize(b *testing.B) {
	if _, err := exec.LookPath("make"); err != nil {
		b.Skip("make not found: the sizes are of what the Makefile builds")
	}
	root, err := repoRoot()
	if err != nil {
		b.Fatal(err)
	}
	sizes := map[string]int64{}
	for i := 0; i < b.N; i++ {
		for _, fn := range lambdaFunctions {
			dir := b.TempDir()
			cmd := exec.Command("make", "-s", fn.target, "ARTIFACTS_DIR="+dir)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("make %s: %v\n%s", fn.target, err, out)
			}
			st, err := os.Stat(filepath.Join(dir, "bootstrap"))
			if err != nil {
				b.Fatalf("make %s wrote no bootstrap: %v", fn.target, err)
			}
			sizes[fn.name] = st.Size()
		}
	}
	for _, fn := range lambdaFunctions {
		b.ReportMetric(float64(sizes[fn.name])/1e6, "MB-"+fn.name)
	}
}
