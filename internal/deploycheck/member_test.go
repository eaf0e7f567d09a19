package deploycheck

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/internal/wiring"
	"github.com/medicbot/medic/remediations/builtin"
)

// These tests keep templates/member.yaml (the role medic assumes in member
// accounts and the rule forwarding their alarms) as narrow as medic's own
// roles: the member role holds exactly what the built-in remediations
// document plus the alarm-state re-check, scoped as the executor's role is,
// and only medic's account may assume it, with the external ID.

const memberTemplate = "templates/member.yaml"

// memberOnly are the actions the member role holds that no remediation
// documents: the engine's re-check of the alarm's state before it executes.
var memberOnly = []string{"cloudwatch:DescribeAlarms"}

// homeOnly are documented actions on medic's own resources, never in a
// member account: github.rollback reads medic's GitHub secret.
var homeOnly = []string{"secretsmanager:GetSecretValue"}

// memberStatements returns the statements of the member role's policies.
func memberStatements(t *testing.T, p *tpl) []statement {
	t.Helper()
	if p.typeOf("MemberRole") != "AWS::IAM::Role" {
		t.Fatalf("%s has no AWS::IAM::Role MemberRole", memberTemplate)
	}
	var out []statement
	for _, pol := range seq(get(p.props("MemberRole"), "Policies")) {
		out = append(out, policyItem(get(pol, "PolicyDocument"))...)
	}
	if len(out) == 0 {
		t.Fatal("MemberRole has no policy statements")
	}
	return out
}

func TestMemberTemplateLintsClean(t *testing.T) {
	cmd := exec.Command(testenv.CfnLint(t), memberTemplate)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cfn-lint %s: %v\n%s", memberTemplate, err, out)
	}
}

// TestMemberRoleHoldsExactlyWhatTheRemediationsDocument: the member role
// allows exactly the actions the remediations and the evidence collectors
// list (plus the alarm-state re-check), scoped like the main template.
func TestMemberRoleHoldsExactlyWhatTheRemediationsDocument(t *testing.T) {
	member := loadTemplateFile(t, memberTemplate)
	home := loadTemplateNodes(t)
	want := map[string]bool{} // lower-case action -> documented on "*"
	canonical := map[string]string{}
	catalog := builtin.Catalog()
	for _, name := range sortedKeys(catalog) {
		for _, perm := range catalog[name].IAM {
			for _, a := range perm.Actions {
				if slices.Contains(homeOnly, a) {
					continue
				}
				want[strings.ToLower(a)] = want[strings.ToLower(a)] || perm.Resource == "*"
				canonical[strings.ToLower(a)] = a
			}
		}
	}
	// The evidence collectors read the alarm's account too.
	for _, c := range wiring.Collectors(aws.Config{Region: "us-east-1"}, false, nil) {
		for _, perm := range c.IAM() {
			for _, a := range perm.Actions {
				want[strings.ToLower(a)] = want[strings.ToLower(a)] || perm.Resource == "*"
				canonical[strings.ToLower(a)] = a
			}
		}
	}
	for _, a := range memberOnly {
		want[strings.ToLower(a)] = false
		canonical[strings.ToLower(a)] = a
	}
	sts := memberStatements(t, member)
	got := map[string]statement{}
	for _, s := range sts {
		if !s.allow {
			continue
		}
		for _, a := range s.actions {
			k := strings.ToLower(a)
			got[k] = s
			onAny, ok := want[k]
			switch {
			case !ok:
				t.Errorf("MemberRole grants %s (statement %q), which no remediation or evidence collector documents and the re-check does not need", a, s.sid)
			case s.onAnyResource() && !onAny:
				t.Errorf(`MemberRole grants %s on "*" (statement %q), but it is documented on a resource: scope it`, a, s.sid)
			}
		}
	}
	for _, k := range sortedKeys(want) {
		if _, ok := got[k]; !ok {
			t.Errorf("MemberRole lacks %s: medic cannot do in member accounts what it does at home", canonical[k])
		}
	}
	// Scoped like the main template: where the executor takes an action's
	// Resource from a parameter, the member role takes it from the same one.
	for _, s := range home.policies("ExecutorFunction") {
		ref, isRef := refName(s.resource)
		if !s.allow || !isRef {
			continue
		}
		if _, isParam := home.parameters[ref]; !isParam {
			continue
		}
		for _, a := range s.actions {
			m, ok := got[strings.ToLower(a)]
			if !ok {
				continue
			}
			if r, _ := refName(m.resource); r != ref {
				t.Errorf("MemberRole grants %s on %v, the executor on parameter %s: scope it by the same parameter", a, m.resource.Value, ref)
			}
			if _, ok := member.parameters[ref]; !ok {
				t.Errorf("%s has no parameter %s", memberTemplate, ref)
			}
		}
	}
}

