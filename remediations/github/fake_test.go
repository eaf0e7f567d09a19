package github

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// fakeGitHub is a small stateful GitHub REST (and GraphQL) server serving
// the documented JSON shapes of the endpoints medic uses. It records every
// request; intercept, when set, runs first and may answer instead.
type fakeGitHub struct {
	t   testing.TB
	srv *httptest.Server

	mu            sync.Mutex
	owner, name   string
	defaultBranch string
	allowAuto     *bool
	// cleanPRs makes enablePullRequestAutoMerge fail as GitHub does for a
	// pull request with nothing left to wait for.
	cleanPRs    bool
	deployments []*fakeDeployment // creation order, ids increasing
	statuses    map[int64][]fakeStatus
	commits     map[string]*fakeCommit
	refs        map[string]string // "heads/main" -> sha
	pulls       []*fakePull
	prsByCommit map[string][]int
	workflows   map[string]bool
	requests    []recorded
	nextID      int64
	intercept   func(w http.ResponseWriter, r *http.Request) bool
	// onCreateDeployment, when set, runs after a deployment is created
	// (e.g. to mark it successful, as the deploy workflow would).
	onCreateDeployment func(d *fakeDeployment)
	installToken       string
}

type fakeDeployment struct {
	ID          int64
	SHA, Ref    string
	Env         string
	Creator     string
	Description string
	Payload     json.RawMessage
	CreatedAt   time.Time
}

type fakeStatus struct {
	ID        int64
	State     string
	CreatedAt time.Time
}

type fakeCommit struct {
	SHA, Tree, Message string
	AuthorName, Login  string
	Date               time.Time
	Parents            []string
}

type fakePull struct {
	Number             int
	Title, Body        string
	Head, Base, NodeID string
	State              string
	Merged             bool
	MergedAt           time.Time
	MergeCommit        string
}

type recorded struct {
	Method, Path string
	Query        url.Values
	Body         []byte
	Auth         string
}

func newFake(t testing.TB) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{t: t, owner: "acme", name: "shop", installToken: "ghs_installation_token"}
	f.reset()
	mux := http.NewServeMux()
	repo := "/repos/{owner}/{repo}"
	mux.HandleFunc("GET "+repo, f.getRepo)
	mux.HandleFunc("GET "+repo+"/deployments", f.listDeployments)
	mux.HandleFunc("POST "+repo+"/deployments", f.createDeployment)
	mux.HandleFunc("GET "+repo+"/deployments/{id}/statuses", f.listStatuses)
	mux.HandleFunc("GET "+repo+"/commits/{sha}", f.getRepoCommit)
	mux.HandleFunc("GET "+repo+"/commits/{sha}/pulls", f.commitPulls)
	mux.HandleFunc("GET "+repo+"/git/commits/{sha}", f.getGitCommit)
	mux.HandleFunc("POST "+repo+"/git/commits", f.createGitCommit)
	mux.HandleFunc("GET "+repo+"/git/ref/{ref...}", f.getRef)
	mux.HandleFunc("POST "+repo+"/git/refs", f.createRef)
	mux.HandleFunc("DELETE "+repo+"/git/refs/{ref...}", f.deleteRef)
	mux.HandleFunc("POST "+repo+"/pulls", f.createPull)
	mux.HandleFunc("GET "+repo+"/pulls", f.listPulls)
	mux.HandleFunc("GET "+repo+"/pulls/{n}", f.getPull)
	mux.HandleFunc("PATCH "+repo+"/pulls/{n}", f.editPull)
	mux.HandleFunc("PUT "+repo+"/pulls/{n}/merge", f.mergePull)
	mux.HandleFunc("GET "+repo+"/actions/workflows/{file}", f.getWorkflow)
	mux.HandleFunc("POST "+repo+"/actions/workflows/{file}/dispatches", f.dispatch)
	mux.HandleFunc("POST /graphql", f.graphql)
	mux.HandleFunc("POST /app/installations/{id}/access_tokens", f.accessToken)

	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.requests = append(f.requests, recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body, Auth: r.Header.Get("Authorization")})
		hook := f.intercept
		f.mu.Unlock()
		if hook != nil && hook(w, r) {
			return
		}
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "4999")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// reset empties the fake's repository and forgets the requests and hooks,
// as a new fake starts (the server and its URL stay).
func (f *fakeGitHub) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.defaultBranch, f.allowAuto, f.cleanPRs = "main", nil, false
	f.deployments, f.statuses = nil, map[int64][]fakeStatus{}
	f.commits, f.refs = map[string]*fakeCommit{}, map[string]string{}
	f.pulls, f.prsByCommit = nil, map[string][]int{}
	f.workflows = map[string]bool{"deploy.yml": true}
	f.requests, f.nextID = nil, 1000
	f.intercept, f.onCreateDeployment = nil, nil
}

