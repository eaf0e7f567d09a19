package policydiff

import (
	"context"
	"errors"
	"os/exec"
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
