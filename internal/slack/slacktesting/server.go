// Package slacktesting is a recording fake of the Slack Web API for medic's
// tests, built on slack-go's slacktest server, plus helpers that build
// block_actions requests signed the way Slack signs them (for an HTTP
// handler and for a Lambda Function URL).
//
// It is an ordinary package, not a _test one, so end-to-end tests elsewhere
// can reuse it. Production code must not import it.
//
// What it adds to slacktest: every call to chat.postMessage, chat.update,
// chat.postEphemeral and usergroups.users.list is recorded (method, form
// values, parsed blocks); chat.update and usergroups.users.list (with
// configurable groups) are implemented; any of those methods can be made to
// answer 429 with Retry-After for the next N calls, or fail with a Slack
// error. Other slacktest endpoints (conversations.*, auth.test,
// apps.connections.open, the websocket) work as slacktest serves them and are
// not recorded.
package slacktesting

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

// The Web API methods the server records.
const (
	MethodPostMessage    = "chat.postMessage"
	MethodUpdate         = "chat.update"
	MethodPostEphemeral  = "chat.postEphemeral"
	MethodUserGroupUsers = "usergroups.users.list"
	// The files upload v2 flow: getUploadURLExternal, a POST of the file
	// to the URL it returns (recorded as MethodFileUpload with the file's
	// size in Form "size"), then completeUploadExternal.
	MethodGetUploadURL   = "files.getUploadURLExternal"
	MethodFileUpload     = "upload"
	MethodCompleteUpload = "files.completeUploadExternal"
)

// Request is one recorded Web API call.
type Request struct {
	// Method is the Web API method, e.g. "chat.update".
	Method string
	// Form holds the decoded form values, without the token.
	Form url.Values
	// Blocks are the parsed "blocks" value, if any.
	Blocks []slack.Block
	// BlocksJSON is the raw "blocks" value, if any.
	BlocksJSON json.RawMessage
	// RateLimited is true when the server answered this call with 429.
	RateLimited bool
	// Failed is the Slack error the server answered with (see FailWith),
	// "" when the call succeeded.
	Failed string
}

// Server is a started-or-not slacktest server with recording handlers.
type Server struct {
	*slacktest.Server

	mu         sync.Mutex
	requests   []Request
	groups     map[string][]string
	rateLimits map[string]*rateLimit
	failures   map[string]string
	seq        int
	stop       chan struct{}
	stopOnce   sync.Once
}

type rateLimit struct {
	remaining  int
	retryAfter time.Duration
}

// NewServer returns an unstarted Server; extra binders run after the
// recording ones, so they cannot replace them. Call Start, and Stop when done.
func NewServer(binders ...slacktest.Binder) *Server {
	s := &Server{
		groups:     make(map[string][]string),
		rateLimits: make(map[string]*rateLimit),
		failures:   make(map[string]string),
		seq:        0,
		stop:       make(chan struct{}),
	}
	all := append([]slacktest.Binder{s.bind}, binders...)
	s.Server = slacktest.NewTestServer(all...)
	// slacktest's websocket handler hands every inbound frame (such as a
	// Socket Mode ack) to an unbuffered channel; drain it so the read loop
	// never blocks. The frames stay visible through GetSeenInboundMessages.
	go func() {
		for {
			select {
			case <-s.SeenFeed:
			case <-s.stop:
				return
			}
		}
	}()
	return s
}

// New returns a started Server that stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := NewServer()
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Stop stops the server.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		close(s.stop)
		s.Server.Stop()
	})
}

// Client returns a slack-go client talking to the server with token.
func (s *Server) Client(token string, opts ...slack.Option) *slack.Client {
	return slack.New(token, append([]slack.Option{slack.OptionAPIURL(s.GetAPIURL())}, opts...)...)
}

// SetGroup makes usergroups.users.list answer members for group.
func (s *Server) SetGroup(group string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[group] = append([]string(nil), members...)
}

// RateLimit makes the next n calls of method answer 429 with Retry-After
// (whole seconds, as Slack sends it).
func (s *Server) RateLimit(method string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimits[method] = &rateLimit{remaining: n, retryAfter: retryAfter}
}

// FailWith makes every later call of method answer {"ok":false,"error":
// slackError}; an empty slackError clears it.
func (s *Server) FailWith(method, slackError string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slackError == "" {
		delete(s.failures, method)
		return
	}
	s.failures[method] = slackError
}