// --- scenario helpers ---

// sha returns a stable 40-hex SHA for a name.
func sha(name string) string { return fmt.Sprintf("%x", sha1.Sum([]byte(name))) }

func (f *fakeGitHub) addCommit(name, msg, login string, at time.Time, parents ...string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := sha(name)
	f.commits[s] = &fakeCommit{SHA: s, Tree: sha("tree:" + name), Message: msg, AuthorName: strings.ToUpper(login[:1]) + login[1:], Login: login, Date: at, Parents: parents}
	return s
}

// addDeploy records a deployment of commit s to env created at at, with
// statuses of the given states one minute apart.
func (f *fakeGitHub) addDeploy(s, env, creator string, at time.Time, states ...string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	d := &fakeDeployment{ID: f.nextID, SHA: s, Ref: "main", Env: env, Creator: creator, CreatedAt: at, Payload: json.RawMessage(`{}`)}
	f.deployments = append(f.deployments, d)
	for i, st := range states {
		f.nextID++
		f.statuses[d.ID] = append(f.statuses[d.ID], fakeStatus{ID: f.nextID, State: st, CreatedAt: at.Add(time.Duration(i+1) * time.Minute)})
	}
	return d.ID
}

func (f *fakeGitHub) addStatus(id int64, state string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.statuses[id] = append(f.statuses[id], fakeStatus{ID: f.nextID, State: state, CreatedAt: at})
}

func (f *fakeGitHub) setRef(ref, s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs[ref] = s
}

func (f *fakeGitHub) addPR(commit string, number int, title string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulls = append(f.pulls, &fakePull{Number: number, Title: title, Head: "feature-" + strconv.Itoa(number), Base: "main", State: "closed", Merged: true, MergedAt: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC), NodeID: "PR_" + strconv.Itoa(number)})
	f.prsByCommit[commit] = append(f.prsByCommit[commit], number)
}

