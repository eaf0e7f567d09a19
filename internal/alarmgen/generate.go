package alarmgen

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Namespace is the CloudWatch namespace of every metric the alarms watch.
const Namespace = "AWS/ApplicationELB"

// Target is one target group behind one load balancer, by their CloudWatch
// dimension values.
type Target struct {
	// LoadBalancer is the LoadBalancer dimension: app/<name>/<id>.
	LoadBalancer string
	// TargetGroup is the TargetGroup dimension: targetgroup/<name>/<id>.
	// Empty for a load balancer without target groups: only its
	// load-balancer alarms are generated.
	TargetGroup string
}

// Options tunes the generated alarms. The zero value of a field means its
// default (see DefaultOptions).
type Options struct {
	// SLO is the availability objective in percent ("99.9"); empty: no
	// burn-rate alarms.
	SLO string
	// MaxErrorRate is the 5xx rate (a fraction: 0.05 is 5%) above which
	// the target and ELB 5xx rate alarms fire, over 3 of 5 minutes.
	MaxErrorRate float64
	// MinRequests is the number of requests per 5 minutes below which no
	// rate fires (scaled to each window's length).
	MinRequests int
	// Max5xxCount is the count of ELB 502, 503 or 504 in one minute above
	// which its alarm fires, over 3 of 5 minutes.
	Max5xxCount int
	// MaxP99 is the p99 target response time above which the latency
	// alarm fires, over 5 of 5 minutes.
	MaxP99 time.Duration
	// Actions are where the alarms send ALARM and OK.
	Actions Actions
	// Tags are put on every alarm, in this order; with any tag, the alarms
	// also turn on alarm tag propagation, so medic sees the tags in their
	// events and notifications (policies match them, e.g. medic-cluster).
	Tags []Tag
}

// Tag is one alarm tag.
type Tag struct {
	Key, Value string
}

// ParseTag parses KEY=VALUE (the value may be empty and may hold "=").
func ParseTag(s string) (Tag, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return Tag{}, fmt.Errorf("tag %q: want KEY=VALUE", s)
	}
	t := Tag{Key: k, Value: v}
	return t, t.check()
}

// CloudWatch's limits on tags.
const (
	maxTagKey   = 128
	maxTagValue = 256
	maxTags     = 50
)

// check reports what CloudWatch would refuse in a tag.
func (t Tag) check() error {
	switch {
	case t.Key == "":
		return fmt.Errorf("tag %q: the key is empty", t.Key+"="+t.Value)
	case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
		return fmt.Errorf("tag %q: keys starting with aws: are reserved for AWS", t.Key)
	case len(t.Key) > maxTagKey:
		return fmt.Errorf("tag %q: the key is longer than %d characters", t.Key, maxTagKey)
	case len(t.Value) > maxTagValue:
		return fmt.Errorf("tag %q: the value is longer than %d characters", t.Key, maxTagValue)
	}
	return nil
}

// checkTags reports every bad or repeated tag.
func checkTags(tags []Tag) []error {
	var errs []error
	seen := make(map[string]string)
	for _, t := range tags {
		if err := t.check(); err != nil {
			errs = append(errs, err)
			continue
		}
		if v, ok := seen[t.Key]; ok {
			errs = append(errs, fmt.Errorf("tag %s is given twice (%q and %q)", t.Key, v, t.Value))
			continue
		}
		seen[t.Key] = t.Value
	}
	if len(tags) > maxTags {
		errs = append(errs, fmt.Errorf("%d tags: CloudWatch allows at most %d per alarm", len(tags), maxTags))
	}
	return errs
}

// Actions say how the alarms notify medic besides EventBridge (which needs
// no action).
type Actions struct {
	// SNSTopic is medic's alarm topic ARN (the stack's AlarmTopicArn).
	SNSTopic string
	// Function is medic's alarm function ARN (AlarmFunctionArn), invoked
	// directly by the alarm.
	Function string
}

