package remediations

import (
	"errors"
	"fmt"
	"sort"
)

// Errors actions return, for callers to decide with errors.Is.
var (
	// ErrStalePlan: the state a plan was made from no longer holds.
	ErrStalePlan = errors.New("stale plan")
	// ErrTarget: the target could not be resolved unambiguously.
	ErrTarget = errors.New("cannot resolve target")
	// ErrNotFound: a resource the action needs does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAccessDenied: the caller lacks an IAM (or API) permission.
	ErrAccessDenied = errors.New("access denied")
	// ErrInvalid: the request was rejected as invalid; retrying will not help.
	ErrInvalid = errors.New("invalid request")
	// ErrNotReversible: the action cannot Undo.
	ErrNotReversible = errors.New("not reversible")
	// ErrNotApplied: Apply failed before it changed anything (or put back
	// what it had changed), so the step had no effect: the engine starts no
	// cooldown for it. Apply wraps it alongside the cause.
	ErrNotApplied = errors.New("nothing was applied")
)

// Registry holds the actions medic can run, by name. Build it once in the
// wiring with NewRegistry.
type Registry struct {
	actions map[string]Action
}

// NewRegistry returns a registry of the given actions; names must be unique.
func NewRegistry(actions ...Action) (*Registry, error) {
	r := &Registry{actions: make(map[string]Action, len(actions))}
	for _, a := range actions {
		if _, dup := r.actions[a.Name()]; dup {
			return nil, fmt.Errorf("register action %s: registered twice", a.Name())
		}
		r.actions[a.Name()] = a
	}
	return r, nil
}

// Get returns the named action.
func (r *Registry) Get(name string) (Action, bool) {
	a, ok := r.actions[name]
	return a, ok
}

// Schema returns the named action's parameter schema.
func (r *Registry) Schema(name string) (Schema, bool) {
	a, ok := r.actions[name]
	if !ok {
		return Schema{}, false
	}
	return a.Schema(), true
}

// Names returns the registered action names, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.actions))
	for n := range r.actions {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Reversible reports whether the named action can Undo.
func (r *Registry) Reversible(name string) bool {
	_, ok := r.actions[name].(Undoer)
	return ok
}
