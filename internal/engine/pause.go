package engine

import (
	"context"
	"fmt"

	"github.com/medicbot/medic/internal/killswitch"
	"github.com/medicbot/medic/internal/store"
)

// Pause turns the stored kill switch on: nothing executes until Resume
// (proposals are still made and shown). It is recorded in the audit trail.
func (e *Engine) Pause(ctx context.Context, who, why string) error {
	now := e.now()
	err := e.deps.Store.Commit(ctx, &store.Tx{Now: now,
		Switch: &store.Switch{Paused: true, By: who, Why: why, At: now},
		Audit:  []store.AuditEntry{{Event: "switch.paused", Who: who, Why: why}}})
	if err != nil {
		return fmt.Errorf("pause medic: %w", err)
	}
	e.log.WarnContext(ctx, "medic paused", "by", who, "why", why)
	return nil
}

// Resume turns the stored kill switch off. An SSM kill switch, if set,
// still pauses medic.
func (e *Engine) Resume(ctx context.Context, who string) error {
	now := e.now()
	err := e.deps.Store.Commit(ctx, &store.Tx{Now: now,
		Switch: &store.Switch{Paused: false, By: who, At: now},
		Audit:  []store.AuditEntry{{Event: "switch.resumed", Who: who}}})
	if err != nil {
		return fmt.Errorf("resume medic: %w", err)
	}
	e.log.InfoContext(ctx, "medic resumed", "by", who)
	return nil
}

// Paused reads the kill switch (stored and SSM). An error means it cannot
// be read, and medic behaves as paused.
func (e *Engine) Paused(ctx context.Context) (killswitch.State, error) {
	st, err := e.deps.Switch.State(ctx)
	if err != nil {
		return killswitch.State{}, fmt.Errorf("read kill switch: %w", err)
	}
	return st, nil
}

// switchState is the kill switch as read once for a decision.
type switchState struct {
	st  killswitch.State
	err error
}

func (e *Engine) readSwitch(ctx context.Context) switchState {
	st, err := e.deps.Switch.State(ctx)
	return switchState{st: st, err: err}
}

// blocks says why nothing may execute, "" when the switch allows it.
func (s switchState) blocks() string {
	switch {
	case s.err != nil:
		return "kill switch cannot be read, failing closed: " + s.err.Error()
	case s.st.Paused:
		r := "medic is paused"
		if s.st.By != "" {
			r += " by " + s.st.By
		}
		if s.st.Why != "" {
			r += ": " + s.st.Why
		}
		return r
	}
	return ""
}

// pause is what cards show: nil when medic runs.
func (s switchState) pause() *killswitch.State {
	switch {
	case s.err != nil:
		return &killswitch.State{Paused: true, Why: "kill switch cannot be read (failing closed)"}
	case s.st.Paused:
		st := s.st
		return &st
	}
	return nil
}
