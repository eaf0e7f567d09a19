package policy

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// enums are the closed sets of values of some fields, for JSONSchema; they
// list exactly what validation accepts.
var enums = map[string][]string{
	"version":     {"1"},
	"state":       {string(alarm.StateAlarm)}, // ActsOn: medic acts only on ALARM
	"approval":    {string(ApprovalAuto), string(ApprovalRequired), string(ApprovalShadow)},
	"on_recovery": {OnRecoveryUndo},
	"on_blocked":  {OnBlockedStop, OnBlockedContinue},
	"source":      {"elb", "target"},
	"method":      {"GET", "HEAD"},
}

// patterns are the shapes of some string fields; validation and JSONSchema
// both read them.
var patterns = map[string]*regexp.Regexp{
	"name":     regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`),
	"channel":  regexp.MustCompile(`^[CG][A-Z0-9]{6,20}$`),
	"approver": regexp.MustCompile(`^[UWS][A-Z0-9]{6,20}$`),
	"count":    regexp.MustCompile(`^(>=|<=|>|<|==)?\s*([0-9]{1,6})$`),
	"code":     regexp.MustCompile(`^(502|503|504|5xx)$`),
}

// maxNameLen keeps names usable in Slack action IDs and store keys.
const maxNameLen = 64

// pathError is a validation problem at a path; the builder adds file and line.
type pathError struct {
	path fieldPath
	msg  string
}

// validator checks raw policies and compiles them, collecting every problem.
type validator struct {
	catalog Catalog
	// aliases are the account aliases of AccountsFile (nil without one).
	aliases map[string][]string
	errs    []pathError
}

func (v *validator) add(p fieldPath, format string, args ...any) {
	v.errs = append(v.errs, pathError{p, fmt.Sprintf(format, args...)})
}

func (v *validator) file(raw *rawFile) []*Policy {
	switch {
	case raw.Version == nil:
		v.add(fieldPath{"version"}, "required: write version: 1")
	case *raw.Version != 1:
		v.add(fieldPath{"version"}, "must be 1, got %d", *raw.Version)
	}
	if len(raw.Policies) == 0 {
		v.add(fieldPath{"policies"}, "at least one policy is required")
	}
	out := make([]*Policy, len(raw.Policies))
	for i := range raw.Policies {
		out[i] = v.policy(fieldPath{"policies", i}, &raw.Policies[i])
	}
	return out
}

func (v *validator) policy(p fieldPath, rp *rawPolicy) *Policy {
	pol := &Policy{
		Name:        rp.Name,
		Description: rp.Description,
		Runbook:     rp.Runbook,
		Enabled:     rp.Enabled == nil || *rp.Enabled,
		OnRecovery:  rp.OnRecovery,
		OnBlocked:   rp.OnBlocked,
	}
	if pol.OnBlocked == "" {
		pol.OnBlocked = OnBlockedStop
	}
	switch {
	case rp.Name == "":
		v.add(p.key("name"), "required")
	case len(rp.Name) > maxNameLen:
		v.add(p.key("name"), "must be at most %d characters, got %d", maxNameLen, len(rp.Name))
	case !patterns["name"].MatchString(rp.Name):
		v.add(p.key("name"), "must be lower-case letters, digits and dashes (starting with a letter or digit), got %q", rp.Name)
	}
	if rp.Runbook != "" {
		if u, err := url.Parse(rp.Runbook); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.add(p.key("runbook"), "must be an http(s) URL, got %q", rp.Runbook)
		}
	}
	pol.Cooldown = v.duration(p.key("cooldown"), rp.Cooldown, DefaultCooldown)
	if rp.MaxPerHour != nil {
		pol.MaxPerHour = *rp.MaxPerHour
		if pol.MaxPerHour < 0 {
			v.add(p.key("max_per_hour"), "must be >= 0, got %d", pol.MaxPerHour)
		}
	}
	if rp.OnBlocked != "" && rp.OnBlocked != OnBlockedStop && rp.OnBlocked != OnBlockedContinue {
		v.add(p.key("on_blocked"), "must be %q or %q (or left out: %q), got %q", OnBlockedStop, OnBlockedContinue, OnBlockedStop, rp.OnBlocked)
	}
	if rp.OnRecovery != "" && rp.OnRecovery != OnRecoveryUndo {
		v.add(p.key("on_recovery"), "must be %q or left out, got %q", OnRecoveryUndo, rp.OnRecovery)
	}
	if rp.Slack != nil {
		pol.SlackChannel = rp.Slack.Channel
		if !patterns["channel"].MatchString(rp.Slack.Channel) {
			v.add(p.key("slack").key("channel"), "must be a Slack channel ID such as C0123ABCDE (names change, IDs do not), got %q", rp.Slack.Channel)
		}
	}
	if rp.Evidence != nil {
		pol.EvidenceBudget = v.duration(p.key("evidence").key("budget"), rp.Evidence.Budget, 0)
		if pol.EvidenceBudget > MaxEvidenceBudget {
			v.add(p.key("evidence").key("budget"), "must be at most %s (the card waits for it), got %s", MaxEvidenceBudget, rp.Evidence.Budget)
		}
	}
	pol.Probe = v.probe(p.key("probe"), rp.Probe)
	if rp.Logs != nil {
		pol.Logs = &Logs{Groups: slices.Clone(rp.Logs.Groups), Query: rp.Logs.Query}
		switch {
		case len(rp.Logs.Groups) == 0:
			v.add(p.key("logs").key("groups"), "at least one log group is required")
		case len(rp.Logs.Groups) > MaxLogGroups:
			v.add(p.key("logs").key("groups"), "at most %d log groups, got %d", MaxLogGroups, len(rp.Logs.Groups))
		}
		if len(rp.Logs.Query) > 10000 {
			v.add(p.key("logs").key("query"), "must be at most 10000 characters")
		}
	}
	for i, u := range rp.Upstreams {
		at := p.key("upstreams").at(i)
		if !patterns["name"].MatchString(u.Name) {
			v.add(at.key("name"), "must be lower-case letters, digits and dashes, got %q", u.Name)
		}
		if msg := ProbeURLProblem(u.URL); msg != "" {
			v.add(at.key("url"), "%s", msg)
		}
		pol.Upstreams = append(pol.Upstreams, Upstream{Name: u.Name, URL: u.URL})
	}
	defaultApprovers := v.approvers(p.key("approvers"), rp.Approvers)
	pol.Approvers = defaultApprovers
	pol.Match, pol.matcher = v.match(p.key("match"), rp.Match)
	pol.matcher.enabled = pol.Enabled

	if len(rp.Steps) == 0 {
		v.add(p.key("steps"), "at least one step is required")
	}
	inherited := defaultApprovers
	for i := range rp.Steps {
		st := v.step(p.key("steps").at(i), i, &rp.Steps[i], inherited)
		st.policy = pol.Name
		if len(rp.Steps[i].Approvers) > 0 {
			inherited = st.Approvers
		}
		pol.Steps = append(pol.Steps, st)
	}
	if rp.OnRecovery == OnRecoveryUndo && !slices.ContainsFunc(pol.Steps, func(st *Step) bool {
		return st.Approval == ApprovalAuto && st.schema.Reversible
	}) {
		v.add(p.key("on_recovery"), "undo needs at least one approval: auto step whose action can be undone; none of this policy's steps is one")
	}
	return pol
}

func (v *validator) step(p fieldPath, i int, rs *rawStep, inherited []string) *Step {
	st := &Step{Index: i, Action: rs.Action, Approval: Approval(rs.Approval)}
	schema, known := v.catalog.Schema(rs.Action)
	switch {
	case rs.Action == "":
		v.add(p.key("action"), "required (known actions: %s)", strings.Join(knownActions(v.catalog), ", "))
	case !known:
		v.add(p.key("action"), "unknown action %q (known actions: %s)", rs.Action, strings.Join(knownActions(v.catalog), ", "))
	}
	st.schema = schema

	switch st.Approval {
	case ApprovalAuto, ApprovalRequired, ApprovalShadow:
	case "":
		v.add(p.key("approval"), "required: auto, required or shadow")
	default:
		v.add(p.key("approval"), "must be auto, required or shadow, got %q", rs.Approval)
	}

	if i == 0 && rs.After != "" {
		v.add(p.key("after"), "not allowed on the first step: it is proposed as soon as the alarm fires")
	}
	if i > 0 {
		st.After = v.duration(p.key("after"), rs.After, DefaultAfter)
	}

	explicit := v.approvers(p.key("approvers"), rs.Approvers)
	if st.Approval == ApprovalRequired {
		st.Approvers = explicit
		if len(st.Approvers) == 0 {
			st.Approvers = slices.Clone(inherited)
		}
		if len(st.Approvers) == 0 {
			v.add(p.key("approvers"), "required for approval: required (on this step, an earlier step or the policy): Slack user (U...) or user-group (S...) IDs")
		}
		st.Quorum = 1
		if rs.Quorum != nil {
			st.Quorum = *rs.Quorum
		}
		groups := slices.ContainsFunc(st.Approvers, func(id string) bool { return strings.HasPrefix(id, "S") })
		switch {
		case st.Quorum < 1:
			v.add(p.key("quorum"), "must be >= 1, got %d", st.Quorum)
		case !groups && len(st.Approvers) > 0 && st.Quorum > len(st.Approvers):
			v.add(p.key("quorum"), "is %d but only %d approvers are listed: the step could never be approved", st.Quorum, len(st.Approvers))
		}
		st.Expires = v.duration(p.key("expires"), rs.Expires, DefaultExpires)
		if rs.Expires != "" && st.Expires == 0 {
			v.add(p.key("expires"), "must be more than 0s")
		}
	} else if st.Approval != "" {
		for _, f := range []struct {
			name  string
			given bool
		}{{"approvers", len(rs.Approvers) > 0}, {"quorum", rs.Quorum != nil}, {"expires", rs.Expires != ""}} {
			if f.given {
				v.add(p.key(f.name), "only applies to approval: required, this step is %s", st.Approval)
			}
		}
	}

	st.When = v.when(p.key("when"), rs.When)
	st.params, st.names = v.params(p.key("params"), rs.Params, schema, known)
	return st
}

// approvers checks a list of Slack user and user-group IDs.
func (v *validator) approvers(p fieldPath, ids []string) []string {
	for i, id := range ids {
		switch {
		case !patterns["approver"].MatchString(id):
			v.add(p.at(i), "must be a Slack user ID (U..., W...) or user-group ID (S...), got %q", id)
		case slices.Index(ids, id) < i:
			v.add(p.at(i), "%s is listed twice", id)
		}
	}
	return slices.Clone(ids)
}

// duration parses a Go duration such as "10m"; "" gives def.
func (v *validator) duration(p fieldPath, s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		v.add(p, "must be a duration such as 10m or 1h30m, got %q", s)
		return def
	}
	return d
}

// params compiles an action's parameters and checks the literal ones
// against the action's schema; templated ones are checked when rendered.
func (v *validator) params(p fieldPath, raw map[string]any, schema remediations.Schema, known bool) (map[string]*value, []string) {
	names := slices.Sorted(maps.Keys(raw))
	vals := make(map[string]*value, len(raw))
	literal := make(remediations.Params, len(raw))
	skip := make(map[string]bool)
	for _, name := range names {
		val := v.value(p.key(name), name, raw[name])
		vals[name] = val
		literal[name] = val.plain()
		if val.templated() {
			skip[name] = true
		}
	}
	if !known {
		return vals, names
	}
	for _, err := range schema.Validate(literal, skip) {
		var fe *remediations.FieldError
		if errors.As(err, &fe) && fe.Param != "" {
			v.add(p.key(fe.Param), "%s", fe.Msg)
			continue
		}
		v.add(p, "%s", err)
	}
	return vals, names
}

// knownActions lists the catalog's action names when it can tell them.
func knownActions(c Catalog) []string {
	switch c := c.(type) {
	case interface{ Names() []string }:
		return c.Names()
	case remediations.Catalog:
		return slices.Sorted(maps.Keys(c))
	}
	return nil
}
