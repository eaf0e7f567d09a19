// Package testenv starts the real components integration tests talk to:
// moto_server for AWS. Tests call Moto(t); it starts one moto_server per test
// binary on a free 127.0.0.1 port and resets it for each test.
package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region tests use.
const Region = "us-east-1"

// Account is moto's default account ID.
const Account = "123456789012"

var (
	motoOnce sync.Once
	motoURL  string
	motoErr  error
)

// MotoServer is a running moto_server.
type MotoServer struct {
	// URL is the base endpoint, e.g. http://127.0.0.1:PORT.
	URL string
	// Config is an AWS config pointed at the server with static credentials.
	Config aws.Config
}

// Moto returns the test binary's moto_server, reset to empty. When moto
// cannot be started the test is skipped, or fails when CI=true. Tests using
// it must not call t.Parallel: they share one server.
func Moto(t testing.TB) *MotoServer {
	t.Helper()
	motoOnce.Do(func() { motoURL, motoErr = startMoto() })
	if motoErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("moto_server is required in CI and could not be started: %v (run `make tools` or install moto[server]==5.2.1)", motoErr)
		}
		t.Skipf("moto_server not available: %v", motoErr)
	}
	if err := reset(motoURL); err != nil {
		t.Fatalf("reset moto_server: %v", err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithBaseEndpoint(motoURL),
	)
	if err != nil {
		t.Fatalf("aws config for moto: %v", err)
	}
	return &MotoServer{URL: motoURL, Config: cfg}
}

// motoCommand finds moto_server: MOTO_SERVER, the project's .venv, then PATH.
func motoCommand() (string, []string, error) {
	if p := os.Getenv("MOTO_SERVER"); p != "" {
		return p, nil, nil
	}
	if root, err := repoRoot(); err == nil {
		p := filepath.Join(root, ".venv", "bin", "moto_server")
		if _, err := os.Stat(p); err == nil {
			return p, nil, nil
		}
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil, nil
	}
	if p, err := exec.LookPath("python3"); err == nil {
		if exec.Command(p, "-c", "import moto.server").Run() == nil {
			return p, []string{"-m", "moto.server"}, nil
		}
	}
	return "", nil, fmt.Errorf("moto_server not found (set MOTO_SERVER, run `make tools`, or put it on PATH)")
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found")
		}
		dir = parent
	}
}

func startMoto() (string, error) {
	p, err := StartMoto()
	if err != nil {
		return "", err
	}
	return p.URL, nil
}

// MotoProcess is a moto_server started by StartMoto.
type MotoProcess struct {
	URL string
	cmd *exec.Cmd
}

// Stop kills the server.
func (p *MotoProcess) Stop() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
}

// Config returns an AWS config pointed at the server with static
// credentials.
func (p *MotoProcess) Config(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithBaseEndpoint(p.URL),
	)
}

// StartMoto starts a moto_server on a free 127.0.0.1 port and waits until
// it answers. The server dies with this process; call Stop to end it
// sooner. env adds KEY=VALUE settings to the server's environment (e.g.
// MOTO_ECS_SERVICE_RUNNING, the running task count moto reports for every
// ECS service; unset, 0, so every deployment stays IN_PROGRESS).
func StartMoto(env ...string) (*MotoProcess, error) {
	bin, args, err := motoCommand()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	args = append(args, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd := exec.Command(bin, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	out := &lockedBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	// The server dies with the test binary (Linux parent-death signal).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return nil, fmt.Errorf("moto_server exited: %s", out.String())
		default:
		}
		if reset(url) == nil {
			return &MotoProcess{URL: url, cmd: cmd}, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return nil, fmt.Errorf("moto_server did not answer on %s within 60s: %s", url, out.String())
}

func reset(url string) error {
	resp, err := http.Post(url+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset: HTTP %d", resp.StatusCode)
	}
	return nil
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
