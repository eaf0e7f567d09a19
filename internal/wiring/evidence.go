package wiring

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// Collectors returns every evidence collector over awsCfg's clients. With
// emulator (moto) CloudWatch speaks the query protocol, and the graph
// collector is left out: moto has no GetMetricWidgetImage, and the SDK
// would retry its NotImplemented answer for most of the budget. The alarm
// function's role grants what each declares (internal/deploycheck). log
// receives what a collector logs itself (a logs query it could not stop);
// nil is slog.Default().
func Collectors(awsCfg aws.Config, emulator bool, log *slog.Logger) []evidence.Collector {
	cw := CloudWatch(awsCfg, emulator)
	ecsc := ecs.NewFromConfig(awsCfg)
	var graph []evidence.Collector
	if !emulator {
		graph = append(graph, evidence.NewGraph(cw))
	}
	return append(graph,
		evidence.NewPattern(cw),
		evidence.NewChanges(ecsc),
		evidence.NewHealth(elasticloadbalancingv2.NewFromConfig(awsCfg), ecsc, cw),
		evidence.NewProbe(),
		evidence.NewUpstreams(),
		evidence.NewLogs(cloudwatchlogs.NewFromConfig(awsCfg), log),
	)
}

// Evidence returns the gatherer the alarm door runs when an incident
// opens, and `medic simulate --evidence` runs on its own: over collectors,
// or Collectors when none are given.
func Evidence(awsCfg aws.Config, emulator bool, log *slog.Logger, collectors ...evidence.Collector) *evidence.Gatherer {
	if collectors == nil {
		collectors = Collectors(awsCfg, emulator, log)
	}
	return evidence.NewGatherer((*policy.Step).Render, log, collectors...)
}

// configFor gives the AWS configuration that acts in an alarm's account
// and region (*Rem implements it).
type configFor interface {
	AWSConfigFor(ctx context.Context, a *alarm.Alarm) (aws.Config, error)
}

// memberEvidence gathers an alarm's evidence in the alarm's own account and
// region (multi-account mode): it builds the collectors over the member
// role's credentials for that account and region. When the role cannot be
// assumed, every collector is missing with that reason: nothing is read
// from medic's own account in its place.
type memberEvidence struct {
	where    configFor
	emulator bool
	log      *slog.Logger
}

func (m memberEvidence) gatherer(ctx context.Context, a *alarm.Alarm) (*evidence.Gatherer, error) {
	c, err := m.where.AWSConfigFor(ctx, a)
	if err != nil {
		return nil, err
	}
	return Evidence(c, m.emulator, m.log), nil
}

// Gather implements engine.EvidenceGatherer.
func (m memberEvidence) Gather(ctx context.Context, a *alarm.Alarm, matched []*policy.Policy, budget time.Duration) *store.Evidence {
	g, err := m.gatherer(ctx, a)
	if err != nil {
		return unreachable(a, budget, err)
	}
	return g.Gather(ctx, a, matched, budget)
}

// GatherLate implements engine.LateEvidenceGatherer.
func (m memberEvidence) GatherLate(ctx context.Context, a *alarm.Alarm, matched []*policy.Policy, budget time.Duration) (*store.Evidence, <-chan *store.Evidence) {
	g, err := m.gatherer(ctx, a)
	if err != nil {
		done := make(chan *store.Evidence)
		close(done)
		return unreachable(a, budget, err), done
	}
	return g.GatherLate(ctx, a, matched, budget)
}

// unreachable is the evidence of an alarm whose account medic cannot act
// in: every collector missing, saying why.
func unreachable(a *alarm.Alarm, budget time.Duration, err error) *store.Evidence {
	ev := &store.Evidence{GatheredAt: time.Now().UTC(), Budget: budget}
	for _, c := range Collectors(aws.Config{Region: a.Region}, false, nil) {
		ev.Missing = append(ev.Missing, store.MissingEvidence{Collector: c.Name(), Reason: err.Error()})
	}
	return ev
}
