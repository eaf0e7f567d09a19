package remediations

import (
	"fmt"

	"github.com/medicbot/medic/internal/alarm"
)

// Scope is where a deployment's remediations act: the one account and region
// its AWS credentials and clients reach. An alarm from anywhere else must not
// be acted on, because every client would change the home account's and
// region's resources of the same name (in an active-active setup, the healthy
// region's service).
type Scope struct {
	// Account is the 12-digit account ID; empty when it is not known, in
	// which case only the region is checked.
	Account string
	// Region is the region code, e.g. "us-east-1"; empty checks nothing.
	Region string
}

// Refusal says why a's steps cannot run in s, or "" when they can: the
// alarm's account and region must be the scope's. An alarm that does not
// say where it is (no account or region) is refused too, because medic
// cannot tell which resources it means.
func (s Scope) Refusal(a *alarm.Alarm) string {
	if s.Region == "" || a == nil {
		return ""
	}
	where := s.Region
	if s.Account != "" {
		where = "account " + s.Account + " in " + s.Region
	}
	switch {
	case a.Region == "" || (s.Account != "" && a.Account == ""):
		return fmt.Sprintf("alarm %s does not say which account and region it is in; medic acts only in %s", a.Name, where)
	case s.Account != "" && a.Account != s.Account:
		return fmt.Sprintf("alarm %s is in account %s (%s); medic acts only in %s and will not change resources of the same name there", a.Name, a.Account, a.Region, where)
	case a.Region != s.Region:
		return fmt.Sprintf("alarm %s is in region %s; medic acts only in %s and will not change resources of the same name there", a.Name, a.Region, where)
	}
	return ""
}