// Requests returns the recorded calls of method, or of every method when
// method is "".
func (s *Server) Requests(method string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if method == "" || r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

// Count returns how many calls of method were recorded, 429s included.
func (s *Server) Count(method string) int {
	return len(s.Requests(method))
}

// Reset forgets recorded calls, groups, rate limits and failures.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.groups = make(map[string][]string)
	s.rateLimits = make(map[string]*rateLimit)
	s.failures = make(map[string]string)
}

func (s *Server) bind(c slacktest.Customize) {
	c.Handle("/"+MethodPostMessage, s.record(MethodPostMessage, s.postMessage))
	c.Handle("/"+MethodUpdate, s.record(MethodUpdate, s.update))
	c.Handle("/"+MethodPostEphemeral, s.record(MethodPostEphemeral, s.postEphemeral))
	c.Handle("/"+MethodUserGroupUsers, s.record(MethodUserGroupUsers, s.userGroupUsers))
	c.Handle("/"+MethodGetUploadURL, s.record(MethodGetUploadURL, s.getUploadURL))
	c.Handle("/"+MethodCompleteUpload, s.record(MethodCompleteUpload, s.completeUpload))
	c.Handle("/upload/", s.upload)
}

func (s *Server) getUploadURL(w http.ResponseWriter, form url.Values) {
	id := "F" + strconv.Itoa(len(s.Requests(MethodGetUploadURL)))
	writeJSON(w, map[string]any{"ok": true, "file_id": id, "upload_url": s.GetAPIURL() + "upload/" + id})
}

// upload takes the file itself (multipart) and records its name and size.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	f, h, err := r.FormFile("file")
	if err != nil {
		http.Error(w, "no file: "+err.Error(), http.StatusBadRequest)
		return
	}
	n, _ := io.Copy(io.Discard, f)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: MethodFileUpload, Form: url.Values{"filename": {h.Filename}, "size": {strconv.FormatInt(n, 10)}}})
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) completeUpload(w http.ResponseWriter, form url.Values) {
	var files []map[string]any
	_ = json.Unmarshal([]byte(form.Get("files")), &files)
	writeJSON(w, map[string]any{"ok": true, "files": files})
}

type methodHandler func(w http.ResponseWriter, form url.Values)

// record parses and records a call, then applies rate limits and failures
// before handing over to next.
func (s *Server) record(method string, next methodHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, "parse form", http.StatusBadRequest)
			return
		}
		for k, v := range r.URL.Query() {
			form[k] = append(form[k], v...)
		}
		form.Del("token")
		req := Request{Method: method, Form: form}
		if raw := form.Get("blocks"); raw != "" {
			req.BlocksJSON = json.RawMessage(raw)
			var blocks slack.Blocks
			if err := json.Unmarshal([]byte(raw), &blocks); err == nil {
				req.Blocks = blocks.BlockSet
			}
		}

		s.mu.Lock()
		rl := s.rateLimits[method]
		limited := rl != nil && rl.remaining > 0
		if limited {
			rl.remaining--
		}
		req.RateLimited = limited
		failure := s.failures[method]
		if !limited {
			req.Failed = failure
		}
		s.requests = append(s.requests, req)
		s.mu.Unlock()

		if limited {
			secs := int(rl.retryAfter / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "ratelimited"})
			return
		}
		if failure != "" {
			writeJSON(w, map[string]any{"ok": false, "error": failure})
			return
		}
		next(w, form)
	}
}

func (s *Server) nextTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("1700000000.%06d", s.seq)
}

func (s *Server) postMessage(w http.ResponseWriter, form url.Values) {
	ts := s.nextTS()
	writeJSON(w, map[string]any{
		"ok":      true,
		"channel": form.Get("channel"),
		"ts":      ts,
		"message": map[string]any{"type": "message", "text": form.Get("text"), "ts": ts, "thread_ts": form.Get("thread_ts")},
	})
}

func (s *Server) update(w http.ResponseWriter, form url.Values) {
	if form.Get("ts") == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
		return
	}
	writeJSON(w, map[string]any{
		"ok":      true,
		"channel": form.Get("channel"),
		"ts":      form.Get("ts"),
		"text":    form.Get("text"),
	})
}

func (s *Server) postEphemeral(w http.ResponseWriter, form url.Values) {
	if form.Get("user") == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "user_not_in_channel"})
		return
	}
	writeJSON(w, map[string]any{"ok": true, "message_ts": s.nextTS()})
}

func (s *Server) userGroupUsers(w http.ResponseWriter, form url.Values) {
	s.mu.Lock()
	members, ok := s.groups[form.Get("usergroup")]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, map[string]any{"ok": false, "error": "no_such_subteam"})
		return
	}
	if members == nil {
		members = []string{}
	}
	writeJSON(w, map[string]any{"ok": true, "users": members})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
