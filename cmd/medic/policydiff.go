package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/medicbot/medic/internal/history"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/policydiff"
)

// runPolicyDiff prints, as Markdown, how the policies at head behave
// differently from those at a base git ref. Exit status: 0 no behaviour
// change, 1 changed, 2 error (the contract .github/workflows/policies.yml
// relies on).
//
// Only the refs need git: they are read from the repository holding the
// current directory (or --repo), never from a --head DIR, which may be
// anywhere. The policy directory inside that repository is --path, else
// the --head DIR's place in it, else policies. A version whose commit lacks
// that directory has no policies, and the report says so, but only when
// the directory exists elsewhere in the repository (its work tree, HEAD or
// the other ref): otherwise the path is wrong and that is an error.
func runPolicyDiff(ctx context.Context, e *env, args []string) int {
	fset := e.flags("policy diff")
	base := fset.String("base", "", "git ref of the base version (required), e.g. origin/main or a SHA")
	head := fset.String("head", "", "git ref, or directory (anywhere), of the head version (default: the repository's work tree)")
	inRepo := fset.String("path", "", "the policy directory inside the repository (default: the --head directory's place in it, else policies)")
	repoDir := fset.String("repo", "", "the git repository the refs are read from (default: the one holding the current directory)")
	historyFile := fset.String("history", "", "alarm history (JSON Lines from `medic history export`) to replay under both versions")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(e.stderr, "medic policy diff: "+format+"\n", args...)
		return exitUsage
	}
	switch {
	case fset.NArg() > 0:
		return fail("unexpected argument %q (use --head DIR)", fset.Arg(0))
	case *base == "":
		return fail("--base REF is required")
	}

	// The head is a directory when one of that name exists, else a ref.
	headDir := ""
	if st, err := os.Stat(*head); *head != "" && err == nil && st.IsDir() {
		headDir = *head
	}
	repoFrom := *repoDir
	if repoFrom == "" {
		repoFrom = "."
	}
	repo, err := policydiff.OpenRepo(ctx, repoFrom)
	switch {
	case errors.Is(err, policydiff.ErrNotRepo) && *repoDir == "":
		return fail("%v: --base %s is read from the git repository holding the current directory; run medic there or give --repo DIR", err, *base)
	case err != nil:
		return fail("%v", err)
	}
	dir := strings.Trim(path.Clean("/"+filepath.ToSlash(*inRepo)), "/")
	if *inRepo == "" {
		dir = "policies"
		if headDir != "" {
			if rel, ok := relToRepo(repo.Root, headDir); ok {
				dir = rel
			}
		}
	}
	if *head == "" {
		headDir = filepath.Join(repo.Root, filepath.FromSlash(dir))
	}

	baseCommit, err := repo.Resolve(ctx, *base)
	if err != nil {
		return fail("%v", err)
	}
	var headCommit string
	if headDir == "" {
		if headCommit, err = repo.Resolve(ctx, *head); err != nil {
			return fail("%v", err)
		}
	}
	// exists says where else dir is, to tell a version from before the
	// policies from a wrong path.
	exists := func(except string) bool {
		if st, err := os.Stat(filepath.Join(repo.Root, filepath.FromSlash(dir))); err == nil && st.IsDir() {
			return true
		}
		for _, c := range []string{"HEAD", baseCommit, headCommit} {
			if c != "" && c != except {
				if ok, err := repo.HasDir(ctx, c, dir); err == nil && ok {
					return true
				}
			}
		}
		return false
	}
	var notes []string
	// version reads the policy directory at a ref; why says what its
	// absence means.
	version := func(ref, commit, why string) (fs.FS, string, bool) {
		name := ref + ":" + dir
		ok, err := repo.HasDir(ctx, commit, dir)
		switch {
		case err != nil:
			fail("%v", err)
			return nil, "", false
		case !ok && !exists(commit):
			what := "--path " + dir
			if *inRepo == "" {
				what = dir + " (give --path when the policies are elsewhere)"
			}
			fail("%s: no such directory at %s (%s), nor in the work tree or at HEAD of %s", what, ref, shortSHA(commit), repo.Root)
			return nil, "", false
		case !ok:
			notes = append(notes, fmt.Sprintf("`%s` has no `%s/` directory (%s): it has no policies.", ref, dir, why))
		}
		fsys, err := repo.FS(ctx, commit, dir)
		if err != nil {
			fail("%v", err)
			return nil, "", false
		}
		return fsys, name, true
	}
	baseFS, baseName, ok := version(*base, baseCommit, "a version from before the policies were there")
	if !ok {
		return exitUsage
	}
	var headFS fs.FS
	var headName string
	if headDir != "" {
		headFS, headName = os.DirFS(headDir), headDir
		if *head == "" {
			headName = dir
			// The base check found the directory somewhere: a work tree
			// without it has removed every policy.
			if _, err := os.Stat(headDir); errors.Is(err, fs.ErrNotExist) {
				notes = append(notes, fmt.Sprintf("The work tree has no `%s/` directory: it has no policies.", dir))
			}
		}
	} else if headFS, headName, ok = version(*head, headCommit, "the policies were removed"); !ok {
		return exitUsage
	}

	basePolicies, ok := e.diffLoad(baseFS, baseName)
	if !ok {
		return exitUsage
	}
	headPolicies, ok := e.diffLoad(headFS, headName)
	if !ok {
		return exitUsage
	}
	baseSamples, baseProblems := policydiff.FixtureSamples(baseFS)
	headSamples, headProblems := policydiff.FixtureSamples(headFS)
	for _, p := range baseProblems {
		fmt.Fprintf(e.stderr, "medic policy diff: warning: fixture skipped: %v\n", fixtureProblem(baseName, p))
	}
	for _, p := range headProblems {
		fmt.Fprintf(e.stderr, "medic policy diff: warning: fixture skipped: %v\n", fixtureProblem(headName, p))
	}
	in := policydiff.Input{
		Base: basePolicies, Head: headPolicies, BaseName: baseName, HeadName: headName,
		Samples: policydiff.UnionSamples(baseSamples, headSamples), Notes: notes,
	}
	if *historyFile != "" {
		if in.History, err = history.ReadFile(*historyFile); err != nil {
			return fail("%v", err)
		}
		if in.History == nil {
			in.History = []history.Record{}
		}
	}
	report := policydiff.Compare(in)
	if err := report.Markdown(e.stdout); err != nil {
		return fail("write the report: %v", err)
	}
	if report.BehaviourChanged() {
		return exitFindings
	}
	return exitOK
}

