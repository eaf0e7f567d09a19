package deploycheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// scopingParameters are the parameters that say which resources the
// executor may change: ECS services (UpdateService), the task roles it may
// pass (iam:PassRole), the listeners it may add rules to and the rules it
// may delete. A "*" in any of them hands medic every such resource of the
// account.
var scopingParameters = []string{"EcsServiceArns", "TaskRoleArns", "ListenerArns", "ListenerRuleArns"}

// iamParameters returns, sorted, the template's parameters that any
// function's IAM statement takes a Resource from (!Ref, or ${Name} in !Sub).
func (p *tpl) iamParameters() []string {
	found := map[string]bool{}
	for _, fn := range functions {
		for _, s := range p.policies(fn) {
			for _, ref := range append(refsIn(s.resource), subRefsIn(s.resource)...) {
				if _, ok := p.parameters[ref]; ok {
					found[ref] = true
				}
			}
		}
	}
	return sortedKeys(found)
}

var subVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

// subRefsIn returns the ${Name} variables of every !Sub string under n.
func subRefsIn(n *yaml.Node) []string {
	var out []string
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n = deref(n); n == nil {
			return
		}
		if n.Tag == "!Sub" && n.Kind == yaml.ScalarNode {
			for _, m := range subVar.FindAllStringSubmatch(n.Value, -1) {
				out = append(out, m[1])
			}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return out
}

// allowedPattern compiles a parameter's AllowedPattern the way
// CloudFormation applies it: to the whole value (each item of a
// CommaDelimitedList).
func allowedPattern(t *testing.T, name string, param *yaml.Node) *regexp.Regexp {
	t.Helper()
	pattern := scalar(get(param, "AllowedPattern"))
	if pattern == "" {
		return nil
	}
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		t.Fatalf("%s: AllowedPattern %q does not compile: %v", name, pattern, err)
	}
	return re
}

// TestNoIAMParameterDefaultsToAWildcard checks every parameter an IAM
// statement of a function takes a Resource from: none has a Default with a
// "*" (a deployment that forgot it would grant medic, say, every ECS service
// of the account), each has an AllowedPattern that refuses "*", so the
// deploy fails rather than grant everything, and a ConstraintDescription
// naming the parameter, so the failure says which parameter to set.
// Parameters without a Default must be given: CloudFormation's own message
// for a missing one names it ("Parameters: [EcsServiceArns] must have
// values").
func TestNoIAMParameterDefaultsToAWildcard(t *testing.T) {
	p := loadTemplateNodes(t)
	iam := p.iamParameters()
	for _, name := range scopingParameters {
		if !slices.Contains(iam, name) {
			t.Errorf("no function's IAM statement takes its Resource from parameter %s: the template changed, or this check no longer finds the parameters it must check", name)
		}
	}
	for _, name := range iam {
		param := p.parameters[name]
		def := get(param, "Default")
		if def != nil && strings.Contains(scalar(def), "*") {
			t.Errorf("%s defaults to %q: a deployment that forgets it grants medic every resource the wildcard covers; remove the Default so that a deployment must name them", name, scalar(def))
		}
		re := allowedPattern(t, name, param)
		if re == nil {
			t.Errorf(`%s has no AllowedPattern: a deployment may set it to "*" and grant medic every resource of the account`, name)
			continue
		}
		if re.MatchString("*") {
			t.Errorf(`%s: AllowedPattern %q accepts "*"`, name, re)
		}
		if def != nil && !re.MatchString(scalar(def)) {
			t.Errorf("%s: the Default %q does not fit its own AllowedPattern", name, scalar(def))
		}
		if cd := scalar(get(param, "ConstraintDescription")); !strings.Contains(cd, name) {
			t.Errorf("%s: ConstraintDescription %q does not name the parameter: a refused value must say which parameter to fix", name, cd)
		}
	}
	for _, name := range scopingParameters {
		if def := get(p.parameters[name], "Default"); def != nil {
			t.Errorf("%s has Default %q: the deployment must name the resources medic may change", name, scalar(def))
		}
	}
}

