package policy

import (
	"strings"
	"time"
)

// FormatDuration renders a duration the way policies write it: 10m0s as
// 10m, 1h0m0s as 1h and 1h30m0s as 1h30m; other durations as
// time.Duration.String does.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
