package policydiff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"gopkg.in/yaml.v3"

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
}

// SourceHistory is the Source of samples from a history file.
const SourceHistory = "history"

// fixtureCase is the part of a policytest case that locates its payload;
// other fields (expect...) are ignored here.
type fixtureCase struct {
	Name    string    `yaml:"name"`
	Alarm   string    `yaml:"alarm"`
	Payload yaml.Node `yaml:"payload"`
}

type fixtureFile struct {
	fixtureCase `yaml:",inline"`
	Cases       []fixtureCase `yaml:"cases"`
}

// FixtureSamples returns the alarms of the fixture cases under tests/ in
// fsys (the payloads `medic policy test` feeds), one Sample per alarm.
// Payloads that are not alarm state changes are skipped. Fixtures that
// cannot be read are returned as problems, after the samples of those that
// could: `medic policy test` is where fixtures are checked.
func FixtureSamples(fsys fs.FS) ([]Sample, []error) {
	entries, err := fs.ReadDir(fsys, policytest.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{fmt.Errorf("read fixtures: %w", err)}
	}
	var out []Sample
	var problems []error
	for _, e := range entries {
		if e.IsDir() || !policy.IsPolicyFile(e.Name()) {
			continue
		}
		file := path.Join(policytest.Dir, e.Name())
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			problems = append(problems, fmt.Errorf("read fixture %s: %w", file, err))
			continue
		}
		var f fixtureFile
		if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&f); err != nil {
			problems = append(problems, fmt.Errorf("read fixture %s: %w", file, err))
			continue
		}
		cases := f.Cases
		if len(cases) == 0 && (f.Alarm != "" || f.Payload.Kind != 0) {
			cases = []fixtureCase{f.fixtureCase}
		}
		for i, c := range cases {
			name := c.Name
			if name == "" {
				name = fmt.Sprintf("case %d", i+1)
			}
			source := file + ": " + name
			payload, err := fixturePayload(fsys, file, c)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", source, err))
				continue
			}
			alarms, err := alarm.Decode(payload)
			var ignored *alarm.IgnoredError
			switch {
			case errors.As(err, &ignored):
				continue
			case err != nil:
				problems = append(problems, fmt.Errorf("%s: decode alarm: %w", source, err))
				continue
			}
			for _, a := range alarms {
				out = append(out, Sample{Source: source, Alarm: a})
			}
		}
	}
	return out, problems
}

func fixturePayload(fsys fs.FS, file string, c fixtureCase) ([]byte, error) {
	switch {
	case c.Alarm != "":
		data, err := fs.ReadFile(fsys, path.Join(path.Dir(file), c.Alarm))
		if err != nil {
			return nil, fmt.Errorf("read alarm payload: %w", err)
		}
		return data, nil
	case c.Payload.Kind == yaml.ScalarNode:
		return []byte(c.Payload.Value), nil
	case c.Payload.Kind != 0:
		var v any
		if err := c.Payload.Decode(&v); err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		data, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		return data, nil
	}
	return nil, errors.New("no alarm or payload")
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
