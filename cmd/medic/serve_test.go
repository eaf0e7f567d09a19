package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/testenv"
)

// These tests run the real medic binary, as systemd, Docker or Kubernetes
// would: `medic serve` against moto and a Slack test server, stopped by a
// signal.

const (
	serveChannel = "C0INCIDENTS"
	serveSigning = "serve-test-signing-secret"
)

// servePolicy is one policy whose single step on prod/checkout is either
// waiting for an approval that expires after expires, or auto.
func servePolicy(approval, expires string) string {
	extra := `
        approvers: [U0ONCALL1]
        expires: ` + expires
	if approval == "auto" {
		extra = ""
	}
	return `version: 1
policies:
  - name: checkout-target-5xx
    match:
      alarm: ["checkout-*-5xx"]
      namespace: AWS/ApplicationELB
      metric: HTTPCode_Target_5XX_Count
    slack: {channel: ` + serveChannel + `}
    approvers: [U0ONCALL1]
    steps:
      - action: ecs.scale
        approval: ` + approval + extra + `
        params: {cluster: prod, service: checkout, add: 2, max: 10}
`
}

// serveEnv is a medic binary, the environment it runs in (moto, the Slack
// test server, a policy directory, a store file) and the prod in moto.
type serveEnv struct {
	t        *testing.T
	bin      string
	env      []string
	policies string
	store    string
	slack    *slacktesting.Server
	moto     *testenv.MotoServer
	prod     *testenv.Prod
}

func newServeEnv(t *testing.T, policy string) *serveEnv {
	t.Helper()
	m := testenv.Moto(t)
	prod, err := testenv.CreateProd(context.Background(), m.Config)
	if err != nil {
		t.Fatalf("create prod in moto: %v", err)
	}
	sl := slacktesting.New(t)
	dir := t.TempDir()
	pdir := filepath.Join(dir, "policies")
	if err := os.Mkdir(pdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pdir, "checkout.yaml"), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "medic")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build medic: %v\n%s", err, out)
	}
	// The process gets this machine's environment without anything that
	// could point medic elsewhere, plus moto and the Slack test server.
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "MEDIC_") ||
			strings.HasPrefix(name, "SLACK_") || strings.HasPrefix(name, "GITHUB_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION="+testenv.Region,
		"AWS_ENDPOINT_URL="+m.URL, "AWS_EC2_METADATA_DISABLED=true",
		"SLACK_API_URL="+sl.GetAPIURL(), "SLACK_BOT_TOKEN=xoxb-test", "SLACK_SIGNING_SECRET="+serveSigning,
		"GITHUB_API_URL=http://127.0.0.1:1/",
	)
	return &serveEnv{t: t, bin: bin, env: env, policies: pdir, store: filepath.Join(dir, "medic.db"), slack: sl, moto: m, prod: prod}
}

func (se *serveEnv) pendingFile() string { return se.store + ".pending.json" }

// serveProc is a running `medic serve`.
type serveProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	url     string
	logs    *logLines
	exited  chan struct{}
	waitErr error
}

// serve starts `medic serve` on a free port and waits until it listens.
func (se *serveEnv) serve(extra ...string) *serveProc {
	t := se.t
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--policies", se.policies, "--store", se.store}, extra...)
	cmd := exec.Command(se.bin, args...)
	cmd.Env = se.env
	logs := &logLines{}
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start medic serve: %v", err)
	}
	p := &serveProc{t: t, cmd: cmd, logs: logs, exited: make(chan struct{})}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	line, ok := p.waitLog("medic serving", 30*time.Second)
	if !ok {
		t.Fatalf("medic serve did not start listening; log:\n%s", logs)
	}
	p.url = fmt.Sprintf("http://%v", line["addr"])
	return p
}

// waitLog waits for the JSON log line whose msg is msg and returns it.
func (p *serveProc) waitLog(msg string, timeout time.Duration) (map[string]any, bool) {
	deadline := time.Now().Add(timeout)
	for {
		if l, ok := p.logs.find(msg); ok {
			return l, true
		}
		select {
		case <-p.exited:
			l, ok := p.logs.find(msg)
			return l, ok
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, false
		}
	}
}

