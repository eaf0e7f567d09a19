package e2e

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/medicbot/medic/internal/testenv"
)

// The main packages the tests run, by short name.
var mainPackages = map[string]string{
	"alarm":    "./functions/alarm",
	"slack":    "./functions/slack",
	"executor": "./functions/executor",
	"hello":    "./internal/testenv/testdata/hello",
	"hellosdk": "./internal/testenv/testdata/hellosdk",
}

// built holds the bootstraps, built once per test binary into dir, which
// TestMain removes.
var built struct {
	once sync.Once
	dir  string
	bins map[string]string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// bootstrap returns the path of the named bootstrap (a key of
// mainPackages). The first call builds them all with
// testenv.BuildBootstrap; a build failure fails that test with the
// compiler's output and every later one with the same error.
func bootstrap(t testing.TB, name string) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "medic-e2e-")
		if err != nil {
			built.err = fmt.Errorf("make a directory for the bootstraps: %w", err)
			return
		}
		built.dir = dir
		bt := &buildTB{TB: t, dir: dir}
		bins := make(map[string]string, len(mainPackages))
		for name, pkg := range mainPackages {
			bins[name] = testenv.BuildBootstrap(bt, pkg, "medic_examples")
		}
		built.bins = bins
	})
	if built.err != nil {
		t.Fatalf("bootstraps not built: %v", built.err)
	}
	bin, ok := built.bins[name]
	if !ok {
		t.Fatalf("no bootstrap %q (known: alarm, slack, executor, hello, hellosdk)", name)
	}
	return bin
}

// buildTB lends testenv.BuildBootstrap a directory that outlives the test
// that happens to build first, and remembers a build failure for the
// tests after it.
type buildTB struct {
	testing.TB
	dir string
}

func (b *buildTB) TempDir() string {
	d, err := os.MkdirTemp(b.dir, "")
	if err != nil {
		b.Fatalf("make a build directory: %v", err)
	}
	return d
}

func (b *buildTB) Fatalf(format string, args ...any) {
	built.err = fmt.Errorf(format, args...)
	b.TB.Helper()
	b.TB.Fatalf(format, args...)
}
