package deploycheck

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/medicbot/medic/internal/wiring"
	"github.com/medicbot/medic/remediations/builtin"
)

// These tests read template.yaml as YAML nodes, so that intrinsic functions
// (!Ref, !GetAtt, !If, ...) can be followed, and check what the functions'
// roles, the SNS topics' key and the alarm intake's failure path allow.

// functions are the template's functions, by logical ID.
var functions = []string{"AlarmFunction", "SlackFunction", "ExecutorFunction"}

// planners are the functions that plan actions (remediations.Action.Plan):
// only the alarm function does (engine.HandleAlarm, called by the alarm
// door alone). The Slack function votes and re-renders cards; the executor
// applies plans and needs every documented permission anyway.
var planners = []string{"AlarmFunction"}

// remediationServices are the services whose actions only the remediations
// call: a function may hold no action of theirs that no remediation
// documents.
var remediationServices = []string{"ecs", "elasticloadbalancing", "application-autoscaling", "wafv2"}

// tpl is template.yaml as YAML nodes.
type tpl struct {
	globals    *yaml.Node // Globals.Function
	resources  map[string]*yaml.Node
	parameters map[string]*yaml.Node
}

func loadTemplateNodes(t *testing.T) *tpl { return loadTemplateFile(t, "template.yaml") }

// loadTemplateFile reads a template (a path from the repository root) as
// YAML nodes.
func loadTemplateFile(t *testing.T, file string) *tpl {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	if len(doc.Content) != 1 {
		t.Fatalf("%s is not one YAML document", file)
	}
	top := doc.Content[0]
	out := &tpl{globals: get(get(top, "Globals"), "Function"), resources: map[string]*yaml.Node{}, parameters: map[string]*yaml.Node{}}
	if params := get(top, "Parameters"); params != nil && params.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(params.Content); i += 2 {
			out.parameters[params.Content[i].Value] = params.Content[i+1]
		}
	}
	res := get(top, "Resources")
	if res == nil || res.Kind != yaml.MappingNode {
		t.Fatalf("%s has no Resources", file)
	}
	for i := 0; i+1 < len(res.Content); i += 2 {
		out.resources[res.Content[i].Value] = res.Content[i+1]
	}
	return out
}

// typeOf returns the Type of the named resource ("" when there is none).
func (p *tpl) typeOf(name string) string {
	return scalar(get(p.resources[name], "Type"))
}

// props returns the Properties of the named resource.
func (p *tpl) props(name string) *yaml.Node { return get(p.resources[name], "Properties") }

// env returns a function's environment variables: Globals', then the
// function's own (SAM merges them, the function's winning).
func (p *tpl) env(fn string) map[string]*yaml.Node {
	vars := map[string]*yaml.Node{}
	for _, n := range []*yaml.Node{p.globals, p.props(fn)} {
		v := get(get(n, "Environment"), "Variables")
		if v == nil {
			continue
		}
		for i := 0; i+1 < len(v.Content); i += 2 {
			vars[v.Content[i].Value] = v.Content[i+1]
		}
	}
	return vars
}

// statement is one IAM policy statement of a function's role.
type statement struct {
	sid       string
	allow     bool
	actions   []string
	resource  *yaml.Node
	principal *yaml.Node // key policies only
}

// grants reports whether s allows action (IAM wildcards in s's actions
// match; case-insensitive like IAM).
func (s statement) grants(action string) bool {
	if !s.allow {
		return false
	}
	for _, a := range s.actions {
		if ok, _ := path.Match(strings.ToLower(a), strings.ToLower(action)); ok {
			return true
		}
	}
	return false
}

// onAnyResource reports whether s's Resource is, or lists, a literal "*".
func (s statement) onAnyResource() bool {
	if s.resource == nil {
		return false
	}
	if s.resource.Kind == yaml.ScalarNode && s.resource.Tag == "!!str" {
		return s.resource.Value == "*"
	}
	if s.resource.Kind == yaml.SequenceNode && s.resource.Tag == "!!seq" {
		for _, r := range s.resource.Content {
			if r.Kind == yaml.ScalarNode && r.Tag == "!!str" && r.Value == "*" {
				return true
			}
		}
	}
	return false
}