// stop sends sig and returns the exit code (-1 when the signal killed it).
func (p *serveProc) stop(sig os.Signal) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal medic serve: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(45 * time.Second):
		p.t.Fatalf("medic serve did not stop within 45s of %v; log:\n%s", sig, p.logs)
	}
	var ee *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &ee) {
		p.t.Fatalf("wait for medic serve: %v", p.waitErr)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *serveProc) postAlarm(body []byte) {
	p.t.Helper()
	resp, err := http.Post(p.url+"/alarms", "application/json", bytes.NewReader(body))
	if err != nil {
		p.t.Fatalf("POST /alarms: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var out bytes.Buffer
		_, _ = out.ReadFrom(resp.Body)
		p.t.Fatalf("POST /alarms = %d %s", resp.StatusCode, out.String())
	}
}

// queued returns /healthz's count of queued messages.
func (p *serveProc) queued() int {
	p.t.Helper()
	resp, err := http.Get(p.url + "/healthz")
	if err != nil {
		p.t.Fatalf("GET /healthz: %v", err)
	}
	defer resp.Body.Close()
	var h struct {
		OK     bool `json:"ok"`
		Queued int  `json:"queued"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != http.StatusOK || !h.OK {
		p.t.Fatalf("GET /healthz = %d %+v %v", resp.StatusCode, h, err)
	}
	return h.Queued
}

// logLines collects a process's output and finds its JSON log lines.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logLines) find(msg string) (map[string]any, bool) {
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == msg {
			return line, true
		}
	}
	return nil, false
}

// cardTexts returns the Slack calls of method as lower-case JSON, one per
// call.
func cardTexts(sl *slacktesting.Server, method string) []string {
	unescape := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")
	var out []string
	for _, r := range sl.Requests(method) {
		out = append(out, strings.ToLower(unescape.Replace(string(r.BlocksJSON))))
	}
	return out
}

// waitCardUpdate waits for a card update containing want and returns it.
func waitCardUpdate(t *testing.T, sl *slacktesting.Server, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, u := range cardTexts(sl, slacktesting.MethodUpdate) {
			if strings.Contains(u, want) {
				return u
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no card update containing %q within %v; updates:\n%s", want, timeout, strings.Join(cardTexts(sl, slacktesting.MethodUpdate), "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readPending(t *testing.T, path string) []engine.Message {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pending work not kept: %v", err)
	}
	var pending []engine.Message
	if err := json.Unmarshal(b, &pending); err != nil {
		t.Fatalf("pending file %s: %v\n%s", path, err, b)
	}
	return pending
}

// A service manager stops medic with SIGTERM (systemd, Docker, Kubernetes)
// and a terminal with SIGINT: either way medic shuts down gracefully, keeps
// the queued work (here a proposal's delayed expiry) in the pending file,
// and a restart on the same store queues it again and runs it.
func TestServeKeepsQueuedWorkAcrossAStopBySignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			const expires = 6 * time.Second
			se := newServeEnv(t, servePolicy("required", expires.String()))
			p := se.serve()
			p.postAlarm(se.prod.AlarmEvent("ALARM", time.Now().Add(-time.Minute)))
			if n := p.queued(); n != 1 {
				t.Fatalf("/healthz queued = %d after an alarm, want 1 (the proposal's expiry)", n)
			}

			if code := p.stop(sig); code != exitOK {
				t.Fatalf("medic serve exit code after %v = %d (%v), want 0; log:\n%s", sig, code, p.cmd.ProcessState, p.logs)
			}
			pending := readPending(t, se.pendingFile())
			if len(pending) != 1 || pending[0].Kind != engine.KindExpire || pending[0].Proposal == "" || pending[0].NotBefore.IsZero() {
				t.Fatalf("pending work = %+v, want the one expire message with its due time", pending)
			}
			if l, ok := p.logs.find("medic stopped"); !ok || l["pending_saved"] != float64(1) {
				t.Errorf("log of the shutdown = %v, want pending_saved 1", l)
			}
			if ups := cardTexts(se.slack, slacktesting.MethodUpdate); len(ups) != 0 {
				t.Fatalf("the card changed before the proposal expired: %v", ups)
			}

			// Restart on the same store: the message is queued again, the
			// file consumed, and the proposal expires when it was due.
			p = se.serve()
			if l, ok := p.logs.find("requeued pending work"); !ok || l["count"] != float64(1) {
				t.Fatalf("restart did not requeue the pending work (log line %v); log:\n%s", l, p.logs)
			}
			if _, err := os.Stat(se.pendingFile()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("pending file still there after the restart: %v", err)
			}
			// Before its due time the message waits in the queue (checked
			// only while that is surely so).
			if n := p.queued(); time.Until(pending[0].NotBefore) > time.Second && n != 1 {
				t.Errorf("/healthz queued = %d after the restart, want 1", n)
			}
			waitCardUpdate(t, se.slack, "expired", time.Until(pending[0].NotBefore)+20*time.Second)

			if code := p.stop(sig); code != exitOK {
				t.Fatalf("second medic serve exit code after %v = %d, want 0; log:\n%s", sig, code, p.logs)
			}
			if _, err := os.Stat(se.pendingFile()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("pending file written with nothing pending: %v", err)
			}
		})
	}
}

// --dry-run plans and posts for real and applies nothing: an auto step
// fires, the card and the audit trail say it was a dry run, and the ECS
// service keeps its desired count.
func TestServeDryRunPostsButDoesNotApply(t *testing.T) {
	se := newServeEnv(t, servePolicy("auto", ""))
	p := se.serve("--dry-run")
	p.postAlarm(se.prod.AlarmEvent("ALARM", time.Now().Add(-time.Minute)))

	var card string
	for _, c := range cardTexts(se.slack, slacktesting.MethodPostMessage) {
		if strings.Contains(c, "desiredcount: 4 → 6") {
			card = c
		}
	}
	if card == "" {
		t.Fatalf("no card shows the plan; posts:\n%s", strings.Join(cardTexts(se.slack, slacktesting.MethodPostMessage), "\n"))
	}
	done := waitCardUpdate(t, se.slack, ":white_check_mark: *done*", 20*time.Second)
	if !strings.Contains(done, "dry run, not applied: prod/checkout: desired 4") {
		t.Errorf("the card of the finished step does not say it was a dry run:\n%s", done)
	}
	if got, err := se.prod.DesiredCount(context.Background(), se.moto.Config); err != nil || got != 4 {
		t.Fatalf("desired count after a dry run = %d (%v), want 4 unchanged", got, err)
	}
	if code := p.stop(syscall.SIGTERM); code != exitOK {
		t.Fatalf("medic serve exit code = %d, want 0; log:\n%s", code, p.logs)
	}

	audit := exec.Command(se.bin, "audit", "--store", se.store, "--format", "json")
	audit.Env = se.env
	out, err := audit.Output()
	if err != nil {
		t.Fatalf("medic audit: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "dry run, not applied") {
		t.Errorf("the audit trail does not say the step was a dry run:\n%s", out)
	}
	if got, err := se.prod.DesiredCount(context.Background(), se.moto.Config); err != nil || got != 4 {
		t.Fatalf("desired count after a dry run = %d (%v), want 4 unchanged", got, err)
	}
}