// List returns the action ARNs, SNS first.
func (a Actions) List() []string {
	var out []string
	for _, s := range []string{a.SNSTopic, a.Function} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// DefaultOptions are the values used for the zero fields of Options.
var DefaultOptions = Options{
	MaxErrorRate: 0.05,
	MinRequests:  100,
	Max5xxCount:  10,
	MaxP99:       2 * time.Second,
}

// Kind says which CloudWatch alarm type a definition is.
type Kind string

// The alarm types.
const (
	MetricAlarm    Kind = "metric"
	CompositeAlarm Kind = "composite"
)

// Alarm is one generated alarm definition, as PutMetricAlarm or
// PutCompositeAlarm takes it.
type Alarm struct {
	Kind        Kind
	Name        string
	Description string
	// Single-metric alarms: Namespace, MetricName, Dimensions and Statistic
	// (or ExtendedStatistic, e.g. p99), Period.
	Namespace         string
	MetricName        string
	Dimensions        []Dimension
	Statistic         string
	ExtendedStatistic string
	Period            int
	// Metric-math alarms: Metrics instead.
	Metrics []Query

	EvaluationPeriods  int
	DatapointsToAlarm  int
	Threshold          float64
	ComparisonOperator string
	TreatMissingData   string

	// AlarmRule is a composite alarm's rule; Children the alarms it names.
	AlarmRule string
	Children  []string

	AlarmActions []string
	OKActions    []string

	// Tags are the alarm's tags. An alarm with tags also has alarm tag
	// propagation on (ActionConfiguration.AlarmTagsPropagation), so its
	// tags reach medic.
	Tags []Tag
}

// Dimension is one metric dimension.
type Dimension struct {
	Name, Value string
}

// Query is one entry of a metric-math alarm: an expression (ReturnData
// true) or a metric it reads.
type Query struct {
	ID         string
	Expression string
	Label      string
	// Metric, Stat and Period are set for metric entries.
	MetricName string
	Dimensions []Dimension
	Stat       string
	Period     int
	ReturnData bool
}

// Window is one burn-rate window.
type Window struct {
	Name     string // "1h"
	Duration time.Duration
}

// BurnPair is one of the workbook's multiwindow alerts: the error ratio
// over both windows must exceed Rate x budget.
type BurnPair struct {
	Name        string // "fast" or "slow"
	Rate        *big.Rat
	Long, Short Window
}

// BurnPairs are the SRE workbook's recommended pairs for paging: 2% of a
// 30-day budget in 1 hour, 5% in 6 hours.
var BurnPairs = []BurnPair{
	{Name: "fast", Rate: big.NewRat(144, 10), Long: Window{"1h", time.Hour}, Short: Window{"5m", 5 * time.Minute}},
	{Name: "slow", Rate: big.NewRat(6, 1), Long: Window{"6h", 6 * time.Hour}, Short: Window{"30m", 30 * time.Minute}},
}

// Thresholds returns, for an availability objective in percent ("99.9"),
// the error-ratio threshold of each BurnPair (Rate x (1 - SLO/100)),
// computed exactly and then rounded to the nearest float64: for 99.9,
// 0.0144 and 0.006.
func Thresholds(slo string) ([]float64, error) {
	budget, err := errorBudget(slo)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(BurnPairs))
	for i, p := range BurnPairs {
		t := new(big.Rat).Mul(p.Rate, budget)
		if t.Cmp(big.NewRat(1, 1)) >= 0 {
			return nil, fmt.Errorf("slo %s%%: the %s burn rate (%sx the %s%% budget) needs an error ratio above 100%%, which never happens: use an objective of at least %s%%",
				slo, p.Name, p.Rate.FloatString(1), new(big.Rat).Mul(budget, big.NewRat(100, 1)).FloatString(3), minSLO(p.Rate))
		}
		out[i], _ = t.Float64()
	}
	return out, nil
}

