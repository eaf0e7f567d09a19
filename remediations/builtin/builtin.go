// Package builtin lists medic's built-in actions in one place.
package builtin

import (
	"github.com/medicbot/medic/remediations"
	"github.com/medicbot/medic/remediations/alb"
	"github.com/medicbot/medic/remediations/ecs"
	"github.com/medicbot/medic/remediations/github"
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
	}
}
