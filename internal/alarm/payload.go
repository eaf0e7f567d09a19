package alarm

import (
	"encoding/json"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
)

// This file holds the JSON shapes of the alarm payloads and turns them into
// an Alarm. encoding/json matches object keys without regard to case, so
// one type reads a field whether EventBridge spells it in camelCase
// ("metricStat") or SNS in PascalCase ("MetricStat").

// alarmObject is an EventBridge event's detail and an alarm action's
// alarmData, which have the same shape.
type alarmObject struct {
	AlarmName     string       `json:"alarmName"`
	State         *alarmState  `json:"state"`
	PreviousState *stateValue  `json:"previousState"`
	Configuration *alarmConfig `json:"configuration"`
	// AlarmTags is set when the alarm's tags are propagated.
	AlarmTags map[string]string `json:"alarmTags"`
}

type alarmState struct {
	Value  string `json:"value"`
	Reason string `json:"reason"`
	// ReasonData is a JSON string holding JSON; an embedded object is
	// accepted too.
	ReasonData          json.RawMessage `json:"reasonData"`
	Timestamp           string          `json:"timestamp"`
	ActionsSuppressedBy string          `json:"actionsSuppressedBy"`
}

type stateValue struct {
	Value string `json:"value"`
}

type alarmConfig struct {
	Description string `json:"description"`
	// AlarmRule is set on composite alarms.
	AlarmRule string        `json:"alarmRule"`
	Metrics   []metricQuery `json:"metrics"`
}

// metricQuery is one metric of an alarm: an entry of EventBridge's
// configuration.metrics and of SNS's Trigger.Metrics. It is a metric (with
// metricStat), a metric-math expression, or in principle both.
type metricQuery struct {
	ID         string      `json:"id"`
	Expression string      `json:"expression"`
	Label      string      `json:"label"`
	ReturnData bool        `json:"returnData"`
	MetricStat *metricStat `json:"metricStat"`
}

type metricStat struct {
	Metric metricName `json:"metric"`
	Period int        `json:"period"`
	Stat   string     `json:"stat"`
}

// metricName names a metric. The spellings differ here beyond case:
// EventBridge has "name" and a dimensions object, SNS "MetricName" and a
// Dimensions list of {"name": ..., "value": ...}.
type metricName struct {
	Namespace     string            `json:"namespace"`
	Name          string            `json:"name"`
	MetricName    string            `json:"MetricName"`
	Dimensions    map[string]string `json:"dimensions"`
	DimensionList []dimension       `json:"Dimensions"`
}

type dimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// snsAlarm is the alarm notification CloudWatch publishes to SNS:
// aws-lambda-go's payload, plus what it lacks for composite alarms, with
// medic's own Trigger. aws-lambda-go's trigger has no ExtendedStatistic,
// and its metric-math entries hold MetricStat by value, so an expression
// cannot be told from a metric; medic's reads its entries as metricQuery,
// the type EventBridge's metrics use.
type snsAlarm struct {
	events.CloudWatchAlarmSNSPayload
	Trigger            *snsTrigger       `json:"Trigger"`
	AlarmRule          string            `json:"AlarmRule"`
	TriggeringChildren []triggeringAlarm `json:"TriggeringChildren"`
}

// snsTrigger is an SNS alarm notification's Trigger: one metric (its name,
// namespace and dimensions at the top) or metric math (Metrics).
type snsTrigger struct {
	metricName
	Statistic         string        `json:"Statistic"`
	ExtendedStatistic string        `json:"ExtendedStatistic"`
	Period            int           `json:"Period"`
	Metrics           []metricQuery `json:"Metrics"`
}

// triggeringAlarm is one alarm that made a composite alarm change state:
// reasonData's triggeringAlarms[].arn and SNS's TriggeringChildren[].Arn.
type triggeringAlarm struct {
	ARN string `json:"arn"`
}

