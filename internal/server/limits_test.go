package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/localqueue"
	"github.com/medicbot/medic/internal/wiring"
)

// These tests run the server's HTTP side (its routes, timeouts and
// connection limit) without an engine: every request they send is refused
// or cut off before an alarm would reach one.

const limitsToken = "limits-token"

// safety bounds every wait in these tests; none of them should come close.
const safety = 15 * time.Second

// httpSide serves s's routes on a loopback port with opts' bounds and
// returns the address and the listener (to look at its counts).
func httpSide(t *testing.T, opts Options, h http.Handler) (string, *limitListener) {
	t.Helper()
	s := &Server{
		app:  &wiring.App{Config: &config.Config{WebhookToken: limitsToken}},
		log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		opts: opts.withDefaults(),
	}
	if h == nil {
		h = s.Handler()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := s.httpServer(h)
	l := s.limit(ln)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String(), l
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, safety)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(safety))
	return c
}

// halfSentAlarm is the head of an authorised POST /alarms whose body is
// promised 1,000 bytes long, plus the first 10 of them.
const halfSentAlarm = "POST /alarms HTTP/1.1\r\nHost: medic\r\nAuthorization: Bearer " + limitsToken +
	"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"source\":"

// wellBehaved sends one complete POST /alarms with a wrong token on a new
// connection and returns the status, or the error that stopped it.
func wellBehaved(addr string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, safety)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(safety))
	if _, err := io.WriteString(c, "POST /alarms HTTP/1.1\r\nHost: medic\r\nAuthorization: Bearer wrong\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestAClientTricklingABodyIsCutOff(t *testing.T) {
	addr, _ := httpSide(t, Options{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond}, nil)
	c := dial(t, addr)
	if _, err := io.WriteString(c, strings.TrimSuffix(halfSentAlarm, "{\"source\":")); err != nil {
		t.Fatal(err)
	}
	// One byte every 20 ms: the whole body would take 20 s.
	var sent atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for sent.Load() < 1000 {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
			sent.Add(1)
		}
	}()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no response to a trickled body (%d of 1000 bytes sent): %v", sent.Load(), err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n := sent.Load(); n >= 1000 {
		t.Fatalf("the whole trickled body was read (%d bytes): the read timeout did not cut it off", n)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("trickled body: status %d, want %d", resp.StatusCode, http.StatusRequestTimeout)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Errorf("the connection stays open after the cut-off: read gave %v, want EOF", err)
	}
}

func TestAClientTricklingHeadersIsCutOff(t *testing.T) {
	addr, _ := httpSide(t, Options{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: time.Minute}, nil)
	c := dial(t, addr)
	head := "POST /alarms HTTP/1.1\r\nHost: medic\r\nX-Slow: " + strings.Repeat("a", 1000) + "\r\n\r\n"
	var sent atomic.Int64
	go func() {
		for i := range len(head) {
			if _, err := c.Write([]byte{head[i]}); err != nil {
				return
			}
			sent.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	_, err := io.ReadAll(c)
	if err != nil && !isReset(err) {
		t.Fatalf("reading from a connection trickling headers: %v (want it closed by the server)", err)
	}
	if n := sent.Load(); n >= int64(len(head)) {
		t.Fatalf("all %d header bytes were read: the header timeout did not cut them off", n)
	}
}

func TestAnIdleKeptAliveConnectionIsClosed(t *testing.T) {
	addr, _ := httpSide(t, Options{IdleTimeout: 200 * time.Millisecond}, nil)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "POST /alarms HTTP/1.1\r\nHost: medic\r\nContent-Length: 0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Close {
		t.Fatalf("first request: status %d, close %v; want 401 on a kept-alive connection", resp.StatusCode, resp.Close)
	}
	// Nothing more is sent: the server must close the connection itself.
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("idle connection: read gave %v, want EOF (closed by the server)", err)
	}
}

