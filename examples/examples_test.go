package examples_test

import (
	"testing"

	"github.com/medicbot/medic/examples"
	"github.com/medicbot/medic/internal/policysuite"
)

// TestExamples is `medic policy lint examples` and `medic policy test
// examples`: the examples stay valid and do what their fixtures say.
func TestExamples(t *testing.T) { policysuite.Run(t, examples.FS, ".") }
