package alarm

// This file reads the alarm object shared by the EventBridge event's "detail"
// and the alarm action's "alarmData": alarmName, state, previousState,
// configuration and alarmTags.

// parseDetail fills a from an EventBridge detail or alarm action alarmData
// object. Paths in its errors are relative to that object.
func parseDetail(p *scanner, a *Alarm) error {
	var haveState bool
	err := p.object(func(key string) error {
		var err error
		switch key {
		case "alarmName":
			a.Name, err = p.strVal()
		case "state":
			haveState = true
			err = parseState(p, a)
		case "previousState":
			err = parsePreviousState(p, a)
		case "configuration":
			err = parseConfiguration(p, a)
		case "alarmTags":
			a.Tags, err = p.stringMap()
		default:
			err = p.skip()
		}
		return err
	})
	switch {
	case err != nil:
		return err
	case a.Name == "":
		return missing("alarmName")
	case !haveState:
		return missing("state")
	}
	return nil
}

// parseState reads the current state: value, reason, reasonData, timestamp.
func parseState(p *scanner, a *Alarm) error {
	var value, ts string
	var reasonData string
	var reasonDataKind byte
	err := p.object(func(key string) error {
		var err error
		switch key {
		case "value":
			value, err = p.strVal()
		case "reason":
			a.Reason, err = p.strVal()
		case "timestamp":
			ts, err = p.strVal()
		case "reasonData":
			// A JSON string holding JSON; tolerate an embedded object too.
			reasonDataKind = p.next()
			if reasonDataKind == '"' {
				reasonData, err = p.str()
			} else {
				reasonData, err = p.span()
			}
		case "actionsSuppressedBy":
			a.ActionsSuppressedBy, err = p.strVal()
		default:
			err = p.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := setState(a, value, "value"); err != nil {
		return err
	}
	if err := setTimestamp(a, ts, "timestamp"); err != nil {
		return err
	}
	switch reasonDataKind {
	case 0, 'n':
	case '"', '{':
		if reasonData != "" {
			setReasonData(a, reasonData)
		}
	default:
		a.ReasonDataRaw = reasonData
		a.ReasonDataError = "reasonData: expected a JSON string, found " + kind(reasonDataKind)
	}
	return nil
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

// setPreviousState validates the optional previous state value read at path.
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

// setReasonData parses reasonData; on failure it keeps the raw text and the
// error on the alarm instead of failing it.
func setReasonData(a *Alarm, raw string) {
	rd, err := parseReasonData(raw)
	if err != nil {
		a.ReasonDataRaw = raw
		a.ReasonDataError = wrapPath(err, "reasonData").Error()
		return
	}
	a.ReasonData = rd
}

// parsePreviousState reads only the value of the previous state.
func parsePreviousState(p *scanner, a *Alarm) error {
	if p.next() == 'n' {
		return p.lit("null")
	}
	var value string
	err := p.object(func(key string) error {
		if key != "value" {
			return p.skip()
		}
		var err error
		value, err = p.strVal()
		return err
	})
	if err != nil {
		return err
	}
	return setPreviousState(a, value, "value")
}

// parseConfiguration reads description, alarmRule and metrics.
func parseConfiguration(p *scanner, a *Alarm) error {
	if p.next() == 'n' {
		return p.lit("null")
	}
	return p.object(func(key string) error {
		var err error
		switch key {
		case "description":
			a.Description, err = p.strVal()
		case "alarmRule":
			a.CompositeRule, err = p.strVal()
		case "metrics":
			err = parseMetrics(p, a)
		default:
			err = p.skip()
		}
		return err
	})
}

// parseMetrics reads configuration.metrics: metricStat entries go to
// a.Metrics (whatever their returnData), expression entries to
// a.Expressions.
func parseMetrics(p *scanner, a *Alarm) error {
	if p.next() == 'n' {
		return p.lit("null")
	}
	var buf [4]Metric
	metrics := buf[:0]
	a.Expressions = a.Expressions[:0]
	err := p.array(func(int) error {
		var (
			m               Metric
			e               Expression
			hasStat, hasExp bool
		)
		err := p.object(func(key string) error {
			var err error
			switch key {
			case "id":
				e.ID, err = p.strVal()
			case "expression":
				e.Expression, err = p.strVal()
				hasExp = e.Expression != ""
			case "label":
				e.Label, err = p.strVal()
			case "returnData":
				e.ReturnData, err = p.boolVal()
			case "metricStat":
				hasStat = p.next() != 'n'
				err = parseMetricStat(p, &m)
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
		if hasExp {
			a.Expressions = append(a.Expressions, e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(a.Expressions) == 0 {
		a.Expressions = nil
	}
	a.Metrics = nil
	if len(metrics) > 0 {
		a.Metrics = make([]Metric, len(metrics))
		copy(a.Metrics, metrics)
	}
	return nil
}

// parseMetricStat reads {metric:{namespace,name,dimensions},period,stat}.
func parseMetricStat(p *scanner, m *Metric) error {
	if p.next() == 'n' {
		return p.lit("null")
	}
	return p.object(func(key string) error {
		var err error
		switch key {
		case "metric":
			err = p.object(func(key string) error {
				var err error
				switch key {
				case "namespace":
					m.Namespace, err = p.strVal()
				case "name":
					m.Name, err = p.strVal()
				case "dimensions":
					m.Dimensions, err = p.stringMap()
				default:
					err = p.skip()
				}
				return err
			})
		case "period":
			m.Period, err = p.intVal()
		case "stat":
			var stat string
			stat, err = p.strVal()
			m.Stat = normaliseStat(stat)
		default:
			err = p.skip()
		}
		return err
	})
}

// parseReasonData parses the text of a reasonData field.
func parseReasonData(raw string) (*ReasonData, error) {
	p := scanner{s: raw}
	rd := new(ReasonData)
	err := p.object(func(key string) error {
		var err error
		switch key {
		case "recentDatapoints":
			rd.Datapoints, err = p.floats()
		case "recentLowerThresholds":
			rd.LowerThresholds, err = p.floats()
		case "recentUpperThresholds":
			rd.UpperThresholds, err = p.floats()
		case "threshold":
			var v float64
			var ok bool
			if v, ok, err = p.numVal(); ok {
				rd.Threshold = &v
			}
		case "statistic":
			var stat string
			stat, err = p.strVal()
			rd.Statistic = normaliseStat(stat)
		case "period":
			rd.Period, err = p.intVal()
		case "triggeringAlarms":
			rd.TriggeringAlarms, err = parseTriggering(&p, "arn")
		default:
			err = p.skip()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return rd, nil
}

// parseTriggering reads the ARNs of an array of triggering alarms, each an
// object with the ARN under arnKey ("arn" in reasonData, "Arn" in SNS
// TriggeringChildren).
func parseTriggering(p *scanner, arnKey string) ([]string, error) {
	if p.next() == 'n' {
		return nil, p.lit("null")
	}
	var arns []string
	err := p.array(func(int) error {
		return p.object(func(key string) error {
			if key != arnKey {
				return p.skip()
			}
			arn, err := p.strVal()
			if arn != "" {
				arns = append(arns, arn)
			}
			return err
		})
	})
	return arns, err
}
