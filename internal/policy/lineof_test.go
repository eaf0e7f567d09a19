package policy_test

import (
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/internal/policy"
)

func TestLineOf(t *testing.T) {
	const src = `version: 1
policies:
  - name: first
    steps: &ladder
      - action: ecs.scale
        params:
          add: 2
  - name: second
    steps: *ladder
`
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	for _, tc := range []struct {
		name string
		path []any
		want int
	}{
		{"the root", nil, 1},
		{"a top-level key", []any{"policies"}, 2},
		{"a list element", []any{"policies", 1}, 8},
		{"a nested key", []any{"policies", 0, "steps", 0, "params", "add"}, 7},
		{"a missing key is reported at its parent", []any{"policies", 0, "steps", 0, "params", "max"}, 6},
		{"an index past the end is reported at the list", []any{"policies", 5, "name"}, 2},
		{"a path through an alias leads to where the anchored value is written", []any{"policies", 1, "steps", 0, "params", "add"}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := policy.LineOf(root, tc.path); got != tc.want {
				t.Errorf("LineOf(%v) = %d, want %d", tc.path, got, tc.want)
			}
		})
	}
	if got := policy.LineOf(nil, []any{"policies"}); got != 0 {
		t.Errorf("LineOf(nil) = %d, want 0", got)
	}
}
