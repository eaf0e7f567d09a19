// Package server is `medic serve`: the whole bot in one process. It serves
// alarm payloads (the same shapes the alarm Lambda takes) and Slack
// interactivity over HTTP, runs the executor on an in-process queue, and
// sweeps for lost executors, all through the same engine and doors as the
// Lambdas.
package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/medicbot/medic/internal/console"
	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/wiring"
)

// MaxAlarmBytes bounds an alarm payload.
const MaxAlarmBytes = 1 << 20

// The defaults of the bounds on clients (see Options).
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxConns          = 256
)

// Options configure the server.
type Options struct {
	// Addr is host:port to listen on.
	Addr string
	// PendingFile keeps queued work across restarts: on shutdown the
	// messages that had not run are written there, on start they are
	// queued again. Empty disables it.
	PendingFile string
	// SweepEvery is how often lost executors are looked for (default 30 s).
	SweepEvery time.Duration
	// RelayEvery is how often owed messages (cards Slack did not take,
	// queue messages not sent) are relayed (default 5 s).
	RelayEvery time.Duration
	// ShutdownTimeout bounds the graceful shutdown (default 30 s).
	ShutdownTimeout time.Duration
	// Ready, when set, receives the listening address once serving.
	Ready chan<- string

	// LocalApprovals, when set, is the user the console (/ui) approves,
	// rejects and undoes as; empty leaves the console's card buttons
	// disabled.
	LocalApprovals string

	// AdminFile, when set, is where the server writes (mode 0600) its
	// address and the token of its admin endpoint at start, and removes
	// them at shutdown; `medic pause`, `resume` and `audit` read it to
	// reach the running server (see admin.go). Empty: no admin endpoint.
	AdminFile string
	// AdminAnyClient lets clients beyond this machine use the admin
	// endpoint (with the token); by default it answers loopback clients
	// only.
	AdminAnyClient bool

	// InsecureNoToken lets the server listen on an address other than a
	// loopback one without a webhook token, so that anyone who can reach
	// it may post alarms. Without it New refuses that combination.
	InsecureNoToken bool

	// The bounds on slow and numerous clients; zero means the default.
	// ReadHeaderTimeout bounds reading a request's headers
	// (DefaultReadHeaderTimeout), ReadTimeout the whole request with its
	// body (DefaultReadTimeout), WriteTimeout the time from the end of the
	// headers to the end of the response (DefaultWriteTimeout), IdleTimeout
	// how long a kept-alive connection may wait for its next request
	// (DefaultIdleTimeout). MaxConns caps the connections open at once
	// (DefaultMaxConns); each one beyond is answered 503 and closed at once.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxConns          int
}

// withDefaults fills the zero bounds with their defaults.
func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.SweepEvery, 30*time.Second)
	def(&o.RelayEvery, 5*time.Second)
	def(&o.ShutdownTimeout, 30*time.Second)
	def(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	return o
}

// ErrOpenWebhook is returned by New (wrapped, naming the address) when the
// server would listen beyond this machine with POST /alarms open to anyone.
var ErrOpenWebhook = errors.New("MEDIC_WEBHOOK_TOKEN is unset, so anyone who can reach the server could post alarms " +
	"(whose dimensions feed the policies' parameters): set MEDIC_WEBHOOK_TOKEN, listen on a loopback address " +
	"such as 127.0.0.1, or pass --insecure-no-token if that is what you mean")

// CheckExposure refuses an open POST /alarms (no webhook token) on an
// address that is not a loopback one, unless insecure says the caller means
// it. The error wraps ErrOpenWebhook.
func CheckExposure(addr string, hasToken, insecure bool) error {
	if hasToken || insecure || IsLoopback(addr) {
		return nil
	}
	return fmt.Errorf("--addr %s is not a loopback address and %w", addr, ErrOpenWebhook)
}

// IsLoopback reports whether addr (host:port) listens on this machine only:
// "localhost" or a loopback IP. An empty host, 0.0.0.0, :: and any other
// name listen (or may resolve) beyond it.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Server is medic in one process.
type Server struct {
	app        *wiring.App
	log        *slog.Logger
	opts       Options
	adminToken string
	console    *console.Console
}

// New returns a server for app, whose queue must be in-process.
func New(app *wiring.App, log *slog.Logger, opts Options) (*Server, error) {
	if app.LocalQueue == nil {
		return nil, errors.New("medic serve runs its own executor: unset MEDIC_QUEUE_URL")
	}
	if err := CheckExposure(opts.Addr, app.Config.WebhookToken.Value() != "", opts.InsecureNoToken); err != nil {
		return nil, err
	}
	s := &Server{app: app, log: log, opts: opts.withDefaults()}
	if app.Engine != nil && app.Store != nil {
		ui, err := console.New(console.Config{Engine: app.Engine, Records: app.Store, Policies: app.Policies,
			LocalUser: opts.LocalApprovals, Logger: log})
		if err != nil {
			return nil, err
		}
		s.console = ui
	}
	if opts.AdminFile != "" {
		s.adminToken = newAdminToken()
	}
	return s, nil
}