// policies returns the statements of a function's Policies: inline
// statements (both branches of any !If) and the SAM policy templates that
// grant secrets. Other SAM policy templates (SQSSendMessagePolicy,
// SSMParameterReadPolicy) grant no action these tests look at.
func (p *tpl) policies(fn string) []statement {
	var out []statement
	for _, item := range branches(get(p.props(fn), "Policies")) {
		if item.Kind == yaml.SequenceNode {
			for _, it := range item.Content {
				out = append(out, policyItem(it)...)
			}
			continue
		}
		out = append(out, policyItem(item)...)
	}
	return out
}

func policyItem(item *yaml.Node) []statement {
	var out []statement
	for _, it := range branches(item) {
		if it.Kind != yaml.MappingNode {
			continue
		}
		if arn := get(get(it, "AWSSecretsManagerGetSecretValuePolicy"), "SecretArn"); arn != nil {
			out = append(out, statement{allow: true, actions: []string{"secretsmanager:GetSecretValue"}, resource: arn})
		}
		for _, sts := range branches(get(it, "Statement")) {
			list := []*yaml.Node{sts}
			if sts.Kind == yaml.SequenceNode {
				list = sts.Content
			}
			for _, st := range list {
				for _, s := range branches(st) {
					if s.Kind != yaml.MappingNode {
						continue
					}
					out = append(out, statement{
						sid:      scalar(get(s, "Sid")),
						allow:    scalar(get(s, "Effect")) == "Allow",
						actions:  scalars(get(s, "Action")),
						resource: get(s, "Resource"),
					})
				}
			}
		}
	}
	return out
}

// TestEverySecretArnVariableIsReadable checks that every *_SECRET_ARN
// variable a function is given (Globals and its own) names a secret its
// role may read: config.FromEnv fetches each at cold start and a failed
// fetch stops the function (AccessDenied in AWS). It also checks the
// converse: a role reads no secret its function is not given.
func TestEverySecretArnVariableIsReadable(t *testing.T) {
	p := loadTemplateNodes(t)
	for _, fn := range functions {
		if p.typeOf(fn) != "AWS::Serverless::Function" {
			t.Errorf("template.yaml declares no function %s", fn)
			continue
		}
		sts := p.policies(fn)
		given := map[string]string{} // referenced name -> variable
		names := sortedKeys(p.env(fn))
		for _, name := range names {
			if !strings.HasSuffix(name, "_SECRET_ARN") {
				continue
			}
			ref, ok := refName(p.env(fn)[name])
			if !ok {
				t.Errorf("%s: %s is not a !Ref (of a parameter or resource); this check cannot follow it", fn, name)
				continue
			}
			given[ref] = name
			found := false
			for _, s := range sts {
				if s.grants("secretsmanager:GetSecretValue") && slices.Contains(refsIn(s.resource), ref) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s: %s is !Ref %s, but the role has no secretsmanager:GetSecretValue on !Ref %s: the function would fail at cold start (AccessDenied)", fn, name, ref, ref)
			}
		}
		for _, s := range sts {
			if !s.grants("secretsmanager:GetSecretValue") {
				continue
			}
			for _, ref := range refsIn(s.resource) {
				if _, ok := given[ref]; !ok {
					t.Errorf("%s: the role may read secret !Ref %s (statement %q), which no *_SECRET_ARN of the function names", fn, ref, s.sid)
				}
			}
		}
	}
}

// TestOnlyTheFunctionsThatCallGitHubReadItsSecret: the alarm function
// (planning, and the suspect deploys looked up once at intake) and the
// executor (applying github.rollback) are given the GitHub credential. The
// Slack function renders cards from the records and never calls GitHub: it
// is given no GitHub variable and its role may not read the GitHub secret,
// so a button press cannot wait on GitHub.
func TestOnlyTheFunctionsThatCallGitHubReadItsSecret(t *testing.T) {
	p := loadTemplateNodes(t)
	const secret = "GitHubSecretArn"
	for _, fn := range []string{"AlarmFunction", "ExecutorFunction"} {
		if ref, ok := refName(p.env(fn)["GITHUB_SECRET_ARN"]); !ok || ref != secret {
			t.Errorf("%s: GITHUB_SECRET_ARN is not !Ref %s; github.rollback could not plan or apply", fn, secret)
		}
	}
	const fn = "SlackFunction"
	for name, v := range p.env(fn) {
		if strings.HasPrefix(name, "GITHUB_") || slices.Contains(refsIn(v), secret) {
			t.Errorf("%s: is given %s; the Slack function must not reach GitHub", fn, name)
		}
	}
	for _, s := range p.policies(fn) {
		if s.grants("secretsmanager:GetSecretValue") && (slices.Contains(refsIn(s.resource), secret) || s.onAnyResource()) {
			t.Errorf("%s: statement %q lets the role read the GitHub secret", fn, s.sid)
		}
	}
}

