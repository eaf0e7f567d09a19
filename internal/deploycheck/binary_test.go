package deploycheck

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxBinarySize is the most a stripped Lambda binary may weigh: 20 MB.
const maxBinarySize = 20_000_000

// buildAlarm builds functions/alarm as `make build` does (linux/arm64,
// CGO_ENABLED=0, -trimpath, -tags lambda.norpc) with extra linker flags,
// and returns the binary's path and the linker's standard error. Both builds
// of the tests below share the compiled packages with `make build`.
func buildAlarm(t *testing.T, ldflags string) (string, []byte) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command(goCommand(t), "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags="+ldflags, "-o", bin, "./functions/alarm")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build ./functions/alarm: %v\n%s", err, tail(stderr.Bytes(), 40))
	}
	return bin, stderr.Bytes()
}

// TestAlarmBinaryKeepsDeadCodeElimination fails when the Lambda binary can
// reach a method lookup by a run-time name (reflect.Value.MethodByName and
// the like; text/template's field lookup is one). Once such a call is
// reachable the Go linker must keep every exported method of every type
// stored in an interface, so every AWS SDK client operation is linked in
// and each binary doubles, from ~16 MB to ~32 MB. internal/policy evaluates
// parameter templates itself for this reason.
func TestAlarmBinaryKeepsDeadCodeElimination(t *testing.T) {
	bin, dump := buildAlarm(t, "-dumpdep")

	// The compiler marks <ReflectMethod> the functions that look methods up
	// by index or by a non-constant name (reflect's Method, MethodByName);
	// the linker stops pruning methods as soon as one is reachable. The
	// -dumpdep edges into them name who reaches them.
	var reached []string
	sc := bufio.NewScanner(bytes.NewReader(dump))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.HasSuffix(sc.Text(), "<ReflectMethod>") {
			reached = append(reached, sc.Text())
		}
	}
	if len(reached) > 0 {
		t.Errorf("functions/alarm reaches a method lookup by index or run-time name, so the linker keeps every exported "+
			"method of every type in an interface (the whole AWS SDK, ~2x binary size); avoid the callers below "+
			"(text/template execution is one):\n%s", strings.Join(first(reached, 30), "\n"))
	}

	nm, err := exec.Command(goCommand(t), "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	for line := range strings.Lines(string(nm)) {
		if strings.HasSuffix(strings.TrimSpace(line), " reflect.Value.MethodByName") {
			t.Errorf("functions/alarm links reflect.Value.MethodByName: with a by-name method lookup reachable the linker " +
				"keeps every exported method of every type in an interface and the binary doubles; " +
				"run `go build -ldflags=-dumpdep ./functions/alarm 2>&1 | grep MethodByName` to see who calls it")
			break
		}
	}
}

// TestAlarmBinaryIsSmall holds the stripped linux/arm64 binary, as `make
// build` writes it, under maxBinarySize: larger binaries cold-start slower.
func TestAlarmBinaryIsSmall(t *testing.T) {
	bin, _ := buildAlarm(t, "-s -w")
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() >= maxBinarySize {
		t.Errorf("functions/alarm is %.1f MB stripped (linux/arm64), want < %d MB; "+
			"TestAlarmBinaryKeepsDeadCodeElimination says whether the linker's method pruning is off, "+
			"`go tool nm -size -sort size` on an unstripped build shows what else grew", float64(fi.Size())/1e6, maxBinarySize/1_000_000)
	}
}

func goCommand(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build functions/alarm: %v", err)
	}
	return p
}

func first(lines []string, n int) []string {
	if len(lines) > n {
		return append(lines[:n:n], "...")
	}
	return lines
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
