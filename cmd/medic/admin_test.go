package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/server"
)

// medicCmd runs the built medic binary with se's environment.
func (se *serveEnv) medicCmd(args ...string) (code int, stdout, stderr string) {
	se.t.Helper()
	cmd := exec.Command(se.bin, args...)
	cmd.Env = se.env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	var ee *exec.ExitError
	if err := cmd.Run(); err != nil && !errors.As(err, &ee) {
		se.t.Fatalf("run medic %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// While `medic serve` holds the store's file lock, pause, resume and audit
// reach it through its admin endpoint, at once (not after bbolt's 5 s
// lock timeout), and say so; once it has stopped they open the file.
func TestOperatorCommandsReachARunningServe(t *testing.T) {
	se := newServeEnv(t, servePolicy("required", "30m"))
	p := se.serve()
	adminFile := se.store + server.AdminFileSuffix

	fi, err := os.Stat(adminFile)
	if err != nil {
		t.Fatalf("medic serve wrote no admin file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin file mode = %v, want 0600 (it holds the admin token)", fi.Mode().Perm())
	}
	info, err := server.ReadAdminFile(adminFile)
	if err != nil {
		t.Fatal(err)
	}
	if "http://"+info.Addr != p.url {
		t.Errorf("admin file address = %s, want the server's %s", info.Addr, p.url)
	}

	start := time.Now()
	code, out, errOut := se.medicCmd("pause", "--store", se.store, "--reason", "freeze")
	if code != exitOK {
		t.Fatalf("pause against a running serve: exit %d, stderr %s", code, errOut)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("pause took %v: it waited for the file lock", took)
	}
	if want := "medic is paused (via the running medic serve at " + info.Addr; !strings.HasPrefix(out, want) {
		t.Errorf("pause said %q, want it to start %q", out, want)
	}
	resp, err := http.Get(p.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Paused bool }
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if !h.Paused {
		t.Errorf("/healthz paused = false after `medic pause` through the admin endpoint")
	}

	code, out, errOut = se.medicCmd("audit", "--store", se.store, "--since", "1d")
	if code != exitOK || !strings.Contains(out, "switch.paused") || !strings.Contains(out, "freeze") {
		t.Errorf("audit against a running serve: exit %d, stdout:\n%s\nstderr: %s\nwant the switch.paused entry with its reason", code, out, errOut)
	}
	if !strings.Contains(errOut, "via the running medic serve at "+info.Addr) {
		t.Errorf("audit stderr = %q, want it to say it read via the running medic serve", errOut)
	}

	code, out, errOut = se.medicCmd("resume", "--store", se.store)
	if code != exitOK || !strings.HasPrefix(out, "medic is resumed (via the running medic serve at ") {
		t.Errorf("resume: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// The endpoint wants the token, from this machine.
	for name, auth := range map[string]string{"no token": "", "a wrong token": "Bearer " + strings.Repeat("0", 64)} {
		req, _ := http.NewRequest(http.MethodGet, p.url+"/admin/audit", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /admin/audit with %s = %d, want 401", name, resp.StatusCode)
		}
	}

	if code := p.stop(syscall.SIGTERM); code != exitOK {
		t.Fatalf("medic serve exit %d; log:\n%s", code, p.logs)
	}
	if _, err := os.Stat(adminFile); !os.IsNotExist(err) {
		t.Errorf("admin file still there after the server stopped: %v", err)
	}
	code, out, errOut = se.medicCmd("pause", "--store", se.store)
	if code != exitOK || !strings.HasPrefix(out, "medic is paused (embedded store "+se.store+")") {
		t.Errorf("pause with no server: exit %d, stdout %q, stderr %q; want it to open the store file", code, out, errOut)
	}
}