// TestEncryptedTopicsUseAKeyCloudWatchMayUse checks that every SNS topic
// with KmsMasterKeyId is encrypted with a customer managed key of this
// template whose key policy lets CloudWatch alarms use it
// (kms:GenerateDataKey*, kms:Decrypt), and EventBridge too when a rule
// targets the topic. The AWS managed alias/aws/sns does not, and its policy
// cannot be changed: alarms notifying such a topic fail to publish. The key
// must also rotate and stay manageable by the account.
func TestEncryptedTopicsUseAKeyCloudWatchMayUse(t *testing.T) {
	p := loadTemplateNodes(t)
	// Services that publish to each topic besides CloudWatch alarms.
	publishers := map[string][]string{}
	for _, name := range sortedKeys(p.resources) {
		if p.typeOf(name) != "AWS::Events::Rule" {
			continue
		}
		for _, target := range seq(get(p.props(name), "Targets")) {
			if topic, ok := resourceOf(get(target, "Arn")); ok && p.typeOf(topic) == "AWS::SNS::Topic" {
				publishers[topic] = append(publishers[topic], "events.amazonaws.com")
			}
		}
	}
	n := 0
	for _, topic := range sortedKeys(p.resources) {
		if p.typeOf(topic) != "AWS::SNS::Topic" {
			continue
		}
		keyID := get(p.props(topic), "KmsMasterKeyId")
		if keyID == nil {
			continue
		}
		n++
		key, ok := resourceOf(keyID)
		if ok && p.typeOf(key) == "AWS::KMS::Alias" {
			key, ok = resourceOf(get(p.props(key), "TargetKeyId"))
		}
		if !ok || p.typeOf(key) != "AWS::KMS::Key" {
			what := keyID.Tag + " " + keyID.Value
			if keyID.Kind == yaml.ScalarNode && keyID.Tag == "!!str" {
				what = strconv.Quote(keyID.Value)
			}
			t.Errorf("%s: KmsMasterKeyId %s is not a KMS key of this template; CloudWatch alarms cannot publish to a topic encrypted with the AWS managed alias/aws/sns", topic, what)
			continue
		}
		kp := p.props(key)
		if scalar(get(kp, "EnableKeyRotation")) != "true" {
			t.Errorf("%s: key %s does not enable key rotation", topic, key)
		}
		var sts []statement
		for _, s := range seq(get(get(kp, "KeyPolicy"), "Statement")) {
			sts = append(sts, statement{
				sid:       scalar(get(s, "Sid")),
				allow:     scalar(get(s, "Effect")) == "Allow",
				actions:   scalars(get(s, "Action")),
				principal: get(s, "Principal"),
			})
		}
		admin := false
		for _, s := range sts {
			for _, a := range seq(get(s.principal, "AWS")) {
				if strings.HasSuffix(a.Value, ":root") && s.grants("kms:PutKeyPolicy") && s.grants("kms:ScheduleKeyDeletion") {
					admin = true
				}
			}
		}
		if !admin {
			t.Errorf("%s: key %s's policy does not let the account (its root principal) administer the key", topic, key)
		}
		for _, svc := range append([]string{"cloudwatch.amazonaws.com"}, publishers[topic]...) {
			var gen, dec bool
			for _, s := range sts {
				if !slices.Contains(scalars(get(s.principal, "Service")), svc) {
					continue
				}
				gen = gen || s.grants("kms:GenerateDataKey*") || s.grants("kms:GenerateDataKey")
				dec = dec || s.grants("kms:Decrypt")
			}
			if !gen || !dec {
				t.Errorf("%s: key %s's policy does not allow %s kms:GenerateDataKey* and kms:Decrypt, which it needs to publish to the topic", topic, key, svc)
			}
		}
	}
	if n == 0 {
		t.Error("template.yaml has no encrypted SNS topic")
	}
}