func TestAClientThatDoesNotReadItsResponseIsCutOff(t *testing.T) {
	wrote := make(chan error, 1)
	big := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 64<<10)
		for range 64 << 10 { // 4 GiB, far beyond any socket buffer
			if _, err := w.Write(chunk); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	})
	addr, _ := httpSide(t, Options{WriteTimeout: 300 * time.Millisecond}, big)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: medic\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The client never reads.
	select {
	case err := <-wrote:
		if err == nil {
			t.Fatal("the whole response was written to a client that never reads")
		}
	case <-time.After(safety):
		t.Fatal("the handler is still writing to a client that never reads: no write timeout")
	}
}

func TestTheConnectionLimitShedsAndServesAgainWhenAPlaceFrees(t *testing.T) {
	addr, l := httpSide(t, Options{MaxConns: 2, ReadTimeout: time.Minute, ReadHeaderTimeout: time.Minute}, nil)
	held := []net.Conn{dial(t, addr), dial(t, addr)}
	for _, c := range held {
		if _, err := io.WriteString(c, halfSentAlarm); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "2 connections open at the server", func() bool { return l.open() == 2 })

	code, err := wellBehaved(addr)
	if err == nil && code != http.StatusServiceUnavailable {
		t.Fatalf("a third connection over a limit of 2: status %d, want 503 or a closed connection", code)
	}
	if l.shed.Load() != 1 {
		t.Fatalf("shed %d connections, want 1", l.shed.Load())
	}
	// One slow client goes away: its place is free for a good one.
	_ = held[0].Close()
	waitFor(t, "a place to free", func() bool { return l.open() < 2 })
	if code, err := wellBehaved(addr); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("well-behaved client with a free place: %d %v, want 401 (served)", code, err)
	}
}

// TestAThousandHeldConnectionsAreShed is the probe of issue 20: 1,000
// connections each holding a half-sent alarm body. Those over the limit are
// answered 503 and closed at once; the held ones are cut off by the read
// timeout; a well-behaved client is then served.
func TestAThousandHeldConnectionsAreShed(t *testing.T) {
	const (
		probes   = 1000
		maxConns = 50
	)
	addr, l := httpSide(t, Options{MaxConns: maxConns, ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second}, nil)

	type outcome struct {
		status int // 503 shed, 408 cut off, 0 closed without a response
		err    error
	}
	results := make(chan outcome, probes)
	var wg sync.WaitGroup
	for i := range probes {
		c, err := net.DialTimeout("tcp", addr, safety)
		if err != nil {
			t.Fatalf("dial probe %d: %v", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(safety))
			_, _ = io.WriteString(c, halfSentAlarm) // a shed connection may already be closed
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
					results <- outcome{}
					return
				}
				results <- outcome{err: err}
				return
			}
			resp.Body.Close()
			results <- outcome{status: resp.StatusCode}
		}()
	}
	// While the admitted probes hold their places, the rest are shed.
	waitFor(t, fmt.Sprintf("%d probes shed", probes-maxConns), func() bool { return l.shed.Load() >= probes-maxConns })
	if open := l.open(); open > maxConns {
		t.Fatalf("%d connections open at the server, over the limit of %d", open, maxConns)
	}

	wg.Wait()
	close(results)
	counts := map[int]int{}
	for r := range results {
		if r.err != nil {
			t.Fatalf("a probe was neither shed nor cut off: %v", r.err)
		}
		counts[r.status]++
	}
	if counts[http.StatusServiceUnavailable]+counts[0]+counts[http.StatusRequestTimeout] != probes {
		t.Fatalf("probe outcomes %v: want every probe shed (503 or closed) or cut off (408)", counts)
	}
	if counts[http.StatusRequestTimeout] == 0 {
		t.Errorf("probe outcomes %v: no held probe was cut off by the read timeout", counts)
	}
	if got := l.shed.Load(); got < probes-maxConns {
		t.Errorf("shed %d probes, want at least %d", got, probes-maxConns)
	}

	waitFor(t, "the held places to free", func() bool { return l.open() == 0 })
	if code, err := wellBehaved(addr); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("well-behaved client after the probe: %d %v, want 401 (served)", code, err)
	}
}

