package deploycheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/testenv"
)

const root = "../.."

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestTemplateLintsClean(t *testing.T) {
	cmd := exec.Command(testenv.CfnLint(t), "template.yaml")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}

// template is the part of template.yaml these checks read. Intrinsic
// function tags (!Ref, !Sub, ...) decode as plain nodes.
type template struct {
	Globals struct {
		Function struct {
			Runtime       string   `yaml:"Runtime"`
			Architectures []string `yaml:"Architectures"`
			Handler       string   `yaml:"Handler"`
		} `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]struct {
		Type     string `yaml:"Type"`
		Metadata struct {
			BuildMethod string `yaml:"BuildMethod"`
		} `yaml:"Metadata"`
	} `yaml:"Resources"`
}

func TestEveryTemplateFunctionIsBuiltByTheMakefile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl template
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	g := tpl.Globals.Function
	if g.Runtime != "provided.al2023" || g.Handler != "bootstrap" || strings.Join(g.Architectures, ",") != "arm64" {
		t.Errorf("function globals = %+v, want provided.al2023 / bootstrap / arm64", g)
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		n++
		if r.Metadata.BuildMethod != "makefile" {
			t.Errorf("%s: BuildMethod = %q, want makefile", name, r.Metadata.BuildMethod)
		}
		target := regexp.MustCompile(`(?m)^build-` + name + `:\n\t.*CGO_ENABLED=0 .*-o \$\(ARTIFACTS_DIR\)/bootstrap \./functions/(\w+)`)
		m := target.FindSubmatch(makefile)
		if m == nil {
			t.Errorf("%s: Makefile has no build-%s target writing $(ARTIFACTS_DIR)/bootstrap", name, name)
			continue
		}
		if !fileExists(filepath.Join(root, "functions", string(m[1]), "main.go")) {
			t.Errorf("%s: functions/%s/main.go does not exist", name, m[1])
		}
	}
	if n == 0 {
		t.Fatal("template declares no functions")
	}
}

// TestExecutorSweepsOnASchedule checks that the executor is invoked on a
// schedule as well as by SQS: the sweep for executors that lost their lease
// (engine.SweepStale) otherwise runs only when work arrives, so an executor
// that dies during a quiet spell goes unreported. The scheduled event must
// be EventBridge's own "Scheduled Event" (no Input), which doors.ExecutorLambda
// treats as a sweep, at least every 5 minutes.
func TestExecutorSweepsOnASchedule(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Events map[string]struct {
					Type       string `yaml:"Type"`
					Properties struct {
						Schedule string     `yaml:"Schedule"`
						Input    *yaml.Node `yaml:"Input"`
						Enabled  *bool      `yaml:"Enabled"`
						State    string     `yaml:"State"`
					} `yaml:"Properties"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	fn, ok := tpl.Resources["ExecutorFunction"]
	if !ok || fn.Type != "AWS::Serverless::Function" {
		t.Fatal("template.yaml declares no ExecutorFunction")
	}
	rate := regexp.MustCompile(`^rate\((\d+) minutes?\)$`)
	var found []string
	for name, ev := range fn.Properties.Events {
		if ev.Type != "Schedule" {
			continue
		}
		p := ev.Properties
		found = append(found, name)
		m := rate.FindStringSubmatch(p.Schedule)
		if m == nil {
			t.Errorf("ExecutorFunction event %s: Schedule %q, want rate(N minutes)", name, p.Schedule)
		} else if n, _ := strconv.Atoi(m[1]); n < 1 || n > 5 {
			t.Errorf("ExecutorFunction event %s: Schedule %q, want at most every 5 minutes", name, p.Schedule)
		}
		if p.Input != nil {
			t.Errorf("ExecutorFunction event %s sets Input; the executor must get EventBridge's Scheduled Event to sweep", name)
		}
		if (p.Enabled != nil && !*p.Enabled) || strings.EqualFold(p.State, "DISABLED") {
			t.Errorf("ExecutorFunction event %s is disabled", name)
		}
	}
	if len(found) != 1 {
		t.Errorf("ExecutorFunction has %d Schedule events (%v), want one: stale leases must be swept without traffic", len(found), found)
	}
}

// TestTheAlarmFunctionHasTimeForLateEvidence: the alarm function posts its
// card within the evidence budget, then waits for late evidence
// (doors.LateEvidenceWait) and relays what it owes. Its timeout must fit
// the largest budget a policy may set, the wait and the relay, or late
// answers are cut off by Lambda instead of updating the card.
func TestTheAlarmFunctionHasTimeForLateEvidence(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Globals struct {
			Function struct {
				Timeout int `yaml:"Timeout"`
			} `yaml:"Function"`
		} `yaml:"Globals"`
		Resources struct {
			AlarmFunction struct {
				Properties struct {
					Timeout int `yaml:"Timeout"`
				} `yaml:"Properties"`
			} `yaml:"AlarmFunction"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	timeout := tpl.Resources.AlarmFunction.Properties.Timeout
	if timeout == 0 {
		timeout = tpl.Globals.Function.Timeout
	}
	// The late wait starts after intake (at most the budget) and ends
	// LateEvidenceWait after gathering began at the latest; the relay
	// after it takes up to 10 s; 5 s for the rest of intake.
	need := policy.MaxEvidenceBudget + 10*time.Second + 5*time.Second
	if wait := doors.LateEvidenceWait + 10*time.Second + 5*time.Second; wait > need {
		need = wait
	}
	if got := time.Duration(timeout) * time.Second; got < need {
		t.Errorf("AlarmFunction Timeout = %s, want at least %s (evidence budget or late wait, relay, intake)", got, need)
	}
}
