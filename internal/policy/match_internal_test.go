package policy

import (
	"testing"

	"github.com/medicbot/medic/internal/alarm"
)

// TestMatchOnlyOnAlarm: validation refuses match.state other than ALARM, and
// Match does not rely on that alone: a policy whose compiled state is not
// ALARM (as no validated policy's is) still matches nothing, so no caller
// can be handed steps for a state change medic does not act on.
func TestMatchOnlyOnAlarm(t *testing.T) {
	for _, state := range []alarm.State{alarm.StateOK, alarm.StateInsufficientData} {
		p := &Policy{Name: "on-" + string(state), Enabled: true, Match: Match{Alarm: []string{"a"}, State: state},
			matcher: matcher{enabled: true, state: state, alarm: globs{{pattern: "a", literal: true}}}}
		set := newSet([]*Policy{p})
		a := &alarm.Alarm{Name: "a", State: state}
		if got := set.Match(a); got != nil {
			t.Errorf("Match(alarm in %s) = %v, want no policy: medic acts only on ALARM", state, got)
		}
		if p.Matches(a) {
			t.Errorf("policy on %s Matches an alarm in %s, want false: medic acts only on ALARM", state, state)
		}
	}
}
