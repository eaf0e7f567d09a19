package alarm

import "time"

// State is a CloudWatch alarm state value.
type State string

// The alarm states CloudWatch reports.
const (
	StateAlarm            State = "ALARM"
	StateOK               State = "OK"
	StateInsufficientData State = "INSUFFICIENT_DATA"
)

// Valid reports whether s is one of the states CloudWatch reports.
func (s State) Valid() bool {
	return s == StateAlarm || s == StateOK || s == StateInsufficientData
}

// Route names the way an alarm reached medic.
type Route string

// The routes an alarm can take to medic.
const (
	RouteEventBridge Route = "eventbridge"
	RouteSNS         Route = "sns"
	RouteAction      Route = "alarm-action"
)

// Alarm is one alarm state change, whatever route delivered it. Name, ARN,
// Account, Region, State and Timestamp are always set by the decoders; Region
// and Account come from the ARN. Metrics holds every metricStat of the alarm
// (also those with returnData false in metric-math alarms), Expressions its
// metric-math expressions; a composite alarm has neither and sets
// CompositeRule instead.
type Alarm struct {
	Name          string            `json:"name"`
	ARN           string            `json:"arn"`
	Account       string            `json:"account"`
	Region        string            `json:"region"`
	State         State             `json:"state"`
	PreviousState State             `json:"previous_state,omitempty"`
	Reason        string            `json:"reason,omitempty"`
	ReasonData    *ReasonData       `json:"reason_data,omitempty"`
	Timestamp     time.Time         `json:"timestamp"`
	Description   string            `json:"description,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	Metrics       []Metric          `json:"metrics,omitempty"`
	Expressions   []Expression      `json:"expressions,omitempty"`
	CompositeRule string            `json:"composite_rule,omitempty"`
	HTTP5xx       *HTTP5xx          `json:"http5xx,omitempty"`
	Route         Route             `json:"route,omitempty"`

	// ReasonDataRaw holds the state's reasonData as received when it was
	// present but could not be parsed; ReasonData is nil then and
	// ReasonDataError says why. Both are empty when reasonData parsed or was
	// absent (an alarm's first transition has none). A broken reasonData
	// never fails the alarm: the state change must still be handled.
	ReasonDataRaw   string `json:"reason_data_raw,omitempty"`
	ReasonDataError string `json:"reason_data_error,omitempty"`
	// ActionsSuppressedBy is set when a composite alarm's actions are
	// suppressed: "Alarm", "WaitPeriod" or "ExtensionPeriod" (EventBridge and
	// alarm action routes only).
	ActionsSuppressedBy string `json:"actions_suppressed_by,omitempty"`
}

// ReasonData is the parsed reasonData JSON string of a state change. SNS
// notifications carry no reasonData: for them only TriggeringAlarms is set
// (from a composite alarm's TriggeringChildren).
type ReasonData struct {
	// Datapoints are recentDatapoints, oldest first.
	Datapoints []float64 `json:"datapoints,omitempty"`
	// Threshold is nil for anomaly detection and composite alarms.
	Threshold *float64 `json:"threshold,omitempty"`
	// LowerThresholds and UpperThresholds are the anomaly detection band
	// (recentLowerThresholds, recentUpperThresholds).
	LowerThresholds []float64 `json:"lower_thresholds,omitempty"`
	UpperThresholds []float64 `json:"upper_thresholds,omitempty"`
	// Statistic is in CloudWatch's form (Sum, Average...); empty for
	// metric-math alarms.
	Statistic string `json:"statistic,omitempty"`
	// Period is in seconds.
	Period int `json:"period,omitempty"`
	// TriggeringAlarms are the ARNs of the alarms that made a composite
	// alarm change state.
	TriggeringAlarms []string `json:"triggering_alarms,omitempty"`
}

// Metric is one metric an alarm watches.
type Metric struct {
	// ID is the metric's id in a metric-math alarm ("m1"); EventBridge
	// gives single-metric alarms a generated id too, SNS none.
	ID         string            `json:"id,omitempty"`
	Namespace  string            `json:"namespace"`
	Name       string            `json:"name"`
	Dimensions map[string]string `json:"dimensions,omitempty"`
	// Stat is in CloudWatch's form: Average, Sum, SampleCount, Minimum,
	// Maximum or an extended statistic such as p99.
	Stat string `json:"stat,omitempty"`
	// Period is in seconds.
	Period int `json:"period,omitempty"`
}

// Expression is one metric-math expression of an alarm.
type Expression struct {
	ID         string `json:"id,omitempty"`
	Expression string `json:"expression"`
	Label      string `json:"label,omitempty"`
	ReturnData bool   `json:"return_data,omitempty"`
}

// HTTP5xx classifies an Application Load Balancer 5xx alarm.
type HTTP5xx struct {
	// Source is "elb" for load-balancer-generated codes, "target" for
	// target-generated ones.
	Source string `json:"source"`
	// Code is "500", "502", "503", "504" or "5XX".
	Code string `json:"code"`
}

// DedupKey identifies one state change of one alarm, the same whichever route
// delivered it: the alarm ARN and the state timestamp.
func (a *Alarm) DedupKey() string {
	return a.ARN + "@" + a.Timestamp.UTC().Format(time.RFC3339Nano)
}

// Dimensions merges the dimensions of every metric, first one wins. Policy
// templates read it as .Dimensions.
func (a *Alarm) Dimensions() map[string]string {
	out := make(map[string]string)
	for _, m := range a.Metrics {
		for k, v := range m.Dimensions {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}
