package history

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
)

// RouteHistory is the alarm.Route of alarms rebuilt from history records.
const RouteHistory alarm.Route = "history"

// Record is one alarm state change, one line of a history file.
type Record struct {
	Name      string      `json:"name"`
	ARN       string      `json:"arn,omitempty"` // empty when the alarm no longer exists
	Timestamp time.Time   `json:"timestamp"`
	OldState  alarm.State `json:"old_state"`
	NewState  alarm.State `json:"new_state"`
	Reason    string      `json:"reason,omitempty"`
	// ReasonData is newState.stateReasonData of the history item, as
	// CloudWatch wrote it (a JSON object), or absent.
	ReasonData json.RawMessage `json:"reason_data,omitempty"`

	// What DescribeAlarms and ListTagsForResource said about the alarm at
	// export time.
	Description   string             `json:"description,omitempty"`
	Metrics       []alarm.Metric     `json:"metrics,omitempty"`
	Expressions   []alarm.Expression `json:"expressions,omitempty"`
	CompositeRule string             `json:"composite_rule,omitempty"`
	Tags          map[string]string  `json:"tags,omitempty"`
}

// Alarm rebuilds the alarm state change as the decoders would have given
// it: account and region come from the ARN, the reason data is parsed (a
// broken one is kept in ReasonDataRaw, as the decoders do) and ALB 5xx
// alarms are classified. Route is RouteHistory.
func (r *Record) Alarm() *alarm.Alarm {
	a := &alarm.Alarm{
		Name:          r.Name,
		ARN:           r.ARN,
		State:         r.NewState,
		PreviousState: r.OldState,
		Reason:        r.Reason,
		Timestamp:     r.Timestamp,
		Description:   r.Description,
		Tags:          maps.Clone(r.Tags),
		Expressions:   slices.Clone(r.Expressions),
		CompositeRule: r.CompositeRule,
		Route:         RouteHistory,
	}
	for _, m := range r.Metrics {
		m.Dimensions = maps.Clone(m.Dimensions)
		a.Metrics = append(a.Metrics, m)
	}
	a.Region, a.Account = arnRegionAccount(r.ARN)
	if len(r.ReasonData) > 0 && string(r.ReasonData) != "null" {
		rd, err := parseReasonData(r.ReasonData)
		if err != nil {
			a.ReasonDataRaw, a.ReasonDataError = string(r.ReasonData), err.Error()
		} else {
			a.ReasonData = rd
		}
	}
	a.HTTP5xx = alarm.ClassifyHTTP5xx(a.Metrics)
	return a
}

// arnRegionAccount reads arn:PARTITION:cloudwatch:REGION:ACCOUNT:alarm:NAME.
func arnRegionAccount(arn string) (region, account string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return "", ""
	}
	return parts[3], parts[4]
}

// rawReasonData is the stateReasonData object CloudWatch writes.
type rawReasonData struct {
	Statistic        string     `json:"statistic"`
	Period           int        `json:"period"`
	RecentDatapoints []float64  `json:"recentDatapoints"`
	Threshold        *float64   `json:"threshold"`
	Lower            []float64  `json:"recentLowerThresholds"`
	Upper            []float64  `json:"recentUpperThresholds"`
	TriggeringAlarms []struct { // composite alarms
		ARN string `json:"arn"`
	} `json:"triggeringAlarms"`
}

func parseReasonData(raw json.RawMessage) (*alarm.ReasonData, error) {
	var r rawReasonData
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("parse reason data: %w", err)
	}
	out := &alarm.ReasonData{
		Datapoints:      r.RecentDatapoints,
		Threshold:       r.Threshold,
		LowerThresholds: r.Lower,
		UpperThresholds: r.Upper,
		Statistic:       r.Statistic,
		Period:          r.Period,
	}
	for _, t := range r.TriggeringAlarms {
		out.TriggeringAlarms = append(out.TriggeringAlarms, t.ARN)
	}
	return out, nil
}

// Write writes records as JSON Lines, one per line, in the order given.
func Write(w io.Writer, records []Record) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range records {
		if err := enc.Encode(&records[i]); err != nil {
			return fmt.Errorf("write history record %d: %w", i+1, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

// maxLine bounds one record; real ones are a few kilobytes.
const maxLine = 4 << 20

// Read reads a JSON Lines history; name prefixes errors ("h.jsonl:3: ...").
// Blank lines are skipped. Every record needs a name, a timestamp and a
// valid new state; every bad line is reported, joined.
func Read(r io.Reader, name string) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []Record
	var errs []error
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var rec Record
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, line, err))
			continue
		}
		if err := rec.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, line, err))
			continue
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read %s: %w", name, err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadFile reads the history file at path.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}

func (r *Record) validate() error {
	var missing []string
	if r.Name == "" {
		missing = append(missing, "name")
	}
	if r.Timestamp.IsZero() {
		missing = append(missing, "timestamp")
	}
	if len(missing) > 0 {
		return fmt.Errorf("record lacks %s", strings.Join(missing, " and "))
	}
	if !r.NewState.Valid() {
		return fmt.Errorf("new_state must be ALARM, OK or INSUFFICIENT_DATA, got %q", r.NewState)
	}
	if r.OldState != "" && !r.OldState.Valid() {
		return fmt.Errorf("old_state must be ALARM, OK or INSUFFICIENT_DATA, got %q", r.OldState)
	}
	return nil
}

// sortRecords orders records oldest first, then by alarm name.
func sortRecords(records []Record) {
	slices.SortStableFunc(records, func(a, b Record) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}