// reasonData is the JSON held by a state's reasonData string. Null array
// elements are dropped, hence the pointers.
type reasonData struct {
	RecentDatapoints      []*float64        `json:"recentDatapoints"`
	RecentLowerThresholds []*float64        `json:"recentLowerThresholds"`
	RecentUpperThresholds []*float64        `json:"recentUpperThresholds"`
	Threshold             *float64          `json:"threshold"`
	Statistic             string            `json:"statistic"`
	Period                int               `json:"period"`
	TriggeringAlarms      []triggeringAlarm `json:"triggeringAlarms"`
}

// fill sets a's fields from an EventBridge detail or alarm action alarmData.
// Paths in its errors are relative to that object.
func (o *alarmObject) fill(a *Alarm) error {
	if s := o.State; s != nil {
		if err := setState(a, s.Value, "state.value"); err != nil {
			return err
		}
		if err := setTimestamp(a, s.Timestamp, "state.timestamp"); err != nil {
			return err
		}
		a.Reason = s.Reason
		a.ActionsSuppressedBy = s.ActionsSuppressedBy
		setReasonData(a, s.ReasonData)
	}
	if p := o.PreviousState; p != nil {
		if err := setPreviousState(a, p.Value, "previousState.value"); err != nil {
			return err
		}
	}
	switch {
	case o.AlarmName == "":
		return missing("alarmName")
	case o.State == nil:
		return missing("state")
	}
	a.Name = o.AlarmName
	if c := o.Configuration; c != nil {
		a.Description = c.Description
		a.CompositeRule = c.AlarmRule
		var err error
		if a.Metrics, a.Expressions, err = metricsOf(c.Metrics, "configuration.metrics", "metricStat.metric"); err != nil {
			return err
		}
	}
	if len(o.AlarmTags) > 0 {
		a.Tags = o.AlarmTags
	}
	return nil
}

// fill sets a's fields from an SNS alarm notification, except the ARN,
// region and account (finish sets those). Paths in its errors are relative
// to the notification.
func (m *snsAlarm) fill(a *Alarm) error {
	if m.AlarmName == "" {
		return missing("AlarmName")
	}
	a.Name = m.AlarmName
	if err := setState(a, m.NewStateValue, "NewStateValue"); err != nil {
		return err
	}
	if err := setTimestamp(a, m.StateChangeTime, "StateChangeTime"); err != nil {
		return err
	}
	a.Description = m.AlarmDescription
	a.Reason = m.NewStateReason
	a.CompositeRule = m.AlarmRule
	if t := m.Trigger; t != nil {
		metrics, exprs, err := metricsOf(t.Metrics, "Trigger.Metrics", "MetricStat.Metric")
		if err != nil {
			return err
		}
		a.Metrics, a.Expressions = metrics, exprs
		if t.name() != "" || t.Namespace != "" {
			// A single-metric alarm: Metrics is empty.
			dims, err := t.dimensions("Trigger")
			if err != nil {
				return err
			}
			stat := normaliseStat(t.Statistic)
			if stat == "" {
				stat = t.ExtendedStatistic
			}
			a.Metrics = []Metric{{Namespace: t.Namespace, Name: t.name(), Dimensions: dims, Stat: stat, Period: t.Period}}
		}
	}
	if arns := arnsOf(m.TriggeringChildren); arns != nil {
		a.ReasonData = &ReasonData{TriggeringAlarms: arns}
	}
	return nil
}

// metricsOf splits an alarm's metric queries into its metrics (every entry
// with a metricStat, whatever its returnData) and its expressions. path
// names the list in errors and statPath the metric within an entry.
func metricsOf(queries []metricQuery, path, statPath string) ([]Metric, []Expression, error) {
	var metrics []Metric
	var exprs []Expression
	for i := range queries {
		q := &queries[i]
		if s := q.MetricStat; s != nil {
			dims, err := s.Metric.dimensions(path + "[" + strconv.Itoa(i) + "]." + statPath)
			if err != nil {
				return nil, nil, err
			}
			metrics = append(metrics, Metric{
				ID:         q.ID,
				Namespace:  s.Metric.Namespace,
				Name:       s.Metric.name(),
				Dimensions: dims,
				Stat:       normaliseStat(s.Stat),
				Period:     s.Period,
			})
		}
		if q.Expression != "" {
			exprs = append(exprs, Expression{ID: q.ID, Expression: q.Expression, Label: q.Label, ReturnData: q.ReturnData})
		}
	}
	return metrics, exprs, nil
}

