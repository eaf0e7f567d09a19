package slackbridge_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/wiring"
	"github.com/medicbot/medic/remediations"
	"github.com/medicbot/medic/remediations/github"
)

// rollbackPolicy proposes a GitHub rollback of acme/shop; the environment
// is templated from the alarm's tags.
const rollbackPolicy = `version: 1
policies:
  - name: checkout
    match:
      alarm: ["checkout-*-5xx"]
    slack: {channel: ` + channel + `}
    approvers: [` + sreGroup + `]
    steps:
      - action: test.scale
        approval: required
        params: {service: checkout}
      - action: github.rollback
        approval: required
        after: 5m
        params:
          repo: acme/shop
          environment: '{{ index .Tags "env" }}'
          window: 2h
`

// fakeGitHub serves the GitHub REST shapes SuspectDeploys and Plan read,
// for one repository, acme/shop, with three deploys to production.
type fakeGitHub struct {
	srv *httptest.Server
	at  time.Time // the alarm's time

	mu       sync.Mutex
	requests []string // "GET /path"
	fail     bool     // answer 500 to deployment listings
	hang     bool     // answer nothing until the client gives up
}

type fakeDeploy struct {
	id      int64
	sha     string
	login   string
	message string
	at      time.Time
	pr      int
	prTitle string
}

func sha(name string) string { return fmt.Sprintf("%x", sha1.Sum([]byte(name))) }

func (f *fakeGitHub) deploys() []fakeDeploy { // newest first, as GitHub lists them
	return []fakeDeploy{
		{id: 1003, sha: sha("cache"), login: "alice-dev", message: "Cache checkout totals\n\nIn Redis.", at: f.at.Add(-10 * time.Minute), pr: 42, prTitle: "Cache checkout totals in Redis"},
		{id: 1002, sha: sha("fonts"), login: "bob-dev", message: "Bump fonts", at: f.at.Add(-3 * time.Hour), pr: 41, prTitle: "Bump fonts"},
		{id: 1001, sha: sha("init"), login: "carol-dev", message: "Initial checkout", at: f.at.Add(-5 * time.Hour)},
	}
}

func newFakeGitHub(t *testing.T, at time.Time) *fakeGitHub {
	f := &fakeGitHub{at: at}
	base := "/repos/acme/shop"
	web := "https://github.com/acme/shop"
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	user := func(login string) map[string]any {
		return map[string]any{"login": login, "id": len(login), "type": "User"}
	}
	find := func(s string) (fakeDeploy, bool) {
		for _, d := range f.deploys() {
			if d.sha == s {
				return d, true
			}
		}
		return fakeDeploy{}, false
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+base, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"id": 1, "name": "shop", "full_name": "acme/shop", "owner": user("acme"),
			"html_url": web, "default_branch": "main", "private": true})
	})
	mux.HandleFunc("GET "+base+"/deployments", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		fail := f.fail
		f.mu.Unlock()
		if fail {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Server Error"})
			return
		}
		out := []map[string]any{}
		if r.URL.Query().Get("environment") == "production" {
			for _, d := range f.deploys() {
				out = append(out, map[string]any{
					"id": d.id, "sha": d.sha, "ref": "main", "task": "deploy", "payload": map[string]any{},
					"environment": "production", "original_environment": "production", "creator": user("deploy-bot"),
					"created_at": stamp(d.at), "updated_at": stamp(d.at),
					"url":          fmt.Sprintf("%s%s/deployments/%d", f.srv.URL, base, d.id),
					"statuses_url": fmt.Sprintf("%s%s/deployments/%d/statuses", f.srv.URL, base, d.id),
				})
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET "+base+"/deployments/{id}/statuses", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		for _, d := range f.deploys() {
			if d.id == id {
				writeJSON(w, http.StatusOK, []map[string]any{{"id": id * 10, "state": "success", "environment": "production",
					"creator": user("deploy-bot"), "created_at": stamp(d.at.Add(time.Minute)), "updated_at": stamp(d.at.Add(time.Minute))}})
				return
			}
		}
		writeJSON(w, http.StatusOK, []any{})
	})
	mux.HandleFunc("GET "+base+"/commits/{sha}", func(w http.ResponseWriter, r *http.Request) {
		d, ok := find(r.PathValue("sha"))
		if !ok {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "No commit found for SHA: " + r.PathValue("sha")})
			return
		}
		person := map[string]any{"name": strings.TrimSuffix(d.login, "-dev"), "email": d.login + "@example.com", "date": stamp(d.at.Add(-time.Hour))}
		writeJSON(w, http.StatusOK, map[string]any{
			"sha": d.sha, "html_url": web + "/commit/" + d.sha, "author": user(d.login), "committer": user("web-flow"),
			"commit": map[string]any{"message": d.message, "author": person, "committer": person,
				"tree": map[string]any{"sha": sha("tree:" + d.sha)}},
		})
	})
	mux.HandleFunc("GET "+base+"/commits/{sha}/pulls", func(w http.ResponseWriter, r *http.Request) {
		out := []map[string]any{}
		if d, ok := find(r.PathValue("sha")); ok && d.pr > 0 {
			out = append(out, map[string]any{"number": d.pr, "title": d.prTitle, "state": "closed", "merged": true,
				"merged_at": stamp(d.at.Add(-5 * time.Minute)), "html_url": web + "/pull/" + strconv.Itoa(d.pr), "user": user(d.login)})
		}
		writeJSON(w, http.StatusOK, out)
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		hang := f.hang
		f.mu.Unlock()
		if hang {
			<-r.Context().Done()
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pullLookups counts the pull-request lookups, which only SuspectDeploys
// makes.
func (f *fakeGitHub) pullLookups() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasSuffix(r, "/pulls") {
			n++
		}
	}
	return n
}

// requestCount counts every request GitHub received.
func (f *fakeGitHub) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeGitHub) setFailing(fail bool) {
	f.mu.Lock()
	f.fail = fail
	f.mu.Unlock()
}

