// Package remediations defines what every medic action implements (Plan,
// Apply and, where reversible, Undo), the parameter schemas actions declare,
// and the Registry that the wiring builds once. The actions themselves live in
// one package per family: remediations/ecs, remediations/alb,
// remediations/github.
package remediations

import (
	"context"
	"encoding/json"

	"github.com/medicbot/medic/internal/alarm"
)

// Params are an action's rendered parameters, as decoded from YAML/JSON:
// strings, float64 or int numbers, bools, []any and map[string]any.
type Params map[string]any

// Change is one field a plan or an apply changes.
type Change struct {
	Resource string `json:"resource"`
	Field    string `json:"field"`
	From     string `json:"from"`
	To       string `json:"to"`
}

// Plan says, in words and data, what an action will change. It is produced
// without side effects and is JSON-serialisable: it travels from the intake
// (the card) to the executor (Apply).
type Plan struct {
	Action string `json:"action"`
	// Target is the resource the action changes, used as the lock key,
	// e.g. "ecs:prod/checkout" or "alb:arn:aws:elasticloadbalancing:...".
	Target string `json:"target"`
	// Summary is the one-line human description, e.g.
	// "prod/checkout: desired 4 -> 6 tasks; auto scaling min 2 -> 6".
	Summary string   `json:"summary"`
	Changes []Change `json:"changes,omitempty"`
	// NoOp is true when applying the plan would change nothing.
	NoOp bool `json:"noop,omitempty"`
	// Reversible is true when the action can Undo what Apply did.
	Reversible bool `json:"reversible,omitempty"`
	// Hold, when set, says why this plan must not run without a person's
	// approval even on an auto step (e.g. "payments was deployed after the
	// alarm fired"). The engine then proposes the step for approval, never
	// runs it on its own, and shows Hold on the card.
	Hold string `json:"hold,omitempty"`
	// Data is the action's own record of the state it planned from and the
	// state it will set; Apply re-checks it.
	Data json.RawMessage `json:"data,omitempty"`
	// Account and Region are where the plan acts, set when medic acts in
	// many accounts (empty: the deployment's own account and region).
	// Apply and Undo act there too.
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
	// Session is the STS session name the plan was made under (it names the
	// incident); Apply and Undo assume the member role under the same name.
	Session string `json:"session,omitempty"`
}

// Result says what Apply (or Undo) actually changed.
type Result struct {
	Action  string   `json:"action"`
	Target  string   `json:"target"`
	Summary string   `json:"summary"`
	Changes []Change `json:"changes,omitempty"`
	// Data is what Undo needs to reverse the change.
	Data json.RawMessage `json:"data,omitempty"`
	// Account, Region and Session are the plan's: where the change was made
	// and under which session, so Undo acts there too.
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
	Session string `json:"session,omitempty"`
}

// Action is one remediation medic can run.
type Action interface {
	// Name is the action name used in policies, e.g. "ecs.scale".
	Name() string
	// Schema declares the action's parameters.
	Schema() Schema
	// Plan reads current state and returns what Apply would change. It has
	// no side effects.
	Plan(ctx context.Context, a *alarm.Alarm, p Params) (*Plan, error)
	// Apply performs plan after re-checking that the state it was planned
	// from still holds; a stale plan is refused with ErrStalePlan.
	Apply(ctx context.Context, plan *Plan) (*Result, error)
}

// Undoer is implemented by actions whose effect can be reversed.
type Undoer interface {
	Undo(ctx context.Context, res *Result) (*Result, error)
}