// requestsTo returns the recorded requests with this method whose path ends
// with suffix.
func (f *fakeGitHub) requestsTo(method, suffix string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.requests {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeGitHub) allRequests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// --- JSON helpers ---

func (f *fakeGitHub) api(path string) string { return f.srv.URL + path }

func (f *fakeGitHub) repoPath() string { return "/repos/" + f.owner + "/" + f.name }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func user(login string) map[string]any {
	return map[string]any{"login": login, "id": len(login), "type": "User", "site_admin": false}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter, doc string) {
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/" + doc})
}

func (f *fakeGitHub) repoOK(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("owner") != f.owner || r.PathValue("repo") != f.name {
		notFound(w, "repos/repos#get-a-repository")
		return false
	}
	return true
}

func (f *fakeGitHub) deploymentJSON(d *fakeDeployment) map[string]any {
	u := f.api(f.repoPath() + "/deployments/" + strconv.FormatInt(d.ID, 10))
	return map[string]any{
		"url": u, "id": d.ID, "node_id": "DE_" + strconv.FormatInt(d.ID, 10),
		"sha": d.SHA, "ref": d.Ref, "task": "deploy", "payload": d.Payload,
		"original_environment": d.Env, "environment": d.Env, "description": d.Description,
		"creator": user(d.Creator), "created_at": ts(d.CreatedAt), "updated_at": ts(d.CreatedAt),
		"statuses_url": u + "/statuses", "repository_url": f.api(f.repoPath()),
		"transient_environment": false, "production_environment": d.Env == "production",
	}
}

func (f *fakeGitHub) pullJSON(p *fakePull) map[string]any {
	m := map[string]any{
		"url": f.api(f.repoPath() + "/pulls/" + strconv.Itoa(p.Number)), "id": p.Number * 10, "node_id": p.NodeID,
		"html_url": "https://github.com/" + f.owner + "/" + f.name + "/pull/" + strconv.Itoa(p.Number),
		"number":   p.Number, "state": p.State, "title": p.Title, "body": p.Body, "user": user("medic[bot]"),
		"head":   map[string]any{"ref": p.Head, "label": f.owner + ":" + p.Head, "sha": f.refs["heads/"+p.Head]},
		"base":   map[string]any{"ref": p.Base, "label": f.owner + ":" + p.Base},
		"merged": p.Merged, "draft": false,
	}
	if p.Merged {
		m["merged_at"] = ts(p.MergedAt)
	}
	if p.MergeCommit != "" {
		m["merge_commit_sha"] = p.MergeCommit
	}
	return m
}

func (f *fakeGitHub) gitCommitJSON(c *fakeCommit) map[string]any {
	parents := make([]map[string]any, len(c.Parents))
	for i, p := range c.Parents {
		parents[i] = map[string]any{"sha": p, "url": f.api(f.repoPath() + "/git/commits/" + p)}
	}
	person := map[string]any{"name": c.AuthorName, "email": c.Login + "@example.com", "date": ts(c.Date)}
	return map[string]any{
		"sha": c.SHA, "node_id": "C_" + c.SHA[:8], "url": f.api(f.repoPath() + "/git/commits/" + c.SHA),
		"html_url": "https://github.com/" + f.owner + "/" + f.name + "/commit/" + c.SHA,
		"author":   person, "committer": person, "message": c.Message,
		"tree":         map[string]any{"sha": c.Tree, "url": f.api(f.repoPath() + "/git/trees/" + c.Tree)},
		"parents":      parents,
		"verification": map[string]any{"verified": false, "reason": "unsigned"},
	}
}

// --- handlers ---

func (f *fakeGitHub) getRepo(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string]any{
		"id": 1296269, "node_id": "R_1", "name": f.name, "full_name": f.owner + "/" + f.name,
		"owner": user(f.owner), "private": true, "html_url": "https://github.com/" + f.owner + "/" + f.name,
		"url": f.api(f.repoPath()), "default_branch": f.defaultBranch,
		"allow_squash_merge": true, "allow_merge_commit": true, "allow_rebase_merge": true,
	}
	if f.allowAuto != nil {
		m["allow_auto_merge"] = *f.allowAuto
	}
	writeJSON(w, http.StatusOK, m)
}

