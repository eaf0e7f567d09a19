package evidence_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/store"
)

func TestGraphAsksForThePatternsMetricsOverItsWindow(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 30, 20, 0, time.UTC)
	fake := &widgetImages{png: []byte("\x89PNG...")}
	target := &evidence.Target{Alarm: anAlarm, Now: now, Region: "us-east-1", LoadBalancer: "app/checkout-prod/1"}
	ev, err := evidence.NewGraph(fake).Collect(context.Background(), target)
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	if string(ev.Graph) != "\x89PNG..." {
		t.Errorf("graph = %q, want the image CloudWatch rendered", ev.Graph)
	}
	var w struct {
		Metrics    [][]any `json:"metrics"`
		Start, End string
		Period     int
	}
	if err := json.Unmarshal([]byte(fake.widget), &w); err != nil {
		t.Fatalf("widget is not JSON: %v\n%s", err, fake.widget)
	}
	if w.Start != "2026-12-03T08:01:00Z" || w.End != "2026-12-03T08:31:00Z" || w.Period != 60 || len(w.Metrics) != 5 {
		t.Errorf("widget = %+v, want 5 series, 08:01-08:31, period 60", w)
	}
	if !strings.Contains(fake.widget, `"HTTPCode_ELB_502_Count","LoadBalancer","app/checkout-prod/1"`) {
		t.Errorf("widget lacks the 502 series of the load balancer: %s", fake.widget)
	}

	fake.png = make([]byte, store.MaxGraphBytes+1)
	if _, err := evidence.NewGraph(fake).Collect(context.Background(), target); err == nil {
		t.Error("an image over MaxGraphBytes was kept")
	}
}
