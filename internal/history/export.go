package history

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/medicbot/medic/internal/alarm"
)

// CloudWatchAPI is the CloudWatch calls an export makes; *cloudwatch.Client
// satisfies it.
type CloudWatchAPI interface {
	DescribeAlarmHistory(ctx context.Context, in *cloudwatch.DescribeAlarmHistoryInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmHistoryOutput, error)
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatch.ListTagsForResourceInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.ListTagsForResourceOutput, error)
}

// Query says which state changes to export.
type Query struct {
	// Since bounds the export to state changes in [now-Since, now].
	Since time.Duration
	// AlarmPrefix keeps only alarms whose name starts with it.
	AlarmPrefix string
}

// Result is what an export found.
type Result struct {
	// Records are the state changes, oldest first.
	Records []Record
	// Start and End are the StartDate and EndDate asked for.
	Start, End time.Time
	// Pages is the number of DescribeAlarmHistory pages read.
	Pages int
	// Warnings are things the export could not do fully, such as alarms
	// deleted since or tags that could not be read.
	Warnings []string
}

// Exporter reads alarm history from CloudWatch.
type Exporter struct {
	api CloudWatchAPI
	// Now is the clock (default time.Now).
	Now func() time.Time
	// PageSize is DescribeAlarmHistory's MaxRecords (default and maximum 100).
	PageSize int32
}

// NewExporter returns an Exporter using api.
func NewExporter(api CloudWatchAPI) *Exporter {
	return &Exporter{api: api, Now: time.Now, PageSize: 100}
}

// maxPages stops a server that keeps returning a NextToken.
const maxPages = 10000

// Export reads the state changes q asks for and enriches them with what
// DescribeAlarms and ListTagsForResource say about each alarm.
func (x *Exporter) Export(ctx context.Context, q Query) (*Result, error) {
	if q.Since <= 0 {
		return nil, fmt.Errorf("export alarm history: since must be more than 0, got %s", q.Since)
	}
	end := x.Now().UTC()
	res := &Result{Start: end.Add(-q.Since), End: end}
	size := x.PageSize
	if size <= 0 || size > 100 {
		size = 100
	}
	in := &cloudwatch.DescribeAlarmHistoryInput{
		HistoryItemType: cwtypes.HistoryItemTypeStateUpdate,
		AlarmTypes:      []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
		StartDate:       aws.Time(res.Start),
		EndDate:         aws.Time(res.End),
		MaxRecords:      aws.Int32(size),
		ScanBy:          cwtypes.ScanByTimestampAscending,
	}
	var skipped int
	for {
		out, err := x.api.DescribeAlarmHistory(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe alarm history (page %d): %w", res.Pages+1, err)
		}
		res.Pages++
		for _, item := range out.AlarmHistoryItems {
			name := aws.ToString(item.AlarmName)
			if item.HistoryItemType != "" && item.HistoryItemType != cwtypes.HistoryItemTypeStateUpdate ||
				!strings.HasPrefix(name, q.AlarmPrefix) {
				continue
			}
			rec, err := recordOf(item)
			if err != nil {
				skipped++
				if skipped <= 5 {
					res.Warnings = append(res.Warnings, fmt.Sprintf("skipped a history item of %s at %s: %v", name, aws.ToTime(item.Timestamp).Format(time.RFC3339), err))
				}
				continue
			}
			res.Records = append(res.Records, rec)
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			break
		}
		if res.Pages >= maxPages {
			return nil, fmt.Errorf("describe alarm history: still a NextToken after %d pages", res.Pages)
		}
		in.NextToken = aws.String(next)
	}
	if skipped > 5 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("skipped %d history items in all", skipped))
	}
	sortRecords(res.Records)
	if err := x.enrich(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

// historyData is the JSON string in a StateUpdate item's HistoryData.
type historyData struct {
	OldState struct {
		StateValue string `json:"stateValue"`
	} `json:"oldState"`
	NewState struct {
		StateValue      string          `json:"stateValue"`
		StateReason     string          `json:"stateReason"`
		StateReasonData json.RawMessage `json:"stateReasonData"`
	} `json:"newState"`
}

// summaryStates reads HistorySummary "Alarm updated from OK to ALARM".
var summaryStates = regexp.MustCompile(`from (\w+) to (\w+)`)

func recordOf(item cwtypes.AlarmHistoryItem) (Record, error) {
	rec := Record{Name: aws.ToString(item.AlarmName), Timestamp: aws.ToTime(item.Timestamp).UTC()}
	if rec.Name == "" || rec.Timestamp.IsZero() {
		return rec, fmt.Errorf("item lacks the alarm name or timestamp")
	}
	var hd historyData
	if err := json.Unmarshal([]byte(aws.ToString(item.HistoryData)), &hd); err == nil {
		rec.OldState, rec.NewState = alarm.State(hd.OldState.StateValue), alarm.State(hd.NewState.StateValue)
		rec.Reason = hd.NewState.StateReason
		rec.ReasonData = reasonDataObject(hd.NewState.StateReasonData)
	} else if m := summaryStates.FindStringSubmatch(aws.ToString(item.HistorySummary)); m != nil {
		// Fall back on the summary, which has the states but no reason.
		rec.OldState, rec.NewState = alarm.State(m[1]), alarm.State(m[2])
	} else {
		return rec, fmt.Errorf("parse history data: %w", err)
	}
	if !rec.NewState.Valid() {
		return rec, fmt.Errorf("new state %q is not ALARM, OK or INSUFFICIENT_DATA", rec.NewState)
	}
	if rec.OldState != "" && !rec.OldState.Valid() {
		rec.OldState = ""
	}
	return rec, nil
}

// reasonDataObject returns stateReasonData as a JSON object: CloudWatch
// nests it as an object in HistoryData, but a JSON string holding the
// object is accepted too. Anything else is kept as it is.
func reasonDataObject(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil && json.Valid([]byte(s)) {
			return json.RawMessage(s)
		}
	}
	return raw
}

