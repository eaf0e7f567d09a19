package evidence_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
)

// noMetrics answers GetMetricData with no data.
type noMetrics struct{}

func (noMetrics) GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	return &cloudwatch.GetMetricDataOutput{}, nil
}

// deniedMetrics refuses GetMetricData.
type deniedMetrics struct{}

func (deniedMetrics) GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User is not authorized to perform cloudwatch:GetMetricData"}
}

// widgetImages is a small local fake of GetMetricWidgetImage, which moto
// does not serve: it keeps the widget asked for and answers a PNG.
type widgetImages struct {
	widget string
	png    []byte
}

func (w *widgetImages) GetMetricWidgetImage(_ context.Context, in *cloudwatch.GetMetricWidgetImageInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricWidgetImageOutput, error) {
	w.widget = *in.MetricWidget
	return &cloudwatch.GetMetricWidgetImageOutput{MetricWidgetImage: w.png}, nil
}

// fakeLogsInsights is a small local fake of the CloudWatch Logs Insights
// API over HTTP (JSON 1.1, X-Amz-Target Logs_20140328.*), for what moto
// lacks: moto completes a query at once and answers StopQuery with
// NotImplemented. Its query runs until it has been polled finishAfter
// times (never when 0), then ends with status finish and results.
// pollError and stopError, when set, are the error codes GetQueryResults
// and StopQuery answer with. It records the query ids StopQuery was
// called with, also on stops.
type fakeLogsInsights struct {
	finishAfter int
	finish      string
	results     [][]fakeField
	pollError   string
	stopError   string

	mu      sync.Mutex
	polls   int
	stopped []string
	stops   chan string
}

// fakeField is one field of a result row, as Logs Insights sends it.
type fakeField struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// fakeQueryID is the id of the query fakeLogsInsights starts.
const fakeQueryID = "7f3c5b2e-0d1a-4c8e-9b6f-2a4d8e1c3f50"

// client starts f's server and returns a real SDK client pointed at it.
func (f *fakeLogsInsights) client(t *testing.T) *cloudwatchlogs.Client {
	t.Helper()
	f.stops = make(chan string, 16)
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return cloudwatchlogs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

func (f *fakeLogsInsights) serve(w http.ResponseWriter, r *http.Request) {
	var in struct {
		QueryID       string   `json:"queryId"`
		QueryString   string   `json:"queryString"`
		LogGroupNames []string `json:"logGroupNames"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328."); op {
	case "StartQuery":
		if in.QueryString == "" || len(in.LogGroupNames) == 0 {
			fail(w, http.StatusBadRequest, "InvalidParameterException", "queryString and logGroupNames are required")
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"queryId": fakeQueryID})
	case "GetQueryResults":
		if in.QueryID != fakeQueryID {
			fail(w, http.StatusBadRequest, "ResourceNotFoundException", "no query "+in.QueryID)
			return
		}
		if f.pollError != "" {
			fail(w, http.StatusBadRequest, f.pollError, "not authorized to perform logs:GetQueryResults")
			return
		}
		f.polls++
		out := map[string]any{"status": "Running", "results": [][]fakeField{}}
		if f.finishAfter > 0 && f.polls >= f.finishAfter {
			out["status"], out["results"] = f.finish, f.results
		}
		json.NewEncoder(w).Encode(out)
	case "StopQuery":
		f.stopped = append(f.stopped, in.QueryID)
		select {
		case f.stops <- in.QueryID:
		default: // the test counts f.stopped
		}
		if f.stopError != "" {
			fail(w, http.StatusBadRequest, f.stopError, "the query is not running")
			return
		}
		json.NewEncoder(w).Encode(map[string]bool{"success": true})
	default:
		fail(w, http.StatusBadRequest, "UnknownOperationException", "the fake does not serve "+op)
	}
}

// stoppedIDs returns the query ids StopQuery was called with so far.
func (f *fakeLogsInsights) stoppedIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.stopped)
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
