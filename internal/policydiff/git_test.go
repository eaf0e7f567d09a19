package policydiff

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func TestMemFSIsAFileSystem(t *testing.T) {
	m := memFS{"a.yaml": []byte("version: 1"), "tests/x.yaml": []byte("cases: []"), "tests/alarms/e.json": []byte("{}")}
	if err := fstest.TestFS(m, "a.yaml", "tests/x.yaml", "tests/alarms/e.json"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRepoOutsideARepository(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is required: %v", err)
	}
	_, err := OpenRepo(context.Background(), t.TempDir())
	if !errors.Is(err, ErrNotRepo) {
		t.Errorf("err = %v, want ErrNotRepo", err)
	}
}

func TestHasDir(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is required: %v", err)
	}
	dir := t.TempDir()
	gitCmd := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "deploy", "policies"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"deploy/policies/a.yaml": "version: 1\n", "README": "x\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitCmd("init", "-q")
	gitCmd("add", "-A")
	gitCmd("commit", "-q", "-m", "one")
	ctx := context.Background()
	repo, err := OpenRepo(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	commit, err := repo.Resolve(ctx, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]bool{"deploy/policies": true, "deploy": true, "/deploy/policies/": true, "": true,
		"deploy/polices": false, "policies": false, "README": false, "deploy/policies/a.yaml": false} {
		if got, err := repo.HasDir(ctx, commit, dir); err != nil || got != want {
			t.Errorf("HasDir(%q) = %v, %v; want %v", dir, got, err, want)
		}
	}
}