// TestIAMMatchesTheRemediationsDocumentedLists checks the roles against
// what the built-in actions document in Schema().IAM: the executor, which
// applies and undoes them, holds every documented action; the functions
// that plan hold every documented read action (Describe, List, Get); no
// function holds an ECS, Elastic Load Balancing or Application Auto
// Scaling action no remediation documents (nor, outside the executor, any
// that is not a read); and no documented action is granted on "*" when its
// documentation scopes it to a resource.
func TestIAMMatchesTheRemediationsDocumentedLists(t *testing.T) {
	p := loadTemplateNodes(t)
	type doc struct {
		by    []string // the actions documenting it
		onAny bool     // documented on "*"
		// evidenceOnly: documented by evidence collectors alone.
		evidenceOnly bool
	}
	documented := map[string]*doc{} // lower-case IAM action -> doc
	canonical := map[string]string{}
	catalog := builtin.Catalog()
	for _, name := range sortedKeys(catalog) {
		for _, perm := range catalog[name].IAM {
			for _, a := range perm.Actions {
				k := strings.ToLower(a)
				d := documented[k]
				if d == nil {
					d = &doc{}
					documented[k] = d
					canonical[k] = a
				}
				if !slices.Contains(d.by, name) {
					d.by = append(d.by, name)
				}
				d.onAny = d.onAny || perm.Resource == "*"
			}
		}
	}
	if len(documented) == 0 {
		t.Fatal("builtin.Catalog() documents no IAM action")
	}
	// The evidence collectors' reads count as documented too (only the
	// alarm function calls them; TestAlarmFunctionMayGatherEvidence).
	for _, c := range wiring.Collectors(aws.Config{Region: "us-east-1"}, false, nil) {
		for _, perm := range c.IAM() {
			for _, a := range perm.Actions {
				k := strings.ToLower(a)
				d := documented[k]
				if d == nil {
					// Not a remediation's: the executor need not hold it.
					d = &doc{evidenceOnly: true}
					documented[k] = d
					canonical[k] = a
				}
				d.by = append(d.by, "evidence "+c.Name())
				d.onAny = d.onAny || perm.Resource == "*"
			}
		}
	}
	isRead := func(action string) bool {
		_, op, _ := strings.Cut(action, ":")
		return strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List") || strings.HasPrefix(op, "Get")
	}
	holds := func(sts []statement, action string) bool {
		for _, s := range sts {
			if s.grants(action) {
				return true
			}
		}
		return false
	}
	actions := sortedKeys(documented)

	exec := p.policies("ExecutorFunction")
	for _, k := range actions {
		if !documented[k].evidenceOnly && !holds(exec, canonical[k]) {
			t.Errorf("ExecutorFunction lacks %s, which %s document(s) (Schema().IAM)", canonical[k], strings.Join(documented[k].by, ", "))
		}
	}
	for _, fn := range planners {
		sts := p.policies(fn)
		for _, k := range actions {
			if isRead(canonical[k]) && !holds(sts, canonical[k]) {
				t.Errorf("%s plans actions but lacks %s, which %s document(s) (Schema().IAM)", fn, canonical[k], strings.Join(documented[k].by, ", "))
			}
		}
	}
	for _, fn := range functions {
		for _, s := range p.policies(fn) {
			if !s.allow {
				continue
			}
			for _, a := range s.actions {
				svc, _, _ := strings.Cut(strings.ToLower(a), ":")
				if !slices.Contains(remediationServices, svc) {
					continue
				}
				d, ok := documented[strings.ToLower(a)]
				switch {
				case !ok:
					t.Errorf("%s grants %s (statement %q), which no remediation documents (Schema().IAM)", fn, a, s.sid)
				case fn != "ExecutorFunction" && !isRead(a):
					t.Errorf("%s grants %s (statement %q); only the executor changes anything", fn, a, s.sid)
				case s.onAnyResource() && !d.onAny:
					t.Errorf(`%s grants %s on "*" (statement %q), but %s document(s) it on a resource: scope it`, fn, a, s.sid, strings.Join(d.by, ", "))
				}
			}
			if s.onAnyResource() {
				for _, a := range s.actions {
					svc, _, _ := strings.Cut(strings.ToLower(a), ":")
					if d, ok := documented[strings.ToLower(a)]; ok && !d.onAny && !slices.Contains(remediationServices, svc) {
						t.Errorf(`%s grants %s on "*" (statement %q), but %s document(s) it on a resource: scope it`, fn, a, s.sid, strings.Join(d.by, ", "))
					}
				}
			}
		}
	}
}