func TestOnlyMedicWithTheExternalIDMayAssumeTheMemberRole(t *testing.T) {
	p := loadTemplateFile(t, memberTemplate)
	trust := seq(get(get(p.props("MemberRole"), "AssumeRolePolicyDocument"), "Statement"))
	if len(trust) != 1 {
		t.Fatalf("MemberRole's trust policy has %d statements, want 1", len(trust))
	}
	st := trust[0]
	principal := get(get(st, "Principal"), "AWS")
	if !slices.Contains(subRefsIn(principal), "MedicAccountId") {
		t.Errorf("MemberRole trusts %v, want medic's account (MedicAccountId)", principal)
	}
	ext := get(get(get(st, "Condition"), "StringEquals"), "sts:ExternalId")
	if r, ok := refName(ext); !ok || r != "ExternalId" {
		t.Error("MemberRole can be assumed without the external ID (want Condition StringEquals sts:ExternalId: !Ref ExternalId)")
	}
	if scalar(get(p.parameters["ExternalId"], "MinLength")) == "" {
		t.Error("parameter ExternalId has no MinLength: an empty external ID would be accepted")
	}
}

// TestMedicAssumesOnlyTheMemberRole checks the main template: only the
// functions that plan or apply may assume a role, only the member role by
// name, and only in the member accounts (listed or of the organisation).
func TestMedicAssumesOnlyTheMemberRole(t *testing.T) {
	p := loadTemplateNodes(t)
	for _, fn := range functions {
		for _, s := range p.policies(fn) {
			if !s.grants("sts:AssumeRole") {
				continue
			}
			if fn == "SlackFunction" {
				t.Errorf("SlackFunction may assume roles (statement %q); it neither plans nor applies", s.sid)
			}
			if refs := subRefsIn(s.resource); s.onAnyResource() || !slices.Contains(refs, "MemberRoleName") {
				t.Errorf("%s may assume %v (statement %q), want only role/${MemberRoleName}", fn, s.resource.Value, s.sid)
			}
		}
		found := false
		for _, s := range p.policies(fn) {
			found = found || s.grants("sts:AssumeRole")
		}
		if fn != "SlackFunction" && !found {
			t.Errorf("%s cannot assume the member role: in multi-account mode it could not plan or act in member accounts", fn)
		}
	}
}

// TestEveryRuleMayUseItsDeadLetterQueue checks that each EventBridge rule
// with a dead-letter queue (the default bus's and the central bus's) is
// admitted by that queue's policy: EventBridge drops an event it may not
// send there.
func TestEveryRuleMayUseItsDeadLetterQueue(t *testing.T) {
	p := loadTemplateNodes(t)
	// admitted[queue] = the resources named (GetAtt/Ref) in its policy.
	admitted := map[string][]string{}
	for _, name := range sortedKeys(p.resources) {
		if p.typeOf(name) != "AWS::SQS::QueuePolicy" {
			continue
		}
		var named []string
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if n = deref(n); n == nil {
				return
			}
			if r, ok := resourceOf(n); ok {
				named = append(named, r)
				return
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(get(get(p.props(name), "PolicyDocument"), "Statement"))
		for _, q := range seq(get(p.props(name), "Queues")) {
			if r, ok := resourceOf(q); ok {
				admitted[r] = append(admitted[r], named...)
			}
		}
	}
	rules := 0
	for _, name := range sortedKeys(p.resources) {
		if p.typeOf(name) != "AWS::Events::Rule" {
			continue
		}
		for _, target := range seq(get(p.props(name), "Targets")) {
			q, ok := resourceOf(get(get(target, "DeadLetterConfig"), "Arn"))
			if !ok {
				continue
			}
			rules++
			if !slices.Contains(admitted[q], name) {
				t.Errorf("rule %s sends failed events to %s, whose policy does not admit it (aws:SourceArn)", name, q)
			}
		}
	}
	if rules < 2 {
		t.Errorf("%d rules with a dead-letter queue, want the default bus's and the central bus's", rules)
	}
}
