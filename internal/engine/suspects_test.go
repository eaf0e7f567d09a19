package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// finder is a fake engine.SuspectFinder.
type finder struct {
	calls   atomic.Int32
	deploys []store.SuspectDeploy
	err     error
	// hang makes it wait for its context to end; ignoreCtx makes it wait
	// far longer than that.
	hang, ignoreCtx bool
	saw             atomic.Value // the policies it was asked about
}

func (f *finder) FindSuspects(ctx context.Context, a *alarm.Alarm, matched []*policy.Policy) ([]store.SuspectDeploy, error) {
	f.calls.Add(1)
	var names []string
	for _, p := range matched {
		names = append(names, p.Name)
	}
	f.saw.Store(strings.Join(names, ","))
	switch {
	case f.ignoreCtx:
		time.Sleep(5 * time.Second)
		return nil, nil
	case f.hang:
		<-ctx.Done()
		return nil, &engine.SuspectsError{Reason: "GitHub timed out", Err: ctx.Err()}
	}
	return f.deploys, f.err
}

func TestSuspectDeploysAreLookedUpOnceAtIntakeAndStored(t *testing.T) {
	var many []store.SuspectDeploy
	for i := range 8 {
		many = append(many, store.SuspectDeploy{SHA: fmt.Sprintf("%040d", i), Author: "alice-dev", PRNumber: 40 + i})
	}
	cases := []struct {
		name     string
		finder   *finder
		timeout  time.Duration
		want     int    // deploys stored
		wantNote string // note stored
		within   time.Duration
	}{
		{name: "the deploys found are stored, at most five", finder: &finder{deploys: many}, want: store.MaxSuspects, within: time.Second},
		{name: "a lookup that times out stores the finder's reason", finder: &finder{hang: true}, timeout: 100 * time.Millisecond,
			wantNote: "GitHub timed out", within: time.Second},
		{name: "a lookup that never answers is given up on after the timeout", finder: &finder{ignoreCtx: true}, timeout: 100 * time.Millisecond,
			wantNote: "lookup timed out after 100ms", within: time.Second},
		{name: "a failure with a reason stores the reason", finder: &finder{err: fmt.Errorf("look up acme/shop: %w",
			&engine.SuspectsError{Reason: "GitHub answered 500", Err: errors.New("HTTP 500")})}, wantNote: "GitHub answered 500", within: time.Second},
		{name: "a failure without a reason says the lookup failed", finder: &finder{err: errors.New("boom")}, wantNote: "lookup failed", within: time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
			pol := autoPolicy("checkout", "ecs.scale", requiredStep("ecs.scale", 1))
			f := newFixture(t, []*policy.Policy{pol}, []*action{scale},
				withDeps(func(d *engine.Deps) { d.Suspects = tc.finder }),
				withConfig(func(c *engine.Config) { c.SuspectTimeout = tc.timeout }))
			start := time.Now()
			out, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
			took := time.Since(start)
			if err != nil || out.Incident == nil {
				t.Fatalf("handle alarm = %+v, %v", out, err)
			}
			if took > tc.within {
				t.Errorf("HandleAlarm took %s, want under %s", took, tc.within)
			}
			if n := tc.finder.calls.Load(); n != 1 {
				t.Errorf("the finder was called %d times, want once", n)
			}
			if got := tc.finder.saw.Load(); got != "checkout" {
				t.Errorf("the finder was asked about policies %v, want the matched checkout", got)
			}
			inc, err := f.st.Incident(ctx, out.Incident.ID)
			if err != nil {
				t.Fatalf("read incident: %v", err)
			}
			if len(inc.Suspects) != tc.want || inc.SuspectsNote != tc.wantNote {
				t.Fatalf("stored %d suspects, note %q; want %d, %q", len(inc.Suspects), inc.SuspectsNote, tc.want, tc.wantNote)
			}
			if tc.want > 0 && inc.Suspects[0] != many[0] {
				t.Errorf("first suspect stored as %+v, want %+v", inc.Suspects[0], many[0])
			}
			// The card is posted from the record.
			if n := f.notes.last(); n.Kind != engine.NoticeOpened || len(n.Incident.Suspects) != tc.want || n.Incident.SuspectsNote != tc.wantNote {
				t.Errorf("the opening notice carried %d suspects, note %q", len(n.Incident.Suspects), n.Incident.SuspectsNote)
			}

			// Nothing after intake looks again: a vote, and a duplicate
			// delivery of the state change.
			if _, err := f.e.Vote(ctx, out.Proposals[0].ID, "U1", true); err != nil {
				t.Fatalf("vote: %v", err)
			}
			if _, err := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", out.Incident.Alarm.Timestamp)); err != nil {
				t.Fatalf("duplicate delivery: %v", err)
			}
			if n := tc.finder.calls.Load(); n != 1 {
				t.Errorf("the finder was called %d times after a vote and a redelivery, want once", n)
			}
			if n := f.notes.last(); len(n.Incident.Suspects) != tc.want || n.Incident.SuspectsNote != tc.wantNote {
				t.Errorf("the card after the vote carried %d suspects, note %q", len(n.Incident.Suspects), n.Incident.SuspectsNote)
			}
		})
	}
}