// TestAlarmIntakeFailuresGoToAWatchedDeadLetterQueue checks that the alarm
// function's asynchronous invocations (SNS, direct alarm action,
// EventBridge) that still fail after Lambda's retries go to an SQS queue an
// alarm watches, instead of being dropped.
func TestAlarmIntakeFailuresGoToAWatchedDeadLetterQueue(t *testing.T) {
	p := loadTemplateNodes(t)
	cfg := get(p.props("AlarmFunction"), "EventInvokeConfig")
	if cfg == nil {
		t.Fatal("AlarmFunction has no EventInvokeConfig: failed alarm events are dropped after Lambda's retries")
	}
	if r := scalar(get(cfg, "MaximumRetryAttempts")); r == "" {
		t.Error("AlarmFunction EventInvokeConfig sets no MaximumRetryAttempts")
	}
	onFailure := get(get(cfg, "DestinationConfig"), "OnFailure")
	queue, ok := resourceOf(get(onFailure, "Destination"))
	if scalar(get(onFailure, "Type")) != "SQS" || !ok || p.typeOf(queue) != "AWS::SQS::Queue" {
		t.Fatal("AlarmFunction EventInvokeConfig has no OnFailure destination of Type SQS on a queue of this template")
	}
	watched := false
	for _, name := range sortedKeys(p.resources) {
		if p.typeOf(name) != "AWS::CloudWatch::Alarm" || scalar(get(p.props(name), "Namespace")) != "AWS/SQS" {
			continue
		}
		for _, d := range seq(get(p.props(name), "Dimensions")) {
			if q, ok := resourceOf(get(d, "Value")); ok && q == queue && scalar(get(d, "Name")) == "QueueName" && len(seq(get(p.props(name), "AlarmActions"))) > 0 {
				watched = true
			}
		}
	}
	if !watched {
		t.Errorf("no alarm with an action watches %s, AlarmFunction's on-failure destination", queue)
	}
}

