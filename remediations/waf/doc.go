// Package waf implements waf.rate_limit: throttling clients with a
// rate-based rule on the AWS WAF (WAFv2) web ACL of an Application Load
// Balancer.
//
// # Target
//
// The web_acl parameter names a regional web ACL by ARN. Otherwise the load
// balancer is the load_balancer parameter (an ARN, or app/NAME/ID) or the
// alarm's LoadBalancer dimension (DescribeLoadBalancers by name, matching
// the ARN suffix), and its web ACL is found with GetWebACLForResource.
// Nothing is guessed: a missing or unknown load balancer is an error
// wrapping remediations.ErrTarget. A web ACL managed by Firewall Manager is
// refused (its policies would overwrite the change). A web ACL may protect
// several resources: the rule applies to all of them.
//
// # Plan
//
// Medic's rule is a rate-based statement: at most limit requests per window
// (60, 120, 300 or 600 seconds; 300 by default) per client IP, or per the IP
// in forwarded_header with key forwarded_ip (requests without the header are
// not counted), optionally scoped down to a path prefix (URI path starts
// with) and/or a host (Host header, case-insensitive). Its action is block,
// captcha, challenge or count (shadow: only metrics). Each scope has one
// rule named medic-rate-limit-<hash of the scope>; medic finds its rules by
// that name (WAF rules carry no tags).
//
// Plan reads the web ACL and its lock token and, without changing anything:
//
//   - adds the rule at the lowest free priority when the scope has no medic
//     rule (naming any earlier rules whose Allow action lets requests past
//     uncounted);
//   - tightens medic's rule of that scope when the new one is tighter (a
//     lower rate, limit per window, or a stricter action; count < challenge
//     < captcha < block), keeping its priority;
//   - is a NoOp when medic's rule is already that rule, or tighter: it never
//     loosens a rule (undo the step that set it);
//   - refuses (remediations.ErrInvalid) when a rule with medic's name is not
//     in the shape medic writes (edited by hand).
//
// When the load balancer has no web ACL, the plan is a NoOp saying so,
// unless the policy sets create_acl: true: then it proposes creating web
// ACL medic-<load balancer name> (default action allow) holding only
// medic's rule, and associating it.
//
// # Apply
//
// Apply reads the web ACL again and refuses, with remediations.ErrStalePlan
// and remediations.ErrNotApplied, when its lock token is not the planned one:
// anything that changed the ACL since the plan makes it stale. It then
// updates the ACL with the planned lock token (WAF refuses a stale token
// with WAFOptimisticLockException, also ErrStalePlan), passing every other
// setting and rule back unchanged, and reads the ACL back to check the rule
// is there as planned. For create_acl it checks the load balancer still has
// no web ACL, creates the ACL (tagged medic:managed=true) and associates it,
// trying the association again for a few seconds while WAF says the new ACL
// is not yet available; when it fails, it deletes the ACL it created.
//
// # Undo
//
// Undo reverses what its Apply made and nothing else, while medic's rule is
// still exactly what Apply set (a rule changed since is left in place and
// the result says so): it removes the rule Apply added, puts back the rule
// Apply tightened, or disassociates and deletes the web ACL Apply created
// (when that ACL gained other rules since, only medic's rule is removed and
// the ACL stays). A lock conflict during Undo is read again and retried.
//
// # Errors
//
// WAF errors are returned as *APIError naming the IAM action and the
// resource: WAFNonexistentItemException matches remediations.ErrNotFound,
// WAFOptimisticLockException remediations.ErrStalePlan, AccessDenied
// remediations.ErrAccessDenied, invalid parameters and limits
// remediations.ErrInvalid. Throttling and internal errors stay unclassified
// (retryable).
//
// # IAM
//
//   - elasticloadbalancing:DescribeLoadBalancers on "*".
//   - wafv2:GetWebACLForResource, wafv2:GetWebACL on
//     arn:aws:wafv2:REGION:ACCOUNT:regional/webacl/*/*.
//   - wafv2:UpdateWebACL on arn:aws:wafv2:REGION:ACCOUNT:regional/* (it is
//     also authorised on the IP sets and rule groups the ACL's other rules
//     reference).
//   - wafv2:CreateWebACL, DeleteWebACL, AssociateWebACL,
//     DisassociateWebACL on arn:aws:wafv2:REGION:ACCOUNT:regional/webacl/*/*
//     (create_acl and its undo), with elasticloadbalancing:SetWebAcl on the
//     load balancers.
//
// RateLimitSchema().IAM lists the same statements.
package waf
