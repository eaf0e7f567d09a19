package store

import (
	"strings"
	"time"
	"unicode/utf8"
)

// SuspectDeploy is one deploy that may have caused an incident's alarm, as
// the incident card shows it. The list is looked up once, when the incident
// is opened, and stored on the incident: cards render from it and never
// call the deploy source themselves.
type SuspectDeploy struct {
	// SHA is the deployed commit.
	SHA string `json:"sha"`
	// Author is the commit author's login (or name).
	Author string `json:"author,omitempty"`
	// PRNumber, PRTitle and PRURL name the pull request that brought the
	// commit, when there is one.
	PRNumber int    `json:"pr_number,omitempty"`
	PRTitle  string `json:"pr_title,omitempty"`
	PRURL    string `json:"pr_url,omitempty"`
	// CompareURL compares the commit with the one deployed before it.
	CompareURL string `json:"compare_url,omitempty"`
	// DeployedAt is when the deployment was created; zero when unknown.
	DeployedAt time.Time `json:"deployed_at,omitzero"`
}

// Bounds of the suspect deploys kept on an incident: the record stays small
// (a DynamoDB item holds at most 400 KB) whatever the deploy source
// returns.
const (
	// MaxSuspects is how many suspect deploys an incident keeps, newest
	// first.
	MaxSuspects = 5
	// MaxSuspectText bounds a deploy's SHA, author and pull request title
	// (in bytes; cut on a character boundary, with "…").
	MaxSuspectText = 200
	// MaxSuspectURL bounds a deploy's links. A longer link is dropped, not
	// cut: a cut link leads somewhere else.
	MaxSuspectURL = 500
	// MaxSuspectsNote bounds the note saying why the deploys could not be
	// looked up.
	MaxSuspectsNote = 200
)

// BoundSuspects returns at most MaxSuspects of deploys, in order, each
// with its fields within bounds. Deploys without a SHA are dropped.
func BoundSuspects(deploys []SuspectDeploy) []SuspectDeploy {
	var out []SuspectDeploy
	for _, d := range deploys {
		if len(out) == MaxSuspects {
			break
		}
		d.SHA = strings.TrimSpace(d.SHA)
		if d.SHA == "" {
			continue
		}
		d.SHA = cut(d.SHA, MaxSuspectText)
		d.Author = cut(d.Author, MaxSuspectText)
		d.PRTitle = cut(d.PRTitle, MaxSuspectText)
		if d.PRNumber < 0 {
			d.PRNumber = 0
		}
		d.PRURL = boundURL(d.PRURL)
		d.CompareURL = boundURL(d.CompareURL)
		out = append(out, d)
	}
	return out
}

// BoundSuspectsNote returns note within MaxSuspectsNote bytes, on one line.
func BoundSuspectsNote(note string) string {
	return cut(strings.Join(strings.Fields(note), " "), MaxSuspectsNote)
}

func boundURL(u string) string {
	if len(u) > MaxSuspectURL {
		return ""
	}
	return u
}

// cut returns s within max bytes, ending with "…" when it was cut, never
// splitting a character.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	s = s[:max-len(ellipsis)]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + ellipsis
}
