package policy

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// The raw types mirror the YAML file exactly. They are decoded strictly
// (unknown fields are errors) and then validated and compiled into Set.
// JSONSchema reads the same types, so their tags are the one description of
// the format: `yaml` names the field, `doc` describes it and `schema` adds
// constraints, separated by ";": required, enum=NAME (from the enums table),
// pattern=NAME (from the patterns table), format=NAME, duration, min=N.

type rawFile struct {
	Version  *int        `yaml:"version" schema:"required;enum=version" doc:"format version; must be 1"`
	Policies []rawPolicy `yaml:"policies" schema:"required" doc:"the policies of this file; names are unique across all files"`
}

type rawPolicy struct {
	Name        string        `yaml:"name" schema:"required;pattern=name" doc:"unique name: lower-case letters, digits and dashes"`
	Description string        `yaml:"description" doc:"what the policy is for, shown on the Slack card"`
	Runbook     string        `yaml:"runbook" schema:"format=uri" doc:"http(s) link to the runbook, shown on the Slack card"`
	Enabled     *bool         `yaml:"enabled" doc:"false keeps the policy validated but never matched (default true)"`
	Match       *rawMatch     `yaml:"match" schema:"required" doc:"which alarms the policy answers; every given field must hold, lists mean any of"`
	Cooldown    string        `yaml:"cooldown" schema:"duration" doc:"after a step runs, do not act again on the same target for this long (default 15m; 0s turns it off)"`
	MaxPerHour  *int          `yaml:"max_per_hour" schema:"min=0" doc:"at most this many executions of this policy per hour (default: the engine's cap)"`
	OnRecovery  string        `yaml:"on_recovery" schema:"enum=on_recovery" doc:"undo: when the alarm returns to OK, undo the reversible steps that ran automatically"`
	OnBlocked   string        `yaml:"on_blocked" schema:"enum=on_blocked" doc:"what the ladder does after a step ends BLOCKED or EXPIRED: stop (the default; the audit trail records ladder.stopped and the card's thread says so) or continue (propose the next step after its after)"`
	Slack       *rawSlack     `yaml:"slack" doc:"where the policy's cards go (default: medic's channel)"`
	Approvers   stringList    `yaml:"approvers" schema:"pattern=approver" doc:"default approvers of required steps that list none: Slack user (U..., W...) or user-group (S...) IDs"`
	Evidence    *rawEvidence  `yaml:"evidence" doc:"how evidence (5xx pattern, recent changes, target and task health) is gathered when an incident opens"`
	Probe       *rawProbe     `yaml:"probe" doc:"an HTTP request medic makes when an incident opens, to reproduce the error (status, headers, time to first byte)"`
	Upstreams   []rawUpstream `yaml:"upstreams" doc:"dependencies medic probes when an incident opens"`
	Logs        *rawLogs      `yaml:"logs" doc:"a CloudWatch Logs Insights query medic runs when an incident opens; the top error patterns are shown"`
	Steps       []rawStep     `yaml:"steps" schema:"required" doc:"the ladder: step n+1 is proposed if the alarm is still in ALARM after step n finished and step n+1's after elapsed"`
}

type rawMatch struct {
	Alarm      stringList        `yaml:"alarm" doc:"alarm name glob(s) (path.Match syntax: * does not cross /)"`
	State      string            `yaml:"state" schema:"enum=state" doc:"the state the alarm moved to: ALARM, the default and the only state medic acts on (a recovery to OK is handled by on_recovery)"`
	Namespace  stringList        `yaml:"namespace" doc:"metric namespace glob(s), e.g. AWS/ApplicationELB"`
	Metric     stringList        `yaml:"metric" doc:"metric name glob(s), e.g. HTTPCode_Target_5XX_Count"`
	Dimensions map[string]string `yaml:"dimensions" doc:"dimension name -> value glob; namespace, metric and dimensions must all hold for one metric of the alarm"`
	Accounts   stringList        `yaml:"accounts" doc:"AWS account ID glob(s), or @alias for the accounts an alias lists in accounts.yaml"`
	Regions    stringList        `yaml:"regions" doc:"AWS region glob(s)"`
	Tags       map[string]string `yaml:"tags" doc:"alarm tag -> value glob"`
}

type rawSlack struct {
	Channel string `yaml:"channel" schema:"required;pattern=channel" doc:"Slack channel ID (C... or G...), not a name: names change"`
}

