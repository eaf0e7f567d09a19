package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/internal/testenv"
)

// invokeTimeout bounds one invocation, cold start included.
const invokeTimeout = 30 * time.Second

// function is one bootstrap running as a Lambda would run it: a process
// polling its own Runtime API.
type function struct {
	name   string
	rt     *testenv.LambdaRuntime
	cmd    *exec.Cmd
	out    *output
	exited chan struct{}
}

// startFunction starts bin with env (plus AWS_LAMBDA_RUNTIME_API) against
// a fresh Runtime API. The process is killed when the test ends.
func startFunction(t testing.TB, name, bin string, env []string) *function {
	t.Helper()
	f := newFunction(t, name, bin, env)
	f.start(t)
	return f
}

// newFunction prepares bin to run against a fresh Runtime API; start
// starts it.
func newFunction(t testing.TB, name, bin string, env []string) *function {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), name+"-*.log")
	if err != nil {
		t.Fatalf("create %s function's log: %v", name, err)
	}
	t.Cleanup(func() { _ = out.Close() })
	f := &function{name: name, rt: testenv.NewLambdaRuntime(t), out: &output{f: out}, exited: make(chan struct{})}
	f.cmd = exec.Command(bin)
	f.cmd.Env = append(slices.Clip(env), "AWS_LAMBDA_RUNTIME_API="+f.rt.Addr)
	// A file, not a pipe: the child writes into it directly, so whatever it
	// logged before answering is there when the answer arrives.
	f.cmd.Stdout = out
	f.cmd.Stderr = out
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return f
}

// start starts the process; it is killed when the test ends.
func (f *function) start(t testing.TB) {
	t.Helper()
	if err := f.cmd.Start(); err != nil {
		t.Fatalf("start %s function: %v", f.name, err)
	}
	go func() { _ = f.cmd.Wait(); close(f.exited) }()
	t.Cleanup(f.stop)
}

// stop kills the process (Lambda freezes and later kills it) and waits for
// it to exit.
func (f *function) stop() {
	select {
	case <-f.exited:
		return
	default:
	}
	_ = f.cmd.Process.Kill()
	<-f.exited
}

// invoke delivers payload and returns the function's answer. It fails the
// test, with the process's output, when the function answers with an
// error, exits, or does not answer in time.
func (f *function) invoke(t testing.TB, payload any) []byte {
	t.Helper()
	res, err := f.tryInvoke(payload)
	if err != nil {
		t.Fatalf("invoke %s: %v\n%s output:\n%s", f.name, err, f.name, f.out.String())
	}
	if res.Error != nil {
		t.Fatalf("invoke %s: function error %s\n%s output:\n%s", f.name, res.Error, f.name, f.out.String())
	}
	return res.Response
}

// tryInvoke delivers payload; an error means no answer came (the process
// exited or the deadline passed).
func (f *function) tryInvoke(payload any) (testenv.InvokeResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), invokeTimeout)
	defer cancel()
	go func() {
		select {
		case <-f.exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	res, err := f.rt.Invoke(ctx, payload)
	if err != nil {
		select {
		case <-f.exited:
			return res, fmt.Errorf("the process exited (%v) before answering", f.cmd.ProcessState)
		default:
		}
		return res, err
	}
	return res, nil
}

// peakRSS stops the process and returns its peak resident set size in
// bytes: the kernel's high-water mark (VmHWM in /proc/PID/status), read just
// before the process is killed. Not rusage's Maxrss after exit: on Linux the
// child's Maxrss includes the RSS of the test binary it was forked from
// (exec records the pre-exec memory's high-water mark), which would make
// every function look at least as big as the test binary.
func (f *function) peakRSS() (int64, error) {
	defer f.stop()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", f.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read peak RSS of %s: %w", f.name, err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read peak RSS of %s: VmHWM %q: %w", f.name, v, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("read peak RSS of %s: no VmHWM in /proc/%d/status", f.name, f.cmd.Process.Pid)
}

// decode unmarshals an answer, failing the test with the function's output.
func (f *function) decode(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s answered %s, not %T: %v\n%s output:\n%s", f.name, b, v, err, f.name, f.out.String())
	}
}