func TestServeRefusesAnOpenWebhookBeyondLoopback(t *testing.T) {
	tests := []struct {
		addr     string
		token    string
		insecure bool
		refused  bool
	}{
		{"127.0.0.1:8080", "", false, false},
		{"localhost:8080", "", false, false},
		{"[::1]:8080", "", false, false},
		{"127.0.0.2:0", "", false, false},
		{"0.0.0.0:8080", "", false, true},
		{":8080", "", false, true},
		{"[::]:8080", "", false, true},
		{"10.0.0.5:8080", "", false, true},
		{"medic.internal:8080", "", false, true},
		{"0.0.0.0:8080", "tok", false, false},
		{"0.0.0.0:8080", "", true, false},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s token=%q insecure=%v", tt.addr, tt.token, tt.insecure)
		t.Run(name, func(t *testing.T) {
			q := localqueue.New(localqueue.Options{})
			t.Cleanup(func() { _, _ = q.Close(context.Background()) })
			app := &wiring.App{Config: &config.Config{WebhookToken: config.Secret(tt.token)}, LocalQueue: q}
			_, err := New(app, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Addr: tt.addr, InsecureNoToken: tt.insecure})
			switch {
			case tt.refused && !errors.Is(err, ErrOpenWebhook):
				t.Fatalf("New = %v, want ErrOpenWebhook", err)
			case tt.refused && !strings.Contains(err.Error(), tt.addr):
				t.Errorf("error does not name the address: %v", err)
			case !tt.refused && err != nil:
				t.Fatalf("New = %v, want it to start", err)
			}
		})
	}
}

func TestReadErrorStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"too large", &http.MaxBytesError{Limit: MaxAlarmBytes}, http.StatusRequestEntityTooLarge},
		{"too slow", &net.OpError{Op: "read", Err: timeoutErr{}}, http.StatusRequestTimeout},
		{"cut off", io.ErrUnexpectedEOF, http.StatusBadRequest},
	}
	for _, tt := range tests {
		if got := readErrorStatus(tt.err); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// isReset reports a connection the peer reset, which is how a closed
// connection with unread input can look from the other side.
func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(safety)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStartUpSaysWhoMayPostAlarms(t *testing.T) {
	tests := []struct {
		addr, token string
		want        string
	}{
		{"127.0.0.1:8080", "tok", "POST /alarms requires the bearer token MEDIC_WEBHOOK_TOKEN"},
		{"127.0.0.1:8080", "", "POST /alarms is open to anyone on this machine"},
		{"0.0.0.0:8080", "", "POST /alarms is open to anyone who can reach this address"},
	}
	for _, tt := range tests {
		var buf strings.Builder
		s := &Server{
			app:  &wiring.App{Config: &config.Config{WebhookToken: config.Secret(tt.token)}},
			log:  slog.New(slog.NewTextHandler(&buf, nil)),
			opts: Options{Addr: tt.addr},
		}
		s.logWebhookAccess(context.Background(), tt.addr)
		if !strings.Contains(buf.String(), tt.want) {
			t.Errorf("addr %s, token %q: start-up log\n%s\nwant it to say %q", tt.addr, tt.token, buf.String(), tt.want)
		}
	}
}

// TestRunServesWithTheClientBounds: the server Run starts sheds past
// MaxConns and cuts off held requests, then serves a well-behaved client.
func TestRunServesWithTheClientBounds(t *testing.T) {
	h := start(t, limitsToken, func(o *Options) {
		o.MaxConns, o.ReadTimeout, o.ReadHeaderTimeout = 2, 2*time.Second, 2*time.Second
	})
	addr := strings.TrimPrefix(h.url, "http://")
	held := []net.Conn{dial(t, addr), dial(t, addr)}
	for _, c := range held {
		if _, err := io.WriteString(c, halfSentAlarm); err != nil {
			t.Fatal(err)
		}
	}
	// Both places are taken until the read timeout: a third connection is
	// shed (503, or closed before it could read one).
	if code, err := wellBehaved(addr); err == nil && code != http.StatusServiceUnavailable {
		t.Fatalf("a third connection over a limit of 2: status %d, want 503", code)
	}
	for i, c := range held {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("held request %d: %v, want it cut off with 408", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("held request %d: status %d, want 408", i, resp.StatusCode)
		}
	}
	var code int
	var err error
	waitFor(t, "a well-behaved client to be served", func() bool {
		code, err = wellBehaved(addr)
		return err == nil && code == http.StatusUnauthorized
	})
}
