package alarm

import (
	"strconv"

	"github.com/aws/aws-lambda-go/events"
)

// FromSNSEvent decodes the alarms in an SNS event delivered to Lambda, one per
// record (SNS delivers one record per invocation today). Records that are not
// SNS notifications or whose message is not an alarm are skipped; if no
// record holds an alarm the error is an *IgnoredError. A malformed record
// fails the whole event with a *DecodeError naming it, e.g.
// "Records[0].Sns.Message: invalid JSON: ...".
func FromSNSEvent(ev events.SNSEvent) ([]*Alarm, error) {
	alarms := make([]*Alarm, 0, len(ev.Records))
	var ignored error
	for i := range ev.Records {
		r := &ev.Records[i]
		a, err := fromSNSRecord(r.EventSource, r.SNS.Type, r.SNS.Message)
		if err != nil {
			if _, ok := err.(*IgnoredError); ok {
				ignored = err
				continue
			}
			return nil, wrapPath(wrapIndex(err, i), "Records")
		}
		alarms = append(alarms, a)
	}
	return snsResult(alarms, ignored)
}

// snsResult returns the alarms of an SNS event, or why it holds none.
func snsResult(alarms []*Alarm, ignored error) ([]*Alarm, error) {
	if len(alarms) > 0 {
		return alarms, nil
	}
	if ignored != nil {
		return nil, ignored
	}
	return nil, &IgnoredError{Reason: "sns event has no records"}
}

// fromSNSRecord decodes one record of an SNS event; paths in its errors are
// relative to the record.
func fromSNSRecord(eventSource, typ, message string) (*Alarm, error) {
	if eventSource != "" && eventSource != "aws:sns" {
		return nil, &IgnoredError{Reason: "record from event source " + quote(eventSource) + ", not aws:sns"}
	}
	a, err := fromSNSNotification(typ, message)
	if err != nil {
		return nil, wrapPath(err, "Sns")
	}
	return a, nil
}

// fromSNSNotification decodes the body of an SNS notification (its Type and
// Message fields); paths in its errors are relative to the body.
func fromSNSNotification(typ, message string) (*Alarm, error) {
	if typ != "" && typ != "Notification" {
		return nil, &IgnoredError{Reason: "sns " + quote(typ) + " message, not a notification"}
	}
	a, err := FromSNSMessage(message)
	if err != nil {
		return nil, wrapPath(err, "Message")
	}
	return a, nil
}

