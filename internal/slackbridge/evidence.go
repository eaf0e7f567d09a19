package slackbridge

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/store"
)

// EvidenceView is the card's view of an incident's stored evidence; nil
// when none was gathered.
func EvidenceView(ev *store.Evidence) *slack.Evidence {
	if ev == nil {
		return nil
	}
	v := &slack.Evidence{Reading: ev.Reading, Favours: ev.Favours}
	if p := ev.Pattern; p != nil {
		v.Pattern = &slack.PatternView{Window: p.End.Sub(p.Start), ELB5xx: p.ELB5xx, ELB502: p.ELB502, ELB503: p.ELB503, ELB504: p.ELB504,
			Target5xx: p.Target5xx, Requests: p.Requests, ErrorRate: p.ErrorRate, StartedAt: p.StartedAt}
	}
	if h := ev.Health; h != nil {
		hv := &slack.HealthView{TargetGroup: h.TargetGroup, Healthy: h.Healthy, Unhealthy: h.Unhealthy, Other: h.Other,
			Service: h.Service, Running: h.Running, Desired: h.Desired, Pending: h.Pending, CPU: h.CPU, Memory: h.Memory}
		for _, r := range h.Reasons {
			hv.Reasons = append(hv.Reasons, fmt.Sprintf("%s ×%d", r.Reason, r.Count))
		}
		for _, s := range h.Stopped {
			line := s.Task
			if s.Reason != "" {
				line += ": " + s.Reason
			}
			if s.ExitCodes != "" {
				line += " (exit " + s.ExitCodes + ")"
			}
			hv.Stopped = append(hv.Stopped, line)
		}
		v.Health = hv
	}
	if c := ev.Changes; c != nil {
		v.Service = c.Service
		for _, d := range c.Deployments {
			v.Deployments = append(v.Deployments, slack.DeploymentView{Status: d.Status, Rollout: d.Rollout, TaskDefinition: d.TaskDefinition, CreatedAt: d.CreatedAt})
		}
	}
	if ev.Probe != nil {
		pv := probeView(*ev.Probe)
		v.Probe = &pv
	}
	for _, u := range ev.Upstreams {
		v.Upstreams = append(v.Upstreams, probeView(u))
	}
	if l := ev.Logs; l != nil {
		for _, p := range l.Patterns {
			v.Logs = append(v.Logs, fmt.Sprintf("×%d %s", p.Count, p.Pattern))
		}
		switch {
		case l.Truncated:
			v.LogsNote = fmt.Sprintf("the first rows of %d read", l.Rows)
		case len(l.Patterns) == 0:
			v.Logs = []string{fmt.Sprintf("no matching lines in %s", strings.Join(l.Groups, ", "))}
		}
	}
	for _, m := range ev.Missing {
		v.Missing = append(v.Missing, slack.MissingView{Collector: m.Collector, Reason: m.Reason})
	}
	return v
}

func probeView(p store.ProbeResult) slack.ProbeView {
	v := slack.ProbeView{Name: p.Name, URL: p.URL, Method: p.Method, Expect: p.Expect, OK: p.OK}
	for _, a := range p.Attempts {
		v.Attempts = append(v.Attempts, slack.AttemptView{Status: a.Status, TTFB: a.TTFB, Error: a.Error})
	}
	for _, h := range p.Headers {
		v.Headers = append(v.Headers, h.Name+": "+h.Value)
	}
	return v
}

// ImageUploader uploads an image into a thread; *slack.Client implements
// it. A Poster that is not one gets no metric graph in its threads.
type ImageUploader interface {
	UploadImage(ctx context.Context, channel, threadTS, filename, title string, image []byte) error
}

// threadEvidence puts into a new card's thread what the card has no room
// for: the log patterns with their counts and the metric graph gathered at
// intake. It calls Slack only.
func (n *Notifier) threadEvidence(ctx context.Context, ref store.MessageRef, inc *store.Incident) error {
	ev := inc.Evidence
	if ev == nil {
		return nil
	}
	var errs []error
	if ev.Logs != nil && len(ev.Logs.Patterns) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "*Log patterns* in %s, %s to %s UTC:", slack.Escape(strings.Join(ev.Logs.Groups, ", ")),
			ev.Logs.Start.UTC().Format("15:04"), ev.Logs.End.UTC().Format("15:04"))
		for _, p := range ev.Logs.Patterns {
			fmt.Fprintf(&b, "\n• ×%d `%s`", p.Count, slack.Escape(strings.ReplaceAll(p.Pattern, "`", "'")))
		}
		if _, err := n.slack.PostThread(ctx, ref.Channel, ref.TS, slack.TextMessage(b.String())); err != nil {
			errs = append(errs, fmt.Errorf("post the log patterns of incident %s: %w", inc.ID, err))
		}
	}
	if up, ok := n.slack.(ImageUploader); ok && len(ev.Graph) > 0 {
		if err := up.UploadImage(ctx, ref.Channel, ref.TS, "5xx.png", "5xx of "+inc.Alarm.Name+" (last 30 min)", ev.Graph); err != nil {
			errs = append(errs, fmt.Errorf("upload the metric graph of incident %s: %w", inc.ID, err))
		}
	}
	return errors.Join(errs...)
}
