// Package policycheck verifies that the resources policies name exist
// (`medic policy check --aws`): for every step, the literal parameters
// that name a resource are looked up where the action would find them:
//
//   - ecs.scale, ecs.restart, ecs.rollback: cluster + service, with ECS
//     DescribeServices (missing, or not ACTIVE, is a finding);
//   - alb.maintenance: listener (an ARN), with ELBv2 DescribeListeners;
//   - github.rollback: repo, with GET /repos/{owner}/{repo}, only when a
//     GitHub client is given (a credential is configured).
//
// Values that are templates ("{{ .Dimensions.TargetGroup | segment 1 }}")
// depend on the alarm and parameters left out are resolved from the alarm
// by the action: both are reported as not checked, with the reason. Every
// check names the file, line and path of the parameter, as lint does.
//
// UnmatchedPolicies also lists the account's CloudWatch alarms
// (DescribeAlarms, and ListTagsForResource when a policy matches on tags)
// and returns the policies that no existing alarm can match: they never
// run until such an alarm exists (`medic alarms` generates the recommended
// ones, named as the example policies expect).
package policycheck

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	gogithub "github.com/google/go-github/v60/github"
	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/internal/policy"
)

// ECSAPI is the ECS call the checker makes.
type ECSAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, opts ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// ELBv2API is the ELBv2 call the checker makes.
type ELBv2API interface {
	DescribeListeners(ctx context.Context, in *elb.DescribeListenersInput, opts ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
}

// RepoGetter is the GitHub call the checker makes; go-github's
// Client.Repositories satisfies it.
type RepoGetter interface {
	Get(ctx context.Context, owner, repo string) (*gogithub.Repository, *gogithub.Response, error)
}

// Status is the outcome of one check.
type Status string

// The outcomes of a check.
const (
	Found      Status = "found"
	Missing    Status = "missing"
	NotChecked Status = "not checked" // templated, resolved from the alarm, or no credential
	Failed     Status = "failed"      // the lookup itself failed (access denied, network...)
)

// Result is one parameter checked.
type Result struct {
	File string // the policy file, relative to the policy directory
	Line int
	Path string // policies[0].steps[1].params.repo
	// Resource describes what was looked up: "ecs service prod/checkout".
	Resource string
	Status   Status
	// Detail says why a resource is missing or not checked, or how the
	// lookup failed.
	Detail string
}

// String formats r as "file:line: path: resource: status (detail)".
func (r Result) String() string {
	s := fmt.Sprintf("%s:%d: %s: ", r.File, r.Line, r.Path)
	if r.Resource != "" {
		s += r.Resource + ": "
	}
	s += string(r.Status)
	if r.Detail != "" {
		s += " (" + r.Detail + ")"
	}
	return s
}

// Checker looks resources up.
type Checker struct {
	ecs    ECSAPI
	elb    ELBv2API
	github RepoGetter
	cache  map[string]Result // by resource
}

// New returns a Checker. github may be nil: repositories are then not
// checked.
func New(ecsAPI ECSAPI, elbAPI ELBv2API, github RepoGetter) *Checker {
	return &Checker{ecs: ecsAPI, elb: elbAPI, github: github, cache: make(map[string]Result)}
}

// Check checks every policy of set; fsys holds the policy files, for line
// numbers. Results are in file and declaration order; each resource is
// looked up once.
func (c *Checker) Check(ctx context.Context, fsys fs.FS, set *policy.Set) ([]Result, error) {
	var out []Result
	roots := make(map[string]*yaml.Node)
	index := make(map[string]int) // position of the next policy in its file
	for _, p := range set.Policies() {
		root, ok := roots[p.File]
		if !ok {
			data, err := fs.ReadFile(fsys, p.File)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", p.File, err)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(data, &doc); err != nil {
				return nil, fmt.Errorf("read %s: %w", p.File, err)
			}
			if len(doc.Content) > 0 {
				root = doc.Content[0]
			}
			roots[p.File] = root
		}
		i := index[p.File]
		index[p.File]++
		for j, st := range p.Steps {
			at := func(param string) Result {
				path := []any{"policies", i, "steps", j, "params", param}
				return Result{File: p.File, Line: policy.LineOf(root, path), Path: fmt.Sprintf("policies[%d].steps[%d].params.%s", i, j, param)}
			}
			out = append(out, c.step(ctx, st, at)...)
		}
	}
	return out, nil
}