// describeBatch is the most alarm names DescribeAlarms takes at once.
const describeBatch = 100

// enrich fills in what DescribeAlarms and ListTagsForResource know about
// the alarms of res.Records.
func (x *Exporter) enrich(ctx context.Context, res *Result) error {
	names := make(map[string]bool)
	for _, r := range res.Records {
		names[r.Name] = true
	}
	sorted := slices.Sorted(maps.Keys(names))
	known := make(map[string]*Record, len(sorted)) // alarm name -> what to copy
	for batch := range slices.Chunk(sorted, describeBatch) {
		in := &cloudwatch.DescribeAlarmsInput{
			AlarmNames: batch,
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
		}
		for {
			out, err := x.api.DescribeAlarms(ctx, in)
			if err != nil {
				return fmt.Errorf("describe alarms %s...: %w", batch[0], err)
			}
			for i := range out.MetricAlarms {
				m := &out.MetricAlarms[i]
				known[aws.ToString(m.AlarmName)] = metricAlarmInfo(m)
			}
			for i := range out.CompositeAlarms {
				c := &out.CompositeAlarms[i]
				known[aws.ToString(c.AlarmName)] = &Record{
					ARN: aws.ToString(c.AlarmArn), Description: aws.ToString(c.AlarmDescription), CompositeRule: aws.ToString(c.AlarmRule),
				}
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	var gone, tagErrs []string
	for _, name := range sorted {
		info := known[name]
		if info == nil {
			gone = append(gone, name)
			continue
		}
		out, err := x.api.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String(info.ARN)})
		if err != nil {
			tagErrs = append(tagErrs, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		for _, t := range out.Tags {
			if info.Tags == nil {
				info.Tags = make(map[string]string)
			}
			info.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	for i := range res.Records {
		r := &res.Records[i]
		if info := known[r.Name]; info != nil {
			r.ARN, r.Description, r.CompositeRule = info.ARN, info.Description, info.CompositeRule
			r.Metrics, r.Expressions, r.Tags = info.Metrics, info.Expressions, info.Tags
		}
	}
	if len(gone) > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d alarm(s) no longer exist, so their records have no ARN, metrics or tags and only policies matching on the alarm name can match them: %s",
			len(gone), strings.Join(gone, ", ")))
	}
	if len(tagErrs) > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("could not read the tags of %d alarm(s): %s", len(tagErrs), strings.Join(tagErrs, "; ")))
	}
	return nil
}

// metricAlarmInfo is what a metric alarm contributes to its records.
func metricAlarmInfo(m *cwtypes.MetricAlarm) *Record {
	info := &Record{ARN: aws.ToString(m.AlarmArn), Description: aws.ToString(m.AlarmDescription)}
	if m.MetricName != nil {
		stat := string(m.Statistic)
		if stat == "" {
			stat = aws.ToString(m.ExtendedStatistic)
		}
		info.Metrics = append(info.Metrics, alarm.Metric{
			Namespace: aws.ToString(m.Namespace), Name: aws.ToString(m.MetricName),
			Dimensions: dimensions(m.Dimensions), Stat: stat, Period: int(aws.ToInt32(m.Period)),
		})
	}
	for _, q := range m.Metrics {
		if q.MetricStat != nil && q.MetricStat.Metric != nil {
			met := q.MetricStat.Metric
			info.Metrics = append(info.Metrics, alarm.Metric{
				ID: aws.ToString(q.Id), Namespace: aws.ToString(met.Namespace), Name: aws.ToString(met.MetricName),
				Dimensions: dimensions(met.Dimensions), Stat: aws.ToString(q.MetricStat.Stat), Period: int(aws.ToInt32(q.MetricStat.Period)),
			})
		}
		if q.Expression != nil {
			info.Expressions = append(info.Expressions, alarm.Expression{
				ID: aws.ToString(q.Id), Expression: aws.ToString(q.Expression), Label: aws.ToString(q.Label), ReturnData: aws.ToBool(q.ReturnData),
			})
		}
	}
	return info
}

func dimensions(ds []cwtypes.Dimension) map[string]string {
	if len(ds) == 0 {
		return nil
	}
	out := make(map[string]string, len(ds))
	for _, d := range ds {
		out[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	return out
}
