package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/history"
)

// cloudWatchServer answers the three CloudWatch calls `medic history
// export` makes, over the query protocol the command speaks to an
// --endpoint-url: DescribeAlarmHistory from internal/history's testdata
// (CloudWatch's documented XML, three pages chained by NextToken),
// DescribeAlarms and ListTagsForResource. moto 5.2.1 does not implement
// DescribeAlarmHistory (it answers HTTP 500), hence this server.
//
// The testdata's items are of 2024-05-14 10:21 to 11:00 UTC (and two at
// 09:21 and 09:25); the server moves them by shift so that 11:00:30 is the
// time it started, and, as CloudWatch does, only returns the items between
// the request's StartDate and EndDate.
type cloudWatchServer struct {
	*httptest.Server
	shift time.Duration
	// failAt answers the request for this NextToken with an error.
	failAt string

	mu       sync.Mutex
	requests []url.Values
}

// historyRef is the testdata time the server maps to its start.
var historyRef = time.Date(2024, 5, 14, 11, 0, 30, 0, time.UTC)

var (
	timestampElem = regexp.MustCompile(`<Timestamp>([^<]+)</Timestamp>`)
	memberElem    = regexp.MustCompile(`(?s)\s*<member>.*?</member>`)
)

func newCloudWatchServer(t *testing.T, failAt string) *cloudWatchServer {
	t.Helper()
	pages := map[string]string{"": "describe-alarm-history-1.xml", "page-2-token": "describe-alarm-history-2.xml", "page-3-token": "describe-alarm-history-3.xml"}
	cs := &cloudWatchServer{shift: time.Now().UTC().Truncate(time.Second).Sub(historyRef), failAt: failAt}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		form := r.PostForm
		cs.mu.Lock()
		cs.requests = append(cs.requests, form)
		cs.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		senderError := func(code string) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>x</RequestId></ErrorResponse>`, code, code)
		}
		switch form.Get("Action") {
		case "DescribeAlarmHistory":
			token := form.Get("NextToken")
			file, ok := pages[token]
			if !ok || token == cs.failAt && failAt != "" {
				senderError("InvalidNextToken")
				return
			}
			start, err1 := time.Parse(time.RFC3339Nano, form.Get("StartDate"))
			end, err2 := time.Parse(time.RFC3339Nano, form.Get("EndDate"))
			if err1 != nil || err2 != nil {
				senderError("InvalidParameterValue")
				return
			}
			data, err := os.ReadFile(filepath.Join("..", "..", "internal", "history", "testdata", file))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			_, _ = w.Write([]byte(cs.window(string(data), start, end)))
		case "DescribeAlarms":
			_, _ = w.Write([]byte(describeAlarmsXML))
		case "ListTagsForResource":
			tags := ""
			if strings.HasSuffix(form.Get("ResourceARN"), ":alarm:checkout-prod-target-5xx") {
				tags = "<member><Key>team</Key><Value>checkout</Value></member>"
			}
			fmt.Fprintf(w, `<ListTagsForResourceResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ListTagsForResourceResult><Tags>%s</Tags></ListTagsForResourceResult><ResponseMetadata><RequestId>t</RequestId></ResponseMetadata></ListTagsForResourceResponse>`, tags)
		default:
			senderError("InvalidAction")
		}
	}))
	t.Cleanup(cs.Close)
	return cs
}

// window moves a page's item timestamps by the server's shift and drops
// the items outside [start, end].
func (cs *cloudWatchServer) window(page string, start, end time.Time) string {
	return memberElem.ReplaceAllStringFunc(page, func(member string) string {
		m := timestampElem.FindStringSubmatch(member)
		if m == nil {
			return member
		}
		ts, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			return member
		}
		ts = ts.Add(cs.shift)
		if ts.Before(start) || ts.After(end) {
			return ""
		}
		return strings.Replace(member, m[0], "<Timestamp>"+ts.Format("2006-01-02T15:04:05.000Z")+"</Timestamp>", 1)
	})
}

// at is a testdata time as the server serves it.
func (cs *cloudWatchServer) at(hour, min, sec, ms int) time.Time {
	return time.Date(2024, 5, 14, hour, min, sec, ms*1e6, time.UTC).Add(cs.shift)
}

// historyRequests returns the forms of the DescribeAlarmHistory requests.
func (cs *cloudWatchServer) historyRequests() []url.Values {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var out []url.Values
	for _, f := range cs.requests {
		if f.Get("Action") == "DescribeAlarmHistory" {
			out = append(out, f)
		}
	}
	return out
}

// describeAlarmsXML is DescribeAlarms' answer for the testdata's alarms but
// search-prod-deleted-5xx, which stands for an alarm deleted since.
const describeAlarmsXML = `<DescribeAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
  <DescribeAlarmsResult>
    <MetricAlarms>
      <member>
        <AlarmName>checkout-prod-target-5xx</AlarmName>
        <AlarmArn>arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx</AlarmArn>
        <AlarmDescription>checkout targets answer 5xx</AlarmDescription>
        <Namespace>AWS/ApplicationELB</Namespace>
        <MetricName>HTTPCode_Target_5XX_Count</MetricName>
        <Dimensions>
          <member><Name>LoadBalancer</Name><Value>app/checkout-prod/50dc6c495c0c9188</Value></member>
          <member><Name>TargetGroup</Name><Value>targetgroup/checkout/73e2d6bc24d8a067</Value></member>
        </Dimensions>
        <Statistic>Sum</Statistic>
        <Period>60</Period>
        <EvaluationPeriods>1</EvaluationPeriods>
        <Threshold>5.0</Threshold>
        <ComparisonOperator>GreaterThanThreshold</ComparisonOperator>
        <StateValue>OK</StateValue>
      </member>
      <member>
        <AlarmName>payments-prod-elb-502</AlarmName>
        <AlarmArn>arn:aws:cloudwatch:us-west-2:123456789012:alarm:payments-prod-elb-502</AlarmArn>
        <Namespace>AWS/ApplicationELB</Namespace>
        <MetricName>HTTPCode_ELB_502_Count</MetricName>
        <Dimensions>
          <member><Name>LoadBalancer</Name><Value>app/payments-prod/1a2b3c4d5e6f7a8b</Value></member>
        </Dimensions>
        <Statistic>Sum</Statistic>
        <Period>60</Period>
        <EvaluationPeriods>1</EvaluationPeriods>
        <Threshold>10.0</Threshold>
        <ComparisonOperator>GreaterThanThreshold</ComparisonOperator>
        <StateValue>ALARM</StateValue>
      </member>
    </MetricAlarms>
    <CompositeAlarms/>
  </DescribeAlarmsResult>
  <ResponseMetadata><RequestId>d</RequestId></ResponseMetadata>
</DescribeAlarmsResponse>`

// awsEnv gives the SDK static credentials and a region, and nothing from
// the machine's AWS configuration.
func awsEnv(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_ENDPOINT_URL": "",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1",
	} {
		t.Setenv(k, v)
	}
}

// dirNames lists a directory's entries.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestHistoryExport(t *testing.T) {
	awsEnv(t)
	cw := newCloudWatchServer(t, "")
	out := filepath.Join(t.TempDir(), "history.jsonl")

	before := time.Now().UTC()
	var stdout, stderr bytes.Buffer
	code := run([]string{"history", "export", "--since", "1h", "--out", out, "--endpoint-url", cw.URL}, nil, &stdout, &stderr)
	after := time.Now().UTC()
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}

	t.Run("every page is read, NextToken after NextToken, over the --since window", func(t *testing.T) {
		reqs := cw.historyRequests()
		if len(reqs) != 3 {
			t.Fatalf("%d DescribeAlarmHistory requests, want 3", len(reqs))
		}
		for i, token := range []string{"", "page-2-token", "page-3-token"} {
			q := reqs[i]
			if q.Get("NextToken") != token || q.Get("HistoryItemType") != "StateUpdate" || q.Get("ScanBy") != "TimestampAscending" {
				t.Errorf("request %d = %v", i+1, q)
			}
			start, err1 := time.Parse(time.RFC3339Nano, q.Get("StartDate"))
			end, err2 := time.Parse(time.RFC3339Nano, q.Get("EndDate"))
			if err1 != nil || err2 != nil {
				t.Fatalf("request %d window %q .. %q", i+1, q.Get("StartDate"), q.Get("EndDate"))
			}
			// The SDK sends whole milliseconds.
			if d := end.Sub(start); d < time.Hour-time.Millisecond || d > time.Hour+time.Millisecond ||
				end.Before(before.Truncate(time.Millisecond)) || end.After(after) {
				t.Errorf("request %d window %s .. %s, want the hour before now (%s .. %s)", i+1, start, end, before, after)
			}
		}
	})

	t.Run("the file holds the state changes of the window, oldest first, with what DescribeAlarms knows", func(t *testing.T) {
		records, err := history.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			name     string
			at       time.Time
			old, new alarm.State
		}
		var got []row
		for _, r := range records {
			got = append(got, row{r.Name, r.Timestamp, r.OldState, r.NewState})
		}
		// The 09:21 and 09:25 items of page 1 are more than an hour old.
		want := []row{
			{"checkout-prod-target-5xx", cw.at(10, 21, 37, 0), "OK", "ALARM"},
			{"payments-prod-elb-502", cw.at(10, 30, 0, 0), "OK", "ALARM"},
			{"checkout-prod-target-5xx", cw.at(10, 51, 37, 0), "ALARM", "OK"},
			{"search-prod-deleted-5xx", cw.at(11, 0, 0, 0), "INSUFFICIENT_DATA", "ALARM"},
		}
		if !slices.EqualFunc(got, want, func(a, b row) bool {
			return a.name == b.name && a.at.Equal(b.at) && a.old == b.old && a.new == b.new
		}) {
			t.Fatalf("records:\n%v\nwant:\n%v", got, want)
		}
		a := records[0].Alarm()
		if a.ARN != "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx" || a.Account != "123456789012" || a.Region != "us-east-1" ||
			len(a.Metrics) != 1 || a.Metrics[0].Dimensions["TargetGroup"] != "targetgroup/checkout/73e2d6bc24d8a067" || a.Metrics[0].Stat != "Sum" ||
			a.Tags["team"] != "checkout" || a.Description != "checkout targets answer 5xx" || !strings.HasPrefix(a.Reason, "Threshold Crossed") {
			t.Errorf("first record's alarm = %+v", a)
		}
		if p := records[1].Alarm(); p.Region != "us-west-2" || p.HTTP5xx == nil || p.HTTP5xx.Code != "502" || p.Tags != nil {
			t.Errorf("payments record's alarm = %+v", p)
		}
		if gone := records[3]; gone.ARN != "" || gone.Metrics != nil {
			t.Errorf("the deleted alarm's record = %+v", gone)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(data, []byte("\n")); n != 4 {
			t.Errorf("%d lines:\n%s", n, data)
		}
	})

	t.Run("standard error sums up and warns of the deleted alarm; standard output stays empty", func(t *testing.T) {
		for _, want := range []string{
			"medic history export: warning: 1 alarm(s) no longer exist",
			"search-prod-deleted-5xx",
			"medic history export: 4 state change(s) of 3 alarm(s) from ",
			"(3 page(s)) -> " + out,
		} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, &stderr)
			}
		}
		if stdout.Len() != 0 {
			t.Errorf("stdout:\n%s", &stdout)
		}
		if names := dirNames(t, filepath.Dir(out)); !slices.Equal(names, []string{"history.jsonl"}) {
			t.Errorf("the directory holds %q", names)
		}
	})

	t.Run("--out - writes the records to standard output", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"history", "export", "--since", "1h", "--out", "-", "--endpoint-url", cw.URL}, nil, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d\nstderr:\n%s", code, &stderr)
		}
		records, err := history.Read(&stdout, "stdout")
		if err != nil || len(records) != 4 {
			t.Errorf("%d records, %v", len(records), err)
		}
	})

	t.Run("a longer --since reaches the older items", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"history", "export", "--since", "3h", "--out", "-", "--endpoint-url", cw.URL}, nil, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d\nstderr:\n%s", code, &stderr)
		}
		records, err := history.Read(&stdout, "stdout")
		if err != nil || len(records) != 6 || !records[0].Timestamp.Equal(cw.at(9, 21, 37, 512)) {
			t.Errorf("%d records (%v), first %+v", len(records), err, records)
		}
	})
}

// TestHistoryExportFailureLeavesNoFile: an export that fails part way
// (page 2 refused) writes nothing: no new file, no temporary file, and an
// earlier export at the same path is left as it was.
func TestHistoryExportFailureLeavesNoFile(t *testing.T) {
	awsEnv(t)
	cw := newCloudWatchServer(t, "page-2-token")
	dir := t.TempDir()

	t.Run("no file where there was none", func(t *testing.T) {
		out := filepath.Join(dir, "new.jsonl")
		var stdout, stderr bytes.Buffer
		code := run([]string{"history", "export", "--since", "3h", "--out", out, "--endpoint-url", cw.URL}, nil, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "describe alarm history (page 2)") || !strings.Contains(stderr.String(), "InvalidNextToken") {
			t.Errorf("exit %d\nstderr:\n%s", code, &stderr)
		}
		if names := dirNames(t, dir); len(names) != 0 {
			t.Errorf("the directory holds %q", names)
		}
	})
	t.Run("an earlier export is kept whole", func(t *testing.T) {
		out := filepath.Join(dir, "old.jsonl")
		old := []byte(`{"name":"a","timestamp":"2024-05-14T09:00:00Z","old_state":"OK","new_state":"ALARM"}` + "\n")
		if err := os.WriteFile(out, old, 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := run([]string{"history", "export", "--since", "3h", "--out", out, "--endpoint-url", cw.URL}, nil, &stdout, &stderr); code != exitUsage {
			t.Errorf("exit %d\nstderr:\n%s", code, &stderr)
		}
		if data, err := os.ReadFile(out); err != nil || !bytes.Equal(data, old) {
			t.Errorf("the earlier export reads %q, %v", data, err)
		}
		if names := dirNames(t, dir); !slices.Equal(names, []string{"old.jsonl"}) {
			t.Errorf("the directory holds %q", names)
		}
	})
	t.Run("a directory that cannot be written to leaves nothing either", func(t *testing.T) {
		ok := newCloudWatchServer(t, "")
		out := filepath.Join(dir, "missing-dir", "h.jsonl")
		var stdout, stderr bytes.Buffer
		if code := run([]string{"history", "export", "--since", "1h", "--out", out, "--endpoint-url", ok.URL}, nil, &stdout, &stderr); code != exitUsage ||
			!strings.Contains(stderr.String(), "write history") {
			t.Errorf("exit %d\nstderr:\n%s", code, &stderr)
		}
		if _, err := os.Stat(filepath.Dir(out)); !os.IsNotExist(err) {
			t.Errorf("stat %s: %v", filepath.Dir(out), err)
		}
	})
	t.Run("a write that fails after the records were written removes its temporary file", func(t *testing.T) {
		ok := newCloudWatchServer(t, "")
		// Renaming the written temporary file onto a directory fails.
		out := filepath.Join(dir, "taken")
		if err := os.MkdirAll(filepath.Join(out, "keep"), 0o755); err != nil {
			t.Fatal(err)
		}
		before := dirNames(t, dir)
		var stdout, stderr bytes.Buffer
		if code := run([]string{"history", "export", "--since", "1h", "--out", out, "--endpoint-url", ok.URL}, nil, &stdout, &stderr); code != exitUsage ||
			!strings.Contains(stderr.String(), "write history") {
			t.Errorf("exit %d\nstderr:\n%s", code, &stderr)
		}
		if after := dirNames(t, dir); !slices.Equal(after, before) {
			t.Errorf("the directory holds %q, held %q", after, before)
		}
		if names := dirNames(t, out); !slices.Equal(names, []string{"keep"}) {
			t.Errorf("%s holds %q", out, names)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--since", "1h"}, "--out FILE is required"},
			{[]string{"--since", "0s", "--out", "-"}, "--since must be more than 0"},
			{[]string{"--out", "-", "extra"}, `unexpected argument "extra"`},
		} {
			var stdout, stderr bytes.Buffer
			if code := run(append([]string{"history", "export"}, tc.args...), nil, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("%v: exit %d\nstderr:\n%s", tc.args, code, &stderr)
			}
		}
	})
}

// TestWriteFileAtomic: what history export writes its file with. A write
// that fails half way leaves neither its half nor its temporary file, and
// an earlier file whole.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "h.jsonl")
	if err := writeFileAtomic(out, func(w io.Writer) error {
		_, err := io.WriteString(w, "first\n")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := writeFileAtomic(out, func(w io.Writer) error {
		if _, err := io.WriteString(w, `{"name":"half`); err != nil {
			return err
		}
		// The half-written temporary file is there, beside the file.
		if names := dirNames(t, dir); len(names) != 2 {
			t.Errorf("while writing, the directory holds %q", names)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if data, err := os.ReadFile(out); err != nil || string(data) != "first\n" {
		t.Errorf("the file reads %q, %v", data, err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"h.jsonl"}) {
		t.Errorf("the directory holds %q", names)
	}
}