// lambdaEnv is the environment Lambda gives a provided.al2023 function of
// the template (256 MB, JSON logs), before the function's own variables.
// Credentials are static test ones; nothing of this machine's environment
// is passed on.
func lambdaEnv(function string) []string {
	return []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + function,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + function,
		"AWS_LAMBDA_LOG_STREAM_NAME=2025/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"AWS_LAMBDA_LOG_LEVEL=INFO",
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=/var/task",
		"LAMBDA_RUNTIME_DIR=/var/runtime",
		"AWS_REGION=" + testenv.Region,
		"AWS_DEFAULT_REGION=" + testenv.Region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_SESSION_TOKEN=test",
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
	}
}

// templateEnv returns the environment variables template.yaml sets for the
// function with logical ID fn (Globals, then the function's own), each as
// what it resolves to in the stack the e2e tests deploy: a !Ref names a
// resource's logical ID or a parameter ("!Ref Table" -> "Table"), resolved
// by functionEnv; a literal stands for itself. The e2e stack is a
// single-account one, so every condition is false: !If takes its else
// branch. !Join joins a !Ref to a list parameter, which the test gives as
// one string. Anything else fails the test, so a template change shows up
// here.
func templateEnv(t testing.TB, fn string) map[string]envValue {
	t.Helper()
	raw := readTemplate(t)
	type env struct {
		Environment struct {
			Variables map[string]yaml.Node `yaml:"Variables"`
		} `yaml:"Environment"`
	}
	var tpl struct {
		Globals struct {
			Function env `yaml:"Function"`
		} `yaml:"Globals"`
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties env    `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	res, ok := tpl.Resources[fn]
	if !ok || res.Type != "AWS::Serverless::Function" {
		t.Fatalf("template.yaml declares no function %s", fn)
	}
	out := make(map[string]envValue)
	for _, vars := range []map[string]yaml.Node{tpl.Globals.Function.Environment.Variables, res.Properties.Environment.Variables} {
		for name, n := range vars {
			v, ok := resolveEnvNode(&n)
			if !ok {
				t.Fatalf("template.yaml: %s sets %s to %s %q; the e2e test only knows !Ref, literals, !If and !Join of a !Ref", fn, name, n.Tag, n.Value)
			}
			out[name] = v
		}
	}
	return out
}

// envValue is an environment variable's value in the e2e stack: a !Ref to
// resolve, or a literal.
type envValue struct {
	ref     string
	literal string
}

func resolveEnvNode(n *yaml.Node) (envValue, bool) {
	switch {
	case n.Tag == "!Ref" && n.Kind == yaml.ScalarNode:
		return envValue{ref: n.Value}, true
	case n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || n.Tag == ""):
		return envValue{literal: n.Value}, true
	case n.Tag == "!If" && n.Kind == yaml.SequenceNode && len(n.Content) == 3:
		return resolveEnvNode(n.Content[2]) // conditions are false in the e2e stack
	case n.Tag == "!Join" && n.Kind == yaml.SequenceNode && len(n.Content) == 2 && n.Content[1].Tag == "!Ref":
		return envValue{ref: n.Content[1].Value}, true
	}
	return envValue{}, false
}

// functionEnv resolves templateEnv(fn) with values (by logical ID or
// parameter name) and appends extra. A reference values does not know
// fails the test.
func functionEnv(t testing.TB, fn string, values map[string]string, extra ...string) []string {
	t.Helper()
	vars := templateEnv(t, fn)
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	env := lambdaEnv(fn)
	for _, name := range names {
		v := vars[name]
		if v.ref == "" {
			env = append(env, name+"="+v.literal)
			continue
		}
		val, ok := values[v.ref]
		if !ok {
			t.Fatalf("template.yaml sets %s from !Ref %s, which the e2e test does not provide", name, v.ref)
		}
		env = append(env, name+"="+val)
	}
	return append(env, extra...)
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
			return "", fmt.Errorf("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// errorLogs returns the function's JSON log records at level ERROR.
func (f *function) errorLogs() []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(f.out.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "ERROR" {
			out = append(out, rec)
		}
	}
	return out
}

// output is a function's log file (stdout and stderr).
type output struct{ f *os.File }

// String returns the first 1 MiB of the log.
func (o *output) String() string {
	b := make([]byte, 1<<20)
	n, err := o.f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Sprintf("(read %s: %v)", o.f.Name(), err)
	}
	return string(b[:n])
}

// readTemplate returns template.yaml's bytes.
func readTemplate(t testing.TB) []byte {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatalf("read template.yaml: %v", err)
	}
	return raw
}
