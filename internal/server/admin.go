package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/store"
)

// The admin endpoint lets the operator commands (`medic pause`, `resume`,
// `audit`) reach a running `medic serve`, whose process holds the embedded
// store's file lock. It is on the server's own listener, answers only
// loopback clients (unless Options.AdminAnyClient) and requires the bearer
// token the server writes at start to Options.AdminFile (mode 0600), which
// the commands read. Routes:
//
//	POST /admin/pause   {"who": "...", "reason": "..."}  -> {"paused": true}
//	POST /admin/resume  {"who": "..."}                   -> {"paused": false}
//	GET  /admin/audit?since=RFC3339&incident=ID          -> [audit entries]
//	GET  /admin/owed                                     -> [outbox entries]

// AdminFileSuffix names the admin file next to a store file:
// medic.db -> medic.db.admin.
const AdminFileSuffix = ".admin"

// AdminInfo is what the admin file holds: where the running server listens
// and the token its admin endpoint requires.
type AdminInfo struct {
	Addr  string `json:"addr"`
	Token string `json:"token"`
	PID   int    `json:"pid"`
}

// ReadAdminFile reads the admin file a running server wrote.
func ReadAdminFile(path string) (AdminInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return AdminInfo{}, err
	}
	var info AdminInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return AdminInfo{}, fmt.Errorf("read admin file %s: %w", path, err)
	}
	if info.Addr == "" || info.Token == "" {
		return AdminInfo{}, fmt.Errorf("read admin file %s: no address or token in it", path)
	}
	return info, nil
}

// writeAdminFile writes info to path, readable by the owner only.
func writeAdminFile(path string, info AdminInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write admin file %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write admin file %s: %w", path, err)
	}
	return nil
}

// dialAddr is the address a client on this machine dials to reach a server
// listening on addr (an unspecified host such as 0.0.0.0 becomes loopback).
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

func newAdminToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// admin wraps an admin route with its checks: a loopback client (unless
// AdminAnyClient) and the bearer token.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.opts.AdminAnyClient && !loopbackClient(r.RemoteAddr) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "the admin endpoint answers only clients on this machine"})
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.adminToken)) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong admin token (it is in the admin file next to the store)"})
			return
		}
		h(w, r)
	}
}

func loopbackClient(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type adminRequest struct {
	Who    string `json:"who"`
	Reason string `json:"reason"`
}

func readAdminRequest(w http.ResponseWriter, r *http.Request) (adminRequest, bool) {
	var req adminRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "read request: " + err.Error()})
		return req, false
	}
	if strings.TrimSpace(req.Who) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `"who" is required`})
		return req, false
	}
	return req, true
}

func (s *Server) adminPause(w http.ResponseWriter, r *http.Request) {
	req, ok := readAdminRequest(w, r)
	if !ok {
		return
	}
	if err := s.app.Engine.Pause(r.Context(), req.Who, req.Reason); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"paused": true})
}

func (s *Server) adminResume(w http.ResponseWriter, r *http.Request) {
	req, ok := readAdminRequest(w, r)
	if !ok {
		return
	}
	if err := s.app.Engine.Resume(r.Context(), req.Who); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"paused": false})
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) {
	q := store.AuditQuery{Incident: r.URL.Query().Get("incident")}
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("since: want an RFC 3339 time, got %q", v)})
			return
		}
		q.Since = t
	}
	entries, err := s.app.Engine.Audit(r.Context(), q)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	if entries == nil {
		entries = []store.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, entries)
}

func (s *Server) adminOwed(w http.ResponseWriter, r *http.Request) {
	owed, err := s.app.Store.Owed(r.Context(), 0)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	if owed == nil {
		owed = []*store.Owed{}
	}
	writeJSON(w, http.StatusOK, owed)
}

// AdminClient talks to a running server's admin endpoint. It has the
// engine's Pause, Resume and Audit methods, so a command can use either.
type AdminClient struct {
	addr  string
	token string
	http  *http.Client
}

// NewAdminClient returns a client for the server the admin file describes.
func NewAdminClient(info AdminInfo) *AdminClient {
	return &AdminClient{addr: info.Addr, token: info.Token, http: &http.Client{Timeout: 30 * time.Second}}
}

// Addr is the address of the server the client talks to.
func (c *AdminClient) Addr() string { return c.addr }

// Pause pauses the running server's medic as who.
func (c *AdminClient) Pause(ctx context.Context, who, why string) error {
	return c.call(ctx, http.MethodPost, "/admin/pause", adminRequest{Who: who, Reason: why}, nil)
}

// Resume resumes the running server's medic as who.
func (c *AdminClient) Resume(ctx context.Context, who string) error {
	return c.call(ctx, http.MethodPost, "/admin/resume", adminRequest{Who: who}, nil)
}

// Audit reads the running server's audit trail.
func (c *AdminClient) Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if q.Incident != "" {
		v.Set("incident", q.Incident)
	}
	var entries []store.AuditEntry
	if err := c.call(ctx, http.MethodGet, "/admin/audit?"+v.Encode(), nil, &entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// Owed reads what the running server's medic still owes.
func (c *AdminClient) Owed(ctx context.Context, _ int) ([]*store.Owed, error) {
	var owed []*store.Owed
	if err := c.call(ctx, http.MethodGet, "/admin/owed", nil, &owed); err != nil {
		return nil, err
	}
	return owed, nil
}

func (c *AdminClient) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.addr+path, rd)
	if err != nil {
		return fmt.Errorf("admin request to %s: %w", c.addr, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("reach the running medic serve at %s: %w", c.addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read the answer of medic serve at %s: %w", c.addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("medic serve at %s: %s", c.addr, e.Error)
		}
		return fmt.Errorf("medic serve at %s answered %s", c.addr, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("read the answer of medic serve at %s: %w", c.addr, err)
		}
	}
	return nil
}
