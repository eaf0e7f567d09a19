package policy_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
)

// benchPolicies returns n policies shaped like a large estate: most bound to
// one service's alarm names, some to exact names, some to ELB metrics only,
// a few to tags only (scanned), and the checkout policy last.
func benchPolicies(tb testing.TB, n int) *policy.Set {
	tb.Helper()
	var b strings.Builder
	b.WriteString("version: 1\npolicies:\n")
	for i := range n - 1 {
		switch {
		case i%20 == 1:
			fmt.Fprintf(&b, "  - {name: exact-%d, match: {alarm: svc-%03d-prod-5xx}, steps: [{action: ecs.restart, approval: auto}]}\n", i, i)
		case i%50 == 2:
			fmt.Fprintf(&b, "  - {name: elb-%d, match: {namespace: AWS/ApplicationELB, metric: [HTTPCode_ELB_502_Count, HTTPCode_ELB_503_Count], dimensions: {LoadBalancer: app/svc-%03d/*}}, steps: [{action: ecs.restart, approval: auto}]}\n", i, i)
		case i%100 == 3:
			fmt.Fprintf(&b, "  - {name: tag-%d, match: {tags: {service: svc-%03d}}, steps: [{action: ecs.restart, approval: auto}]}\n", i, i)
		default:
			fmt.Fprintf(&b, "  - name: svc-%d\n    match: {alarm: \"svc-%03d-*-5xx\", namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count, dimensions: {LoadBalancer: \"app/svc-%03d/*\"}}\n", i, i, i)
			b.WriteString("    steps: [{action: ecs.scale, approval: auto, params: {service: \"{{ .Dimensions.TargetGroup | segment 1 }}\", add: 2, max: 20}}]\n")
		}
	}
	b.WriteString(`  - name: checkout-target-5xx
    match: {alarm: "checkout-*-5xx", namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count, dimensions: {LoadBalancer: "app/checkout-prod/*"}}
    steps: [{action: ecs.scale, approval: auto, params: {service: checkout, add: 2, max: 20}}]
`)
	set, err := policy.Parse("bench.yaml", []byte(b.String()), testCatalog)
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

// BenchmarkMatch decodes one EventBridge ALB alarm and matches it against
// 1,000 policies, as the alarm Lambda does per invocation.
func BenchmarkMatch(b *testing.B) {
	set := benchPolicies(b, 1000)
	payload, err := os.ReadFile("../alarm/testdata/eventbridge-alb-target-5xx.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode+match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			alarms, err := alarm.Decode(payload)
			if err != nil {
				b.Fatal(err)
			}
			if got := set.Match(alarms[0]); len(got) != 1 {
				b.Fatalf("matched %d policies, want 1", len(got))
			}
		}
	})
	b.Run("match", func(b *testing.B) {
		alarms, err := alarm.Decode(payload)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if got := set.Match(alarms[0]); len(got) != 1 {
				b.Fatalf("matched %d policies, want 1", len(got))
			}
		}
	})
}

func TestBenchPoliciesMatchLikeAScan(t *testing.T) {
	set := benchPolicies(t, 1000)
	payload, err := os.ReadFile("../alarm/testdata/eventbridge-alb-target-5xx.json")
	if err != nil {
		t.Fatal(err)
	}
	alarms, err := alarm.Decode(payload)
	if err != nil {
		t.Fatal(err)
	}
	probes := []*alarm.Alarm{alarms[0], checkoutAlarm()}
	for _, name := range []string{"svc-004-prod-5xx", "svc-021-prod-5xx", "svc-053-eu-5xx"} {
		a := checkoutAlarm()
		a.Name = name
		a.Metrics[0].Dimensions["LoadBalancer"] = "app/" + name[:7] + "/1"
		probes = append(probes, a)
	}
	elb := checkoutAlarm()
	elb.Name = "edge"
	elb.Metrics[0].Name = "HTTPCode_ELB_502_Count"
	elb.Metrics[0].Dimensions["LoadBalancer"] = "app/svc-102/1"
	tagged := checkoutAlarm()
	tagged.Tags = map[string]string{"service": "svc-203"}
	probes = append(probes, elb, tagged)
	for _, a := range probes {
		var want []string
		for _, p := range set.Policies() {
			if p.Matches(a) {
				want = append(want, p.Name)
			}
		}
		var got []string
		for _, p := range set.Match(a) {
			got = append(got, p.Name)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(want) == 0 {
			t.Errorf("alarm %s: Match = %v, scan = %v (want equal and non-empty)", a.Name, got, want)
		}
	}
}