func (f *fakeGitHub) listDeployments(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	var match []*fakeDeployment
	for i := len(f.deployments) - 1; i >= 0; i-- { // newest first
		d := f.deployments[i]
		if (q.Get("environment") == "" || q.Get("environment") == d.Env) && (q.Get("sha") == "" || q.Get("sha") == d.SHA) {
			match = append(match, d)
		}
	}
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage <= 0 {
		perPage = 30
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page <= 0 {
		page = 1
	}
	last := max((len(match)+perPage-1)/perPage, 1)
	link := func(p int, rel string) string {
		u := *r.URL
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s%s>; rel=%q", f.srv.URL, u.RequestURI(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	out := []map[string]any{}
	for i := (page - 1) * perPage; i < min(page*perPage, len(match)); i++ {
		out = append(out, f.deploymentJSON(match[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeGitHub) createDeployment(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	var req struct {
		Ref              string          `json:"ref"`
		Environment      string          `json:"environment"`
		Description      string          `json:"description"`
		Payload          json.RawMessage `json:"payload"`
		RequiredContexts *[]string       `json:"required_contexts"`
		AutoMerge        *bool           `json:"auto_merge"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
		return
	}
	f.mu.Lock()
	c, ok := f.commits[req.Ref]
	if !ok {
		f.mu.Unlock()
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "No ref found for: " + req.Ref, "documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment"})
		return
	}
	f.nextID++
	d := &fakeDeployment{ID: f.nextID, SHA: c.SHA, Ref: req.Ref, Env: req.Environment, Creator: "medic[bot]",
		Description: req.Description, Payload: req.Payload, CreatedAt: time.Date(2024, 5, 1, 12, 1, 0, 0, time.UTC)}
	f.deployments = append(f.deployments, d)
	hook := f.onCreateDeployment
	out := f.deploymentJSON(d)
	f.mu.Unlock()
	if hook != nil {
		hook(d)
	}
	writeJSON(w, http.StatusCreated, out)
}

func (f *fakeGitHub) listStatuses(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []map[string]any{}
	sts := f.statuses[id]
	for i := len(sts) - 1; i >= 0; i-- { // newest first
		s := sts[i]
		out = append(out, map[string]any{
			"url": f.api(fmt.Sprintf("%s/deployments/%d/statuses/%d", f.repoPath(), id, s.ID)), "id": s.ID,
			"node_id": "DES_" + strconv.FormatInt(s.ID, 10), "state": s.State, "creator": user("deploy-bot"),
			"description": "", "environment": "production", "target_url": "", "log_url": "",
			"created_at": ts(s.CreatedAt), "updated_at": ts(s.CreatedAt),
			"deployment_url": f.api(fmt.Sprintf("%s/deployments/%d", f.repoPath(), id)), "repository_url": f.api(f.repoPath()),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeGitHub) getRepoCommit(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.commits[r.PathValue("sha")]
	if !ok {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "No commit found for SHA: " + r.PathValue("sha")})
		return
	}
	g := f.gitCommitJSON(c)
	delete(g, "sha")
	delete(g, "html_url")
	writeJSON(w, http.StatusOK, map[string]any{
		"sha": c.SHA, "node_id": "C_" + c.SHA[:8], "commit": g,
		"url":      f.api(f.repoPath() + "/commits/" + c.SHA),
		"html_url": "https://github.com/" + f.owner + "/" + f.name + "/commit/" + c.SHA,
		"author":   user(c.Login), "committer": user("web-flow"), "parents": g["parents"],
		"stats": map[string]any{"additions": 1, "deletions": 1, "total": 2}, "files": []any{},
	})
}

func (f *fakeGitHub) commitPulls(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []map[string]any{}
	for _, n := range f.prsByCommit[r.PathValue("sha")] {
		for _, p := range f.pulls {
			if p.Number == n {
				out = append(out, f.pullJSON(p))
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeGitHub) getGitCommit(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.commits[r.PathValue("sha")]
	if !ok {
		notFound(w, "git/commits#get-a-commit-object")
		return
	}
	writeJSON(w, http.StatusOK, f.gitCommitJSON(c))
}

func (f *fakeGitHub) createGitCommit(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	var req struct {
		Message string   `json:"message"`
		Tree    string   `json:"tree"`
		Parents []string `json:"parents"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Tree == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Invalid request.\n\n\"tree\" wasn't supplied."})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := sha(fmt.Sprintf("%s|%v|%s", req.Tree, req.Parents, req.Message))
	c := &fakeCommit{SHA: s, Tree: req.Tree, Message: req.Message, AuthorName: "medic[bot]", Login: "medic[bot]", Date: time.Date(2024, 5, 1, 12, 1, 0, 0, time.UTC), Parents: req.Parents}
	f.commits[s] = c
	writeJSON(w, http.StatusCreated, f.gitCommitJSON(c))
}

func (f *fakeGitHub) refJSON(ref, s string) map[string]any {
	return map[string]any{"ref": "refs/" + ref, "node_id": "REF_1", "url": f.api(f.repoPath() + "/git/refs/" + ref),
		"object": map[string]any{"type": "commit", "sha": s, "url": f.api(f.repoPath() + "/git/commits/" + s)}}
}

func (f *fakeGitHub) getRef(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ref := r.PathValue("ref")
	s, ok := f.refs[ref]
	if !ok {
		notFound(w, "git/refs#get-a-reference")
		return
	}
	writeJSON(w, http.StatusOK, f.refJSON(ref, s))
}

func (f *fakeGitHub) createRef(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	var req struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	defer f.mu.Unlock()
	ref, ok := strings.CutPrefix(req.Ref, "refs/")
	if !ok || strings.Count(req.Ref, "/") < 2 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Reference name must start with 'refs/' and have at least two slashes."})
		return
	}
	if _, exists := f.refs[ref]; exists {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Reference already exists", "documentation_url": "https://docs.github.com/rest/git/refs#create-a-reference"})
		return
	}
	f.refs[ref] = req.SHA
	writeJSON(w, http.StatusCreated, f.refJSON(ref, req.SHA))
}

func (f *fakeGitHub) deleteRef(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ref := r.PathValue("ref")
	if _, ok := f.refs[ref]; !ok {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Reference does not exist"})
		return
	}
	delete(f.refs, ref)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeGitHub) createPull(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	var req struct{ Title, Head, Base, Body string }
	_ = json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.refs["heads/"+req.Head]; !ok {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
			"errors": []any{map[string]any{"resource": "PullRequest", "field": "head", "code": "invalid"}}})
		return
	}
	for _, p := range f.pulls {
		if p.Head == req.Head && p.State == "open" {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
				"errors": []any{map[string]any{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for acme:" + req.Head + "."}}})
			return
		}
	}
	p := &fakePull{Number: 100 + len(f.pulls), Title: req.Title, Body: req.Body, Head: req.Head, Base: req.Base, State: "open"}
	p.NodeID = "PR_kwDO" + strconv.Itoa(p.Number)
	f.pulls = append(f.pulls, p)
	writeJSON(w, http.StatusCreated, f.pullJSON(p))
}

func (f *fakeGitHub) listPulls(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []map[string]any{}
	for _, p := range f.pulls {
		if (q.Get("head") == "" || q.Get("head") == f.owner+":"+p.Head) && (q.Get("state") == "all" || q.Get("state") == p.State || (q.Get("state") == "" && p.State == "open")) {
			out = append(out, f.pullJSON(p))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeGitHub) pull(w http.ResponseWriter, r *http.Request) *fakePull {
	n, _ := strconv.Atoi(r.PathValue("n"))
	for _, p := range f.pulls {
		if p.Number == n {
			return p
		}
	}
	notFound(w, "pulls/pulls#get-a-pull-request")
	return nil
}

func (f *fakeGitHub) getPull(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.pull(w, r); p != nil {
		writeJSON(w, http.StatusOK, f.pullJSON(p))
	}
}

func (f *fakeGitHub) editPull(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	var req struct {
		State string `json:"state"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.pull(w, r); p != nil {
		if req.State != "" {
			p.State = req.State
		}
		writeJSON(w, http.StatusOK, f.pullJSON(p))
	}
}

func (f *fakeGitHub) mergePull(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	var req struct {
		SHA         string `json:"sha"`
		MergeMethod string `json:"merge_method"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pull(w, r)
	if p == nil {
		return
	}
	if head := f.refs["heads/"+p.Head]; req.SHA != "" && req.SHA != head {
		writeJSON(w, http.StatusConflict, map[string]any{"message": "Head branch was modified. Review and try the merge again."})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sha": f.squash(p), "merged": true, "message": "Pull Request successfully merged"})
}

// squash merges p as GitHub's squash merge does: one new commit on the base
// branch with the head branch's tree, its parent the base's head; the base
// moves to it and the pull request records it as merge_commit_sha. It
// returns the new commit's SHA. f.mu must be held.
func (f *fakeGitHub) squash(p *fakePull) string {
	head, parent := f.commits[f.refs["heads/"+p.Head]], f.refs["heads/"+p.Base]
	tree := ""
	if head != nil {
		tree = head.Tree
	}
	s := sha(fmt.Sprintf("squash|%d|%s|%s", p.Number, tree, parent))
	f.commits[s] = &fakeCommit{SHA: s, Tree: tree, Message: p.Title + " (#" + strconv.Itoa(p.Number) + ")",
		AuthorName: "Medic[bot]", Login: "medic[bot]", Date: time.Date(2024, 5, 1, 12, 2, 0, 0, time.UTC), Parents: []string{parent}}
	f.refs["heads/"+p.Base] = s
	p.State, p.Merged, p.MergedAt, p.MergeCommit = "closed", true, time.Date(2024, 5, 1, 12, 2, 0, 0, time.UTC), s
	return s
}

// mergePR squash-merges pull request n, as someone clicking Merge would,
// and returns the merge commit's SHA ("" if there is no such pull request).
func (f *fakeGitHub) mergePR(n int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.pulls {
		if p.Number == n {
			return f.squash(p)
		}
	}
	return ""
}

func (f *fakeGitHub) getWorkflow(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	file := r.PathValue("file")
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.workflows[file] {
		notFound(w, "actions/workflows#get-a-workflow")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": 161335, "node_id": "MDg6V29ya2Zsb3cxNjEzMzU=", "name": "Deploy",
		"path": ".github/workflows/" + file, "state": "active", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
		"url": f.api(f.repoPath() + "/actions/workflows/161335"), "html_url": "https://github.com/acme/shop/blob/main/.github/workflows/" + file})
}

func (f *fakeGitHub) dispatch(w http.ResponseWriter, r *http.Request) {
	if !f.repoOK(w, r) {
		return
	}
	var req struct {
		Ref    string         `json:"ref"`
		Inputs map[string]any `json:"inputs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Ref == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Invalid request.\n\n\"ref\" wasn't supplied."})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeGitHub) graphql(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	if !strings.Contains(req.Query, "enablePullRequestAutoMerge") {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": "unexpected query"}}})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.allowAuto != nil && !*f.allowAuto {
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"enablePullRequestAutoMerge": nil},
			"errors": []any{map[string]any{"type": "UNPROCESSABLE", "path": []string{"enablePullRequestAutoMerge"},
				"message": "Pull request Auto merge is not allowed for this repository"}}})
		return
	}
	if f.cleanPRs {
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"enablePullRequestAutoMerge": nil},
			"errors": []any{map[string]any{"type": "UNPROCESSABLE", "path": []string{"enablePullRequestAutoMerge"},
				"message": "Pull request Pull request is in clean status"}}})
		return
	}
	for _, p := range f.pulls {
		if p.NodeID == req.Variables["id"] {
			writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"enablePullRequestAutoMerge": map[string]any{"pullRequest": map[string]any{"number": p.Number}}}})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": nil, "errors": []any{map[string]any{"type": "NOT_FOUND", "message": "Could not resolve to a node with the global id"}}})
}

func (f *fakeGitHub) accessToken(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "A JSON web token could not be decoded"})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": f.installToken, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		"permissions": map[string]any{"deployments": "write", "contents": "write"}, "repository_selection": "selected"})
}

// --- clients ---

// fakeClock is an injected clock whose Sleep advances time at once.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// client returns a real go-github client for the fake, built by NewClient
// with a token and the fake clock.
func (f *fakeGitHub) client(t testing.TB, clk *fakeClock) *gh.Client {
	t.Helper()
	c, err := NewClient(Config{Token: "ghp_secret_test_token", APIURL: f.srv.URL,
		Retry: RetryPolicy{Now: clk.Now, Sleep: clk.Sleep}})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}