// errorBudget parses an SLO in percent and returns 1 - SLO/100.
func errorBudget(slo string) (*big.Rat, error) {
	s := strings.TrimSuffix(strings.TrimSpace(slo), "%")
	r, ok := new(big.Rat).SetString(s)
	if !ok || strings.ContainsAny(s, "/eE") {
		return nil, fmt.Errorf("slo %q: want a percentage such as 99.9", slo)
	}
	hundred := big.NewRat(100, 1)
	if r.Sign() <= 0 || r.Cmp(hundred) >= 0 {
		return nil, fmt.Errorf("slo %q: must be more than 0 and less than 100 (percent)", slo)
	}
	return new(big.Rat).Quo(new(big.Rat).Sub(hundred, r), hundred), nil
}

// minSLO is the lowest objective (percent) for which rate x budget < 1.
func minSLO(rate *big.Rat) string {
	// budget < 1/rate  <=>  slo > 100 - 100/rate
	m := new(big.Rat).Sub(big.NewRat(100, 1), new(big.Rat).Quo(big.NewRat(100, 1), rate))
	return m.FloatString(2)
}

// Generate returns the alarm definitions for targets, load-balancer alarms
// once per load balancer, in a stable order. It reports every bad target
// and option at once.
func Generate(targets []Target, opts Options) ([]Alarm, error) {
	opts = opts.withDefaults()
	var errs []error
	var thresholds []float64
	if opts.SLO != "" {
		var err error
		if thresholds, err = Thresholds(opts.SLO); err != nil {
			errs = append(errs, err)
		}
	}
	if opts.MaxErrorRate <= 0 || opts.MaxErrorRate >= 1 {
		errs = append(errs, fmt.Errorf("max error rate %g: must be a fraction between 0 and 1", opts.MaxErrorRate))
	}
	if opts.MinRequests < 1 {
		errs = append(errs, fmt.Errorf("min requests %d: must be at least 1", opts.MinRequests))
	}
	errs = append(errs, checkTags(opts.Tags)...)
	type lbKey = string
	seenLB := make(map[lbKey]bool)
	seenTG := make(map[string]bool)
	var out []Alarm
	for _, t := range targets {
		lb, err := dimensionName(t.LoadBalancer, "app")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var tg string
		if t.TargetGroup != "" {
			if tg, err = dimensionName(t.TargetGroup, "targetgroup"); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if !seenLB[t.LoadBalancer] {
			seenLB[t.LoadBalancer] = true
			out = append(out, lbAlarms(lb, t.LoadBalancer, opts)...)
		}
		if tg == "" || seenTG[t.LoadBalancer+" "+t.TargetGroup] {
			continue
		}
		seenTG[t.LoadBalancer+" "+t.TargetGroup] = true
		out = append(out, tgAlarms(lb+"-"+tg, t, opts, thresholds)...)
	}
	if err := checkUnique(out); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for i := range out {
		out[i].AlarmActions = opts.Actions.List()
		out[i].OKActions = opts.Actions.List()
		out[i].Tags = slices.Clone(opts.Tags)
	}
	return out, nil
}

func (o Options) withDefaults() Options {
	d := DefaultOptions
	if o.MaxErrorRate == 0 {
		o.MaxErrorRate = d.MaxErrorRate
	}
	if o.MinRequests == 0 {
		o.MinRequests = d.MinRequests
	}
	if o.Max5xxCount == 0 {
		o.Max5xxCount = d.Max5xxCount
	}
	if o.MaxP99 == 0 {
		o.MaxP99 = d.MaxP99
	}
	return o
}

// dimensionName returns <name> of a dimension value <kind>/<name>/<id>.
func dimensionName(dim, kind string) (string, error) {
	parts := strings.Split(dim, "/")
	if len(parts) != 3 || parts[0] != kind || parts[1] == "" || parts[2] == "" {
		return "", fmt.Errorf("dimension %q: want %s/<name>/<id> (the tail of the ARN)", dim, kind)
	}
	return parts[1], nil
}

func checkUnique(alarms []Alarm) error {
	seen := make(map[string]bool)
	ids := make(map[string]string)
	for _, a := range alarms {
		if seen[a.Name] {
			return fmt.Errorf("alarm name %s is generated twice: two load balancers or target groups share a name", a.Name)
		}
		seen[a.Name] = true
		id := LogicalID(a.Name)
		if other, ok := ids[id]; ok {
			return fmt.Errorf("alarms %s and %s get the same CloudFormation logical ID %s", other, a.Name, id)
		}
		ids[id] = a.Name
	}
	return nil
}

func lbAlarms(lb, lbDim string, o Options) []Alarm {
	dims := []Dimension{{"LoadBalancer", lbDim}}
	out := []Alarm{rateAlarm(lb+"-elb-5xx-rate",
		fmt.Sprintf("The load balancer %s answers more than %s of requests with a 5xx it generated itself (HTTPCode_ELB_5XX_Count / RequestCount, at least %d requests per 5 minutes).",
			lb, percent(o.MaxErrorRate), o.MinRequests),
		"HTTPCode_ELB_5XX_Count", dims, 60, o.MinRequests/5, o.MaxErrorRate, 5, 3)}
	for _, code := range []string{"502", "503", "504"} {
		out = append(out, Alarm{
			Kind: MetricAlarm, Name: lb + "-elb-" + code,
			Description: fmt.Sprintf("The load balancer %s answers more than %d %s per minute itself (HTTPCode_ELB_%s_Count). %s",
				lb, o.Max5xxCount, code, code, codeHint[code]),
			Namespace: Namespace, MetricName: "HTTPCode_ELB_" + code + "_Count", Dimensions: dims,
			Statistic: "Sum", Period: 60, EvaluationPeriods: 5, DatapointsToAlarm: 3,
			Threshold: float64(o.Max5xxCount), ComparisonOperator: "GreaterThanThreshold", TreatMissingData: "notBreaching",
		})
	}
	return out
}

var codeHint = map[string]string{
	"502": "Usually targets closing connections or answering malformed responses.",
	"503": "Usually no healthy targets.",
	"504": "Usually targets too slow to answer within the idle timeout.",
}

func tgAlarms(prefix string, t Target, o Options, thresholds []float64) []Alarm {
	dims := []Dimension{{"LoadBalancer", t.LoadBalancer}, {"TargetGroup", t.TargetGroup}}
	out := []Alarm{
		rateAlarm(prefix+"-target-5xx",
			fmt.Sprintf("The targets of %s answer more than %s of requests with 5xx (HTTPCode_Target_5XX_Count / RequestCount, at least %d requests per 5 minutes).",
				t.TargetGroup, percent(o.MaxErrorRate), o.MinRequests),
			"HTTPCode_Target_5XX_Count", dims, 60, o.MinRequests/5, o.MaxErrorRate, 5, 3),
		{
			Kind: MetricAlarm, Name: prefix + "-target-p99",
			Description: fmt.Sprintf("The p99 response time of the targets of %s is above %s (TargetResponseTime p99).", t.TargetGroup, o.MaxP99),
			Namespace:   Namespace, MetricName: "TargetResponseTime", Dimensions: dims,
			ExtendedStatistic: "p99", Period: 60, EvaluationPeriods: 5, DatapointsToAlarm: 5,
			Threshold: o.MaxP99.Seconds(), ComparisonOperator: "GreaterThanThreshold", TreatMissingData: "notBreaching",
		},
		{
			Kind: MetricAlarm, Name: prefix + "-unhealthy-hosts",
			Description: fmt.Sprintf("The target group %s has unhealthy targets (UnHealthyHostCount) for 3 of 5 minutes.", t.TargetGroup),
			Namespace:   Namespace, MetricName: "UnHealthyHostCount", Dimensions: dims,
			Statistic: "Maximum", Period: 60, EvaluationPeriods: 5, DatapointsToAlarm: 3,
			Threshold: 0, ComparisonOperator: "GreaterThanThreshold", TreatMissingData: "notBreaching",
		},
	}
	for i, pair := range BurnPairs {
		if thresholds == nil {
			break
		}
		var children []string
		for _, w := range []Window{pair.Long, pair.Short} {
			name := prefix + "-burn-" + w.Name
			children = append(children, name)
			secs := int(w.Duration / time.Second)
			minReq := max(1, o.MinRequests*secs/300)
			out = append(out, rateAlarm(name,
				fmt.Sprintf("Burn-rate window: over %s the targets of %s fail more than %s of requests (%sx the error budget of a %s%% objective; at least %d requests). Half of the %s burn alarm %s-burn-%s.",
					w.Name, t.TargetGroup, percent(thresholds[i]), pair.Rate.FloatString(1), o.SLO, minReq, pair.Name, prefix, pair.Name),
				"HTTPCode_Target_5XX_Count", dims, secs, minReq, thresholds[i], 1, 1))
		}
		out = append(out, Alarm{
			Kind: CompositeAlarm, Name: prefix + "-burn-" + pair.Name,
			Description: fmt.Sprintf("The %s burn rate of %s: the error ratio over both %s and %s is above %s, %sx the error budget of a %s%% availability objective.",
				pair.Name, t.TargetGroup, pair.Long.Name, pair.Short.Name, percent(thresholds[i]), pair.Rate.FloatString(1), o.SLO),
			AlarmRule: fmt.Sprintf("ALARM(%q) AND ALARM(%q)", children[0], children[1]),
			Children:  children,
		})
	}
	return out
}

// rateAlarm is a metric-math alarm on errors / RequestCount over period
// seconds, counting only periods with at least minRequests requests.
func rateAlarm(name, desc, errorsMetric string, dims []Dimension, period, minRequests int, threshold float64, evals, datapoints int) Alarm {
	minRequests = max(minRequests, 1)
	return Alarm{
		Kind: MetricAlarm, Name: name, Description: desc,
		Metrics: []Query{
			{ID: "rate", Label: "5xx rate", ReturnData: true,
				Expression: "IF(requests >= " + strconv.Itoa(minRequests) + ", FILL(errors, 0) / requests, 0)"},
			{ID: "errors", MetricName: errorsMetric, Dimensions: dims, Stat: "Sum", Period: period},
			{ID: "requests", MetricName: "RequestCount", Dimensions: dims, Stat: "Sum", Period: period},
		},
		EvaluationPeriods: evals, DatapointsToAlarm: datapoints,
		Threshold: threshold, ComparisonOperator: "GreaterThanThreshold", TreatMissingData: "notBreaching",
	}
}

// percent formats a fraction as a percentage: 0.0144 -> "1.44%".
func percent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', -1, 64) + "%"
}

// LogicalID turns an alarm name into a CloudFormation logical ID: letters
// and digits only, each word capitalised (checkout-prod-elb-503 ->
// CheckoutProdElb503).
func LogicalID(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
			if up {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		case r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	id := b.String()
	if id == "" || id[0] >= '0' && id[0] <= '9' {
		id = "Alarm" + id
	}
	return id
}

// Names returns the names of alarms, in order.
func Names(alarms []Alarm) []string {
	out := make([]string, len(alarms))
	for i, a := range alarms {
		out[i] = a.Name
	}
	return out
}

// sortedDims returns dims sorted by name, for comparisons.
func sortedDims(dims []Dimension) []Dimension {
	out := slices.Clone(dims)
	slices.SortFunc(out, func(a, b Dimension) int { return strings.Compare(a.Name, b.Name) })
	return out
}
