package github

import (
	"fmt"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// maxEvaluationRange bounds how far before the alarm the spike may have
// begun: CloudWatch evaluates at most a week of datapoints.
const maxEvaluationRange = 7 * 24 * time.Hour

// alarmWindow is when an alarm's spike began and when it fired, and the
// window before the spike in which deploys are suspects.
type alarmWindow struct {
	// spike is when the spike is taken to begin: the start of the
	// evaluation range CloudWatch reported.
	spike time.Time
	// fired is the alarm's state change.
	fired time.Time
	// from is window before spike: the oldest a suspect deploy can be.
	from   time.Time
	window time.Duration
}

// windowOf works out when a's spike began and the suspect window (window
// <= 0 means DefaultWindow) before it.
//
// The spike is taken to begin at the start of the alarm's evaluation
// range: (n+1) periods before the alarm's state change, where
// period is the reasonData's (else the longest of the alarm's metrics) and
// n the number of datapoints CloudWatch evaluated (the reasonData's recent
// datapoints, at least one): the evaluated datapoints cover n periods, and
// CloudWatch changes state after the last one closes, which the extra
// period allows for. For an alarm without any period (a composite alarm)
// it is the state change. The range is capped at a week, the
// longest CloudWatch evaluates.
func windowOf(a *alarm.Alarm, window time.Duration) (alarmWindow, error) {
	if a == nil || a.Timestamp.IsZero() {
		return alarmWindow{}, fmt.Errorf("the alarm has no state change time: %w", remediations.ErrInvalid)
	}
	if window <= 0 {
		window = DefaultWindow
	}
	period, n := 0, 1
	if rd := a.ReasonData; rd != nil {
		period, n = rd.Period, max(len(rd.Datapoints), 1)
	}
	if period <= 0 {
		period = 0
		for _, m := range a.Metrics {
			period = max(period, m.Period)
		}
	}
	var back time.Duration
	if period > 0 {
		limit := int64(maxEvaluationRange / time.Second)
		secs := limit
		if p := int64(period); p <= limit/int64(n+1) {
			secs = p * int64(n+1)
		}
		back = time.Duration(secs) * time.Second
	}
	spike := a.Timestamp.Add(-back)
	return alarmWindow{spike: spike, fired: a.Timestamp, from: spike.Add(-window), window: window}, nil
}

// placement is where a deploy falls relative to an alarm.
type placement int

const (
	// beforeWindow: live before the suspect window began; only such a
	// deploy can be a rollback target.
	beforeWindow placement = iota
	// suspect: created, or became live, from window before the spike up
	// to the alarm's state change.
	suspect
	// afterAlarm: created, or became live, after the alarm fired (a
	// hotfix, say): a rollback would replace it.
	afterAlarm
)

// place is the one rule for what a suspect is, used by Plan and
// SuspectDeploys alike. created is when GitHub recorded the deployment,
// live when it first reported success (zero if it never did). A nil w (no
// alarm time) places every deploy before the window.
func (w *alarmWindow) place(created, live time.Time) placement {
	switch {
	case w == nil:
		return beforeWindow
	case created.After(w.fired) || live.After(w.fired):
		return afterAlarm
	case !created.Before(w.from) || (!live.IsZero() && !live.Before(w.from)):
		return suspect
	}
	return beforeWindow
}

// clock renders a time for a plan: "11:58 UTC", with the date when it is
// not the alarm's day.
func (w *alarmWindow) clock(t time.Time) string {
	t = t.UTC()
	if w != nil && t.Format(time.DateOnly) == w.fired.UTC().Format(time.DateOnly) {
		return t.Format("15:04 UTC")
	}
	return t.Format("2006-01-02 15:04 UTC")
}

// rule says when the spike is taken to begin and which deploys are
// suspects, e.g. "the spike is taken to begin at 11:35 UTC; deploys from
// 11:05 UTC (30m before it) to the alarm at 11:55 UTC are suspects".
func (w *alarmWindow) rule() string {
	return fmt.Sprintf("the spike is taken to begin at %s; deploys from %s (%s before it) to the alarm at %s are suspects",
		w.clock(w.spike), w.clock(w.from), age(w.window), w.clock(w.fired))
}

// laterDeploy is a deployment that came after the alarm fired.
type laterDeploy struct {
	d     *gh.Deployment
	state string
}

// holdFor is the plan's hold when deployments came after the alarm
// (newest first): it names the newest, its sha, ref, environment, time,
// creator and latest status, and counts the others.
func (w *alarmWindow) holdFor(later []laterDeploy) string {
	if len(later) == 0 {
		return ""
	}
	d := later[0].d
	var b strings.Builder
	fmt.Fprintf(&b, "%s", short(d.GetSHA()))
	if ref := d.GetRef(); ref != "" && ref != d.GetSHA() {
		fmt.Fprintf(&b, " (%s)", ref)
	}
	fmt.Fprintf(&b, " was deployed to %s at %s", d.GetEnvironment(), w.clock(d.GetCreatedAt().Time))
	if by := d.GetCreator().GetLogin(); by != "" {
		fmt.Fprintf(&b, " by %s", by)
	}
	fmt.Fprintf(&b, ", after the alarm fired at %s (deployment #%d, %s); a rollback would replace it",
		w.clock(w.fired), d.GetID(), orNone(later[0].state))
	if n := len(later) - 1; n == 1 {
		b.WriteString("; 1 other deployment also came after the alarm")
	} else if n > 1 {
		fmt.Fprintf(&b, "; %d other deployments also came after the alarm", n)
	}
	return b.String()
}

// holdNoAlarmTime is the hold of a plan made without an alarm time.
const holdNoAlarmTime = "no alarm time: medic cannot tell which deploys are suspects or came after the alarm"