// FromSNSMessage decodes the alarm notification CloudWatch publishes to SNS:
// the text of an SNS notification's Message ({"AlarmName":...,"Trigger":...}).
// A message that is not a JSON object or not an alarm notification gives an
// *IgnoredError; a malformed alarm notification a *DecodeError. Region and
// account come from AlarmArn (the message's Region is a display name).
func FromSNSMessage(message string) (*Alarm, error) {
	p := scanner{s: message}
	if c := p.next(); c != '{' {
		return nil, &IgnoredError{Reason: "sns message is not a JSON object, so not a cloudwatch alarm"}
	}
	a := &Alarm{Route: RouteSNS}
	isAlarm, arn, account, err := parseSNSMessage(&p, a)
	if err != nil {
		return nil, err
	}
	if !isAlarm {
		return nil, &IgnoredError{Reason: "sns message is not a cloudwatch alarm notification"}
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	if err := finish(a, arn, "AlarmArn", account, ""); err != nil {
		return nil, err
	}
	return a, nil
}

// parseSNSMessage reads an alarm notification into a. isAlarm reports whether
// the object looked like one at all (AlarmName, AlarmArn or NewStateValue);
// required fields are only checked when it did.
func parseSNSMessage(p *scanner, a *Alarm) (isAlarm bool, arn, account string, err error) {
	var value, ts string
	var children []string
	err = p.object(func(key string) error {
		var err error
		switch key {
		case "AlarmName":
			isAlarm = true
			a.Name, err = p.strVal()
		case "AlarmArn":
			isAlarm = true
			arn, err = p.strVal()
		case "NewStateValue":
			isAlarm = true
			value, err = p.strVal()
		case "AlarmDescription":
			a.Description, err = p.strVal()
		case "AWSAccountId":
			account, err = p.strVal()
		case "NewStateReason":
			a.Reason, err = p.strVal()
		case "StateChangeTime":
			ts, err = p.strVal()
		case "OldStateValue":
			var old string
			if old, err = p.strVal(); err == nil {
				err = setPreviousState(a, old, "")
			}
		case "Trigger":
			err = parseTrigger(p, a)
		case "AlarmRule":
			a.CompositeRule, err = p.strVal()
		case "TriggeringChildren":
			children, err = parseTriggering(p, "Arn")
		default:
			err = p.skip()
		}
		return err
	})
	if err != nil || !isAlarm {
		return isAlarm, "", "", err
	}
	if a.Name == "" {
		return true, "", "", missing("AlarmName")
	}
	if err := setState(a, value, "NewStateValue"); err != nil {
		return true, "", "", err
	}
	if err := setTimestamp(a, ts, "StateChangeTime"); err != nil {
		return true, "", "", err
	}
	if len(children) > 0 {
		a.ReasonData = &ReasonData{TriggeringAlarms: children}
	}
	return true, arn, account, nil
}

// parseTrigger reads an SNS notification's Trigger: a single metric
// (MetricName, Namespace, Statistic, Dimensions, Period) or metric math
// (Metrics[]).
func parseTrigger(p *scanner, a *Alarm) error {
	if p.next() == 'n' {
		return p.lit("null")
	}
	var single Metric
	var stat, extStat string
	var buf [4]Metric
	metrics := buf[:0]
	err := p.object(func(key string) error {
		var err error
		switch key {
		case "MetricName":
			single.Name, err = p.strVal()
		case "Namespace":
			single.Namespace, err = p.strVal()
		case "Statistic":
			stat, err = p.strVal()
		case "ExtendedStatistic":
			extStat, err = p.strVal()
		case "Dimensions":
			single.Dimensions, err = parseDimensionList(p)
		case "Period":
			single.Period, err = p.intVal()
		case "Metrics":
			a.Expressions = a.Expressions[:0]
			metrics = metrics[:0]
			err = p.array(func(int) error {
				var m Metric
				var e Expression
				var hasStat bool
				err := p.object(func(key string) error {
					var err error
					switch key {
					case "Id":
						e.ID, err = p.strVal()
					case "Expression":
						e.Expression, err = p.strVal()
					case "Label":
						e.Label, err = p.strVal()
					case "ReturnData":
						e.ReturnData, err = p.boolVal()
					case "MetricStat":
						hasStat = p.next() != 'n'
						err = parseSNSMetricStat(p, &m)
					default:
						err = p.skip()
					}
					return err
				})
				if err != nil {
					return err
				}
				if hasStat {
					m.ID = e.ID
					metrics = append(metrics, m)
				}
				if e.Expression != "" {
					a.Expressions = append(a.Expressions, e)
				}
				return nil
			})
		default:
			err = p.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	if len(a.Expressions) == 0 {
		a.Expressions = nil
	}
	if single.Name != "" || single.Namespace != "" {
		// A single-metric alarm: there is no Metrics[].
		single.Stat = normaliseStat(stat)
		if single.Stat == "" {
			single.Stat = extStat
		}
		a.Metrics = []Metric{single}
	} else if len(metrics) > 0 {
		a.Metrics = make([]Metric, len(metrics))
		copy(a.Metrics, metrics)
	}
	return nil
}

// parseSNSMetricStat reads {Metric:{Dimensions,MetricName,Namespace},Period,Stat}.
func parseSNSMetricStat(p *scanner, m *Metric) error {
	if p.next() == 'n' {
		return p.lit("null")
	}
	return p.object(func(key string) error {
		var err error
		switch key {
		case "Metric":
			err = p.object(func(key string) error {
				var err error
				switch key {
				case "MetricName":
					m.Name, err = p.strVal()
				case "Namespace":
					m.Namespace, err = p.strVal()
				case "Dimensions":
					m.Dimensions, err = parseDimensionList(p)
				default:
					err = p.skip()
				}
				return err
			})
		case "Period":
			m.Period, err = p.intVal()
		case "Stat":
			var stat string
			stat, err = p.strVal()
			m.Stat = normaliseStat(stat)
		default:
			err = p.skip()
		}
		return err
	})
}

// parseDimensionList reads SNS dimensions, [{"name":..,"value":..}], into a
// map; key case is not significant ("Name" is accepted too).
func parseDimensionList(p *scanner) (map[string]string, error) {
	if p.next() == 'n' {
		return nil, p.lit("null")
	}
	var dims map[string]string
	err := p.array(func(int) error {
		var name, value string
		var hasName bool
		err := p.object(func(key string) error {
			var err error
			switch key {
			case "name", "Name":
				hasName = true
				name, err = p.strVal()
			case "value", "Value":
				value, err = p.strVal()
			default:
				err = p.skip()
			}
			return err
		})
		if err != nil {
			return err
		}
		if !hasName || name == "" {
			return missing("name")
		}
		if dims == nil {
			dims = make(map[string]string)
		}
		dims[name] = value
		return nil
	})
	return dims, err
}

// decodeSNSRecords decodes the Records array of an SNS event read from raw
// JSON; paths in its errors are relative to the array.
func decodeSNSRecords(p *scanner) ([]*Alarm, error) {
	alarms := make([]*Alarm, 0, 1)
	var ignored error
	err := p.array(func(i int) error {
		var source, typ, message string
		var hasSNS bool
		err := p.object(func(key string) error {
			var err error
			switch key {
			case "EventSource", "eventSource":
				source, err = p.strVal()
			case "Sns":
				hasSNS = true
				err = p.object(func(key string) error {
					var err error
					switch key {
					case "Type":
						typ, err = p.strVal()
					case "Message":
						message, err = p.strVal()
					default:
						err = p.skip()
					}
					return err
				})
			default:
				err = p.skip()
			}
			return err
		})
		if err != nil {
			return err
		}
		if !hasSNS {
			if source == "" {
				source = "unknown"
			}
			ignored = &IgnoredError{Reason: "record " + strconv.Itoa(i) + " from event source " + quote(source) + " is not an sns notification"}
			return nil
		}
		a, err := fromSNSRecord(source, typ, message)
		if err != nil {
			if _, ok := err.(*IgnoredError); ok {
				ignored = err
				return nil
			}
			return err
		}
		alarms = append(alarms, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return snsResult(alarms, ignored)
}
