package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// SuspectFinder looks up the deploys that may have caused an alarm, for
// the policies that matched it. HandleAlarm calls it once per incident,
// under Config.SuspectTimeout, and stores the answer on the incident; cards
// render from the record and never call it. It returns nothing when no
// matched policy says where to look. A failure should be a
// *SuspectsError, whose Reason the card shows.
type SuspectFinder interface {
	FindSuspects(ctx context.Context, a *alarm.Alarm, matched []*policy.Policy) ([]store.SuspectDeploy, error)
}

// SuspectsError is a failed suspect-deploy lookup: Reason is the few words
// the card shows ("GitHub timed out"), Err the detail that is logged.
type SuspectsError struct {
	Reason string
	Err    error
}

// Error gives the reason, then the detail.
func (e *SuspectsError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the detail.
func (e *SuspectsError) Unwrap() error { return e.Err }

// DefaultSuspectTimeout bounds the suspect-deploy lookup at intake.
const DefaultSuspectTimeout = 4 * time.Second

// suspectGrace is how long past the timeout the lookup may take to return
// its own (better worded) failure before the engine stops waiting.
const suspectGrace = 250 * time.Millisecond

// findSuspects starts looking up a's suspect deploys, in parallel with
// planning; the function it returns waits for them (at most
// Config.SuspectTimeout and a little grace) and returns what to store on
// the incident: the deploys, or a note saying why there are none. Without
// a SuspectFinder it finds nothing.
func (e *Engine) findSuspects(ctx context.Context, id string, a *alarm.Alarm, matched []*policy.Policy) func() ([]store.SuspectDeploy, string) {
	if e.deps.Suspects == nil {
		return func() ([]store.SuspectDeploy, string) { return nil, "" }
	}
	type answer struct {
		found []store.SuspectDeploy
		err   error
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.SuspectTimeout)
	done := make(chan answer, 1)
	// The lookup may outlive HandleAlarm (one that ignores its context):
	// it gets its own copy of the alarm.
	own := *a
	go func() {
		found, err := e.deps.Suspects.FindSuspects(ctx, &own, matched)
		done <- answer{found, err}
	}()
	return func() ([]store.SuspectDeploy, string) {
		defer cancel()
		var ans answer
		select {
		case ans = <-done:
		case <-ctx.Done():
			grace := time.NewTimer(suspectGrace)
			defer grace.Stop()
			select {
			case ans = <-done:
			case <-grace.C:
				ans.err = fmt.Errorf("no answer: %w", ctx.Err())
			}
		}
		if ans.err == nil {
			return store.BoundSuspects(ans.found), ""
		}
		reason := "lookup failed"
		var se *SuspectsError
		switch {
		case errors.As(ans.err, &se) && se.Reason != "":
			reason = se.Reason
		case errors.Is(ans.err, context.DeadlineExceeded):
			reason = fmt.Sprintf("lookup timed out after %s", e.cfg.SuspectTimeout)
		}
		e.log.WarnContext(ctx, "incident without suspect deploys", slog.String("incident", id), slog.String("alarm", a.Name),
			slog.String("reason", reason), slog.Any("error", ans.err))
		return nil, store.BoundSuspectsNote(reason)
	}
}
