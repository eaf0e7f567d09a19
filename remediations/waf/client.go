package waf

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/wafv2"
)

// WAFv2API lists the WAFv2 calls waf.rate_limit makes. *wafv2.Client
// satisfies it.
type WAFv2API interface {
	GetWebACLForResource(ctx context.Context, in *wafv2.GetWebACLForResourceInput, optFns ...func(*wafv2.Options)) (*wafv2.GetWebACLForResourceOutput, error)
	GetWebACL(ctx context.Context, in *wafv2.GetWebACLInput, optFns ...func(*wafv2.Options)) (*wafv2.GetWebACLOutput, error)
	UpdateWebACL(ctx context.Context, in *wafv2.UpdateWebACLInput, optFns ...func(*wafv2.Options)) (*wafv2.UpdateWebACLOutput, error)
	CreateWebACL(ctx context.Context, in *wafv2.CreateWebACLInput, optFns ...func(*wafv2.Options)) (*wafv2.CreateWebACLOutput, error)
	AssociateWebACL(ctx context.Context, in *wafv2.AssociateWebACLInput, optFns ...func(*wafv2.Options)) (*wafv2.AssociateWebACLOutput, error)
	DisassociateWebACL(ctx context.Context, in *wafv2.DisassociateWebACLInput, optFns ...func(*wafv2.Options)) (*wafv2.DisassociateWebACLOutput, error)
	DeleteWebACL(ctx context.Context, in *wafv2.DeleteWebACLInput, optFns ...func(*wafv2.Options)) (*wafv2.DeleteWebACLOutput, error)
}

// LoadBalancerDescriber finds the load balancer a LoadBalancer dimension
// names. *elasticloadbalancingv2.Client satisfies it.
type LoadBalancerDescriber interface {
	DescribeLoadBalancers(ctx context.Context, in *elasticloadbalancingv2.DescribeLoadBalancersInput, optFns ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DescribeLoadBalancersOutput, error)
}

// The SDK clients fit.
var (
	_ WAFv2API              = (*wafv2.Client)(nil)
	_ LoadBalancerDescriber = (*elasticloadbalancingv2.Client)(nil)
)
