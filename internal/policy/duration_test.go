package policy_test

import (
	"testing"
	"time"

	"github.com/medicbot/medic/internal/policy"
)

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Minute, "10m"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{100 * time.Minute, "1h40m"},
		{90 * time.Second, "1m30s"},
		{2*time.Hour + 30*time.Second, "2h0m30s"},
		{45 * time.Second, "45s"},
		{500 * time.Millisecond, "500ms"},
		{0, "0s"},
	} {
		if got := policy.FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
