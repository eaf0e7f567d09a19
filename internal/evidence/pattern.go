package evidence

import (
	"context"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// MetricDataAPI is the CloudWatch call the pattern and health collectors
// make; *cloudwatch.Client implements it.
type MetricDataAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// PatternWindow is how far back the pattern looks; PatternPeriod is its
// metric period.
const (
	PatternWindow = 30 * time.Minute
	PatternPeriod = time.Minute
)

// Pattern is the 5xx pattern collector: the load balancer's 5xx split by
// source (ELB or target) and code, the error rate against RequestCount and
// when the spike started, over the last PatternWindow, in one
// GetMetricData call.
type Pattern struct{ cw MetricDataAPI }

// NewPattern returns the pattern collector.
func NewPattern(cw MetricDataAPI) *Pattern { return &Pattern{cw: cw} }

// Name is "pattern".
func (*Pattern) Name() string { return "pattern" }

// IAM is cloudwatch:GetMetricData (it takes no resource).
func (*Pattern) IAM() []remediations.IAMPermission {
	return []remediations.IAMPermission{{Actions: []string{"cloudwatch:GetMetricData"}, Resource: "*"}}
}

// patternMetrics are the series the pattern reads: query id -> metric.
var patternMetrics = []struct{ id, metric string }{
	{"elb5xx", "HTTPCode_ELB_5XX_Count"},
	{"elb502", "HTTPCode_ELB_502_Count"},
	{"elb503", "HTTPCode_ELB_503_Count"},
	{"elb504", "HTTPCode_ELB_504_Count"},
	{"target5xx", "HTTPCode_Target_5XX_Count"},
	{"requests", "RequestCount"},
}

// Collect reads the pattern of t's load balancer.
func (p *Pattern) Collect(ctx context.Context, t *Target) (*store.Evidence, error) {
	if t.LoadBalancer == "" {
		return nil, missingConfig("the alarm has no LoadBalancer dimension")
	}
	end := t.Now.Truncate(PatternPeriod).Add(PatternPeriod)
	start := end.Add(-PatternWindow)
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end), ScanBy: cwtypes.ScanByTimestampAscending}
	for _, m := range patternMetrics {
		in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
			Id: aws.String(m.id),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String(m.metric),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String(t.LoadBalancer)}}},
				Period: aws.Int32(int32(PatternPeriod / time.Second)),
				Stat:   aws.String("Sum"),
			},
			ReturnData: aws.Bool(true),
		})
	}
	series, err := metricData(ctx, p.cw, in)
	if err != nil {
		return nil, callFailed("cloudwatch:GetMetricData", t.LoadBalancer, err)
	}
	pat := &store.Pattern{Start: start, End: end, Period: PatternPeriod}
	pat.ELB5xx = series["elb5xx"].sum()
	pat.ELB502 = series["elb502"].sum()
	pat.ELB503 = series["elb503"].sum()
	pat.ELB504 = series["elb504"].sum()
	pat.Target5xx = series["target5xx"].sum()
	pat.Requests = series["requests"].sum()
	pat.ErrorRate = -1
	if pat.Requests > 0 {
		pat.ErrorRate = (pat.ELB5xx + pat.Target5xx) / pat.Requests
	}
	pat.Source, pat.Code = dominant(pat)
	pat.StartedAt = startedAt(t, series)
	return &store.Evidence{Pattern: pat}, nil
}

// dominant says where most 5xx came from and their most frequent code.
func dominant(p *store.Pattern) (source, code string) {
	switch {
	case p.ELB5xx == 0 && p.Target5xx == 0:
		return "", ""
	case p.Target5xx >= p.ELB5xx:
		return "target", "5xx"
	}
	code, best := "5xx", 0.0
	for _, c := range []struct {
		code string
		n    float64
	}{{"502", p.ELB502}, {"503", p.ELB503}, {"504", p.ELB504}} {
		if c.n > best {
			code, best = c.code, c.n
		}
	}
	return "elb", code
}

// startedAt is the first period of the last run of periods over the
// alarm's threshold, in the series the alarm watches; with no threshold
// or a metric the pattern does not read, of periods with any 5xx.
func startedAt(t *Target, series map[string]points) time.Time {
	threshold := 0.0
	var watched points
	if t.Alarm != nil && t.Alarm.ReasonData != nil && t.Alarm.ReasonData.Threshold != nil {
		for _, m := range t.Alarm.Metrics {
			for _, pm := range patternMetrics {
				if pm.metric == m.Name && pm.id != "requests" {
					watched = series[pm.id]
					threshold = *t.Alarm.ReasonData.Threshold
				}
			}
		}
	}
	if watched == nil {
		watched = add(series["elb5xx"], series["target5xx"])
	}
	var began time.Time
	for i := len(watched) - 1; i >= 0; i-- {
		if watched[i].v > threshold {
			began = watched[i].at
			continue
		}
		if !began.IsZero() {
			break
		}
	}
	return began
}

// point is one datapoint.
type point struct {
	at time.Time
	v  float64
}

// points is one series, oldest first.
type points []point

func (ps points) sum() float64 {
	s := 0.0
	for _, p := range ps {
		s += p.v
	}
	return s
}

// add sums two series period by period.
func add(a, b points) points {
	by := map[time.Time]float64{}
	for _, p := range append(append(points{}, a...), b...) {
		by[p.at] += p.v
	}
	out := make(points, 0, len(by))
	for at, v := range by {
		out = append(out, point{at, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// maxMetricPages bounds GetMetricData paging.
const maxMetricPages = 5

// metricData runs in (following NextToken a few times) and returns each
// query's series, oldest first.
func metricData(ctx context.Context, cw MetricDataAPI, in *cloudwatch.GetMetricDataInput) (map[string]points, error) {
	out := map[string]points{}
	for page := 0; page < maxMetricPages; page++ {
		res, err := cw.GetMetricData(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, r := range res.MetricDataResults {
			id := aws.ToString(r.Id)
			for i := range min(len(r.Timestamps), len(r.Values)) {
				out[id] = append(out[id], point{r.Timestamps[i].UTC(), r.Values[i]})
			}
		}
		if res.NextToken == nil {
			break
		}
		next := *in
		next.NextToken = res.NextToken
		in = &next
	}
	for id, ps := range out {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].at.Before(ps[j].at) })
		out[id] = ps
	}
	return out, nil
}
