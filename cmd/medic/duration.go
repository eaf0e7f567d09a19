package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseDuration parses a Go duration ("90m", "36h") that may start with a
// number of days ("7d", "1d12h").
func parseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(in, 'd'); i > 0 {
		n, err := strconv.Atoi(in[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 90m, 36h or 7d", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		in = in[i+1:]
		if in == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(in)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 90m, 36h or 7d", s)
	}
	return days + d, nil
}

// formatDuration writes d the way parseDuration reads it, in days when it
// is a whole number of them.
func formatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return ""
	}
	return formatDuration(*v.d)
}

func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// durationFlag defines a duration flag that also takes days ("7d").
func durationFlag(fset *flag.FlagSet, name string, def time.Duration, usage string) *time.Duration {
	d := def
	fset.Var(durationValue{&d}, name, usage)
	return &d
}