// fixtureProblem names a fixture problem's file inside the version: a
// *policy.Error's file is relative to the policy directory.
func fixtureProblem(version string, err error) error {
	var pe *policy.Error
	if errors.As(err, &pe) && pe.File != "" {
		c := *pe
		c.File = joinName(version, pe.File)
		return &c
	}
	return fmt.Errorf("%s: %w", version, err)
}

func shortSHA(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// diffLoad loads one version's policies; a version without policy files
// has none. Invalid policies are printed and make the diff fail.
func (e *env) diffLoad(fsys fs.FS, name string) ([]*policy.Policy, bool) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(e.stderr, "medic policy diff: %s: %v\n", name, err)
		return nil, false
	}
	if !slices.ContainsFunc(entries, func(d fs.DirEntry) bool { return !d.IsDir() && policy.IsPolicyFile(d.Name()) }) {
		return nil, true
	}
	set, err := policy.Load(fsys, e.catalog)
	var errs *policy.Errors
	switch {
	case errors.As(err, &errs):
		for _, pe := range *errs {
			pe.File = joinName(name, pe.File)
			fmt.Fprintln(e.stderr, pe)
		}
		fmt.Fprintf(e.stderr, "medic policy diff: %d problem(s) in %s\n", len(*errs), name)
		return nil, false
	case err != nil:
		fmt.Fprintf(e.stderr, "medic policy diff: %s: %v\n", name, err)
		return nil, false
	}
	return set.Policies(), true
}

// relToRepo returns dir relative to the repository root, slash-separated,
// when dir is inside it.
func relToRepo(root, dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}
