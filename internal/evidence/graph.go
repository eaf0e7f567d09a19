package evidence

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// WidgetImageAPI is the CloudWatch call the graph collector makes;
// *cloudwatch.Client implements it.
type WidgetImageAPI interface {
	GetMetricWidgetImage(ctx context.Context, in *cloudwatch.GetMetricWidgetImageInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricWidgetImageOutput, error)
}

// Graph is the metric graph collector: a PNG of the pattern's series (the
// load balancer's 5xx by source and code, and its requests) over the
// same window, which the notifier uploads into the incident's thread.
type Graph struct{ cw WidgetImageAPI }

// NewGraph returns the graph collector.
func NewGraph(cw WidgetImageAPI) *Graph { return &Graph{cw: cw} }

// Name is "graph".
func (*Graph) Name() string { return "graph" }

// IAM is cloudwatch:GetMetricWidgetImage (it takes no resource).
func (*Graph) IAM() []remediations.IAMPermission {
	return []remediations.IAMPermission{{Actions: []string{"cloudwatch:GetMetricWidgetImage"}, Resource: "*"}}
}

// Collect renders t's load balancer metrics.
func (g *Graph) Collect(ctx context.Context, t *Target) (*store.Evidence, error) {
	if t.LoadBalancer == "" {
		return nil, missingConfig("the alarm has no LoadBalancer dimension")
	}
	end := t.Now.Truncate(PatternPeriod).Add(PatternPeriod)
	var metrics [][]any
	for _, m := range patternMetrics {
		if m.id == "elb5xx" {
			continue // the sum of the codes shown
		}
		opts := map[string]any{"label": m.metric}
		if m.id == "requests" {
			opts["yAxis"] = "right"
		}
		metrics = append(metrics, []any{"AWS/ApplicationELB", m.metric, "LoadBalancer", t.LoadBalancer, opts})
	}
	widget, err := json.Marshal(map[string]any{
		"metrics": metrics, "stat": "Sum", "period": int(PatternPeriod / time.Second), "view": "timeSeries",
		"start": end.Add(-PatternWindow).Format(time.RFC3339), "end": end.Format(time.RFC3339), "region": t.Region,
		"title": "5xx of " + t.LoadBalancer + " (last 30 min)", "width": 800, "height": 400,
	})
	if err != nil {
		return nil, err
	}
	out, err := g.cw.GetMetricWidgetImage(ctx, &cloudwatch.GetMetricWidgetImageInput{MetricWidget: aws.String(string(widget)), OutputFormat: aws.String("png")})
	if err != nil {
		return nil, callFailed("cloudwatch:GetMetricWidgetImage", t.LoadBalancer, err)
	}
	if len(out.MetricWidgetImage) > store.MaxGraphBytes {
		return nil, callFailed("cloudwatch:GetMetricWidgetImage", t.LoadBalancer, errTooLarge(len(out.MetricWidgetImage)))
	}
	return &store.Evidence{Graph: out.MetricWidgetImage}, nil
}

type errTooLarge int

func (e errTooLarge) Error() string { return "the image is too large" }
