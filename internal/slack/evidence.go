package slack

import (
	"fmt"
	"strings"
	"time"
)

// Evidence is what medic gathered before anyone looked, as the card shows
// it: the reading (one line, never a verdict), the step the evidence
// favours, the parts gathered and those missing with the reason. Every
// field is optional.
type Evidence struct {
	// Reading sums the evidence up; Favours names the step it favours.
	Reading string
	Favours string
	Pattern *PatternView
	Health  *HealthView
	// Service and Deployments are the service's recent deployments, newest
	// first.
	Service     string
	Deployments []DeploymentView
	// Probe is the policy's HTTP probe; Upstreams the dependencies'.
	Probe     *ProbeView
	Upstreams []ProbeView
	// Logs are the top log patterns with their counts ("×41 timeout …").
	Logs     []string
	LogsNote string // e.g. "1000 rows read of more"
	// Missing are the parts that were not gathered, with the reason.
	Missing []MissingView
}

// ProbeView is one HTTP probe: how many attempts got the expected status,
// each attempt, and the headers kept ("Server: awselb/2.0").
type ProbeView struct {
	Name, URL, Method string
	Expect, OK        int
	Attempts          []AttemptView
	Headers           []string
}

// AttemptView is one request of a probe: status (0: none), time to first
// byte, error.
type AttemptView struct {
	Status int
	TTFB   time.Duration
	Error  string
}

// PatternView is the 5xx pattern: sums over the window, the error rate
// (negative: unknown) and when the spike started (zero: unknown).
type PatternView struct {
	Window                         time.Duration
	ELB5xx, ELB502, ELB503, ELB504 float64
	Target5xx, Requests, ErrorRate float64
	StartedAt                      time.Time
}

// HealthView is the target group's and service's health.
type HealthView struct {
	TargetGroup               string
	Healthy, Unhealthy, Other int
	Reasons                   []string // "Target.ResponseCodeMismatch ×3"
	Service                   string
	Running, Desired, Pending int
	Stopped                   []string // "abc123: Essential container exited (app=137)"
	CPU, Memory               *float64
}

// DeploymentView is one ECS deployment.
type DeploymentView struct {
	Status, Rollout, TaskDefinition string
	CreatedAt                       time.Time
}

// MissingView is a part that was not gathered.
type MissingView struct {
	Collector, Reason string
}

// maxCardLogPatterns is how many log patterns the card shows.
const maxCardLogPatterns = 3

// evidenceText renders the evidence as a section's mrkdwn.
func evidenceText(e *Evidence) string {
	var lines []string
	head := "*Evidence*"
	if e.Reading != "" {
		head += " · _reading, not a verdict_: " + escape(e.Reading)
	}
	lines = append(lines, head)
	if e.Favours != "" {
		lines = append(lines, "• Evidence favours "+escape(e.Favours))
	}
	if p := e.Pattern; p != nil {
		s := fmt.Sprintf("• 5xx over %s: ELB %s (502 %s, 503 %s, 504 %s), target %s",
			window(p.Window), formatFloat(p.ELB5xx), formatFloat(p.ELB502), formatFloat(p.ELB503), formatFloat(p.ELB504), formatFloat(p.Target5xx))
		if p.ErrorRate >= 0 {
			s += fmt.Sprintf(" of %s requests (%.1f%%)", formatFloat(p.Requests), p.ErrorRate*100)
		}
		if !p.StartedAt.IsZero() {
			s += "; began " + slackDate(p.StartedAt)
		}
		lines = append(lines, s)
	}
	if h := e.Health; h != nil {
		if h.TargetGroup != "" {
			s := fmt.Sprintf("• Targets of %s: %d healthy, %d unhealthy", escape(h.TargetGroup), h.Healthy, h.Unhealthy)
			if h.Other > 0 {
				s += fmt.Sprintf(", %d other", h.Other)
			}
			if len(h.Reasons) > 0 {
				s += " (" + escape(strings.Join(h.Reasons, ", ")) + ")"
			}
			lines = append(lines, s)
		}
		if h.Service != "" {
			s := fmt.Sprintf("• Tasks of %s: %d running of %d desired, %d pending", escape(h.Service), h.Running, h.Desired, h.Pending)
			if h.CPU != nil {
				s += fmt.Sprintf("; CPU %.0f%%", *h.CPU)
			}
			if h.Memory != nil {
				s += fmt.Sprintf(", memory %.0f%%", *h.Memory)
			}
			lines = append(lines, s)
		}
		for _, st := range h.Stopped {
			lines = append(lines, "  ◦ stopped "+escape(st))
		}
	}
	if len(e.Deployments) > 0 {
		var ds []string
		for _, d := range e.Deployments {
			s := "`" + escape(d.TaskDefinition) + "` " + escape(strings.ToLower(d.Status))
			if d.Rollout != "" {
				s += " " + escape(strings.ToLower(d.Rollout))
			}
			if !d.CreatedAt.IsZero() {
				s += " since " + slackDate(d.CreatedAt)
			}
			ds = append(ds, s)
		}
		lines = append(lines, "• Deployments of "+escape(e.Service)+": "+strings.Join(ds, "; "))
	}
	if e.Probe != nil {
		lines = append(lines, "• Probe "+probeText(*e.Probe))
	}
	for _, u := range e.Upstreams {
		lines = append(lines, "• Upstream *"+escape(u.Name)+"* "+probeText(u))
	}
	if len(e.Logs) > 0 {
		top := e.Logs[:min(len(e.Logs), maxCardLogPatterns)]
		s := "• Logs: " + escape(strings.Join(top, "; "))
		if e.LogsNote != "" {
			s += " (" + escape(e.LogsNote) + ")"
		}
		lines = append(lines, s)
	}
	// Collectors a policy did not ask for share one line; every other
	// missing part says why on its own.
	var unasked []string
	for _, m := range e.Missing {
		if strings.HasPrefix(m.Reason, "not configured") {
			unasked = append(unasked, escape(m.Collector))
			continue
		}
		lines = append(lines, "• _"+escape(m.Collector)+"_ unavailable: "+escape(m.Reason))
	}
	if len(unasked) > 0 {
		lines = append(lines, "• _not configured_: "+strings.Join(unasked, ", "))
	}
	return strings.Join(lines, "\n")
}

func window(d time.Duration) string {
	switch {
	case d <= 0:
		return "the window"
	case d%time.Hour == 0:
		return fmt.Sprintf("the last %dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("the last %d min", d/time.Minute)
	}
	return "the last " + d.String()
}

// probeText is "GET https://…: 0 of 3 as expected (200): 502 in 31ms, …;
// Server: awselb/2.0".
func probeText(p ProbeView) string {
	var as []string
	for _, a := range p.Attempts {
		switch {
		case a.Status == 0:
			as = append(as, "no answer ("+escape(a.Error)+")")
		case a.Error != "":
			as = append(as, fmt.Sprintf("%d in %s (%s)", a.Status, a.TTFB.Round(time.Millisecond), escape(a.Error)))
		default:
			as = append(as, fmt.Sprintf("%d in %s", a.Status, a.TTFB.Round(time.Millisecond)))
		}
	}
	s := fmt.Sprintf("%s `%s`: %d of %d as expected (%d): %s", escape(p.Method), escape(p.URL), p.OK, len(p.Attempts), p.Expect, strings.Join(as, ", "))
	if len(p.Headers) > 0 {
		s += "; " + escape(strings.Join(p.Headers, ", "))
	}
	return s
}