// get returns the value of key in mapping n (nil when absent).
func get(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// scalar returns a scalar node's value ("" for anything else).
func scalar(n *yaml.Node) string {
	if n = deref(n); n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// scalars returns a scalar, or a sequence's scalars.
func scalars(n *yaml.Node) []string {
	var out []string
	for _, c := range seq(n) {
		if c.Kind == yaml.ScalarNode {
			out = append(out, c.Value)
		}
	}
	return out
}

// seq returns a sequence's items, or the node itself when it is not one.
func seq(n *yaml.Node) []*yaml.Node {
	if n = deref(n); n == nil {
		return nil
	}
	if n.Kind == yaml.SequenceNode {
		return n.Content
	}
	return []*yaml.Node{n}
}

// branches returns n, or both branches of an !If / Fn::If (dropping
// AWS::NoValue).
func branches(n *yaml.Node) []*yaml.Node {
	if n = deref(n); n == nil {
		return nil
	}
	args := (*yaml.Node)(nil)
	if n.Tag == "!If" && n.Kind == yaml.SequenceNode {
		args = n
	} else if f := get(n, "Fn::If"); f != nil && len(n.Content) == 2 {
		args = f
	}
	if args == nil {
		if r, ok := refName(n); ok && r == "AWS::NoValue" {
			return nil
		}
		return []*yaml.Node{n}
	}
	if len(args.Content) != 3 {
		return nil
	}
	return append(branches(args.Content[1]), branches(args.Content[2])...)
}

// refName returns X of !Ref X or {Ref: X}.
func refName(n *yaml.Node) (string, bool) {
	if n = deref(n); n == nil {
		return "", false
	}
	if n.Tag == "!Ref" && n.Kind == yaml.ScalarNode {
		return n.Value, true
	}
	if r := get(n, "Ref"); r != nil && len(n.Content) == 2 && r.Kind == yaml.ScalarNode {
		return r.Value, true
	}
	return "", false
}

// resourceOf returns X of !Ref X, !GetAtt X.Arn or their long forms.
func resourceOf(n *yaml.Node) (string, bool) {
	if r, ok := refName(n); ok {
		return r, true
	}
	if n = deref(n); n == nil {
		return "", false
	}
	var parts []string
	switch {
	case n.Tag == "!GetAtt" && n.Kind == yaml.ScalarNode:
		parts = strings.SplitN(n.Value, ".", 2)
	case n.Tag == "!GetAtt" && n.Kind == yaml.SequenceNode:
		parts = scalars(n)
	case get(n, "Fn::GetAtt") != nil && len(n.Content) == 2:
		parts = scalars(get(n, "Fn::GetAtt"))
	}
	if len(parts) == 2 {
		return parts[0], true
	}
	return "", false
}

// refsIn returns every !Ref anywhere under n, but AWS::NoValue.
func refsIn(n *yaml.Node) []string {
	var out []string
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n = deref(n); n == nil {
			return
		}
		if r, ok := refName(n); ok {
			if r != "AWS::NoValue" {
				out = append(out, r)
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestAlarmFunctionMayGatherEvidence checks that the alarm function, which
// gathers evidence when it opens an incident, holds every IAM action each
// evidence collector declares (IAM()), and no other function needs them.
func TestAlarmFunctionMayGatherEvidence(t *testing.T) {
	p := loadTemplateNodes(t)
	sts := p.policies("AlarmFunction")
	collectors := wiring.Collectors(aws.Config{Region: "us-east-1"}, false, nil)
	if len(collectors) == 0 {
		t.Fatal("wiring.Collectors returned no collector")
	}
	declared := 0
	defer func() {
		if declared == 0 {
			t.Error("no evidence collector declares an IAM action")
		}
	}()
	for _, c := range collectors {
		// Probes call no AWS API and declare nothing.
		declared += len(c.IAM())
		for _, perm := range c.IAM() {
			for _, a := range perm.Actions {
				granted := false
				for _, s := range sts {
					if s.grants(a) {
						granted = true
						break
					}
				}
				if !granted {
					t.Errorf("AlarmFunction lacks %s, which evidence collector %s declares (IAM())", a, c.Name())
				}
			}
		}
	}
}

// TestMaintenanceFunctionHasNoPolicies: the maintenance page function calls
// no AWS API and reads no secret, so its role gets nothing beyond what SAM
// gives every function (logs, tracing).
func TestMaintenanceFunctionHasNoPolicies(t *testing.T) {
	p := loadTemplateNodes(t)
	const fn = "MaintenanceFunction"
	if p.typeOf(fn) != "AWS::Serverless::Function" {
		t.Fatalf("template.yaml declares no %s", fn)
	}
	if pol := get(p.props(fn), "Policies"); pol != nil {
		t.Errorf("%s has Policies; it calls no AWS API and must have none", fn)
	}
	tg := "MaintenanceTargetGroup"
	if p.typeOf(tg) != "AWS::ElasticLoadBalancingV2::TargetGroup" || scalar(get(p.props(tg), "TargetType")) != "lambda" {
		t.Fatalf("template.yaml declares no lambda target group %s", tg)
	}
	for _, target := range seq(get(p.props(tg), "Targets")) {
		if r, ok := resourceOf(get(target, "Id")); !ok || r != fn {
			t.Errorf("%s targets %v, want %s", tg, get(target, "Id"), fn)
		}
	}
	for _, f := range []string{"AlarmFunction", "ExecutorFunction"} {
		if ref, ok := refName(p.env(f)["MEDIC_MAINTENANCE_TARGET_GROUP_ARN"]); !ok || ref != tg {
			t.Errorf("%s: MEDIC_MAINTENANCE_TARGET_GROUP_ARN is not !Ref %s: alb.maintenance could not use the maintenance function", f, tg)
		}
	}
}