func (f *fakeGitHub) setHanging(hang bool) {
	f.mu.Lock()
	f.hang = hang
	f.mu.Unlock()
}

// withGitHub registers the real github.rollback, talking to f through the
// real go-github client, beside the fake scale action, and gives the
// engine the wiring's SuspectFinder over it: deploys are looked up at
// intake, as the alarm function does.
func withGitHub(t *testing.T, f *fakeGitHub) option {
	client, err := github.NewClient(github.Config{Token: "ghp_test", APIURL: f.srv.URL + "/", Retry: github.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatalf("github client: %v", err)
	}
	rollback := github.New(client)
	return func(o *options) {
		withRegistry(func(act *scaleAction) (*remediations.Registry, error) {
			return remediations.NewRegistry(act, rollback)
		})(o)
		withSuspects(wiring.NewSuspectFinder(rollback))(o)
	}
}

func TestTheCardShowsTheDeploysBeforeTheAlarm(t *testing.T) {
	clk := newClock()
	f := newFakeGitHub(t, clk.Now())
	h := newHarness(t, rollbackPolicy, withClock(clk), withGitHub(t, f))

	inc := h.fire()
	cacheSHA, fontsSHA := sha("cache"), sha("fonts")
	card := h.lastCard(inc)
	mustContain(t, "the card", card,
		"*Suspect deploys*",
		"`"+cacheSHA[:7]+"` by alice-dev",
		"<https://github.com/acme/shop/pull/42|#42 Cache checkout totals in Redis>",
		"<https://github.com/acme/shop/compare/"+fontsSHA+"..."+cacheSHA+"|diff>")
	// The 3-hour-old deploy is outside the 2h window.
	mustNotContain(t, "the card", card, "Bump fonts")
	// The deploys are on the incident's record, which every later card is
	// rendered from.
	if len(inc.Suspects) != 1 || inc.Suspects[0].SHA != cacheSHA || inc.Suspects[0].PRNumber != 42 || inc.SuspectsNote != "" {
		t.Errorf("the incident stores suspects %+v (note %q), want the cache deploy", inc.Suspects, inc.SuspectsNote)
	}

	lookups, requests := f.pullLookups(), f.requestCount()
	h.click(inc, alice, "approve", firstProposal(inc))
	mustContain(t, "the card after a vote", h.lastCard(inc), "*Approved*", "#42 Cache checkout totals in Redis")
	if n := f.pullLookups(); n != lookups {
		t.Errorf("updating the card looked the deploys up again (%d pull lookups, was %d)", n, lookups)
	}
	if n := f.requestCount(); n != requests {
		t.Errorf("the vote and the card update called GitHub (%d requests, was %d)", n, requests)
	}
}

func TestTheCardIsPostedWhenGitHubFails(t *testing.T) {
	clk := newClock()
	f := newFakeGitHub(t, clk.Now())
	f.setFailing(true)
	var logs syncBuffer
	h := newHarness(t, rollbackPolicy, withClock(clk), withGitHub(t, f),
		withLogger(slog.New(slog.NewJSONHandler(&logs, nil))))

	inc := h.fire()
	card := h.lastCard(inc)
	mustNotContain(t, "the card", card, "by alice-dev")
	mustContain(t, "the card", card, "Awaiting approval", "*Suspect deploys* unavailable: GitHub is unavailable (HTTP 500)")
	mustContain(t, "the log", logs.String(), `"msg":"incident without suspect deploys"`, "acme/shop", "production")
}

// TestAClickIsAnsweredFromTheRecordsWhileGitHubHangs: GitHub accepts
// connections and never answers. The alarm's card is posted once the
// intake lookup times out, saying so; a click afterwards is answered and
// the card updated without a single request to GitHub.
func TestAClickIsAnsweredFromTheRecordsWhileGitHubHangs(t *testing.T) {
	clk := newClock()
	f := newFakeGitHub(t, clk.Now())
	f.setHanging(true)
	const timeout = 300 * time.Millisecond
	h := newHarness(t, rollbackPolicy, withClock(clk), withGitHub(t, f), withEngineConfig(engine.Config{SuspectTimeout: timeout}))

	start := time.Now()
	inc := h.fire()
	if took := time.Since(start); took > timeout+time.Second {
		t.Errorf("the alarm took %s with GitHub hanging, want about the %s lookup timeout", took, timeout)
	}
	mustContain(t, "the card", h.lastCard(inc), "*Suspect deploys* unavailable: GitHub timed out", "Awaiting approval")
	if inc.SuspectsNote != "GitHub timed out" {
		t.Errorf("the incident's suspects note = %q, want %q", inc.SuspectsNote, "GitHub timed out")
	}

	requests := f.requestCount()
	start = time.Now()
	if code := h.serve(h.signedClick(inc, alice, "approve", firstProposal(inc))); code != http.StatusOK {
		t.Fatalf("the click was answered %d, want 200", code)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the click took %s to answer with GitHub hanging, want under 1s", took)
	}
	mustContain(t, "the card after the click", h.lastCard(inc), "*Approved*", "*Suspect deploys* unavailable: GitHub timed out")
	if n := f.requestCount(); n != requests {
		t.Errorf("the click called GitHub (%d requests, was %d)", n, requests)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
