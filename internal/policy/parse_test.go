package policy_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/medicbot/medic/internal/policy"
)

func TestParseBriefExample(t *testing.T) {
	data, err := os.ReadFile("testdata/brief.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.Parse("brief.yaml", data, testCatalog)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	p := set.Policy("checkout-target-5xx")
	if p == nil {
		t.Fatal("policy checkout-target-5xx missing")
	}
	if p.Cooldown != 30*time.Minute || p.SlackChannel != "C0123INCIDENTS" || !p.Enabled || p.File != "brief.yaml" || p.Line != 4 {
		t.Errorf("policy = %+v", p)
	}
	type step struct {
		action    string
		approval  policy.Approval
		after     time.Duration
		approvers []string
		quorum    int
		expires   time.Duration
	}
	want := []step{
		{"ecs.scale", policy.ApprovalAuto, 0, nil, 0, 0},
		{"github.rollback", policy.ApprovalRequired, 10 * time.Minute, []string{"S0SREGROUP", "U0ONCALL1"}, 1, 30 * time.Minute},
		// No approvers of its own: it takes the previous step's.
		{"alb.maintenance", policy.ApprovalRequired, 10 * time.Minute, []string{"S0SREGROUP", "U0ONCALL1"}, 2, 30 * time.Minute},
	}
	if len(p.Steps) != len(want) {
		t.Fatalf("got %d steps, want %d", len(p.Steps), len(want))
	}
	for i, w := range want {
		st := p.Steps[i]
		got := step{st.Action, st.Approval, st.After, st.Approvers, st.Quorum, st.Expires}
		if got.action != w.action || got.approval != w.approval || got.after != w.after || !slices.Equal(got.approvers, w.approvers) ||
			got.quorum != w.quorum || got.expires != w.expires || st.Index != i {
			t.Errorf("step %d = %+v, want %+v", i, got, w)
		}
	}
}

// problem is the part of an *Error a test pins down: where it is, and a
// word or two of what it says.
type problem struct {
	line int
	path string
	says string
}

func TestParseReportsEveryProblem(t *testing.T) {
	const head = "version: 1\npolicies:\n"
	cases := []struct {
		name string
		yaml string
		want []problem
	}{
		{
			name: "an empty file says what it wants",
			yaml: "",
			want: []problem{{0, "", "empty file"}},
		},
		{
			name: "a syntax error gives the line the parser names",
			yaml: "version: 1\npolicies: [\n",
			want: []problem{{2, "", "did not find expected"}},
		},
		{
			name: "a second document is refused",
			yaml: "version: 1\n---\nversion: 1\n",
			want: []problem{{2, "", "more than one YAML document"}},
		},
		{
			name: "the version must be 1 and policies are required",
			yaml: "version: 2\n",
			want: []problem{{1, "version", "must be 1"}, {1, "policies", "at least one policy"}},
		},
		{
			name: "unknown fields are named with the known ones",
			yaml: head + "  - name: a\n    matchh: {alarm: x}\n    match: {alarm: x}\n    steps: [{action: ecs.restart, approval: auto}]\n",
			want: []problem{{4, "policies[0].matchh", `unknown field "matchh" (known: name, description`}},
		},
		{
			name: "wrong types are reported in the policy's words, and decoding goes on",
			yaml: head + "  - name: [a]\n    match: {alarm: [x, {y: z}]}\n    max_per_hour: lots\n    steps: [{action: ecs.restart, approval: auto}]\n",
			want: []problem{
				{3, "policies[0].name", "must be a string, got a list"},
				{4, "policies[0].match.alarm[1]", "must be a string, got a mapping"},
				{5, "policies[0].max_per_hour", `must be a whole number, got "lots"`},
			},
		},
		{
			name: "a key given twice is reported",
			yaml: head + "  - name: a\n    name: b\n",
			want: []problem{{4, "policies[0].name", "given twice (first at line 3)"}},
		},
		{
			name: "names, runbooks, channels and durations are checked",
			yaml: head + `  - name: Checkout_5xx
    runbook: runbooks/checkout
    match: {alarm: x}
    cooldown: soon
    max_per_hour: -1
    slack: {channel: "#incidents"}
    steps: [{action: ecs.restart, approval: auto}]
`,
			want: []problem{
				{3, "policies[0].name", "lower-case letters"},
				{4, "policies[0].runbook", "http(s) URL"},
				{6, "policies[0].cooldown", "duration"},
				{7, "policies[0].max_per_hour", ">= 0"},
				{8, "policies[0].slack.channel", "channel ID"},
			},
		},
		{
			name: "the match block is required, must constrain something and its patterns must compile",
			yaml: head + `  - name: a
    steps: [{action: ecs.restart, approval: auto}]
  - name: b
    match: {state: FIRING, regions: us-east-1}
    steps: [{action: ecs.restart, approval: auto}]
  - name: c
    match:
      alarm: ["checkout-[", ""]
      dimensions: {LoadBalancer: "app/[x"}
    steps: [{action: ecs.restart, approval: auto}]
`,
			want: []problem{
				{3, "policies[0].match", "required: say which alarms"},
				{6, "policies[1].match", "must constrain"},
				{6, "policies[1].match.state", "ALARM, OK or INSUFFICIENT_DATA"},
				{10, "policies[2].match.alarm[0]", "bad pattern"},
				{10, "policies[2].match.alarm[1]", "empty pattern"},
				{11, "policies[2].match.dimensions.LoadBalancer", "bad pattern"},
			},
		},
		{
			name: "a policy on OK or INSUFFICIENT_DATA is an error: medic acts only on ALARM",
			yaml: head + `  - name: on-recovery
    match: {alarm: x, state: OK}
    steps: [{action: ecs.restart, approval: auto}]
  - name: on-no-data
    match:
      alarm: x
      state: INSUFFICIENT_DATA
    steps: [{action: ecs.restart, approval: auto}]
  - name: on-alarm
    match: {alarm: x, state: ALARM}
    steps: [{action: ecs.restart, approval: auto}]
`,
			want: []problem{
				{4, "policies[0].match.state", "medic acts only on ALARM state changes, so a policy on OK never runs; recovery (the alarm back to OK) is handled by on_recovery"},
				{9, "policies[1].match.state", "medic acts only on ALARM state changes, so a policy on INSUFFICIENT_DATA never runs"},
			},
		},
		{
			name: "steps: known action, approval enum, after only on later steps",
			yaml: head + `  - name: a
    match: {alarm: x}
    steps:
      - action: ecs.scal
        approval: maybe
        after: 5m
      - approval: auto
        after: 1 minute
`,
			want: []problem{
				{6, "policies[0].steps[0].action", `unknown action "ecs.scal" (known actions: alb.maintenance, ecs.restart, ecs.scale, github.rollback)`},
				{7, "policies[0].steps[0].approval", "must be auto, required or shadow"},
				{8, "policies[0].steps[0].after", "not allowed on the first step"},
				{9, "policies[0].steps[1].action", "required (known actions: "},
				{10, "policies[0].steps[1].after", "duration"},
			},
		},
		{
			name: "a policy needs steps",
			yaml: head + "  - name: a\n    match: {alarm: x}\n    steps: []\n",
			want: []problem{{5, "policies[0].steps", "at least one step"}},
		},
		{
			name: "required steps need approvers and a reachable quorum; other steps take neither",
			yaml: head + `  - name: a
    match: {alarm: x}
    steps:
      - action: ecs.restart
        approval: required
      - action: ecs.restart
        approval: required
        approvers: [U0ONCALL1, U0ONCALL1, bob]
        quorum: 4
      - action: ecs.restart
        approval: required
        approvers: [S0SREGROUP]
        quorum: 0
        expires: 0s
      - action: ecs.restart
        approval: auto
        approvers: [U0ONCALL1]
        quorum: 1
        expires: 5m
`,
			want: []problem{
				{6, "policies[0].steps[0].approvers", "required for approval: required"},
				{10, "policies[0].steps[1].approvers[1]", "listed twice"},
				{10, "policies[0].steps[1].approvers[2]", "Slack user ID"},
				{11, "policies[0].steps[1].quorum", "is 4 but only 3 approvers"},
				{15, "policies[0].steps[2].quorum", "must be >= 1"},
				{16, "policies[0].steps[2].expires", "more than 0s"},
				{19, "policies[0].steps[3].approvers", "only applies to approval: required"},
				{20, "policies[0].steps[3].quorum", "only applies"},
				{21, "policies[0].steps[3].expires", "only applies"},
			},
		},
		{
			name: "params are checked against the action's schema, templated ones for presence only",
			yaml: head + `  - name: a
    match: {alarm: x}
    steps:
      - action: ecs.scale
        approval: auto
        params: {add: 2, min: 10, max: 5}
      - action: ecs.scale
        approval: auto
        params: {add: "{{ .Tags.add }}", factor: 2, max: many, colour: red}
      - action: github.rollback
        approval: auto
        params: {repo: acme/checkout}
`,
			want: []problem{
				{8, "policies[0].steps[0].params.max", "must be >= min (10), got 5"},
				{11, "policies[0].steps[1].params", "exactly one of add, factor"},
				{11, "policies[0].steps[1].params.colour", "unknown parameter (known: cluster, service, add, factor, min, max)"},
				{11, "policies[0].steps[1].params.max", "must be a number"},
				{14, "policies[0].steps[2].params.environment", "required"},
			},
		},
		{
			name: "templates must parse and must only use the alarm's fields",
			yaml: head + `  - name: a
    match: {alarm: x}
    steps:
      - action: ecs.restart
        approval: auto
        params:
          service: "{{ .Dimensions.ServiceName | tial }}"
          cluster: "{{ .Clutser }}"
`,
			want: []problem{
				{10, "policies[0].steps[0].params.cluster", "can't evaluate field Clutser in the alarm"},
				{9, "policies[0].steps[0].params.service", `function "tial" not defined`},
			},
		},
		{
			name: "on_recovery: undo needs a reversible auto step",
			yaml: head + `  - name: a
    match: {alarm: x}
    on_recovery: undo
    steps: [{action: ecs.restart, approval: auto}, {action: ecs.scale, approval: shadow, params: {add: 1, max: 2}}]
  - name: b
    match: {alarm: x}
    on_recovery: revert
    steps: [{action: ecs.scale, approval: auto, params: {add: 1, max: 2}}]
`,
			want: []problem{
				{5, "policies[0].on_recovery", "undo needs at least one approval: auto step"},
				{9, "policies[1].on_recovery", `must be "undo"`},
			},
		},
		{
			name: "names are unique",
			yaml: head + "  - {name: a, match: {alarm: x}, steps: [{action: ecs.restart, approval: auto}]}\n  - {name: a, match: {alarm: y}, steps: [{action: ecs.restart, approval: auto}]}\n",
			want: []problem{{4, "policies[1].name", "already the name of the policy at test.yaml:3"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Parse("test.yaml", []byte(tc.yaml), testCatalog)
			checkProblems(t, err, "test.yaml", tc.want)
		})
	}
}

// checkProblems compares the problems of err with want, in any order.
func checkProblems(t *testing.T, err error, file string, want []problem) {
	t.Helper()
	var errs *policy.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error = %v (%T), want *policy.Errors", err, err)
	}
	got := slices.Clone(*errs)
	for _, w := range want {
		i := slices.IndexFunc(got, func(e *policy.Error) bool {
			return e.File == file && e.Line == w.line && e.Path == w.path && strings.Contains(e.Msg, w.says)
		})
		if i < 0 {
			t.Errorf("missing problem %s:%d: %s: ...%s...", file, w.line, w.path, w.says)
			continue
		}
		got = slices.Delete(got, i, i+1)
	}
	for _, e := range got {
		t.Errorf("unexpected problem %s", e)
	}
	if t.Failed() {
		t.Logf("all problems:\n%s", err)
	}
}

func TestErrorFormat(t *testing.T) {
	cases := []struct {
		name string
		err  policy.Error
		want string
	}{
		{"everything known", policy.Error{File: "policies/checkout.yaml", Line: 14, Path: "policies[0].steps[1].params.max", Msg: "must be >= min"},
			"policies/checkout.yaml:14: policies[0].steps[1].params.max: must be >= min"},
		{"no path", policy.Error{File: "a.yaml", Line: 3, Msg: "did not find expected key"}, "a.yaml:3: did not find expected key"},
		{"no line", policy.Error{File: "a.yaml", Msg: "empty file"}, "a.yaml: empty file"},
		{"nothing but the message", policy.Error{Msg: "no policy files"}, "no policy files"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	file := func(name string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("version: 1\npolicies:\n  - {name: " + name + ", match: {alarm: x}, steps: [{action: ecs.restart, approval: auto}]}\n")}
	}
	t.Run("reads every yaml file at the root, in name order, and skips tests/", func(t *testing.T) {
		set, err := policy.Load(fstest.MapFS{
			"b.yml":          file("b"),
			"a.yaml":         file("a"),
			"README.md":      {Data: []byte("# not a policy")},
			"tests/t.yaml":   {Data: []byte("cases: []")},
			".hidden.yaml":   {Data: []byte("nonsense: [")},
			"sub/nested.yml": {Data: []byte("nonsense: [")},
		}, testCatalog)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range set.Policies() {
			names = append(names, p.File+":"+p.Name)
		}
		if want := []string{"a.yaml:a", "b.yml:b"}; !slices.Equal(names, want) {
			t.Errorf("policies = %v, want %v", names, want)
		}
	})
	t.Run("names are unique across files", func(t *testing.T) {
		_, err := policy.Load(fstest.MapFS{"a.yaml": file("same"), "b.yaml": file("same")}, testCatalog)
		checkProblems(t, err, "b.yaml", []problem{{3, "policies[0].name", "already the name of the policy at a.yaml:3"}})
	})
	t.Run("problems of every file are reported together", func(t *testing.T) {
		_, err := policy.Load(fstest.MapFS{"a.yaml": {Data: []byte("version: 3\npolicies: [x]\n")}, "b.yaml": {Data: []byte("")}}, testCatalog)
		var errs *policy.Errors
		if !errors.As(err, &errs) {
			t.Fatalf("error = %v", err)
		}
		var files []string
		for _, e := range *errs {
			files = append(files, e.File)
		}
		if !slices.Contains(files, "a.yaml") || !slices.Contains(files, "b.yaml") {
			t.Errorf("problems name files %v, want both a.yaml and b.yaml:\n%v", files, err)
		}
	})
	t.Run("a directory without policies is an error", func(t *testing.T) {
		if _, err := policy.Load(fstest.MapFS{"README.md": {}}, testCatalog); err == nil {
			t.Error("Load of an empty directory succeeded")
		}
	})
}