// Handler returns the HTTP routes: POST /alarms, POST /slack/actions,
// GET /healthz, the console (/ui, see package console), and with an
// AdminFile the admin endpoint (/admin/...).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	if s.console != nil {
		s.console.Register(mux)
	}
	mux.HandleFunc("POST /alarms", s.alarms)
	mux.HandleFunc("GET /healthz", s.healthz)
	if s.adminToken != "" {
		mux.HandleFunc("POST /admin/pause", s.admin(s.adminPause))
		mux.HandleFunc("POST /admin/resume", s.admin(s.adminResume))
		mux.HandleFunc("GET /admin/audit", s.admin(s.adminAudit))
		mux.HandleFunc("GET /admin/owed", s.admin(s.adminOwed))
	}
	if s.app.Slack != nil {
		mux.Handle("POST /slack/actions", s.app.Slack)
	} else {
		mux.HandleFunc("POST /slack/actions", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "slack interactivity is off: set SLACK_SIGNING_SECRET", http.StatusServiceUnavailable)
		})
	}
	return mux
}

func (s *Server) alarms(w http.ResponseWriter, r *http.Request) {
	if tok := s.app.Config.WebhookToken.Value(); tok != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(tok)) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxAlarmBytes))
	if err != nil {
		writeJSON(w, readErrorStatus(err), map[string]string{"error": fmt.Sprintf("read alarm payload: %v", err)})
		return
	}
	res, err := doors.Alarms(r.Context(), s.app.Engine, s.log, body)
	switch {
	case errors.Is(err, doors.ErrBadPayload):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	case err != nil:
		s.log.ErrorContext(r.Context(), "alarm not handled", slog.Any("error", err))
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// readErrorStatus is the status for a request body that could not be read:
// too large, too slow, or cut off.
func readErrorStatus(err error) int {
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &netErr) && netErr.Timeout():
		return http.StatusRequestTimeout
	default:
		return http.StatusBadRequest
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	sw, err := s.app.Engine.Paused(r.Context())
	status := map[string]any{"ok": err == nil, "queued": s.app.LocalQueue.Len(), "paused": sw.Paused}
	if err != nil {
		status["error"] = err.Error()
		writeJSON(w, http.StatusServiceUnavailable, status)
		return
	}
	writeJSON(w, http.StatusOK, status)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Run serves until ctx is done, then shuts down gracefully: it stops
// accepting requests, lets running requests and executions finish, and
// keeps the work that had not run in PendingFile.
func (s *Server) Run(ctx context.Context) error {
	q := s.app.LocalQueue
	if err := s.restorePending(ctx); err != nil {
		return err
	}
	q.Start(s.app.Engine.HandleMessage)

	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		_, _ = q.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", s.opts.Addr, err)
	}
	srv := s.httpServer(s.Handler())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(s.limit(ln)) }()
	// The admin file first: "medic serving" means the operator commands
	// can reach this server too.
	if s.opts.AdminFile != "" {
		info := AdminInfo{Addr: dialAddr(ln.Addr().String()), Token: s.adminToken, PID: os.Getpid()}
		if err := writeAdminFile(s.opts.AdminFile, info); err != nil {
			_ = srv.Close()
			_, _ = q.Close(context.Background())
			return err
		}
		defer s.removeAdminFile()
	}
	s.log.InfoContext(ctx, "medic serving", slog.String("addr", ln.Addr().String()),
		slog.Int("max_conns", s.opts.MaxConns), slog.Duration("read_timeout", s.opts.ReadTimeout),
		slog.Duration("write_timeout", s.opts.WriteTimeout), slog.Duration("idle_timeout", s.opts.IdleTimeout))
	s.logWebhookAccess(ctx, ln.Addr().String())
	s.log.InfoContext(ctx, "console", slog.String("url", "http://"+dialAddr(ln.Addr().String())+"/ui"),
		slog.String("local_approvals", s.opts.LocalApprovals))
	if s.opts.Ready != nil {
		s.opts.Ready <- ln.Addr().String()
	}

	tick := time.NewTicker(s.opts.SweepEvery)
	defer tick.Stop()
	relay := time.NewTicker(s.opts.RelayEvery)
	defer relay.Stop()
	doors.Relay(ctx, s.app.Engine, s.log) // what an earlier run left owed
	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case serveErr = <-served:
			break loop
		case <-relay.C:
			doors.Relay(ctx, s.app.Engine, s.log)
		case <-tick.C:
			if n, err := s.app.Engine.SweepStale(ctx); err != nil {
				s.log.WarnContext(ctx, "sweep for lost executors failed", slog.Any("error", err))
			} else if n > 0 {
				s.log.WarnContext(ctx, "proposals need a human: their executor lost its lease", slog.Int("count", n))
			}
		}
	}

	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("shut down http server: %w", err))
	}
	pending, err := q.Close(sctx)
	if err != nil {
		errs = append(errs, err)
	}
	if err := s.savePending(pending); err != nil {
		errs = append(errs, err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve http: %w", serveErr))
	}
	s.log.Info("medic stopped", slog.Int("pending_saved", len(pending)))
	return errors.Join(errs...)
}

