package history

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/examples"
	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/remediations/builtin"
)

var t0 = time.Date(2024, 5, 14, 9, 0, 0, 0, time.UTC)

// checkout is a record of the checkout target-5xx alarm the embedded
// policies answer.
func checkout(at time.Duration, old, new alarm.State) Record {
	return Record{
		Name: "checkout-prod-target-5xx", ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx",
		Timestamp: t0.Add(at), OldState: old, NewState: new,
		Metrics: []alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Stat: "Sum", Period: 60,
			Dimensions: map[string]string{"LoadBalancer": "app/checkout-prod/50dc6c495c0c9188", "TargetGroup": "targetgroup/checkout/73e2d6bc24d8a067"}}},
	}
}

func embedded(t *testing.T) *policy.Set {
	t.Helper()
	set, err := policy.Load(examples.FS, builtin.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestReplay(t *testing.T) {
	set := embedded(t)
	deleted := Record{Name: "search-prod-5xx", Timestamp: t0.Add(3 * time.Hour), OldState: "OK", NewState: "ALARM"}
	cases := []struct {
		name    string
		records []Record
		// for checkout-target-5xx
		matched, fired, selfResolved, renderErrors int
		unmatched                                  int
	}{
		{name: "no records fire nothing", records: nil},
		{name: "an ALARM back to OK within the second step's after counts as self-resolved",
			records: []Record{checkout(0, "OK", "ALARM"), checkout(9*time.Minute, "ALARM", "OK")}, matched: 1, fired: 1, selfResolved: 1},
		{name: "an ALARM that lasts past the window does not",
			records: []Record{checkout(0, "OK", "ALARM"), checkout(11*time.Minute, "ALARM", "OK")}, matched: 1, fired: 1},
		{name: "only the next state change counts, in time order whatever the file order",
			records: []Record{checkout(5*time.Minute, "ALARM", "INSUFFICIENT_DATA"), checkout(6*time.Minute, "INSUFFICIENT_DATA", "OK"), checkout(0, "OK", "ALARM")}, matched: 1, fired: 1},
		{name: "recoveries are not fires",
			records: []Record{checkout(0, "OK", "ALARM"), checkout(time.Minute, "ALARM", "OK"), checkout(time.Hour, "OK", "ALARM")}, matched: 2, fired: 2, selfResolved: 1},
		{name: "an alarm deleted since matches nothing and is listed",
			records: []Record{deleted}, unmatched: 1},
		{name: "a record whose dimensions the template needs but lacks is a render error, which cannot fire",
			records: func() []Record {
				// The first metric does not match but comes first in the
				// merged .Dimensions: its TargetGroup has no segment 1.
				r := checkout(0, "OK", "ALARM")
				r.Metrics = append([]alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count",
					Dimensions: map[string]string{"LoadBalancer": "app/checkout-prod/50dc6c495c0c9188", "TargetGroup": "targetgroup"}}}, r.Metrics...)
				return []Record{r}
			}(), matched: 1, renderErrors: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Run(tc.records, set.Policies())
			p := r.Policy("checkout-target-5xx")
			if p == nil {
				t.Fatal("no entry for checkout-target-5xx")
			}
			if p.Matched != tc.matched || p.Fired != tc.fired || p.SelfResolved != tc.selfResolved || p.RenderErrors != tc.renderErrors {
				t.Errorf("matched %d fired %d self-resolved %d render errors %d, want %d %d %d %d",
					p.Matched, p.Fired, p.SelfResolved, p.RenderErrors, tc.matched, tc.fired, tc.selfResolved, tc.renderErrors)
			}
			if p.Action != "ecs.scale" || p.Approval != policy.ApprovalRequired || p.Window != 10*time.Minute {
				t.Errorf("first step %s (%s), window %s", p.Action, p.Approval, p.Window)
			}
			if r.Unmatched != tc.unmatched || len(r.Policies) != len(set.Policies()) {
				t.Errorf("unmatched %d (%v), %d policies", r.Unmatched, r.UnmatchedAlarms, len(r.Policies))
			}
		})
	}
}

