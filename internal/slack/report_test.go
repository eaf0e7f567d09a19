package slack

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func reportText(m Message) string {
	var b strings.Builder
	for _, t := range textObjects(m.Blocks) {
		b.WriteString(t.Text + "\n")
	}
	return b.String()
}

func TestRenderReportSaysWhatHappened(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	m := RenderReport(ReportView{
		Alarm: "checkout-prod-checkout-target-5xx", TimeToFirstAction: "2m50s", TimeToRecovery: "19m20s",
		Ran:      []ReportStep{{Policy: "checkout", Step: 1, Action: "ecs.scale", State: "UNDONE", Plan: "desired 4 -> 6", Outcome: "undone: desired 6 -> 4", ApprovedBy: []string{"U0ALICE01"}, DecidedBy: "U0ALICE01"}},
		NotRun:   []ReportStep{{Policy: "checkout", Step: 2, Action: "ecs.scale", State: "REJECTED", Outcome: "rejected by U0BOB0001", DecidedBy: "U0BOB0001"}},
		Links:    []ReportLink{{Text: "Runbook", URL: "https://runbooks.example.com/checkout"}, {Text: "not a link", URL: "javascript:alert(1)"}},
		Timeline: []TimelineEntry{{At: at, Actor: "medic", Text: "alarm fired"}, {At: at.Add(time.Minute), Actor: "U0ALICE01", Text: "checkout step 1 approved"}},
	})
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	text := reportText(m)
	for _, want := range []string{
		"*Time to first action:* 2m50s", "*Time to recovery:* 19m20s", "<https://runbooks.example.com/checkout|Runbook>",
		"*checkout step 1* `ecs.scale`: undone — desired 4 -&gt; 6; undone: desired 6 -&gt; 4; approved by <@U0ALICE01>; by <@U0ALICE01>",
		"*checkout step 2* `ecs.scale`: rejected; rejected by U0BOB0001\n", "*What did not run*", "<@U0ALICE01>: checkout step 1 approved",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "javascript") {
		t.Errorf("a non-http link was rendered:\n%s", text)
	}
	if !strings.Contains(m.Text, "time to first action 2m50s") {
		t.Errorf("fallback %q", m.Text)
	}
}

func TestRenderReportStaysWithinBlockKit(t *testing.T) {
	long := strings.Repeat("<!channel> & é", 400)
	var steps []ReportStep
	for i := range 200 {
		steps = append(steps, ReportStep{Policy: long, Step: i + 1, Action: "ecs.scale", State: "SUCCEEDED", Plan: long, Outcome: long, ApprovedBy: []string{"U0ALICE01", long}})
	}
	var timeline []TimelineEntry
	for i := range 2000 {
		timeline = append(timeline, TimelineEntry{At: time.Unix(int64(i), 0), Actor: long, Text: fmt.Sprintf("%d %s", i, long)})
	}
	for name, v := range map[string]ReportView{
		"empty":           {},
		"everything long": {Alarm: long, TimeToFirstAction: long, Ran: steps, NotRun: steps, Timeline: timeline, Links: []ReportLink{{Text: long, URL: "https://x.example.com/" + strings.Repeat("a", 3000)}}},
		"long timeline":   {Alarm: "a", Timeline: timeline},
	} {
		t.Run(name, func(t *testing.T) {
			m := RenderReport(v)
			if err := m.Check(); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(reportText(m)+m.Text, "<!channel>") {
				t.Error("user text became a broadcast")
			}
		})
	}
	m := RenderReport(ReportView{Alarm: "a", Ran: steps})
	if !strings.Contains(reportText(m), "more steps; see the audit log") {
		t.Error("steps left out are not counted")
	}
}
