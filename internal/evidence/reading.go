package evidence

import (
	"fmt"
	"time"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// Read sums ev up in one line, a reading and never a verdict, and names
// the step the evidence favours: the first step of matched whose `when:`
// conditions hold and that has some (a step without conditions is not
// favoured by the evidence, only allowed).
//
// The line is what the shipped reading rules (readings.yaml, see
// docs/readings.md) say of ev: up to three parts, each only when its
// evidence is in:
//
//   - the pattern: "ELB 502s (12% of requests)" or "target 5xx";
//   - the targets: "3 of 6 targets unhealthy (Target.ResponseCodeMismatch)";
//   - the change: "began 4 min after task definition checkout:42", when
//     the spike began within an hour after the service's last deployment.
func Read(ev *store.Evidence, matched []*policy.Policy) (reading, favours string) {
	if ev == nil {
		return "", ""
	}
	f := ev.Facts()
	// The shipped rules always load (TestTheShippedRulesLoad); were they
	// broken, the card would go without a reading rather than fail.
	if rules, err := ShippedRules(); err == nil {
		reading = rules.read(ev, f).Line
	}
	for _, pol := range matched {
		if pol == nil {
			continue
		}
		for _, st := range pol.Steps {
			if st.When.IsZero() {
				continue
			}
			if ok, _ := st.When.Holds(f); ok {
				return reading, fmt.Sprintf("step %d (%s) of %s, as %s", st.Index+1, st.Action, pol.Name, st.When)
			}
		}
	}
	return reading, ""
}

// percent writes an error rate (a fraction) as the view's .ErrorRate:
// "12%", "0.5%", "<0.1%".
func percent(r float64) string {
	switch {
	case r >= 0.1:
		return fmt.Sprintf("%.0f%%", r*100)
	case r >= 0.001:
		return fmt.Sprintf("%.1f%%", r*100)
	}
	return "<0.1%"
}

// minutes writes a duration as the view's .SinceDeploy: "4 min", "under a
// minute".
func minutes(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	if m < 1 {
		return "under a minute"
	}
	return fmt.Sprintf("%d min", m)
}