// httpServer is the HTTP server for h with the client bounds of the options.
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// limit caps the connections ln keeps open at MaxConns and logs, at most
// every shedLogEvery, that connections are being shed.
func (s *Server) limit(ln net.Listener) *limitListener {
	var last atomic.Int64
	var l *limitListener
	l = newLimitListener(ln, s.opts.MaxConns, func() {
		now := time.Now().UnixNano()
		if prev := last.Load(); now-prev >= int64(shedLogEvery) && last.CompareAndSwap(prev, now) {
			s.log.Warn("connection limit reached: new connections are answered 503 and closed",
				slog.Int("max_conns", s.opts.MaxConns), slog.Int64("shed_total", l.shed.Load()))
		}
	})
	return l
}

// shedLogEvery spaces the warnings about shed connections.
const shedLogEvery = 10 * time.Second

// logWebhookAccess says at start-up who may post alarms.
func (s *Server) logWebhookAccess(ctx context.Context, addr string) {
	switch {
	case s.app.Config.WebhookToken.Value() != "":
		s.log.InfoContext(ctx, "POST /alarms requires the bearer token MEDIC_WEBHOOK_TOKEN")
	case IsLoopback(s.opts.Addr):
		s.log.WarnContext(ctx, "POST /alarms is open to anyone on this machine: MEDIC_WEBHOOK_TOKEN is unset", slog.String("addr", addr))
	default:
		s.log.WarnContext(ctx, "POST /alarms is open to anyone who can reach this address: MEDIC_WEBHOOK_TOKEN is unset and --insecure-no-token was given",
			slog.String("addr", addr))
	}
}

// removeAdminFile removes the admin file if it is still this server's.
func (s *Server) removeAdminFile() {
	if info, err := ReadAdminFile(s.opts.AdminFile); err == nil && info.Token == s.adminToken {
		_ = os.Remove(s.opts.AdminFile)
	}
}

func (s *Server) savePending(pending []engine.Message) error {
	if len(pending) == 0 {
		if s.opts.PendingFile != "" {
			if err := os.Remove(s.opts.PendingFile); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", s.opts.PendingFile, err)
			}
		}
		return nil
	}
	if s.opts.PendingFile == "" {
		for _, m := range pending {
			s.log.Error("queued work not kept (no pending file)", slog.Any("message", m))
		}
		return fmt.Errorf("%d queued messages were not kept: no pending file", len(pending))
	}
	b, err := json.MarshalIndent(pending, "", "  ")
	if err != nil {
		return fmt.Errorf("save pending work: %w", err)
	}
	tmp := s.opts.PendingFile + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save pending work to %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, s.opts.PendingFile); err != nil {
		return fmt.Errorf("save pending work to %s: %w", s.opts.PendingFile, err)
	}
	return nil
}

func (s *Server) restorePending(ctx context.Context) error {
	if s.opts.PendingFile == "" {
		return nil
	}
	b, err := os.ReadFile(s.opts.PendingFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read pending work %s: %w", s.opts.PendingFile, err)
	}
	var pending []engine.Message
	if err := json.Unmarshal(b, &pending); err != nil {
		return fmt.Errorf("read pending work %s: %w", s.opts.PendingFile, err)
	}
	now := time.Now()
	for _, m := range pending {
		body, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("requeue pending work: %w", err)
		}
		delay := time.Duration(0)
		if m.NotBefore.After(now) {
			delay = m.NotBefore.Sub(now)
		}
		if err := s.app.LocalQueue.Send(ctx, body, delay); err != nil {
			return fmt.Errorf("requeue pending work: %w", err)
		}
	}
	s.log.InfoContext(ctx, "requeued pending work", slog.Int("count", len(pending)))
	return os.Remove(s.opts.PendingFile)
}