func TestWindow(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want time.Duration
	}{
		{"the second step's after when there is one", `
  - name: p
    match: {alarm: a}
    cooldown: 1h
    steps:
      - {action: ecs.restart, approval: auto, params: {cluster: c, service: s}}
      - {action: ecs.restart, approval: auto, after: 7m, params: {cluster: c, service: s}}`, 7 * time.Minute},
		{"else the cooldown", `
  - name: p
    match: {alarm: a}
    cooldown: 20m
    steps: [{action: ecs.restart, approval: auto, params: {cluster: c, service: s}}]`, 20 * time.Minute},
		{"else the default after", `
  - name: p
    match: {alarm: a}
    cooldown: 0s
    steps: [{action: ecs.restart, approval: auto, params: {cluster: c, service: s}}]`, policy.DefaultAfter},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set, err := policy.Parse("p.yaml", []byte("version: 1\npolicies:"+tc.yaml), builtin.Catalog())
			if err != nil {
				t.Fatal(err)
			}
			if got := Window(set.Policy("p")); got != tc.want {
				t.Errorf("window = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestReplayMarkdown(t *testing.T) {
	r := Run([]Record{checkout(0, "OK", "ALARM"), checkout(4*time.Minute, "ALARM", "OK"),
		{Name: "search-prod-5xx", Timestamp: t0.Add(time.Hour), OldState: "OK", NewState: "ALARM"}}, embedded(t).Policies())
	var b strings.Builder
	if err := r.Markdown(&b, "Replay"); err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "| `") {
			cells := strings.Split(strings.Trim(line, "| "), " | ")
			rows[strings.Trim(cells[0], "`")] = cells
		}
	}
	got := rows["checkout-target-5xx"]
	if want := []string{"`checkout-target-5xx`", "1", "1", "0", "0", "ecs.scale (required; when: not judged, history holds no evidence)", "1 of 1 (100%)", "10m", "0", "checkout-prod-target-5xx"}; !slices.Equal(got, want) {
		t.Errorf("checkout row = %q\n%s", got, b.String())
	}
	if len(rows) != len(embedded(t).Policies()) {
		t.Errorf("%d rows:\n%s", len(rows), b.String())
	}
	if !strings.Contains(b.String(), "1 ALARM transition(s) matched no policy: search-prod-5xx") {
		t.Errorf("unmatched line missing:\n%s", b.String())
	}
}

func TestReadReportsEveryBadLine(t *testing.T) {
	in := `{"name":"a","timestamp":"2024-05-14T09:00:00Z","old_state":"OK","new_state":"ALARM"}

{"name":"b","timestamp":"2024-05-14T09:00:00Z","new_state":"FIRING"}
not json
{"name":"c","timestamp":"2024-05-14T09:00:00Z","new_state":"OK","colour":"red"}
{"timestamp":"2024-05-14T09:00:00Z","new_state":"OK"}
`
	_, err := Read(strings.NewReader(in), "h.jsonl")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"h.jsonl:3: new_state must be", "h.jsonl:4: ", `h.jsonl:5: json: unknown field "colour"`, "h.jsonl:6: record lacks name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "h.jsonl:1:") {
		t.Errorf("the good line is reported:\n%v", err)
	}
}

// flappy restarts the ECS service an alarm's ServiceName dimension names:
// one target per service. Its window is the second step's after, 5m.
const flappy = `
  - name: flappy
    match: {alarm: "api-*-5xx"}
    cooldown: 30m
    max_per_hour: 2
    steps:
      - {action: ecs.restart, approval: auto, params: {cluster: prod, service: "{{ .Dimensions.ServiceName }}"}}
      - {action: ecs.restart, approval: auto, after: 5m, params: {cluster: prod, service: "{{ .Dimensions.ServiceName }}"}}`

// api is a state change of alarm name on service svc.
func api(name, svc string, at time.Duration, old, new alarm.State) Record {
	return Record{Name: name, ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name, Timestamp: t0.Add(at), OldState: old, NewState: new,
		Metrics: []alarm.Metric{{Namespace: "AWS/ECS", Name: "HTTP5xx", Dimensions: map[string]string{"ClusterName": "prod", "ServiceName": svc}}}}
}

// flap is an ALARM at at followed by OK a minute later.
func flap(name, svc string, at time.Duration) []Record {
	return []Record{api(name, svc, at, "OK", "ALARM"), api(name, svc, at+time.Minute, "ALARM", "OK")}
}

