package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
func runPolicyDiff(ctx context.Context, e *env, args []string) int {
	fset := e.flags("policy diff")
	base := fset.String("base", "", "git ref of the base version (required), e.g. origin/main or a SHA")
	head := fset.String("head", "", "git ref, or directory, of the head version (default: the working tree's policies/)")
	inRepo := fset.String("path", "", "the policy directory inside the repository (default: the --head directory's, else policies)")
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
	if *head == "" {
		headDir = "."
	} else if st, err := os.Stat(*head); err == nil && st.IsDir() {
		headDir = *head
	}
	repoFrom := "."
	if headDir != "" {
		repoFrom = headDir
	}
	repo, err := policydiff.OpenRepo(ctx, repoFrom)
	if err != nil {
		return fail("%v", err)
	}
	if *head == "" {
		headDir = filepath.Join(repo.Root, "policies")
	}
	dir := *inRepo
	if dir == "" {
		dir = "policies"
		if headDir != "" {
			if rel, ok := relToRepo(repo.Root, headDir); ok {
				dir = rel
			}
		}
	}

	baseCommit, err := repo.Resolve(ctx, *base)
	if err != nil {
		return fail("%v", err)
	}
	baseFS, err := repo.FS(ctx, baseCommit, dir)
	if err != nil {
		return fail("%v", err)
	}
	baseName := *base + ":" + dir
	var headFS fs.FS
	var headName string
	if headDir != "" {
		headFS, headName = os.DirFS(headDir), headDir
		if *head == "" {
			headName = dir
		}
	} else {
		headCommit, err := repo.Resolve(ctx, *head)
		if err != nil {
			return fail("%v", err)
		}
		if headFS, err = repo.FS(ctx, headCommit, dir); err != nil {
			return fail("%v", err)
		}
		headName = *head + ":" + dir
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
		fmt.Fprintf(e.stderr, "medic policy diff: warning: %s: fixture skipped: %v\n", baseName, p)
	}
	for _, p := range headProblems {
		fmt.Fprintf(e.stderr, "medic policy diff: warning: %s: fixture skipped: %v\n", headName, p)
	}
	in := policydiff.Input{
		Base: basePolicies, Head: headPolicies, BaseName: baseName, HeadName: headName,
		Samples: policydiff.UnionSamples(baseSamples, headSamples),
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