// name returns the metric's name in either spelling.
func (n *metricName) name() string {
	if n.Name != "" {
		return n.Name
	}
	return n.MetricName
}

// dimensions returns the metric's dimensions in either spelling as one map
// (nil when there are none). A listed dimension must have a name; path
// names the metric in that error.
func (n *metricName) dimensions(path string) (map[string]string, error) {
	dims := n.Dimensions
	for i, d := range n.DimensionList {
		if d.Name == "" {
			return nil, missing(path + ".Dimensions[" + strconv.Itoa(i) + "].name")
		}
		if dims == nil {
			dims = make(map[string]string, len(n.DimensionList))
		}
		dims[d.Name] = d.Value
	}
	if len(dims) == 0 {
		return nil, nil
	}
	return dims, nil
}

// setState validates the state value read at path.
func setState(a *Alarm, value, path string) error {
	if value == "" {
		return missing(path)
	}
	a.State = State(value)
	if !a.State.Valid() {
		return &DecodeError{Path: path, Msg: "invalid alarm state " + quote(value) + " (want ALARM, OK or INSUFFICIENT_DATA)"}
	}
	return nil
}

// setPreviousState validates the optional previous state value read at
// path.
func setPreviousState(a *Alarm, value, path string) error {
	a.PreviousState = State(value)
	if value != "" && !a.PreviousState.Valid() {
		return &DecodeError{Path: path, Msg: "invalid alarm state " + quote(value) + " (want ALARM, OK or INSUFFICIENT_DATA)"}
	}
	return nil
}

// setTimestamp parses the state timestamp read at path.
func setTimestamp(a *Alarm, ts, path string) error {
	if ts == "" {
		return missing(path)
	}
	t, err := ParseTimestamp(ts)
	if err != nil {
		return wrapPath(err, path)
	}
	a.Timestamp = t
	return nil
}

// setReasonData reads a state's reasonData (absent, null, a JSON string
// holding JSON, or an object). One that cannot be read does not fail the
// alarm: its text and the reason are kept on the alarm instead.
func setReasonData(a *Alarm, raw json.RawMessage) {
	var text []byte
	switch c := firstByte(raw); c {
	case 0, 'n':
		return
	case '{':
		text = raw
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			// Not reached: raw is part of a document already read.
			a.ReasonDataRaw, a.ReasonDataError = string(raw), "reasonData: "+err.Error()
			return
		}
		if s == "" {
			return
		}
		text = []byte(s)
	default:
		a.ReasonDataRaw = string(raw)
		a.ReasonDataError = "reasonData: expected a JSON string, found " + kind(c)
		return
	}
	var rd reasonData
	if err := decodeJSON(text, &rd); err != nil {
		a.ReasonDataRaw = string(text)
		a.ReasonDataError = wrapPath(err, "reasonData").Error()
		return
	}
	a.ReasonData = &ReasonData{
		Datapoints:       floats(rd.RecentDatapoints),
		Threshold:        rd.Threshold,
		LowerThresholds:  floats(rd.RecentLowerThresholds),
		UpperThresholds:  floats(rd.RecentUpperThresholds),
		Statistic:        normaliseStat(rd.Statistic),
		Period:           rd.Period,
		TriggeringAlarms: arnsOf(rd.TriggeringAlarms),
	}
}

// floats drops the null elements of a list of numbers; nil when none are
// left.
func floats(list []*float64) []float64 {
	var out []float64
	for _, v := range list {
		if v != nil {
			out = append(out, *v)
		}
	}
	return out
}

// arnsOf returns the ARNs of triggering alarms, skipping empty ones; nil
// when none are left.
func arnsOf(list []triggeringAlarm) []string {
	var out []string
	for _, t := range list {
		if t.ARN != "" {
			out = append(out, t.ARN)
		}
	}
	return out
}