// step checks the resources one step names.
func (c *Checker) step(ctx context.Context, st *policy.Step, at func(string) Result) []Result {
	params := st.Params()
	switch {
	case strings.HasPrefix(st.Action, "ecs."):
		cluster, cok := literal(params, "cluster")
		service, sok := literal(params, "service")
		switch {
		case templated(params, "service"):
			return []Result{notChecked(at("service"), "templated: depends on the alarm")}
		case templated(params, "cluster"):
			return []Result{notChecked(at("cluster"), "templated: depends on the alarm")}
		case !sok || !cok:
			r := at("service")
			if sok {
				r = at("cluster")
			}
			return []Result{notChecked(r, "not given: resolved from the alarm's target group")}
		}
		return []Result{c.cached(ctx, at("service"), "ecs service "+cluster+"/"+service, func(ctx context.Context) (Status, string, error) {
			return c.ecsService(ctx, cluster, service)
		})}
	case st.Action == "alb.maintenance":
		if templated(params, "listener") {
			return []Result{notChecked(at("listener"), "templated: depends on the alarm")}
		}
		arn, ok := literal(params, "listener")
		if !ok {
			r := at("listener")
			r.Path = strings.TrimSuffix(r.Path, ".listener")
			return []Result{notChecked(r, "no listener: resolved from the alarm's LoadBalancer dimension")}
		}
		return []Result{c.cached(ctx, at("listener"), "alb listener "+arn, func(ctx context.Context) (Status, string, error) {
			return c.listener(ctx, arn)
		})}
	case st.Action == "github.rollback":
		if templated(params, "repo") {
			return []Result{notChecked(at("repo"), "templated: depends on the alarm")}
		}
		repo, ok := literal(params, "repo")
		if !ok {
			return nil // the schema requires repo; lint reports it
		}
		if c.github == nil {
			r := notChecked(at("repo"), "no GitHub credential: set GITHUB_TOKEN or the GitHub App variables")
			r.Resource = "github repository " + repo
			return []Result{r}
		}
		return []Result{c.cached(ctx, at("repo"), "github repository "+repo, func(ctx context.Context) (Status, string, error) {
			return c.repo(ctx, repo)
		})}
	}
	return nil
}

func notChecked(r Result, why string) Result {
	r.Status, r.Detail = NotChecked, why
	return r
}

// cached looks resource up once.
func (c *Checker) cached(ctx context.Context, r Result, resource string, look func(context.Context) (Status, string, error)) Result {
	r.Resource = resource
	if prev, ok := c.cache[resource]; ok {
		r.Status, r.Detail = prev.Status, prev.Detail
		return r
	}
	status, detail, err := look(ctx)
	if err != nil {
		status, detail = Failed, err.Error()
	}
	r.Status, r.Detail = status, detail
	c.cache[resource] = r
	return r
}

func (c *Checker) ecsService(ctx context.Context, cluster, service string) (Status, string, error) {
	out, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	var notFound *ecstypes.ClusterNotFoundException
	switch {
	case errors.As(err, &notFound):
		return Missing, "cluster " + cluster + " not found", nil
	case err != nil:
		return "", "", fmt.Errorf("describe ecs service %s/%s: %w", cluster, service, err)
	}
	for _, f := range out.Failures {
		return Missing, "DescribeServices: " + aws.ToString(f.Reason), nil
	}
	if len(out.Services) == 0 {
		return Missing, "DescribeServices returned no service", nil
	}
	if s := aws.ToString(out.Services[0].Status); s != "ACTIVE" {
		return Missing, "status " + s, nil
	}
	return Found, "", nil
}

func (c *Checker) listener(ctx context.Context, arn string) (Status, string, error) {
	out, err := c.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{arn}})
	var notFound *elbtypes.ListenerNotFoundException
	switch {
	case errors.As(err, &notFound):
		return Missing, "listener not found", nil
	case err != nil:
		return "", "", fmt.Errorf("describe alb listener %s: %w", arn, err)
	case len(out.Listeners) == 0:
		return Missing, "DescribeListeners returned no listener", nil
	}
	return Found, "", nil
}

func (c *Checker) repo(ctx context.Context, full string) (Status, string, error) {
	owner, name, _ := strings.Cut(full, "/")
	_, resp, err := c.github.Get(ctx, owner, name)
	switch {
	case err != nil && resp != nil && resp.StatusCode == http.StatusNotFound:
		return Missing, "GitHub answers 404: no such repository, or the credential cannot see it", nil
	case err != nil:
		return "", "", fmt.Errorf("get github repository %s: %w", full, err)
	}
	return Found, "", nil
}

// literal returns a parameter's value when it is a string without a
// template.
func literal(params map[string]any, name string) (string, bool) {
	s, ok := params[name].(string)
	if !ok || s == "" || strings.Contains(s, "{{") {
		return "", false
	}
	return s, true
}

func templated(params map[string]any, name string) bool {
	s, ok := params[name].(string)
	return ok && strings.Contains(s, "{{")
}
