package policydiff

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/policy/policytest"
)

// Sample is one alarm state change evaluated under both versions of the
// policies.
type Sample struct {
	// Source says where the alarm comes from: "tests/checkout.yaml: CASE"
	// for a fixture, SourceHistory for a recorded state change.
	Source string
	Alarm  *alarm.Alarm
	// Facts are the evidence the fixture case gives, which steps' `when:`
	// conditions are judged against; zero (nothing known) for recorded
	// state changes, whose evidence history does not hold.
	Facts policy.Facts
}

// SourceHistory is the Source of samples from a history file.
const SourceHistory = "history"

// FixtureSamples returns the alarms of the fixture cases under tests/ in
// fsys (the payloads `medic policy test` feeds), one Sample per alarm.
// Payloads that are not alarm state changes are skipped. Fixtures that
// cannot be read are returned as problems, after the samples of those that
// could: `medic policy test` is where fixtures are checked.
func FixtureSamples(fsys fs.FS) ([]Sample, []error) {
	payloads, problems := policytest.Payloads(fsys)
	var out []Sample
	for _, p := range payloads {
		source := p.File + ": " + p.Name
		alarms, err := alarm.Decode(p.Data)
		var ignored *alarm.IgnoredError
		switch {
		case errors.As(err, &ignored):
			continue
		case err != nil:
			problems = append(problems, fmt.Errorf("%s: decode alarm: %w", source, err))
			continue
		}
		for _, a := range alarms {
			out = append(out, Sample{Source: source, Alarm: a, Facts: p.Facts})
		}
	}
	return out, problems
}

// UnionSamples merges the fixture samples of two versions: every sample of
// head, then those of base whose source head lacks. Sources stay distinct,
// so a case kept under the same name is evaluated once, with head's
// payload.
func UnionSamples(base, head []Sample) []Sample {
	have := make(map[string]bool, len(head))
	out := make([]Sample, 0, len(head)+len(base))
	for _, s := range head {
		have[s.Source] = true
		out = append(out, s)
	}
	for _, s := range base {
		if !have[s.Source] {
			out = append(out, s)
		}
	}
	return out
}
