package evidence_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/testenv"
)

func TestLogsGroupsErrorLinesByPatternAgainstMoto(t *testing.T) {
	m := testenv.Moto(t)
	ctx := context.Background()
	api := cloudwatchlogs.NewFromConfig(m.Config)
	group := "/ecs/checkout"
	if _, err := api.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatalf("create log group: %v", err)
	}
	if _, err := api.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("app/1")}); err != nil {
		t.Fatalf("create log stream: %v", err)
	}
	now := time.Now()
	var events []logtypes.InputLogEvent
	for i := range 6 {
		events = append(events, logtypes.InputLogEvent{Timestamp: aws.Int64(now.Add(time.Duration(i-10) * time.Second).UnixMilli()),
			Message: aws.String(fmt.Sprintf("ERROR upstream payments timed out after %dms (request %d)", 3000+i, 1000+i))})
	}
	for i := range 2 {
		events = append(events, logtypes.InputLogEvent{Timestamp: aws.Int64(now.Add(time.Duration(i-5) * time.Second).UnixMilli()),
			Message: aws.String(fmt.Sprintf("ERROR connection refused to db-%d:5432", i))})
	}
	if _, err := api.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("app/1"), LogEvents: events}); err != nil {
		t.Fatalf("put log events: %v", err)
	}
	// moto computes fields/filter/limit queries (the default query is
	// one), not stats: the rows are grouped by medic.
	for _, query := range []string{"", "fields @timestamp, @message | limit 100"} {
		target := &evidence.Target{Alarm: anAlarm, Now: now.Add(time.Minute), Logs: &policy.Logs{Groups: []string{group}, Query: query}}
		ev, err := evidence.NewLogs(api, nil).Collect(ctx, target)
		if err != nil {
			t.Fatalf("collect logs with query %q: %v", query, err)
		}
		l := ev.Logs
		if l.Rows != 8 || len(l.Patterns) != 2 {
			t.Fatalf("query %q: logs = %+v, want 8 rows in 2 patterns", query, l)
		}
		if p := l.Patterns[0]; p.Count != 6 || p.Pattern != "ERROR upstream payments timed out after Nms (request N)" {
			t.Errorf("query %q: top pattern = %+v", query, p)
		}
		if p := l.Patterns[1]; p.Count != 2 || p.Pattern != "ERROR connection refused to db-N:N" {
			t.Errorf("query %q: second pattern = %+v", query, p)
		}
	}
}

// statsLogs is a small local fake of Logs Insights computing a stats
// query, which moto does not: the first GetQueryResults is still running.
type statsLogs struct{ polls, stops int }

func (f *statsLogs) StopQuery(context.Context, *cloudwatchlogs.StopQueryInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StopQueryOutput, error) {
	f.stops++
	return &cloudwatchlogs.StopQueryOutput{Success: true}, nil
}

func (f *statsLogs) StartQuery(context.Context, *cloudwatchlogs.StartQueryInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error) {
	return &cloudwatchlogs.StartQueryOutput{QueryId: aws.String("q-1")}, nil
}

func (f *statsLogs) GetQueryResults(context.Context, *cloudwatchlogs.GetQueryResultsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	f.polls++
	if f.polls == 1 {
		return &cloudwatchlogs.GetQueryResultsOutput{Status: logtypes.QueryStatusRunning}, nil
	}
	row := func(msg, n string) []logtypes.ResultField {
		return []logtypes.ResultField{{Field: aws.String("msg"), Value: aws.String(msg)}, {Field: aws.String("count(*)"), Value: aws.String(n)}}
	}
	return &cloudwatchlogs.GetQueryResultsOutput{Status: logtypes.QueryStatusComplete, Results: [][]logtypes.ResultField{
		row("timeout calling payments", "41"), row("timeout calling payments", "1"), row("pool exhausted", "7"),
	}}, nil
}

func TestLogsTakesCountsFromAStatsQuery(t *testing.T) {
	target := &evidence.Target{Alarm: anAlarm, Now: time.Now(), Logs: &policy.Logs{Groups: []string{"/ecs/checkout"},
		Query: "stats count(*) by msg"}}
	fake := &statsLogs{}
	ev, err := evidence.NewLogs(fake, nil).Collect(context.Background(), target)
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	if fake.polls != 2 {
		t.Errorf("polled %d times, want until complete (2)", fake.polls)
	}
	if fake.stops != 0 {
		t.Errorf("StopQuery called %d times on a query that completed", fake.stops)
	}
	p := ev.Logs.Patterns
	if len(p) != 2 || p[0].Pattern != "timeout calling payments" || p[0].Count != 42 || p[1].Count != 7 {
		t.Errorf("patterns = %+v, want timeout calling payments ×42, pool exhausted ×7", p)
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-03T08:14:02.123Z ERROR order 4711 failed: \"card declined\"": `ERROR order N failed: "…"`,
		"trace 9f86d081884c7d65 span 5e884898-da28-4711-8d5c-4b7a0c9e2f11 x":  "trace <hex> span <id> x",
	} {
		if got := evidence.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}
