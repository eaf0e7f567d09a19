package alb

import "github.com/medicbot/medic/remediations"

// MaintenanceSchema declares the parameters of alb.maintenance.
func MaintenanceSchema() remediations.Schema {
	return remediations.Schema{
		Description: "Put an ALB listener into maintenance mode: a fixed 503 for all paths, with an allow-list still forwarded.",
		Params: []remediations.Param{
			{Name: "listener", Type: remediations.TypeString, Description: "listener ARN; resolved from the alarm's LoadBalancer dimension when omitted"},
			{Name: "port", Type: remediations.TypeInt, Min: remediations.Ptr(1), Max: remediations.Ptr(65535), Description: "listener port to pick when resolving from the LoadBalancer dimension"},
			{Name: "host_headers", Type: remediations.TypeStringList, Description: "only these host names go into maintenance (default: all)"},
			{Name: "allow_ips", Type: remediations.TypeCIDRList, Description: "CIDR blocks whose requests keep being forwarded"},
			{Name: "retry_after", Type: remediations.TypeInt, Min: remediations.Ptr(0), Default: 300, Description: "seconds clients should wait before retrying, stated in the body"},
			{Name: "format", Type: remediations.TypeString, Enum: []string{"html", "json"}, Default: "html", Description: "body format of the 503"},
			{Name: "message", Type: remediations.TypeString, Description: "text shown to users"},
		},
		Reversible: true,
		IAM: []remediations.IAMPermission{
			{Actions: []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags"}, Resource: "*"},
			{Actions: []string{"elasticloadbalancing:CreateRule", "elasticloadbalancing:AddTags"}, Resource: "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/LB/*"},
			{Actions: []string{"elasticloadbalancing:DeleteRule", "elasticloadbalancing:AddTags"}, Resource: "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/LB/*"},
		},
	}
}
