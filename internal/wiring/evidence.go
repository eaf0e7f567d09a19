package wiring

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/policy"
)

// Collectors returns every evidence collector over awsCfg's clients. With
// emulator (moto) CloudWatch speaks the query protocol, and the graph
// collector is left out: moto has no GetMetricWidgetImage, and the SDK
// would retry its NotImplemented answer for most of the budget. The alarm
// function's role grants what each declares (internal/deploycheck).
func Collectors(awsCfg aws.Config, emulator bool) []evidence.Collector {
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
		evidence.NewLogs(cloudwatchlogs.NewFromConfig(awsCfg)),
	)
}

// Evidence returns the gatherer the alarm door runs when an incident
// opens, and `medic simulate --evidence` runs on its own: over collectors,
// or Collectors when none are given.
func Evidence(awsCfg aws.Config, emulator bool, log *slog.Logger, collectors ...evidence.Collector) *evidence.Gatherer {
	if collectors == nil {
		collectors = Collectors(awsCfg, emulator)
	}
	return evidence.NewGatherer((*policy.Step).Render, log, collectors...)
}
