package alb

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestGlobsOverlap(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"/*", "/", true},
		{"/*", "/anything/at/all", true},
		{"/*", "/*", true},
		{"/api/*", "/api/orders", true},
		{"/api/*", "/apix", false},
		{"/api/*", "/web/*", false},
		{"/api/*", "/*/orders", true},
		{"/health", "/health", true},
		{"/health", "/Health", false},
		{"/health", "/health/", false},
		{"/h?alth", "/health", true},
		{"/h?alth", "/hlth", false},
		{"/?", "/", false},
		{"/?", "/*", true},
		{"*.example.com", "shop.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "shop.*", true},
		{"a*b*c", "*x*", true},
		{"a*b", "*c", false},
		{"", "", true},
		{"", "*", true},
		{"", "?", false},
		{"/ünï?ode", "/ünïcode", true},
	} {
		if got := globsOverlap(tc.a, tc.b); got != tc.want {
			t.Errorf("globsOverlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := globsOverlap(tc.b, tc.a); got != tc.want {
			t.Errorf("globsOverlap(%q, %q) = %v, want %v (it must be symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

func pathCond(values ...string) types.RuleCondition {
	return types.RuleCondition{Field: aws.String(fieldPath), PathPatternConfig: &types.PathPatternConditionConfig{Values: values}}
}

func hostCond(values ...string) types.RuleCondition {
	return types.RuleCondition{Field: aws.String(fieldHost), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: values}}
}

func methodCond(values ...string) types.RuleCondition {
	return types.RuleCondition{Field: aws.String(fieldMethod), HttpRequestMethodConfig: &types.HttpRequestMethodConditionConfig{Values: values}}
}

func TestTakes(t *testing.T) {
	all := requests{Paths: []string{"/*"}}
	shop := requests{Paths: []string{"/*"}, Hosts: []string{"shop.example.com"}}
	checkout := requests{Paths: []string{"/checkout/*"}}
	for _, tc := range []struct {
		name   string
		conds  []types.RuleCondition
		q      requests
		want   bool
		unsure string // a substring of the reason, "" for none
	}{
		{"a rule forwarding /* takes every path", []types.RuleCondition{pathCond("/*")}, all, true, ""},
		{"a /health rule takes the /health requests among all paths", []types.RuleCondition{pathCond("/health")}, all, true, ""},
		{"a path pattern outside the maintenance paths takes none", []types.RuleCondition{pathCond("/api/*", "/static/*")}, checkout, false, ""},
		{"a path pattern overlapping the maintenance paths takes some", []types.RuleCondition{pathCond("/api/*", "/check*")}, checkout, true, ""},
		{"the legacy Values field is read too", []types.RuleCondition{{Field: aws.String(fieldPath), Values: []string{"/api/*"}}}, checkout, false, ""},
		{"another host takes none of the maintenance host's requests", []types.RuleCondition{hostCond("admin.example.com"), pathCond("/*")}, shop, false, ""},
		{"a host wildcard covering the maintenance host takes its requests", []types.RuleCondition{hostCond("*.EXAMPLE.com")}, shop, true, ""},
		{"a host condition takes some requests when maintenance covers every host", []types.RuleCondition{hostCond("admin.example.com")}, all, true, ""},
		{"a method condition takes some requests of any method", []types.RuleCondition{methodCond("GET"), pathCond("/*")}, all, true, ""},
		{"a method condition misses requests of other methods", []types.RuleCondition{methodCond("POST")}, requests{Paths: []string{"/"}, Methods: []string{"GET"}}, false, ""},
		{"a method condition matches its method", []types.RuleCondition{methodCond("GET", "HEAD")}, requests{Paths: []string{"/"}, Methods: []string{"HEAD"}}, true, ""},
		{"source-ip, header and query conditions hold for some client", []types.RuleCondition{
			{Field: aws.String(fieldSourceIP), SourceIpConfig: &types.SourceIpConditionConfig{Values: []string{"10.0.0.0/8"}}},
			{Field: aws.String(fieldHTTPHeader), HttpHeaderConfig: &types.HttpHeaderConditionConfig{HttpHeaderName: aws.String("X-Canary"), Values: []string{"1"}}},
			{Field: aws.String(fieldQueryString), QueryStringConfig: &types.QueryStringConditionConfig{Values: []types.QueryStringKeyValuePair{{Key: aws.String("v"), Value: aws.String("2")}}}},
		}, all, true, ""},
		{"a rule without conditions (the default rule) takes everything", nil, shop, true, ""},
		{"an unknown condition is assumed to hold and named", []types.RuleCondition{{Field: aws.String("tls-version"), Values: []string{"1.3"}}}, all, true, "condition tls-version cannot be evaluated"},
		{"a regex path is assumed to hold and named", []types.RuleCondition{{Field: aws.String(fieldPath), PathPatternConfig: &types.PathPatternConditionConfig{RegexValues: []string{"^/v[0-9]+/"}}}}, checkout, true, "path-pattern regex ^/v[0-9]+/ cannot be evaluated"},
		{"a condition that surely fails wins over one that cannot be evaluated", []types.RuleCondition{{Field: aws.String("tls-version")}, pathCond("/api/*")}, checkout, false, ""},
		{"a condition without a field is assumed to hold", []types.RuleCondition{{Values: []string{"x"}}}, all, true, "without a field"},
		{"a path condition without values is assumed to hold", []types.RuleCondition{{Field: aws.String(fieldPath)}}, checkout, true, "path-pattern condition without values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, unsure := takes(listenerRule{Conditions: tc.conds}, tc.q)
			if got != tc.want {
				t.Errorf("takes = %v, want %v", got, tc.want)
			}
			if tc.unsure == "" && unsure != "" || !strings.Contains(unsure, tc.unsure) {
				t.Errorf("unsure = %q, want %q", unsure, tc.unsure)
			}
		})
	}
}

func TestFirstTaker(t *testing.T) {
	rule := func(arn string, prio int32, conds ...types.RuleCondition) listenerRule {
		return listenerRule{ARN: arn, Priority: prio, Conditions: conds}
	}
	def := listenerRule{ARN: "default", Default: true}
	rules := []listenerRule{
		def,
		rule("api", 10, pathCond("/api/*")),
		rule("admin", 2, hostCond("admin.example.com")),
		rule("health", 5, pathCond("/health")),
		rule("get-all", 20, methodCond("GET"), pathCond("/*")),
	}
	for _, tc := range []struct {
		name string
		q    requests
		want string
	}{
		{"a concrete path goes to the lowest-numbered rule matching it", requests{Paths: []string{"/api/orders"}, Hosts: []string{"shop.example.com"}}, "api"},
		{"the host decides before the path", requests{Paths: []string{"/api/orders"}, Hosts: []string{"admin.example.com"}}, "admin"},
		{"a path no rule matches falls to a method rule", requests{Paths: []string{"/cart"}, Hosts: []string{"shop.example.com"}, Methods: []string{"GET"}}, "get-all"},
		{"then to the default rule", requests{Paths: []string{"/cart"}, Hosts: []string{"shop.example.com"}, Methods: []string{"POST"}}, "default"},
		{"all paths of every host: the first rule with any overlap", requests{Paths: []string{"/*"}}, "admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, ok := firstTaker(rules, tc.q)
			if !ok || got.ARN != tc.want {
				t.Errorf("firstTaker(%s) = %q (%v), want %q", tc.q, got.ARN, ok, tc.want)
			}
		})
	}
	unknown := rule("canary", 1, types.RuleCondition{Field: aws.String("tls-version")})
	got, unsure, _ := firstTaker(append(rules, unknown), requests{Paths: []string{"/cart"}})
	if got.ARN != "canary" || !strings.Contains(unsure, "tls-version") {
		t.Errorf("with a rule medic cannot evaluate at 1: first = %q (%q), want it, named as unsure", got.ARN, unsure)
	}
	if _, _, ok := firstTaker(nil, requests{Paths: []string{"/"}}); ok {
		t.Error("firstTaker of no rules reported a rule")
	}
}
