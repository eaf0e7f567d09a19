package policydiff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path"
	"slices"
	"strings"
	"time"
)

// Repo is the git repository policies are read from, through the git
// command line.
type Repo struct {
	// Root is the top level of the work tree.
	Root string
}

// ErrNotRepo is returned by OpenRepo for a directory outside any git work
// tree.
var ErrNotRepo = errors.New("not in a git repository")

// OpenRepo finds the git repository holding dir.
func OpenRepo(ctx context.Context, dir string) (*Repo, error) {
	out, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("find the git repository of %s: %w", dir, err)
		}
		if strings.Contains(err.Error(), "not a git repository") {
			return nil, fmt.Errorf("%s: %w", dir, ErrNotRepo)
		}
		return nil, fmt.Errorf("%s: %w (%v)", dir, ErrNotRepo, err)
	}
	return &Repo{Root: strings.TrimSpace(string(out))}, nil
}

// Resolve returns the commit a ref names (a branch, a tag, a SHA, HEAD~1...).
func (r *Repo) Resolve(ctx context.Context, ref string) (string, error) {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return "", fmt.Errorf("resolve git ref %q: not a ref", ref)
	}
	out, err := git(ctx, r.Root, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("resolve git ref %q: unknown revision in %s", ref, r.Root)
	}
	return strings.TrimSpace(string(out)), nil
}

// maxTreeFiles bounds how many files of a policy directory are read.
const maxTreeFiles = 2000

// FS returns the files under dir (slash-separated, relative to the
// repository root) at commit as an fs.FS rooted at dir, read with `git
// ls-tree` and `git show`. A commit without the directory gives an empty
// FS (HasDir tells the two apart).
func (r *Repo) FS(ctx context.Context, commit, dir string) (fs.FS, error) {
	dir = strings.Trim(path.Clean("/"+dir), "/")
	args := []string{"ls-tree", "-r", "-z", "--full-tree", "--name-only", commit}
	if dir != "" {
		args = append(args, "--", dir+"/")
	}
	out, err := git(ctx, r.Root, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s at %s: %w", dir, short(commit), err)
	}
	files := make(memFS)
	for _, name := range strings.Split(string(out), "\x00") {
		if name == "" {
			continue
		}
		if len(files) >= maxTreeFiles {
			return nil, fmt.Errorf("list %s at %s: more than %d files", dir, short(commit), maxTreeFiles)
		}
		data, err := git(ctx, r.Root, "show", commit+":"+name)
		if err != nil {
			return nil, fmt.Errorf("read %s at %s: %w", name, short(commit), err)
		}
		rel := name
		if dir != "" {
			rel = strings.TrimPrefix(name, dir+"/")
		}
		files[rel] = data
	}
	return files, nil
}

// HasDir reports whether dir (slash-separated, relative to the repository
// root) is a directory at commit: FS cannot tell a directory missing from
// one without files.
func (r *Repo) HasDir(ctx context.Context, commit, dir string) (bool, error) {
	dir = strings.Trim(path.Clean("/"+dir), "/")
	if dir == "" {
		return true, nil
	}
	out, err := git(ctx, r.Root, "ls-tree", "-d", "-z", "--full-tree", commit, "--", dir)
	if err != nil {
		return false, fmt.Errorf("look for %s at %s: %w", dir, short(commit), err)
	}
	for _, entry := range strings.Split(string(out), "\x00") {
		if _, name, ok := strings.Cut(entry, "\t"); ok && name == dir {
			return true, nil
		}
	}
	return false, nil
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// git runs git in dir and returns its standard output; a failure carries
// git's first line of standard error.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		if msg != "" {
			return nil, fmt.Errorf("git %s: %s", args[0], msg)
		}
		return nil, fmt.Errorf("git %s: %w", args[0], err)
	}
	return stdout.Bytes(), nil
}

// memFS is a read-only fs.FS of files held in memory, by slash-separated
// path; directories are implied by the paths.
type memFS map[string][]byte

// ReadFile implements fs.ReadFileFS.
func (m memFS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	data, ok := m[name]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(data), nil
}

// ReadDir implements fs.ReadDirFS: entries sorted by name.
func (m memFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	prefix := name + "/"
	if name == "." {
		prefix = ""
	}
	seen := make(map[string]bool)
	var out []fs.DirEntry
	for p, data := range m {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		child, _, isDir := strings.Cut(rest, "/")
		if seen[child] {
			continue
		}
		seen[child] = true
		info := memInfo{name: child, dir: isDir}
		if !isDir {
			info.size = int64(len(data))
		}
		out = append(out, fs.FileInfoToDirEntry(info))
	}
	if len(out) == 0 && name != "." {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Open implements fs.FS.
func (m memFS) Open(name string) (fs.File, error) {
	if data, err := m.ReadFile(name); err == nil {
		return &memFile{Reader: bytes.NewReader(data), info: memInfo{name: path.Base(name), size: int64(len(data))}}, nil
	}
	entries, err := m.ReadDir(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memDir{info: memInfo{name: path.Base(name), dir: true}, entries: entries}, nil
}

type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }

type memFile struct {
	*bytes.Reader
	info memInfo
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Close() error               { return nil }

type memDir struct {
	info    memInfo
	entries []fs.DirEntry
}

func (d *memDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *memDir) Close() error               { return nil }
func (d *memDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}

// ReadDir implements fs.ReadDirFile.
func (d *memDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if n <= 0 {
		out := d.entries
		d.entries = nil
		return out, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	out := d.entries[:n]
	d.entries = d.entries[n:]
	return out, nil
}
