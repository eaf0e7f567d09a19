package store

import (
	"sort"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/policy"
)

// Evidence is what medic found out about an incident before anyone looked:
// the 5xx pattern, recent changes, the health of the targets and tasks.
// Collectors (package evidence) gather it once, when the incident is
// opened, under a time budget; cards, `medic audit` and `medic simulate`
// show it from this record and never gather it again. Every part is
// optional: a part that could not be gathered is named in Missing with
// the reason. BoundEvidence keeps the record small.
type Evidence struct {
	// GatheredAt is when gathering started; Budget how long it was given.
	GatheredAt time.Time     `json:"gathered_at,omitzero"`
	Budget     time.Duration `json:"budget,omitempty"`
	Pattern    *Pattern      `json:"pattern,omitempty"`
	Changes    *Changes      `json:"changes,omitempty"`
	Health     *Health       `json:"health,omitempty"`
	// Probe is the policy's own HTTP probe; Upstreams the probes of the
	// dependencies it names.
	Probe     *ProbeResult  `json:"probe,omitempty"`
	Upstreams []ProbeResult `json:"upstreams,omitempty"`
	Logs      *Logs         `json:"logs,omitempty"`
	// Graph is a PNG of the pattern's metrics over the same window, for
	// the incident's thread; at most MaxGraphBytes.
	Graph []byte `json:"graph,omitempty"`
	// Missing names each collector that returned nothing, and why
	// ("timed out after 4s", "access denied", "not configured").
	Missing []MissingEvidence `json:"missing,omitempty"`
	// Reading is one line summing the evidence up (a reading, never a
	// verdict); Favours names the step the evidence favours, e.g.
	// "step 2 (ecs.rollback)". Both empty when nothing could be said.
	Reading string `json:"reading,omitempty"`
	Favours string `json:"favours,omitempty"`
}

// MissingEvidence is a collector that returned nothing, and why.
type MissingEvidence struct {
	Collector string `json:"collector"`
	Reason    string `json:"reason"`
}

// Pattern is the shape of the 5xx spike over the window before the alarm,
// from the load balancer's metrics.
type Pattern struct {
	// Start and End bound the window; Period is the metric period.
	Start  time.Time     `json:"start"`
	End    time.Time     `json:"end"`
	Period time.Duration `json:"period"`
	// Sums over the window. ELB5xx counts the load balancer's own 5xx
	// (of which ELB502/503/504), Target5xx the targets' 5xx.
	ELB5xx    float64 `json:"elb_5xx"`
	ELB502    float64 `json:"elb_502"`
	ELB503    float64 `json:"elb_503"`
	ELB504    float64 `json:"elb_504"`
	Target5xx float64 `json:"target_5xx"`
	Requests  float64 `json:"requests"`
	// ErrorRate is (ELB5xx+Target5xx)/Requests; -1 when there were no
	// requests to divide by.
	ErrorRate float64 `json:"error_rate"`
	// Source is "elb" or "target": where most 5xx came from ("" for none);
	// Code the dominant code of that source ("502", "503", "504", "5xx").
	Source string `json:"source,omitempty"`
	Code   string `json:"code,omitempty"`
	// StartedAt is the first period over the alarm's threshold (the first
	// period with 5xx when the threshold is unknown); zero when none.
	StartedAt time.Time `json:"started_at,omitzero"`
}

// Changes are the recent changes to the alarm's service.
type Changes struct {
	// Service is cluster/service.
	Service     string          `json:"service"`
	Deployments []ECSDeployment `json:"deployments,omitempty"`
}