// TestIAMParameterPatternsNameResources pins down what the patterns of the
// IAM parameters accept: ARNs that name a region, an account and the
// cluster, load balancer or role (a wildcard only below that), never "*"
// nor a wildcard region, account, cluster, load balancer or bare role/*.
func TestIAMParameterPatternsNameResources(t *testing.T) {
	p := loadTemplateNodes(t)
	secret := "arn:aws:secretsmanager:us-east-1:123456789012:secret:medic/slack-bot-token-AbCdEf"
	secretBad := []string{"*", "", "arn:aws:secretsmanager:*", "arn:aws:secretsmanager:us-east-1:123456789012:secret:*", "arn:aws:secretsmanager:us-east-1:123456789012:secret:medic/*"}
	cases := []struct {
		param          string
		accept, refuse []string
	}{
		{"EcsServiceArns",
			[]string{
				"arn:aws:ecs:us-east-1:123456789012:service/prod/checkout",
				"arn:aws:ecs:us-east-1:123456789012:service/prod/*",
				"arn:aws:ecs:eu-west-1:123456789012:service/prod_eu/checkout-*",
				"arn:aws-cn:ecs:cn-north-1:123456789012:service/prod/checkout",
			},
			[]string{
				"*", "",
				"arn:aws:ecs:us-east-1:123456789012:service/*",
				"arn:aws:ecs:us-east-1:123456789012:service/*/checkout",
				"arn:aws:ecs:us-east-1:123456789012:service/prod*/checkout",
				"arn:aws:ecs:*:123456789012:service/prod/checkout",
				"arn:aws:ecs:us-east-1:*:service/prod/checkout",
				"arn:aws:ecs:us-east-1:123456789012:*",
				"arn:aws:ecs:us-east-1:123456789012:service/prod/",
				"arn:aws:ecs:us-east-1:123456789012:cluster/prod",
			}},
		{"TaskRoleArns",
			[]string{
				"arn:aws:iam::123456789012:role/checkout-task",
				"arn:aws:iam::123456789012:role/ecs/checkout-execution",
				"arn:aws:iam::123456789012:role/checkout-*",
			},
			[]string{
				"*", "",
				"arn:aws:iam::123456789012:role/*",
				"arn:aws:iam::123456789012:*",
				"arn:aws:iam::*:role/checkout-task",
				"arn:aws:iam::123456789012:role/",
				"arn:aws:iam::123456789012:user/checkout",
			}},
		{"ListenerArns",
			[]string{
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/checkout-prod/50dc6c495c0c9188/f2f7dc8efc522ab2",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/checkout-prod/50dc6c495c0c9188/*",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/checkout-prod/*",
			},
			[]string{
				"*", "",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/*",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/*",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/checkout-*/50dc6c495c0c9188/f2f7dc8efc522ab2",
				"arn:aws:elasticloadbalancing:*:123456789012:listener/app/checkout-prod/*",
				"arn:aws:elasticloadbalancing:us-east-1:*:listener/app/checkout-prod/*",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/checkout-prod/*",
			}},
		{"ListenerRuleArns",
			[]string{
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/checkout-prod/*",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/checkout-prod/50dc6c495c0c9188/*",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/checkout-prod/50dc6c495c0c9188/f2f7dc8efc522ab2/*",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/checkout-prod/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee",
			},
			[]string{
				"*", "",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/*",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/*",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/checkout-*/*",
				"arn:aws:elasticloadbalancing:*:*:listener-rule/app/checkout-prod/*",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/checkout-prod/*",
			}},
		{"MemberRoleName",
			[]string{"medic-member", "ops.medic_member@2"},
			[]string{"*", "", "medic-*", "role/medic-member", "medic member", strings.Repeat("m", 65)}},
		{"SlackBotTokenSecretArn", []string{secret}, secretBad},
		{"SlackSigningSecretArn", []string{secret}, secretBad},
		{"GitHubSecretArn", []string{secret, ""}, secretBad[2:]},
	}
	iam := p.iamParameters()
	tested := map[string]bool{}
	for _, tc := range cases {
		tested[tc.param] = true
		t.Run(tc.param, func(t *testing.T) {
			param, ok := p.parameters[tc.param]
			if !ok {
				t.Fatalf("template.yaml has no parameter %s", tc.param)
			}
			re := allowedPattern(t, tc.param, param)
			if re == nil {
				t.Fatalf("%s has no AllowedPattern", tc.param)
			}
			for _, v := range tc.accept {
				if !re.MatchString(v) {
					t.Errorf("%s refuses %q, a value a deployment needs; AllowedPattern %q", tc.param, v, re)
				}
			}
			for _, v := range tc.refuse {
				if re.MatchString(v) {
					t.Errorf("%s accepts %q; AllowedPattern %q", tc.param, v, re)
				}
			}
		})
	}
	for _, name := range iam {
		if !tested[name] {
			t.Errorf("IAM parameter %s has no accept/refuse examples in this test", name)
		}
	}
}

// TestDeployDocsNameTheRequiredParameters checks that every parameter a
// deployment must give (no Default) is named where deployers look: the
// README's deploy steps, samconfig.toml's parameter_overrides example and
// the deploy workflow's SAM_PARAMETERS note.
func TestDeployDocsNameTheRequiredParameters(t *testing.T) {
	p := loadTemplateNodes(t)
	var required []string
	for _, name := range sortedKeys(p.parameters) {
		if get(p.parameters[name], "Default") == nil {
			required = append(required, name)
		}
	}
	for _, name := range scopingParameters {
		if !slices.Contains(required, name) {
			t.Errorf("%s is not a required parameter (it has a Default)", name)
		}
	}
	for _, doc := range []string{"README.md", "samconfig.toml", ".github/workflows/deploy.yml"} {
		raw, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range required {
			if !strings.Contains(string(raw), name) {
				t.Errorf("%s does not name %s, a parameter every deployment must set", doc, name)
			}
		}
	}
}

// TestEveryFunctionKnowsItsAccount checks that every function gets
// MEDIC_ACCOUNT_ID, the account medic acts in, as !Ref AWS::AccountId.
func TestEveryFunctionKnowsItsAccount(t *testing.T) {
	p := loadTemplateNodes(t)
	for _, fn := range functions {
		v, ok := p.env(fn)["MEDIC_ACCOUNT_ID"]
		if !ok {
			t.Errorf("%s has no MEDIC_ACCOUNT_ID in its environment", fn)
			continue
		}
		if ref, isRef := refName(v); !isRef || ref != "AWS::AccountId" {
			t.Errorf("%s: MEDIC_ACCOUNT_ID is %s %q, want !Ref AWS::AccountId", fn, v.Tag, v.Value)
		}
	}
}