func TestReplayAppliesCooldownAndCap(t *testing.T) {
	set, err := policy.Parse("p.yaml", []byte("version: 1\npolicies:"+flappy), builtin.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                                                    string
		records                                                 [][]Record
		matched, fired, heldByCooldown, heldByCap, selfResolved int
		text                                                    string
	}{
		{name: "a flapping alarm fires once; the cooldown holds the rest, and only the firing counts as self-resolved",
			records: [][]Record{flap("api-a-5xx", "a", 0), flap("api-a-5xx", "a", 5*time.Minute), flap("api-a-5xx", "a", 10*time.Minute)},
			matched: 3, fired: 1, heldByCooldown: 2, selfResolved: 1, text: "1 of 3 matched (2 held by cooldown)"},
		{name: "after the cooldown it fires again",
			records: [][]Record{flap("api-a-5xx", "a", 0), flap("api-a-5xx", "a", 31*time.Minute)},
			matched: 2, fired: 2, selfResolved: 2, text: "2"},
		{name: "a held state change does not extend the cooldown",
			records: [][]Record{flap("api-a-5xx", "a", 0), flap("api-a-5xx", "a", 20*time.Minute), flap("api-a-5xx", "a", 35*time.Minute)},
			matched: 3, fired: 2, heldByCooldown: 1, selfResolved: 2, text: "2 of 3 matched (1 held by cooldown)"},
		{name: "another target is not held by the first one's cooldown",
			records: [][]Record{flap("api-a-5xx", "a", 0), flap("api-b-5xx", "b", 2*time.Minute)},
			matched: 2, fired: 2, selfResolved: 2, text: "2"},
		{name: "two alarms on the same target share its cooldown",
			records: [][]Record{flap("api-a-5xx", "a", 0), flap("api-a-latency-5xx", "a", 2*time.Minute)},
			matched: 2, fired: 1, heldByCooldown: 1, selfResolved: 1, text: "1 of 2 matched (1 held by cooldown)"},
		{name: "the cap holds a third firing in the same clock hour, not in the next",
			records: [][]Record{flap("api-a-5xx", "a", 0), flap("api-b-5xx", "b", 10*time.Minute), flap("api-c-5xx", "c", 20*time.Minute), flap("api-d-5xx", "d", time.Hour)},
			matched: 4, fired: 3, heldByCap: 1, selfResolved: 3, text: "3 of 4 matched (1 held by the cap of 2/h)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var recs []Record
			for _, r := range tc.records {
				recs = append(recs, r...)
			}
			// File order does not matter: the replay sorts by time.
			slices.Reverse(recs)
			p := Run(recs, set.Policies()).Policy("flappy")
			if p.Matched != tc.matched || p.Fired != tc.fired || p.HeldByCooldown != tc.heldByCooldown || p.HeldByCap != tc.heldByCap || p.SelfResolved != tc.selfResolved {
				t.Errorf("matched %d fired %d held by cooldown %d by cap %d self-resolved %d; want %d %d %d %d %d",
					p.Matched, p.Fired, p.HeldByCooldown, p.HeldByCap, p.SelfResolved, tc.matched, tc.fired, tc.heldByCooldown, tc.heldByCap, tc.selfResolved)
			}
			if got := p.FiredText(); got != tc.text {
				t.Errorf("FiredText = %q, want %q", got, tc.text)
			}
			if p.Cooldown != 30*time.Minute || p.Cap != 2 || p.Window != 5*time.Minute {
				t.Errorf("guardrails %s %d/h window %s", p.Cooldown, p.Cap, p.Window)
			}
		})
	}
	t.Run("the table says what was held and by what", func(t *testing.T) {
		var recs []Record
		for _, at := range []time.Duration{0, 5 * time.Minute, 10 * time.Minute} {
			recs = append(recs, flap("api-a-5xx", "a", at)...)
		}
		var b strings.Builder
		if err := Run(recs, set.Policies()).Markdown(&b, "Replay"); err != nil {
			t.Fatal(err)
		}
		if want := "| `flappy` | 3 | 1 | 2 (cooldown 30m) | 0 | ecs.restart (auto) | 1 of 1 (100%) | 5m | 0 | api-a-5xx |"; !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	})
	t.Run("a policy without max_per_hour is capped at the engine's default", func(t *testing.T) {
		set, err := policy.Parse("p.yaml", []byte("version: 1\npolicies:"+strings.Replace(strings.Replace(flappy, "    max_per_hour: 2\n", "", 1), "cooldown: 30m", "cooldown: 0s", 1)), builtin.Catalog())
		if err != nil {
			t.Fatal(err)
		}
		var recs []Record
		for i := range 5 {
			recs = append(recs, flap("api-a-5xx", "a", time.Duration(i)*5*time.Minute)...)
		}
		p := Run(recs, set.Policies()).Policy("flappy")
		if p.Cap != policy.DefaultMaxPerHour || p.Fired != policy.DefaultMaxPerHour || p.HeldByCap != 5-policy.DefaultMaxPerHour || p.HeldByCooldown != 0 {
			t.Errorf("%+v", *p)
		}
	})
}