type rawStep struct {
	Action    string         `yaml:"action" schema:"required;enum=action" doc:"the remediation to run"`
	Approval  string         `yaml:"approval" schema:"required;enum=approval" doc:"auto runs it, required waits for approvers, shadow only posts what would run"`
	After     string         `yaml:"after" schema:"duration" doc:"wait this long after the previous step finished (not allowed on the first step; default 10m)"`
	Approvers stringList     `yaml:"approvers" schema:"pattern=approver" doc:"who may approve (required steps): Slack user (U..., W...) or user-group (S...) IDs; default the previous step's, then the policy's"`
	Quorum    *int           `yaml:"quorum" schema:"min=1" doc:"distinct approvals needed (required steps; default 1)"`
	Expires   string         `yaml:"expires" schema:"duration" doc:"how long the proposal waits for approval (required steps; default 30m)"`
	When      *rawWhen       `yaml:"when" doc:"conditions over the evidence gathered at intake; the ladder proposes the first step whose conditions all hold (unknown evidence does not hold)"`
	Params    map[string]any `yaml:"params" doc:"the action's parameters; string values may be Go templates over the alarm, e.g. {{ .Dimensions.ServiceName }}"`
}

type rawEvidence struct {
	Budget string `yaml:"budget" schema:"duration" doc:"how long the collectors may take before the card is posted with what is in (default 4s, at most 30s)"`
}

type rawProbe struct {
	URL          string `yaml:"url" schema:"required;format=uri" doc:"http(s) URL to request; redirects to other hosts are not followed, link-local and metadata addresses are refused"`
	Method       string `yaml:"method" schema:"enum=method" doc:"GET (default) or HEAD"`
	ExpectStatus *int   `yaml:"expect_status" schema:"min=100" doc:"the status a healthy answer has (default 200)"`
	Timeout      string `yaml:"timeout" schema:"duration" doc:"how long one attempt may take (default 2s, at most 10s)"`
}

type rawLogs struct {
	Groups stringList `yaml:"groups" schema:"required" doc:"log group name(s) to query (at most 10)"`
	Query  string     `yaml:"query" doc:"Logs Insights query (default: the lines that look like errors); medic groups the rows by message pattern"`
}

type rawUpstream struct {
	Name string `yaml:"name" schema:"required;pattern=name" doc:"the dependency's name, shown on the card"`
	URL  string `yaml:"url" schema:"required;format=uri" doc:"http(s) URL to request (GET, 200 expected)"`
}

type rawWhen struct {
	DeployWithin     string     `yaml:"deploy_within" schema:"duration" doc:"the spike began at most this long after the service's last deployment"`
	UnhealthyTargets string     `yaml:"unhealthy_targets" schema:"pattern=count" doc:"unhealthy targets in the alarm's target group, e.g. \">= 1\" or \"0\" (operators >=, <=, >, <, ==)"`
	Source           string     `yaml:"source" schema:"enum=source" doc:"where most 5xx came from: elb (the load balancer) or target (the tasks)"`
	Code             stringList `yaml:"code" schema:"pattern=code" doc:"the dominant 5xx code(s): 502, 503, 504 (ELB) or 5xx (targets)"`
}

// stringList is a list of strings that may also be written as one string.
type stringList []string

// UnmarshalYAML accepts a scalar or a sequence of scalars. Problems are
// reported as *yaml.TypeError so that decoding goes on and every problem is
// reported at once.
func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = stringList{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(stringList, 0, len(n.Content))
		var errs []string
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				// Keep the position so later problems name the right index.
				errs = append(errs, fmt.Sprintf("line %d: cannot unmarshal !!%s into string", item.Line, kindName(item)))
			}
			out = append(out, item.Value)
		}
		*l = out
		if errs != nil {
			return &yaml.TypeError{Errors: errs}
		}
		return nil
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal !!%s into policy.stringList", n.Line, kindName(n))}}
}

// kindName names a node kind the way yaml.v3 messages do.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "seq"
	case yaml.MappingNode:
		return "map"
	case yaml.AliasNode:
		return "alias"
	}
	return "str"
}

// rawFields lists the YAML field names of each raw type, by the name the
// YAML library gives the type, for "unknown field" messages.
var rawFields = yamlFieldsOf(reflect.TypeFor[rawFile](), reflect.TypeFor[rawPolicy](), reflect.TypeFor[rawMatch](),
	reflect.TypeFor[rawSlack](), reflect.TypeFor[rawStep](), reflect.TypeFor[rawEvidence](), reflect.TypeFor[rawWhen](),
	reflect.TypeFor[rawProbe](), reflect.TypeFor[rawUpstream](), reflect.TypeFor[rawLogs]())

// yamlFieldsOf maps each struct type's name as the YAML library prints it
// ("policy.rawStep") to its YAML field names, in declaration order.
func yamlFieldsOf(types ...reflect.Type) map[string][]string {
	out := make(map[string][]string, len(types))
	for _, t := range types {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct {
			out[t.String()] = yamlFields(t)
		}
	}
	return out
}

// yamlFields lists a struct's YAML field names; the fields of an inlined
// struct are its own.
func yamlFields(t reflect.Type) []string {
	out := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		_, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name := yamlName(f); {
		case strings.Contains(","+opts+",", ",inline,") && f.Type.Kind() == reflect.Struct:
			out = append(out, yamlFields(f.Type)...)
		case name == "-" || !f.IsExported():
		case name == "":
			out = append(out, strings.ToLower(f.Name))
		default:
			out = append(out, name)
		}
	}
	return out
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}
