package store_test

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/medicbot/medic/internal/store"
)

func TestSuspectDeploysAreBounded(t *testing.T) {
	var many []store.SuspectDeploy
	for i := range 12 {
		many = append(many, store.SuspectDeploy{SHA: "sha" + strconv.Itoa(i), Author: "alice"})
	}
	long := strings.Repeat("é", store.MaxSuspectText) // two bytes each
	longURL := "https://github.com/acme/shop/pull/" + strings.Repeat("9", store.MaxSuspectURL)

	t.Run("at most MaxSuspects are kept, newest first", func(t *testing.T) {
		got := store.BoundSuspects(many)
		if len(got) != store.MaxSuspects || got[0].SHA != "sha0" || got[len(got)-1].SHA != "sha"+strconv.Itoa(store.MaxSuspects-1) {
			t.Fatalf("BoundSuspects kept %+v, want the first %d", got, store.MaxSuspects)
		}
	})
	t.Run("long text is cut on a character boundary", func(t *testing.T) {
		got := store.BoundSuspects([]store.SuspectDeploy{{SHA: "abc", Author: long, PRTitle: long}})
		if len(got) != 1 {
			t.Fatalf("got %d deploys, want 1", len(got))
		}
		for name, v := range map[string]string{"author": got[0].Author, "title": got[0].PRTitle} {
			if len(v) > store.MaxSuspectText || !utf8.ValidString(v) || !strings.HasSuffix(v, "…") {
				t.Errorf("%s = %d bytes, valid UTF-8 %v; want at most %d, valid, ending with …", name, len(v), utf8.ValidString(v), store.MaxSuspectText)
			}
		}
	})
	t.Run("a link too long is dropped, not cut", func(t *testing.T) {
		got := store.BoundSuspects([]store.SuspectDeploy{{SHA: "abc", PRURL: longURL, CompareURL: "https://github.com/acme/shop/compare/a...b"}})
		if got[0].PRURL != "" || got[0].CompareURL == "" {
			t.Errorf("links = %q, %q; want the long one dropped and the short one kept", got[0].PRURL, got[0].CompareURL)
		}
	})
	t.Run("a deploy without a SHA is dropped", func(t *testing.T) {
		got := store.BoundSuspects([]store.SuspectDeploy{{Author: "bob"}, {SHA: " ", Author: "carol"}, {SHA: "abc", Author: "dave"}})
		if len(got) != 1 || got[0].Author != "dave" {
			t.Errorf("got %+v, want only dave's deploy", got)
		}
	})
	t.Run("the note is one bounded line", func(t *testing.T) {
		got := store.BoundSuspectsNote("GitHub\ntimed out " + long)
		if len(got) > store.MaxSuspectsNote || strings.Contains(got, "\n") || !strings.HasPrefix(got, "GitHub timed out") {
			t.Errorf("note = %q (%d bytes), want one line of at most %d bytes", got, len(got), store.MaxSuspectsNote)
		}
	})
}

// TestIncidentKeepsItsSuspectsThroughJSON: both stores keep records as
// JSON documents, so the suspects survive a write and a read.
func TestIncidentKeepsItsSuspectsThroughJSON(t *testing.T) {
	in := store.Incident{ID: "inc", Suspects: []store.SuspectDeploy{{SHA: "abc", Author: "alice", PRNumber: 42, PRTitle: "Cache totals",
		PRURL: "https://github.com/acme/shop/pull/42", CompareURL: "https://github.com/acme/shop/compare/a...abc"}}, SuspectsNote: "GitHub timed out"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out store.Incident
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Suspects, in.Suspects) || out.SuspectsNote != in.SuspectsNote {
		t.Errorf("read back %+v %q, want %+v %q", out.Suspects, out.SuspectsNote, in.Suspects, in.SuspectsNote)
	}
}
