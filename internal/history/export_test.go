package history

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/testenv"
)

// historyServer serves DescribeAlarmHistory the way CloudWatch does over
// the query protocol: three pages of the testdata responses chained by
// NextToken. moto 5.2.1 does not implement DescribeAlarmHistory (HTTP 500),
// hence this server. It records the form of every request.
type historyServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []url.Values
}

func newHistoryServer(t *testing.T) *historyServer {
	t.Helper()
	pages := map[string]string{"": "describe-alarm-history-1.xml", "page-2-token": "describe-alarm-history-2.xml", "page-3-token": "describe-alarm-history-3.xml"}
	hs := &historyServer{}
	hs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		hs.mu.Lock()
		hs.requests = append(hs.requests, r.PostForm)
		hs.mu.Unlock()
		file, ok := pages[r.PostForm.Get("NextToken")]
		if r.PostForm.Get("Action") != "DescribeAlarmHistory" || !ok {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender</Type><Code>InvalidNextToken</Code><Message>bad request</Message></Error><RequestId>x</RequestId></ErrorResponse>`))
			return
		}
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write(data)
	}))
	t.Cleanup(hs.Close)
	return hs
}

// split sends DescribeAlarmHistory to one client and the rest to another.
type split struct {
	history *cloudwatch.Client
	*cloudwatch.Client
}

func (s split) DescribeAlarmHistory(ctx context.Context, in *cloudwatch.DescribeAlarmHistoryInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmHistoryOutput, error) {
	return s.history.DescribeAlarmHistory(ctx, in, opts...)
}

// queryClient is a real SDK client speaking the query protocol to url.
func queryClient(cfg aws.Config, url string) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
		o.BaseEndpoint = aws.String(url)
	})
}

// putAlarms creates the alarms of the testdata history in moto, except
// search-prod-deleted-5xx, which stands for an alarm deleted since.
func putAlarms(t *testing.T, cw *cloudwatch.Client) {
	t.Helper()
	ctx := context.Background()
	for _, in := range []*cloudwatch.PutMetricAlarmInput{
		{
			AlarmName: aws.String("checkout-prod-target-5xx"), AlarmDescription: aws.String("checkout targets answer 5xx"),
			Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
			Dimensions: []cwtypes.Dimension{
				{Name: aws.String("LoadBalancer"), Value: aws.String("app/checkout-prod/50dc6c495c0c9188")},
				{Name: aws.String("TargetGroup"), Value: aws.String("targetgroup/checkout/73e2d6bc24d8a067")},
			},
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(5),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
			Tags:               []cwtypes.Tag{{Key: aws.String("team"), Value: aws.String("checkout")}},
		},
		{
			AlarmName: aws.String("payments-prod-elb-502"),
			Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_ELB_502_Count"),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String("app/payments-prod/1a2b3c4d5e6f7a8b")}},
			Statistic:  cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		},
	} {
		if _, err := cw.PutMetricAlarm(ctx, in); err != nil {
			t.Fatalf("put alarm %s: %v", *in.AlarmName, err)
		}
	}
}

func TestExportPagesThroughHistoryAndAddsWhatDescribeAlarmsKnows(t *testing.T) {
	m := testenv.Moto(t)
	moto := testenv.CloudWatchClient(m.Config)
	putAlarms(t, moto)
	hs := newHistoryServer(t)
	now := time.Date(2024, 5, 15, 9, 0, 0, 0, time.UTC)

	x := NewExporter(split{history: queryClient(m.Config, hs.URL), Client: moto})
	x.Now = func() time.Time { return now }
	x.PageSize = 2
	res, err := x.Export(context.Background(), Query{Since: 168 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("it asks for state updates in the window, page by page", func(t *testing.T) {
		if res.Pages != 3 || len(hs.requests) != 3 {
			t.Fatalf("pages = %d, requests = %d, want 3", res.Pages, len(hs.requests))
		}
		for i, want := range []string{"", "page-2-token", "page-3-token"} {
			q := hs.requests[i]
			if got := q.Get("NextToken"); got != want {
				t.Errorf("request %d NextToken = %q, want %q", i+1, got, want)
			}
			if q.Get("HistoryItemType") != "StateUpdate" || q.Get("MaxRecords") != "2" || q.Get("ScanBy") != "TimestampAscending" {
				t.Errorf("request %d = %v", i+1, q)
			}
			if q.Get("StartDate") != "2024-05-08T09:00:00Z" || q.Get("EndDate") != "2024-05-15T09:00:00Z" {
				t.Errorf("request %d window = %s .. %s", i+1, q.Get("StartDate"), q.Get("EndDate"))
			}
		}
		if !res.Start.Equal(now.Add(-168*time.Hour)) || !res.End.Equal(now) {
			t.Errorf("window = %s .. %s", res.Start, res.End)
		}
	})

	t.Run("one record per state change, oldest first, from the HistoryData JSON", func(t *testing.T) {
		type row struct {
			name     string
			old, new alarm.State
		}
		var got []row
		for _, r := range res.Records {
			got = append(got, row{r.Name, r.OldState, r.NewState})
		}
		want := []row{
			{"checkout-prod-target-5xx", "OK", "ALARM"},
			{"checkout-prod-target-5xx", "ALARM", "OK"},
			{"checkout-prod-target-5xx", "OK", "ALARM"},
			{"payments-prod-elb-502", "OK", "ALARM"},
			{"checkout-prod-target-5xx", "ALARM", "OK"},
			{"search-prod-deleted-5xx", "INSUFFICIENT_DATA", "ALARM"},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("records = %v\nwant      %v", got, want)
		}
		first := res.Records[0]
		if !first.Timestamp.Equal(time.Date(2024, 5, 14, 9, 21, 37, 512e6, time.UTC)) || !strings.HasPrefix(first.Reason, "Threshold Crossed: 1 out of the last 1 datapoints [12.0") {
			t.Errorf("first record = %+v", first)
		}
		a := first.Alarm()
		if a.ReasonData == nil || a.ReasonData.Statistic != "Sum" || a.ReasonData.Period != 60 || !slices.Equal(a.ReasonData.Datapoints, []float64{12}) || *a.ReasonData.Threshold != 5 {
			t.Errorf("reason data = %+v (%s)", a.ReasonData, a.ReasonDataError)
		}
		if res.Records[5].ReasonData != nil {
			t.Errorf("a state change without stateReasonData has reason data %s", res.Records[5].ReasonData)
		}
	})

	t.Run("DescribeAlarms supplies the ARN, metrics and tags", func(t *testing.T) {
		a := res.Records[0].Alarm()
		if a.ARN != "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx" || a.Account != testenv.Account || a.Region != testenv.Region {
			t.Errorf("arn = %q account %q region %q", a.ARN, a.Account, a.Region)
		}
		if len(a.Metrics) != 1 || a.Metrics[0].Namespace != "AWS/ApplicationELB" || a.Metrics[0].Name != "HTTPCode_Target_5XX_Count" ||
			a.Metrics[0].Dimensions["TargetGroup"] != "targetgroup/checkout/73e2d6bc24d8a067" || a.Metrics[0].Stat != "Sum" {
			t.Errorf("metrics = %+v", a.Metrics)
		}
		if a.Tags["team"] != "checkout" || a.Description != "checkout targets answer 5xx" {
			t.Errorf("tags = %v, description %q", a.Tags, a.Description)
		}
		if a.HTTP5xx == nil || a.HTTP5xx.Source != "target" {
			t.Errorf("http5xx = %+v", a.HTTP5xx)
		}
	})

	t.Run("an alarm deleted since is kept without metrics, with a warning", func(t *testing.T) {
		gone := res.Records[5]
		if gone.ARN != "" || gone.Metrics != nil {
			t.Errorf("deleted alarm record = %+v", gone)
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "search-prod-deleted-5xx") {
			t.Errorf("warnings = %q", res.Warnings)
		}
	})

	t.Run("the JSON Lines file reads back to the same alarms", func(t *testing.T) {
		var buf bytes.Buffer
		if err := Write(&buf, res.Records); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "\n"); n != len(res.Records) {
			t.Fatalf("%d lines for %d records", n, len(res.Records))
		}
		back, err := Read(&buf, "h.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		if len(back) != len(res.Records) {
			t.Fatalf("read %d records", len(back))
		}
		for i := range back {
			got, want := back[i].Alarm(), res.Records[i].Alarm()
			if got.DedupKey() != want.DedupKey() || got.State != want.State || len(got.Metrics) != len(want.Metrics) || got.Tags["team"] != want.Tags["team"] {
				t.Errorf("record %d reads back as %+v, want %+v", i, got, want)
			}
		}
	})
}

func TestExportKeepsOnlyTheAlarmPrefix(t *testing.T) {
	m := testenv.Moto(t)
	moto := testenv.CloudWatchClient(m.Config)
	putAlarms(t, moto)
	hs := newHistoryServer(t)
	x := NewExporter(split{history: queryClient(m.Config, hs.URL), Client: moto})
	res, err := x.Export(context.Background(), Query{Since: time.Hour, AlarmPrefix: "payments-"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 || res.Records[0].Name != "payments-prod-elb-502" || res.Records[0].ARN == "" || len(res.Warnings) != 0 {
		t.Errorf("records = %+v, warnings %q", res.Records, res.Warnings)
	}
}

func TestExportFailsClearly(t *testing.T) {
	cases := []struct {
		name  string
		since time.Duration
		want  string
	}{
		{"a window of zero is refused", 0, "since must be more than 0"},
		{"an API error names the call and the page", time.Hour, "describe alarm history (page 1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// What moto 5.2.1 answers for DescribeAlarmHistory.
				http.Error(w, "internal error", http.StatusInternalServerError)
			}))
			defer srv.Close()
			cfg := aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1}
			c := queryClient(cfg, srv.URL)
			_, err := NewExporter(c).Export(context.Background(), Query{Since: tc.since})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}
