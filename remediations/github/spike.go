package github

import (
	"errors"
	"time"

	"github.com/medicbot/medic/internal/alarm"
)

// alarmWindow: stub, see the next commit.
type alarmWindow struct{ spike, fired, from time.Time }

func windowOf(a *alarm.Alarm, window time.Duration) (alarmWindow, error) {
	return alarmWindow{}, errors.New("not implemented")
}
