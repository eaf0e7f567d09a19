package evidence

import (
	"fmt"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// Read sums ev up in one line, a reading and never a verdict, and names
// the step the evidence favours: the first step of matched whose `when:`
// conditions hold and that has some (a step without conditions is not
// favoured by the evidence, only allowed). The line has up to three
// parts, each only when its evidence is in:
//
//   - the pattern: "ELB 502s (12% of requests)" or "target 5xx";
//   - the targets: "3 of 6 targets unhealthy (Target.ResponseCodeMismatch)";
//   - the change: "began 4 min after task definition checkout:42", when
//     the spike began within RecentDeploy after the service's last
//     deployment.
func Read(ev *store.Evidence, matched []*policy.Policy) (reading, favours string) {
	if ev == nil {
		return "", ""
	}
	var parts []string
	if p := ev.Pattern; p != nil && p.Source != "" {
		s := sourceWords(p.Source, p.Code)
		if p.ErrorRate >= 0 {
			s += fmt.Sprintf(" (%s of requests)", percent(p.ErrorRate))
		}
		parts = append(parts, s)
	}
	if h := ev.Health; h != nil && h.TargetGroup != "" {
		total := h.Healthy + h.Unhealthy + h.Other
		s := fmt.Sprintf("%d of %d targets unhealthy", h.Unhealthy, total)
		if len(h.Reasons) > 0 {
			s += " (" + h.Reasons[0].Reason + ")"
		}
		if total == 0 {
			s = "no targets registered in " + h.TargetGroup
		}
		parts = append(parts, s)
	}
	f := ev.Facts()
	if f.SinceDeploy != nil && *f.SinceDeploy >= 0 && *f.SinceDeploy <= RecentDeploy {
		parts = append(parts, fmt.Sprintf("began %s after %s", minutes(*f.SinceDeploy), f.Deploy))
	}
	reading = strings.Join(parts, ", ")
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

// RecentDeploy is how soon after a deployment a spike must begin for the
// reading to mention it.
const RecentDeploy = time.Hour

func sourceWords(source, code string) string {
	switch {
	case source == "elb" && code != "5xx":
		return "ELB " + code + "s"
	case source == "elb":
		return "ELB 5xx"
	}
	return "target 5xx"
}

func percent(r float64) string {
	switch {
	case r >= 0.1:
		return fmt.Sprintf("%.0f%%", r*100)
	case r >= 0.001:
		return fmt.Sprintf("%.1f%%", r*100)
	}
	return "<0.1%"
}

func minutes(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	if m < 1 {
		return "under a minute"
	}
	return fmt.Sprintf("%d min", m)
}
