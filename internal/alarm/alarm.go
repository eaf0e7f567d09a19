// Package alarm turns every CloudWatch alarm payload medic can receive into
// one normalised Alarm: the EventBridge "CloudWatch Alarm State Change" event,
// an SNS alarm notification and the alarm's direct Lambda action.
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

// Alarm is one alarm state change, whatever route delivered it.
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
}

// ReasonData is the parsed reasonData JSON string of a state change.
type ReasonData struct {
	Datapoints       []float64 `json:"datapoints,omitempty"`
	Threshold        *float64  `json:"threshold,omitempty"`
	LowerThresholds  []float64 `json:"lower_thresholds,omitempty"`
	UpperThresholds  []float64 `json:"upper_thresholds,omitempty"`
	Statistic        string    `json:"statistic,omitempty"`
	Period           int       `json:"period,omitempty"`
	TriggeringAlarms []string  `json:"triggering_alarms,omitempty"`
}

// Metric is one metric an alarm watches.
type Metric struct {
	ID         string            `json:"id,omitempty"`
	Namespace  string            `json:"namespace"`
	Name       string            `json:"name"`
	Dimensions map[string]string `json:"dimensions,omitempty"`
	Stat       string            `json:"stat,omitempty"`
	Period     int               `json:"period,omitempty"`
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
