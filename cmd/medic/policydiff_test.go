package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medicbot/medic/internal/policydiff"
)

// gitRepo makes a git repository in a temporary directory holding a copy
// of the project's policies (and their fixtures), committed.
func gitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is required: %v", err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "policies"), os.DirFS("../../examples")); err != nil {
		t.Fatal(err)
	}
	gitIn(t, dir, "init", "-q")
	commitAll(t, dir, "base policies")
	return dir
}

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func commitAll(t *testing.T, dir, msg string) {
	t.Helper()
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", msg)
}

// edit replaces old with new in a file, failing when old is absent.
func edit(t *testing.T, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s lacks %q", file, old)
	}
	if err := os.WriteFile(file, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// widen makes checkout-target-5xx's first step auto, raises its cap,
// shortens its cooldown and adds an auto policy.
func widen(t *testing.T, repo string) {
	t.Helper()
	file := filepath.Join(repo, "policies", "checkout.yaml")
	edit(t, file, "      - action: ecs.scale\n        approval: required\n        approvers: [S0SREGROUP, U0ONCALL1]\n        quorum: 1\n        expires: 15m\n",
		"      - action: ecs.scale\n        approval: auto\n")
	edit(t, file, "        approval: required\n        quorum: 1\n        expires: 30m\n", "        approval: required\n        approvers: [S0SREGROUP, U0ONCALL1]\n        quorum: 1\n        expires: 30m\n")
	edit(t, file, "cooldown: 30m\n    max_per_hour: 3", "cooldown: 10m\n    max_per_hour: 6")
	if err := os.WriteFile(filepath.Join(repo, "policies", "search.yaml"), []byte(`version: 1
policies:
  - name: search-restart
    match: {alarm: "search-*-5xx"}
    steps: [{action: ecs.restart, approval: auto, params: {cluster: prod, service: search}}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sections splits Markdown into its ### sections, by heading, in order.
func sections(md string) (order []string, body map[string]string) {
	body = make(map[string]string)
	cur := ""
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "### ") {
			cur = line
			order = append(order, cur)
			continue
		}
		body[cur] += line + "\n"
	}
	return order, body
}

func TestPolicyDiff(t *testing.T) {
	repo := gitRepo(t)
	widen(t, repo)
	head := filepath.Join(repo, "policies")
	t.Chdir(repo) // --base is read from the repository holding the current directory

	var stdout, stderr bytes.Buffer
	code := run([]string{"policy", "diff", "--base", "HEAD", "--head", head}, nil, &stdout, &stderr)
	if code != exitFindings {
		t.Fatalf("exit %d, want 1 (changed)\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	md := stdout.String()
	order, body := sections(md)

	t.Run("the widening comes first", func(t *testing.T) {
		if len(order) == 0 || order[0] != policydiff.HeadingWidening {
			t.Fatalf("sections = %q\n%s", order, md)
		}
		for _, want := range []string{
			"`checkout-target-5xx` steps[1].approval: ecs.scale becomes auto (was required)",
			"`checkout-target-5xx` max_per_hour: higher cap: 3 → 6 per hour",
			"`checkout-target-5xx` cooldown: shorter cooldown: 30m → 10m",
			"`checkout-target-5xx`: alarm `checkout-prod-target-5xx` would now run ecs.scale automatically",
			"`search-restart`: new policy with auto step(s): steps[0] ecs.restart",
		} {
			if !strings.Contains(body[policydiff.HeadingWidening], want) {
				t.Errorf("widening lacks %q:\n%s", want, body[policydiff.HeadingWidening])
			}
		}
	})
	t.Run("the alarms handled differently, from the fixtures", func(t *testing.T) {
		// The hand-made alarm's three fixtures (EventBridge, SNS, alarm
		// action) and the generated one's (medic alarms): the one without
		// evidence and the two whose evidence does not pick the rollback.
		// The case whose evidence picks the rollback is unchanged.
		rows := tableRows(body[policydiff.HeadingAlarms])
		if len(rows) != 6 {
			t.Fatalf("rows = %q", rows)
		}
		for _, r := range rows {
			if (r[0] != "`checkout-prod-target-5xx`" && r[0] != "`checkout-prod-checkout-target-5xx`") ||
				r[2] != "checkout-target-5xx → ecs.scale (required)" || r[3] != "⚠ checkout-target-5xx → ecs.scale (auto)" {
				t.Errorf("row = %q", r)
			}
		}
	})
	t.Run("the policies added and changed", func(t *testing.T) {
		if !strings.Contains(body[policydiff.HeadingAdded], "`search-restart` ("+head+"/search.yaml:3): ecs.restart (auto)") {
			t.Errorf("added:\n%s", body[policydiff.HeadingAdded])
		}
		if _, ok := body[policydiff.HeadingRemoved]; ok {
			t.Errorf("a removed section:\n%s", md)
		}
		if !strings.Contains(body[policydiff.HeadingChanged], "| `steps[1].approval` | `required` | `auto` |") {
			t.Errorf("changed:\n%s", body[policydiff.HeadingChanged])
		}
	})
	t.Run("the output is deterministic", func(t *testing.T) {
		var again bytes.Buffer
		run([]string{"policy", "diff", "--base", "HEAD", "--head", head}, nil, &again, &bytes.Buffer{})
		if again.String() != md {
			t.Errorf("second run differs:\n%s", again.String())
		}
	})
}

func tableRows(section string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| alarm |") {
			continue
		}
		rows = append(rows, strings.Split(strings.Trim(line, "| "), " | "))
	}
	return rows
}

func TestPolicyDiffBetweenTwoCommitsWithHistory(t *testing.T) {
	repo := gitRepo(t)
	widen(t, repo)
	commitAll(t, repo, "widen")
	hist := filepath.Join(t.TempDir(), "h.jsonl")
	if err := os.WriteFile(hist, []byte(`{"name":"search-prod-5xx","timestamp":"2024-05-14T09:00:00Z","old_state":"OK","new_state":"ALARM"}
{"name":"search-prod-5xx","timestamp":"2024-05-14T09:03:00Z","old_state":"ALARM","new_state":"OK"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(repo)
	var stdout, stderr bytes.Buffer
	code := run([]string{"policy", "diff", "--base", "HEAD~1", "--head", "HEAD", "--history", hist}, nil, &stdout, &stderr)
	if code != exitFindings {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	_, body := sections(stdout.String())
	if !strings.Contains(body[policydiff.HeadingAdded], "`search-restart` (HEAD:policies/search.yaml:3)") {
		t.Errorf("added:\n%s", stdout.String())
	}
	if !strings.Contains(body[policydiff.HeadingWidening], "alarm `search-prod-5xx` would now run ecs.restart automatically (was: no match); seen in 1 recorded state change(s)") {
		t.Errorf("widening:\n%s", body[policydiff.HeadingWidening])
	}
	if !strings.Contains(body[policydiff.HeadingReplay], "| `search-restart` ✱ | absent → 1 | absent → ecs.restart (auto) | 1 of 1 (100%) within 15m |") {
		t.Errorf("replay:\n%s", body[policydiff.HeadingReplay])
	}
}

func TestPolicyDiffExitCodes(t *testing.T) {
	repo := gitRepo(t)
	notRepo := t.TempDir()
	if err := os.CopyFS(filepath.Join(notRepo, "policies"), os.DirFS("../../examples")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		args      []string
		code      int
		stdoutHas string
		stderrHas string
	}{
		{"unchanged policies exit 0", []string{"--repo", repo, "--base", "HEAD", "--head", filepath.Join(repo, "policies")}, exitOK, policydiff.HeadingNoChange, ""},
		{"an unknown ref is an error", []string{"--repo", repo, "--base", "no-such-branch", "--head", filepath.Join(repo, "policies")}, exitUsage, "", `resolve git ref "no-such-branch": unknown revision`},
		{"a --head DIR outside any repository is compared with --repo's ref", []string{"--repo", repo, "--base", "HEAD", "--head", filepath.Join(notRepo, "policies")}, exitOK, policydiff.HeadingNoChange, ""},
		{"--repo outside a repository is an error", []string{"--repo", notRepo, "--base", "HEAD", "--head", filepath.Join(repo, "policies")}, exitUsage, "", "not in a git repository"},
		{"a --path the base lacks is an error naming it", []string{"--repo", repo, "--base", "HEAD", "--head", filepath.Join(notRepo, "policies"), "--path", "polices"}, exitUsage, "",
			"--path polices: no such directory at HEAD"},
		{"--base is required", []string{"--head", filepath.Join(repo, "policies")}, exitUsage, "", "--base REF is required"},
		{"a missing history file is an error", []string{"--repo", repo, "--base", "HEAD", "--head", filepath.Join(repo, "policies"), "--history", filepath.Join(repo, "nope.jsonl")}, exitUsage, "", "open history"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"policy", "diff"}, tc.args...), nil, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdoutHas) || !strings.Contains(stderr.String(), tc.stderrHas) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
		})
	}
}

func TestPolicyTestReplaysAHistory(t *testing.T) {
	embedExamples(t)
	hist := filepath.Join(t.TempDir(), "h.jsonl")
	rec := `{"name":"checkout-prod-target-5xx","arn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx","timestamp":"%s","old_state":"%s","new_state":"%s",` +
		`"metrics":[{"namespace":"AWS/ApplicationELB","name":"HTTPCode_Target_5XX_Count","dimensions":{"LoadBalancer":"app/checkout-prod/50dc6c495c0c9188","TargetGroup":"targetgroup/checkout/73e2d6bc24d8a067"}}]}` + "\n"
	var b strings.Builder
	for _, r := range [][3]string{
		{"2024-05-14T09:00:00Z", "OK", "ALARM"}, {"2024-05-14T09:05:00Z", "ALARM", "OK"},
		// Flapping within the policy's 30m cooldown: held, not fired.
		{"2024-05-14T09:10:00Z", "OK", "ALARM"}, {"2024-05-14T09:12:00Z", "ALARM", "OK"},
		{"2024-05-14T12:00:00Z", "OK", "ALARM"}, {"2024-05-14T13:00:00Z", "ALARM", "OK"},
	} {
		fmt.Fprintf(&b, rec, r[0], r[1], r[2])
	}
	if err := os.WriteFile(hist, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"policy", "test", "--history", hist}, nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	if !strings.Contains(stdout.String(), "| `checkout-target-5xx` | 3 | 2 | 1 (cooldown 30m) | 0 | ecs.scale (required; when: not judged, history holds no evidence) | 1 of 2 (50%) | 10m | 0 | checkout-prod-target-5xx |") {
		t.Errorf("stdout:\n%s", &stdout)
	}
}

// TestPolicyDiffHeadDirOutsideTheRepository: only --base needs git, read
// from the repository holding the current directory; the --head DIR may be
// anywhere.
func TestPolicyDiffHeadDirOutsideTheRepository(t *testing.T) {
	repo := gitRepo(t)
	elsewhere := t.TempDir()
	head := filepath.Join(elsewhere, "pr-policies")
	if err := os.CopyFS(head, os.DirFS(filepath.Join(repo, "policies"))); err != nil {
		t.Fatal(err)
	}
	edit(t, filepath.Join(head, "checkout.yaml"), "add: 2, max: 12}", "add: 2, max: 60}")

	t.Run("from inside the repository", func(t *testing.T) {
		t.Chdir(repo)
		var stdout, stderr bytes.Buffer
		code := run([]string{"policy", "diff", "--base", "HEAD", "--head", head}, nil, &stdout, &stderr)
		if code != exitFindings {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
		}
		_, body := sections(stdout.String())
		if !strings.Contains(stdout.String(), "`HEAD:policies` → `"+head+"`") ||
			!strings.Contains(body[policydiff.HeadingWidening], "`checkout-elb-503` steps[0].params.max: auto step ecs.scale higher max: 12 → 60") {
			t.Errorf("stdout:\n%s", &stdout)
		}
	})
	t.Run("from outside any repository, without --repo", func(t *testing.T) {
		t.Chdir(elsewhere)
		var stdout, stderr bytes.Buffer
		code := run([]string{"policy", "diff", "--base", "HEAD", "--head", head}, nil, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "not in a git repository") || !strings.Contains(stderr.String(), "give --repo DIR") {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
		}
	})
}

// TestPolicyDiffBaseFromBeforeThePolicies: a base commit without the policy
// directory, while the repository has it, has no policies and the report
// says so; every head policy is added.
func TestPolicyDiffBaseFromBeforeThePolicies(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("before the policies\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, dir, "init", "-q")
	commitAll(t, dir, "no policies yet")
	if err := os.CopyFS(filepath.Join(dir, "policies"), os.DirFS("../../examples")); err != nil {
		t.Fatal(err)
	}
	commitAll(t, dir, "policies")
	for _, args := range [][]string{
		{"--repo", dir, "--base", "HEAD~1", "--head", "HEAD"},
		{"--repo", dir, "--base", "HEAD~1"},
		{"--repo", dir, "--base", "HEAD~1", "--head", filepath.Join(dir, "policies"), "--path", "policies"},
	} {
		t.Run(strings.Join(args[2:], " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"policy", "diff"}, args...), nil, &stdout, &stderr)
			if code != exitFindings {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
			}
			_, body := sections(stdout.String())
			if !strings.Contains(stdout.String(), "> `HEAD~1` has no `policies/` directory (a version from before the policies were there): it has no policies.") {
				t.Errorf("no note:\n%s", &stdout)
			}
			if n := strings.Count(body[policydiff.HeadingAdded], "\n- `"); n != 5 {
				t.Errorf("%d policies added, want 5:\n%s", n, body[policydiff.HeadingAdded])
			}
		})
	}
	t.Run("a repository that never had the directory is an error, not an empty base", func(t *testing.T) {
		other := t.TempDir()
		if err := os.WriteFile(filepath.Join(other, "README"), []byte("no policies here\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		gitIn(t, other, "init", "-q")
		commitAll(t, other, "readme")
		var stdout, stderr bytes.Buffer
		code := run([]string{"policy", "diff", "--repo", other, "--base", "HEAD", "--head", filepath.Join(dir, "policies")}, nil, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "policies (give --path when the policies are elsewhere): no such directory at HEAD") || stdout.Len() != 0 {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
		}
	})
	t.Run("a wrong --path is still an error", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := run([]string{"policy", "diff", "--repo", dir, "--base", "HEAD~1", "--head", "HEAD", "--path", "deploy/policies"}, nil, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "--path deploy/policies: no such directory at HEAD~1") || strings.Contains(stdout.String(), "no policies") {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
		}
	})
}
