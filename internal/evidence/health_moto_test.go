package evidence_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/store"
)

// deniedTasks is moto's ECS with ListTasks refused, as for a role without
// ecs:ListTasks.
type deniedTasks struct{ *ecs.Client }

func (deniedTasks) ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User is not authorized to perform ecs:ListTasks"}
}

// A part of the health the collector cannot read is named in Missing with
// the reason, next to the parts it read from moto: the stopped tasks
// (access denied) and the CPU and memory (a CloudWatch endpoint that never
// answers, so the call times out).
func TestHealthNamesThePartsItCouldNotReadAgainstMoto(t *testing.T) {
	m, _, target := prodTarget(t, time.Now().UTC())
	stop := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer silent.Close()
	defer close(stop)
	cw := cloudwatch.NewFromConfig(m.Config, func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
		o.BaseEndpoint = aws.String(silent.URL)
		o.RetryMaxAttempts = 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ev, err := evidence.NewHealth(elb.NewFromConfig(m.Config), deniedTasks{ecs.NewFromConfig(m.Config)}, cw).Collect(ctx, target)
	if err != nil {
		t.Fatalf("collect health: %v (the target group and the service were readable)", err)
	}
	if h := ev.Health; h == nil || h.TargetGroup != "checkout" || h.Desired != 4 {
		t.Fatalf("health = %+v, want what moto answered: target group checkout, desired 4", ev.Health)
	}
	want := []store.MissingEvidence{
		{Collector: "health: stopped tasks", Reason: "access denied (ecs:ListTasks)"},
		{Collector: "health: CPU and memory", Reason: "timed out"},
	}
	if !slices.Equal(ev.Missing, want) {
		t.Errorf("missing = %+v, want %+v", ev.Missing, want)
	}
}