// ECSDeployment is one of an ECS service's deployments.
type ECSDeployment struct {
	// Status is PRIMARY, ACTIVE or INACTIVE; Rollout the rollout state
	// (IN_PROGRESS, COMPLETED, FAILED), empty when ECS gives none.
	Status  string `json:"status"`
	Rollout string `json:"rollout,omitempty"`
	// TaskDefinition is family:revision.
	TaskDefinition string    `json:"task_definition"`
	CreatedAt      time.Time `json:"created_at,omitzero"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
	Running        int       `json:"running"`
	Desired        int       `json:"desired"`
}

// LastChange returns the newest deployment: the most recent change of the
// service's task definition (or a forced redeploy).
func (c *Changes) LastChange() (ECSDeployment, bool) {
	if c == nil || len(c.Deployments) == 0 {
		return ECSDeployment{}, false
	}
	last := c.Deployments[0]
	for _, d := range c.Deployments[1:] {
		if d.CreatedAt.After(last.CreatedAt) {
			last = d
		}
	}
	return last, true
}

// Health is the state of the alarm's targets and tasks.
type Health struct {
	// TargetGroup is the target group's name; Healthy, Unhealthy and Other
	// count its targets by state (Other: initial, draining, unused...).
	TargetGroup string `json:"target_group,omitempty"`
	Healthy     int    `json:"healthy"`
	Unhealthy   int    `json:"unhealthy"`
	Other       int    `json:"other"`
	// Reasons count the unhealthy targets' reason codes, most frequent
	// first.
	Reasons []ReasonCount `json:"reasons,omitempty"`
	// Service is cluster/service with its task counts; empty when no
	// service is known.
	Service string `json:"service,omitempty"`
	Running int    `json:"running"`
	Desired int    `json:"desired"`
	Pending int    `json:"pending"`
	// Stopped are the service's most recently stopped tasks.
	Stopped []StoppedTask `json:"stopped,omitempty"`
	// CPU and Memory are the service's average utilisation in percent over
	// the last minutes; nil when unknown.
	CPU    *float64 `json:"cpu,omitempty"`
	Memory *float64 `json:"memory,omitempty"`
}

// ReasonCount is how many targets are unhealthy for one reason code.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// StoppedTask is one stopped ECS task and why it stopped.
type StoppedTask struct {
	Task      string    `json:"task"`
	Reason    string    `json:"reason,omitempty"`
	ExitCodes string    `json:"exit_codes,omitempty"`
	StoppedAt time.Time `json:"stopped_at,omitzero"`
}

// Bounds of the evidence kept on an incident: whatever AWS returns, the
// record stays far below DynamoDB's 400 KB item limit.
const (
	// MaxDeployments is how many of a service's deployments are kept.
	MaxDeployments = 5
	// MaxReasons is how many target health reason codes are kept.
	MaxReasons = 5
	// MaxStopped is how many stopped tasks are kept.
	MaxStopped = 5
	// MaxGraphBytes bounds the metric graph image; a larger one is
	// dropped and listed as missing.
	MaxGraphBytes = 96 << 10
	// MaxMissing is how many missing collectors are listed.
	MaxMissing = 10
	// MaxEvidenceText bounds every text of the evidence.
	MaxEvidenceText = 300
)

// BoundEvidence returns ev within the bounds above: lists cut (newest or
// most frequent first), texts cut to MaxEvidenceText bytes on one line.
// It returns nil for nil.
func BoundEvidence(ev *Evidence) *Evidence {
	if ev == nil {
		return nil
	}
	out := *ev
	out.Reading, out.Favours = line(out.Reading), line(out.Favours)
	out.Missing = nil
	missing := ev.Missing
	if len(ev.Graph) > MaxGraphBytes {
		out.Graph = nil
		missing = append(append([]MissingEvidence(nil), missing...), MissingEvidence{Collector: "graph", Reason: "image too large"})
	}
	for _, m := range missing {
		if len(out.Missing) == MaxMissing {
			break
		}
		out.Missing = append(out.Missing, MissingEvidence{Collector: line(m.Collector), Reason: line(m.Reason)})
	}
	if ev.Pattern != nil {
		p := *ev.Pattern
		p.Source, p.Code = line(p.Source), line(p.Code)
		out.Pattern = &p
	}
	if ev.Logs != nil {
		out.Logs = boundLogs(ev.Logs)
	}
	if ev.Probe != nil {
		p := boundProbe(*ev.Probe)
		out.Probe = &p
	}
	out.Upstreams = nil
	for _, u := range ev.Upstreams[:min(len(ev.Upstreams), MaxUpstreams)] {
		out.Upstreams = append(out.Upstreams, boundProbe(u))
	}
	if ev.Changes != nil {
		c := Changes{Service: line(ev.Changes.Service)}
		deps := append([]ECSDeployment(nil), ev.Changes.Deployments...)
		sort.SliceStable(deps, func(i, j int) bool { return deps[i].CreatedAt.After(deps[j].CreatedAt) })
		for _, d := range deps {
			if len(c.Deployments) == MaxDeployments {
				break
			}
			d.Status, d.Rollout, d.TaskDefinition = line(d.Status), line(d.Rollout), line(d.TaskDefinition)
			c.Deployments = append(c.Deployments, d)
		}
		out.Changes = &c
	}
	if ev.Health != nil {
		h := *ev.Health
		h.TargetGroup, h.Service = line(h.TargetGroup), line(h.Service)
		reasons := append([]ReasonCount(nil), ev.Health.Reasons...)
		sort.SliceStable(reasons, func(i, j int) bool { return reasons[i].Count > reasons[j].Count })
		h.Reasons = nil
		for _, r := range reasons {
			if len(h.Reasons) == MaxReasons {
				break
			}
			h.Reasons = append(h.Reasons, ReasonCount{Reason: line(r.Reason), Count: r.Count})
		}
		h.Stopped = nil
		for _, s := range ev.Health.Stopped {
			if len(h.Stopped) == MaxStopped {
				break
			}
			h.Stopped = append(h.Stopped, StoppedTask{Task: line(s.Task), Reason: line(s.Reason), ExitCodes: line(s.ExitCodes), StoppedAt: s.StoppedAt})
		}
		out.Health = &h
	}
	return &out
}

// line is s on one line within MaxEvidenceText bytes.
func line(s string) string { return cut(strings.Join(strings.Fields(s), " "), MaxEvidenceText) }

// Facts reduces the evidence to what steps' `when:` conditions name: the
// 5xx source and code, the unhealthy and registered targets and how long after the
// service's last deployment the spike began. What was not gathered is
// unknown (nil or empty). Nil evidence knows nothing.
func (ev *Evidence) Facts() policy.Facts { return FactsOf(ev, nil) }

// FactsOf is ev.Facts(), where the last deployment is the latest of the
// ECS service's deployments and the suspect deploys (GitHub) that started
// no later than the spike's first metric period.
func FactsOf(ev *Evidence, suspects []SuspectDeploy) policy.Facts {
	var f policy.Facts
	if ev == nil {
		return f
	}
	if ev.Pattern != nil {
		f.Source, f.Code = ev.Pattern.Source, ev.Pattern.Code
	}
	if h := ev.Health; h != nil && h.TargetGroup != "" {
		n, total := h.Unhealthy, h.Healthy+h.Unhealthy+h.Other
		f.UnhealthyTargets, f.Targets = &n, &total
	}
	var began time.Time
	var period time.Duration
	if ev.Pattern != nil {
		began, period = ev.Pattern.StartedAt, ev.Pattern.Period
	}
	// since is how long after the deployment at the spike began. The
	// spike's start is the start of a metric period: a deployment within
	// that period cannot be ordered against it at the metrics'
	// resolution, and counts as just before (0), not as after.
	since := func(at time.Time) time.Duration {
		d := began.Sub(at)
		if d < 0 && period > 0 && at.Before(began.Add(period)) {
			d = 0
		}
		return d
	}
	if last, ok := ev.Changes.LastChange(); ok && !last.CreatedAt.IsZero() {
		f.Deploy = "task definition " + last.TaskDefinition
		if !began.IsZero() {
			d := since(last.CreatedAt)
			f.SinceDeploy = &d
		}
	}
	if began.IsZero() {
		return f
	}
	for _, s := range suspects {
		if s.DeployedAt.IsZero() {
			continue
		}
		d := since(s.DeployedAt)
		if d < 0 {
			continue
		}
		if f.SinceDeploy == nil || *f.SinceDeploy < 0 || d < *f.SinceDeploy {
			sha := s.SHA
			if len(sha) > 7 {
				sha = sha[:7]
			}
			f.SinceDeploy, f.Deploy = &d, "deploy "+sha
		}
	}
	return f
}

// ProbeResult is what an HTTP probe of a URL found: a few attempts, the
// headers that matter from the last answer.
type ProbeResult struct {
	// Name is the upstream's name; "" for the policy's own probe.
	Name   string `json:"name,omitempty"`
	URL    string `json:"url"`
	Method string `json:"method"`
	// Expect is the status of a healthy answer; OK counts the attempts
	// that got it.
	Expect   int            `json:"expect"`
	OK       int            `json:"ok"`
	Attempts []ProbeAttempt `json:"attempts,omitempty"`
	Headers  []Header       `json:"headers,omitempty"`
}

// ProbeAttempt is one request of a probe.
type ProbeAttempt struct {
	// Status is 0 when no answer came; Error says why then.
	Status int `json:"status,omitempty"`
	// TTFB is the time to the first byte of the answer.
	TTFB  time.Duration `json:"ttfb,omitempty"`
	Error string        `json:"error,omitempty"`
}

// Header is one response header.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Bounds of probes.
const (
	// MaxUpstreams is how many upstream probes are kept.
	MaxUpstreams = 5
	// MaxProbeAttempts and MaxProbeHeaders bound one probe.
	MaxProbeAttempts = 5
	MaxProbeHeaders  = 8
)

func boundProbe(p ProbeResult) ProbeResult {
	out := ProbeResult{Name: line(p.Name), URL: line(p.URL), Method: line(p.Method), Expect: p.Expect, OK: p.OK}
	for _, a := range p.Attempts[:min(len(p.Attempts), MaxProbeAttempts)] {
		a.Error = line(a.Error)
		out.Attempts = append(out.Attempts, a)
	}
	for _, h := range p.Headers[:min(len(p.Headers), MaxProbeHeaders)] {
		out.Headers = append(out.Headers, Header{Name: line(h.Name), Value: line(h.Value)})
	}
	return out
}

// Logs is what a Logs Insights query found: the error lines grouped by
// message pattern, most frequent first.
type Logs struct {
	Groups []string  `json:"groups"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Rows is how many rows the query returned; Truncated is true when
	// medic stopped reading them (rows or bytes bound).
	Rows      int            `json:"rows"`
	Truncated bool           `json:"truncated,omitempty"`
	Patterns  []PatternCount `json:"patterns,omitempty"`
}

// PatternCount is how many log lines had one message pattern.
type PatternCount struct {
	Pattern string `json:"pattern"`
	Count   int    `json:"count"`
}

// MaxLogPatterns is how many log patterns an incident keeps.
const MaxLogPatterns = 10

func boundLogs(l *Logs) *Logs {
	out := &Logs{Start: l.Start, End: l.End, Rows: l.Rows, Truncated: l.Truncated}
	for _, g := range l.Groups[:min(len(l.Groups), 10)] {
		out.Groups = append(out.Groups, line(g))
	}
	ps := append([]PatternCount(nil), l.Patterns...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Count > ps[j].Count })
	for _, p := range ps[:min(len(ps), MaxLogPatterns)] {
		out.Patterns = append(out.Patterns, PatternCount{Pattern: line(p.Pattern), Count: p.Count})
	}
	return out
}
