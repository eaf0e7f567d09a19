package waf

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/medicbot/medic/remediations"
)

// Values of the key parameter: what a rate-based rule counts requests by.
const (
	KeyIP          = "ip"
	KeyForwardedIP = "forwarded_ip"
)

// Values of the action parameter: what WAF does with requests over the limit.
const (
	ActionBlock     = "block"
	ActionCaptcha   = "captcha"
	ActionChallenge = "challenge"
	ActionCount     = "count"
)

// Limits WAF puts on a rate-based rule.
const (
	minLimit = 10
	maxLimit = 2_000_000_000
)

// windows are the evaluation windows (seconds) WAF accepts.
var windows = []int{60, 120, 300, 600}

// headerName is what WAF accepts as a forwarded-IP header name.
var headerName = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)

// RateLimitSchema declares the parameters of waf.rate_limit.
func RateLimitSchema() remediations.Schema {
	return remediations.Schema{
		Description: "Throttle clients on the web ACL (WAFv2) of the alarm's ALB: a rate-based rule limiting requests per IP (or forwarded IP) per window, optionally only for a path prefix or host, that blocks, asks for a CAPTCHA or challenge, or only counts (shadow). Creates medic's rule at a free priority or tightens the one medic made; apply refuses a plan whose web ACL changed (lock token); undo removes only what apply made. Without a web ACL on the ALB, creates one only with create_acl.",
		Params: []remediations.Param{
			{Name: "limit", Type: remediations.TypeInt, Required: true, Min: remediations.Ptr(minLimit), Max: remediations.Ptr(maxLimit), WidensDown: true, Description: "most requests one client (IP or forwarded IP) may send per window before the action applies; a lower limit throttles more"},
			{Name: "window", Type: remediations.TypeInt, Default: 300, Min: remediations.Ptr(60), Max: remediations.Ptr(600), Description: "evaluation window in seconds: 60, 120, 300 or 600"},
			{Name: "key", Type: remediations.TypeString, Enum: []string{KeyIP, KeyForwardedIP}, Default: KeyIP, Description: "count requests per source IP, or per the IP in forwarded_header (behind a CDN or proxy); requests without the header are not counted"},
			{Name: "forwarded_header", Type: remediations.TypeString, Default: "X-Forwarded-For", Description: "header holding the client IP with key forwarded_ip"},
			{Name: "path_prefix", Type: remediations.TypeString, Description: "only requests whose path starts with this (e.g. /api/) count and are limited"},
			{Name: "host", Type: remediations.TypeString, Description: "only requests for this Host count and are limited (case-insensitive)"},
			{Name: "action", Type: remediations.TypeString, Enum: []string{ActionBlock, ActionCaptcha, ActionChallenge, ActionCount}, Default: ActionBlock, Description: "what clients over the limit get: block (403), captcha or challenge (browsers only; API clients fail them), or count (shadow: only counted in metrics)"},
			{Name: "load_balancer", Type: remediations.TypeString, Description: "load balancer ARN or app/NAME/ID whose web ACL to change; resolved from the alarm's LoadBalancer dimension when omitted"},
			{Name: "web_acl", Type: remediations.TypeString, Description: "ARN of the regional web ACL to change, instead of the load balancer's"},
			{Name: "create_acl", Type: remediations.TypeBool, Default: false, Widens: true, Description: "when the load balancer has no web ACL, create one (default action allow) holding only medic's rule and associate it; undo removes it"},
		},
		Check:      checkParams,
		Reversible: true,
		IAM: []remediations.IAMPermission{
			// Finding the load balancer from the LoadBalancer dimension.
			{Actions: []string{"elasticloadbalancing:DescribeLoadBalancers"}, Resource: "*"},
			// GetWebACLForResource, AssociateWebACL and DisassociateWebACL
			// are authorised on the web ACL and on the load balancer.
			{Actions: []string{"wafv2:GetWebACLForResource", "wafv2:GetWebACL"}, Resource: "arn:aws:wafv2:REGION:ACCOUNT:regional/webacl/*/*"},
			{Actions: []string{"wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"}, Resource: "arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/*/*"},
			// UpdateWebACL is also authorised on what the ACL's other rules
			// reference (IP sets, rule groups), which medic passes back
			// unchanged.
			{Actions: []string{"wafv2:UpdateWebACL"}, Resource: "arn:aws:wafv2:REGION:ACCOUNT:regional/*"},
			// create_acl: create and associate; its undo: disassociate and
			// delete.
			{Actions: []string{"wafv2:CreateWebACL", "wafv2:DeleteWebACL", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"}, Resource: "arn:aws:wafv2:REGION:ACCOUNT:regional/webacl/*/*"},
			// Associating a web ACL with an ALB is also authorised as
			// SetWebAcl on the load balancer.
			{Actions: []string{"elasticloadbalancing:SetWebAcl"}, Resource: "arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/*/*"},
		},
	}
}

// checkParams validates what the types alone do not.
func checkParams(p remediations.Params) []error {
	var errs []error
	if w, ok := p.Int("window"); ok && !containsInt(windows, w) {
		errs = append(errs, &remediations.FieldError{Param: "window", Msg: fmt.Sprintf("must be 60, 120, 300 or 600 seconds, got %d", w)})
	}
	if h, ok := p["forwarded_header"]; ok {
		if s, _ := h.(string); !headerName.MatchString(s) || len(s) > 255 {
			errs = append(errs, &remediations.FieldError{Param: "forwarded_header", Msg: fmt.Sprintf("must be a header name (letters, digits, -), got %q", s)})
		}
		if p.String("key") != KeyForwardedIP {
			errs = append(errs, &remediations.FieldError{Param: "forwarded_header", Msg: "is used only with key: forwarded_ip"})
		}
	}
	if pp, ok := p["path_prefix"]; ok {
		if s, _ := pp.(string); !strings.HasPrefix(s, "/") || len(s) > 200 {
			errs = append(errs, &remediations.FieldError{Param: "path_prefix", Msg: fmt.Sprintf("must start with / and be at most 200 bytes, got %q", s)})
		}
	}
	if h, ok := p["host"]; ok {
		if s, _ := h.(string); s == "" || len(s) > 200 || strings.ContainsAny(s, " /*") {
			errs = append(errs, &remediations.FieldError{Param: "host", Msg: fmt.Sprintf("must be one host name (no wildcards, at most 200 bytes), got %q", s)})
		}
	}
	_, lb := p["load_balancer"]
	_, acl := p["web_acl"]
	if lb && acl {
		errs = append(errs, &remediations.FieldError{Param: "web_acl", Msg: "give load_balancer or web_acl, not both"})
	}
	if acl && p.Bool("create_acl", false) {
		errs = append(errs, &remediations.FieldError{Param: "create_acl", Msg: "cannot be used with web_acl (that ACL exists)"})
	}
	return errs
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
