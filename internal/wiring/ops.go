package wiring

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/medicbot/medic/internal/engine"
)

// MetricNamespace is the CloudWatch namespace of medic's own metrics;
// template.yaml's alarms watch them.
const MetricNamespace = "medic"

// MetricWaitingForCard is the metric of incidents whose card Slack has not
// taken for longer than the engine's CardAlertAfter.
const MetricWaitingForCard = "IncidentsWaitingForCard"

// Publisher is the SNS call the ops notifier makes; *sns.Client
// implements it.
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// opsNotifier tells operators about stuck cards: an embedded-metric-format
// line on metrics (Lambda sends stdout to CloudWatch Logs, which turns it
// into the IncidentsWaitingForCard metric an alarm watches), an error log,
// and, for newly stuck incidents, a message on the ops topic naming them.
type opsNotifier struct {
	topic   string
	sns     Publisher
	log     *slog.Logger
	mu      sync.Mutex
	metrics io.Writer
	now     func() time.Time
}

// CardsStuck implements engine.Ops.
func (o *opsNotifier) CardsStuck(ctx context.Context, s engine.StuckCards) error {
	o.emitMetric(len(s.Incidents), s.Incidents)
	o.log.ErrorContext(ctx, "incidents waiting for their card: Slack has not taken it", slog.Any("incidents", s.Incidents),
		slog.Any("new", s.New), slog.String("waiting_at_least", s.After.String()))
	if len(s.New) == 0 || o.topic == "" || o.sns == nil {
		return nil
	}
	msg := fmt.Sprintf("medic could not post or update the Slack card of %d incident(s) for at least %s: %s.\n"+
		"Nobody may have been asked to approve their steps. Check the Slack app (token, channel membership, Slack status); "+
		"medic keeps retrying, and `medic audit --incident ID` shows what happened.",
		len(s.New), s.After, strings.Join(s.New, ", "))
	subject := fmt.Sprintf("medic: %d incident(s) waiting for a Slack card", len(s.New))
	if _, err := o.sns.Publish(ctx, &sns.PublishInput{TopicArn: &o.topic, Subject: &subject, Message: &msg}); err != nil {
		return fmt.Errorf("publish stuck cards to %s: %w", o.topic, err)
	}
	return nil
}

// emitMetric writes one CloudWatch embedded metric format record.
func (o *opsNotifier) emitMetric(n int, incidents []string) {
	if o.metrics == nil {
		return
	}
	rec := map[string]any{
		"_aws": map[string]any{
			"Timestamp": o.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricNamespace,
				"Dimensions": [][]string{{}},
				"Metrics":    []any{map[string]string{"Name": MetricWaitingForCard, "Unit": "Count"}},
			}},
		},
		MetricWaitingForCard: n,
		"incidents":          incidents,
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.metrics.Write(append(line, '\n'))
}
