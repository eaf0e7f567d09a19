package waf

import (
	"errors"
	"strings"
	"testing"

	"github.com/medicbot/medic/remediations"
)

func TestEveryRuleShapeReadsBackAsWritten(t *testing.T) {
	for _, r := range []rateRule{
		{Name: "medic-rate-limit-a", Priority: 3, Limit: 100, Window: 60, Key: KeyIP, Action: ActionBlock},
		{Name: "medic-rate-limit-b", Limit: 2000, Window: 300, Key: KeyForwardedIP, Header: "X-Forwarded-For", Path: "/api/", Action: ActionCount},
		{Name: "medic-rate-limit-c", Limit: 50, Window: 600, Key: KeyIP, Host: "shop.example.com", Action: ActionCaptcha},
		{Name: "medic-rate-limit-d", Limit: 10, Window: 120, Key: KeyIP, Path: "/login", Host: "shop.example.com", Action: ActionChallenge},
	} {
		t.Run(r.Name, func(t *testing.T) {
			got, ok := fromSDK(r.sdk())
			if !ok || got != r {
				t.Errorf("fromSDK(sdk()) = %+v (ok %v), want %+v", got, ok, r)
			}
		})
	}
}

func TestRuleNamesDifferByScopeOnly(t *testing.T) {
	a := desired(remediations.Params{"limit": 100})
	b := desired(remediations.Params{"limit": 5000, "action": "count"})
	c := desired(remediations.Params{"limit": 100, "path_prefix": "/api/"})
	if a.Name != b.Name {
		t.Errorf("the same scope with another limit gets another rule name (%s, %s): a later plan could not tighten it", a.Name, b.Name)
	}
	if a.Name == c.Name {
		t.Errorf("a path-scoped rule shares the name %s of the unscoped one", a.Name)
	}
	if !strings.HasPrefix(a.Name, rulePrefix) || len(a.Name) > 128 {
		t.Errorf("rule name %q", a.Name)
	}
}

func TestLooserComparesRatesAndActions(t *testing.T) {
	base := rateRule{Limit: 1000, Window: 300, Action: ActionBlock}
	for _, tc := range []struct {
		name string
		want rateRule
		loos bool
	}{
		{"a lower limit tightens", rateRule{Limit: 500, Window: 300, Action: ActionBlock}, false},
		{"a higher limit loosens", rateRule{Limit: 2000, Window: 300, Action: ActionBlock}, true},
		{"the same limit over a longer window tightens", rateRule{Limit: 1000, Window: 600, Action: ActionBlock}, false},
		{"the same rate over a shorter window is as tight", rateRule{Limit: 200, Window: 60, Action: ActionBlock}, false},
		{"count instead of block loosens", rateRule{Limit: 1000, Window: 300, Action: ActionCount}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := looser(tc.want, base); got != tc.loos {
				t.Errorf("looser = %v, want %v", got, tc.loos)
			}
		})
	}
}

func TestSchemaRejectsWhatWAFWould(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     remediations.Params
		param string
	}{
		{"a window WAF does not offer", remediations.Params{"limit": 100, "window": 90}, "window"},
		{"a limit under WAF's minimum", remediations.Params{"limit": 5}, "limit"},
		{"a forwarded header without key forwarded_ip", remediations.Params{"limit": 100, "forwarded_header": "X-Real-IP"}, "forwarded_header"},
		{"a path prefix without a slash", remediations.Params{"limit": 100, "path_prefix": "api"}, "path_prefix"},
		{"a wildcard host", remediations.Params{"limit": 100, "host": "*.example.com"}, "host"},
		{"both a load balancer and a web ACL", remediations.Params{"limit": 100, "load_balancer": "app/a/b", "web_acl": "arn:aws:wafv2:us-east-1:1:regional/webacl/x/y"}, "web_acl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := RateLimitSchema().Validate(tc.p, nil)
			found := false
			for _, err := range errs {
				var fe *remediations.FieldError
				if errors.As(err, &fe) && fe.Param == tc.param {
					found = true
				}
			}
			if !found {
				t.Errorf("Validate(%v) = %v, want an error on %s", tc.p, errs, tc.param)
			}
		})
	}
	if errs := RateLimitSchema().Validate(remediations.Params{"limit": 100, "key": "forwarded_ip", "forwarded_header": "X-Real-IP", "window": 60, "action": "captcha"}, nil); len(errs) > 0 {
		t.Errorf("valid params refused: %v", errs)
	}
}

func TestPlanWithoutAClientSaysSo(t *testing.T) {
	_, err := New(nil, nil).Plan(t.Context(), nil, remediations.Params{"limit": 100})
	if err == nil || !strings.Contains(err.Error(), "no wafv2 client") {
		t.Errorf("plan without a client: %v", err)
	}
}
