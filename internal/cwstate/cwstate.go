// Package cwstate reads an alarm's current state from CloudWatch, so medic
// can re-check that an alarm is still firing before it executes anything.
package cwstate

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/medicbot/medic/internal/alarm"
)

// ErrAlarmNotFound is returned when CloudWatch has no alarm of that name.
var ErrAlarmNotFound = errors.New("alarm not found")

// DescribeAlarmsAPI is the one CloudWatch call the reader makes.
type DescribeAlarmsAPI interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// Reader reads alarm states from CloudWatch.
type Reader struct {
	api DescribeAlarmsAPI
}

// New returns a Reader using api (a *cloudwatch.Client in production).
func New(api DescribeAlarmsAPI) *Reader { return &Reader{api: api} }

// AlarmState returns the current state of the alarm a names, looking up
// metric and composite alarms alike.
func (r *Reader) AlarmState(ctx context.Context, a *alarm.Alarm) (alarm.State, error) {
	name := a.Name
	out, err := r.api.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{
		AlarmNames: []string{name},
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
	})
	if err != nil {
		return "", fmt.Errorf("read state of alarm %s: %w", name, err)
	}
	for _, m := range out.MetricAlarms {
		if m.AlarmName != nil && *m.AlarmName == name {
			return alarm.State(m.StateValue), nil
		}
	}
	for _, c := range out.CompositeAlarms {
		if c.AlarmName != nil && *c.AlarmName == name {
			return alarm.State(c.StateValue), nil
		}
	}
	return "", fmt.Errorf("read state of alarm %s: %w", name, ErrAlarmNotFound)
}

// ClientFunc returns a CloudWatch client for the alarm's own account and
// region.
type ClientFunc func(ctx context.Context, a *alarm.Alarm) (DescribeAlarmsAPI, error)

// Scoped reads each alarm's state in the alarm's own account and region.
type Scoped struct{ client ClientFunc }

// NewScoped returns a reader that asks client for each alarm's CloudWatch.
func NewScoped(client ClientFunc) *Scoped { return &Scoped{client: client} }

// AlarmState returns the current state of a, read where a is. A client
// that cannot be made (a member role that cannot be assumed) is an error:
// the engine then executes nothing.
func (s *Scoped) AlarmState(ctx context.Context, a *alarm.Alarm) (alarm.State, error) {
	api, err := s.client(ctx, a)
	if err != nil {
		return "", fmt.Errorf("read state of alarm %s in account %s (%s): %w", a.Name, a.Account, a.Region, err)
	}
	return New(api).AlarmState(ctx, a)
}
