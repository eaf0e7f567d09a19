package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/wiring"
)

// evidenceGatherer builds the collectors the alarm function runs, over
// real AWS (or endpoint); they only read.
func evidenceGatherer(ctx context.Context, endpoint string) (*evidence.Gatherer, error) {
	awsCfg, err := wiring.AWSConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config for evidence: %w", err)
	}
	emulator := os.Getenv("AWS_ENDPOINT_URL") != ""
	if endpoint != "" {
		awsCfg.BaseEndpoint = &endpoint
		emulator = true
	}
	return wiring.Evidence(awsCfg, emulator, slog.New(slog.NewTextHandler(io.Discard, nil))), nil
}

// simEvidence gathers a's evidence for the matched policies as the alarm
// function would (budget 0: the policies' or the default), and says which
// step of each policy the evidence picks.
func simEvidence(ctx context.Context, g *evidence.Gatherer, a *alarm.Alarm, matched []*policy.Policy, budget time.Duration, r *simResult) {
	if budget <= 0 {
		for _, p := range matched {
			budget = max(budget, p.EvidenceBudget)
		}
	}
	if budget <= 0 {
		budget = evidence.DefaultBudget
	}
	r.Evidence = g.Gather(ctx, a, matched, budget)
	facts := r.Evidence.Facts()
	for i, p := range matched {
		if i >= len(r.Matches) {
			break
		}
		m := &r.Matches[i]
		index, skipped := p.FirstStep(facts)
		m.Proposes, m.Skipped = index+1, skipped
		if index < 0 {
			m.Proposes = -1
		}
	}
}

func printEvidence(w io.Writer, ev *store.Evidence) {
	if ev == nil {
		return
	}
	fmt.Fprintf(w, "evidence (gathered in at most %s)\n", ev.Budget)
	if ev.Reading != "" {
		fmt.Fprintf(w, "  reading (not a verdict): %s\n", ev.Reading)
	}
	if ev.Favours != "" {
		fmt.Fprintf(w, "  favours: %s\n", ev.Favours)
	}
	if p := ev.Pattern; p != nil {
		fmt.Fprintf(w, "  pattern %s..%s: ELB 5xx %g (502 %g, 503 %g, 504 %g), target 5xx %g, requests %g", p.Start.Format(time.TimeOnly),
			p.End.Format(time.TimeOnly), p.ELB5xx, p.ELB502, p.ELB503, p.ELB504, p.Target5xx, p.Requests)
		if !p.StartedAt.IsZero() {
			fmt.Fprintf(w, ", began %s", p.StartedAt.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
	}
	if h := ev.Health; h != nil {
		if h.TargetGroup != "" {
			fmt.Fprintf(w, "  targets of %s: %d healthy, %d unhealthy, %d other %v\n", h.TargetGroup, h.Healthy, h.Unhealthy, h.Other, h.Reasons)
		}
		if h.Service != "" {
			fmt.Fprintf(w, "  tasks of %s: %d running, %d desired, %d pending\n", h.Service, h.Running, h.Desired, h.Pending)
		}
		for _, s := range h.Stopped {
			fmt.Fprintf(w, "    stopped %s: %s %s\n", s.Task, s.Reason, s.ExitCodes)
		}
	}
	if c := ev.Changes; c != nil {
		for _, d := range c.Deployments {
			fmt.Fprintf(w, "  deployment of %s: %s %s %s since %s\n", c.Service, d.TaskDefinition, d.Status, d.Rollout, d.CreatedAt.Format(time.RFC3339))
		}
	}
	for _, p := range append(nonNilProbe(ev.Probe), ev.Upstreams...) {
		fmt.Fprintf(w, "  probe %s %s %s: %d of %d as expected (%d)\n", p.Name, p.Method, p.URL, p.OK, len(p.Attempts), p.Expect)
	}
	for _, m := range ev.Missing {
		fmt.Fprintf(w, "  %s unavailable: %s\n", m.Collector, m.Reason)
	}
}

func nonNilProbe(p *store.ProbeResult) []store.ProbeResult {
	if p == nil {
		return nil
	}
	return []store.ProbeResult{*p}
}
