// Package builtin lists medic's built-in actions in one place.
package builtin

import (
	gogithub "github.com/google/go-github/v60/github"

	"github.com/medicbot/medic/remediations"
	"github.com/medicbot/medic/remediations/alb"
	"github.com/medicbot/medic/remediations/ecs"
	"github.com/medicbot/medic/remediations/github"
	"github.com/medicbot/medic/remediations/waf"
)

// Catalog returns the schemas of every built-in action, by name. Policy
// validation uses it; it needs no cloud clients.
func Catalog() remediations.Catalog {
	return remediations.Catalog{
		"ecs.scale":       ecs.ScaleSchema(),
		"ecs.restart":     ecs.RestartSchema(),
		"ecs.rollback":    ecs.RollbackSchema(),
		"alb.maintenance": alb.MaintenanceSchema(),
		"github.rollback": github.RollbackSchema(),
		"waf.rate_limit":  waf.RateLimitSchema(),
	}
}

// Clients are the API clients the built-in actions use. A nil GitHub
// client leaves github.rollback registered but unable to plan (it says so).
type Clients struct {
	ECS         ecs.ECSAPI
	AutoScaling ecs.AutoScalingAPI
	ELBv2       alb.ELBv2API
	GitHub      *gogithub.Client
	// WAFv2 serves waf.rate_limit (which also finds load balancers through
	// ELBv2).
	WAFv2 waf.WAFv2API
	// MaintenanceTargetGroup is the maintenance function's lambda target
	// group (MEDIC_MAINTENANCE_TARGET_GROUP_ARN), which alb.maintenance
	// forwards to in mode lambda (and mode on, when set).
	MaintenanceTargetGroup string
}

// Registry builds the registry of every built-in action. It is called once,
// in the wiring.
func Registry(c Clients) (*remediations.Registry, error) {
	actions := ecs.Actions(c.ECS, c.AutoScaling)
	var lbs waf.LoadBalancerDescriber
	if c.ELBv2 != nil {
		lbs = c.ELBv2
	}
	actions = append(actions, alb.NewWithOptions(c.ELBv2, alb.Options{TargetGroup: c.MaintenanceTargetGroup}), github.New(c.GitHub), waf.New(c.WAFv2, lbs))
	return remediations.NewRegistry(actions...)
}
