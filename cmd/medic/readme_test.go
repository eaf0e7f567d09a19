package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeCommandsRun runs every medic command the README shows in a sh
// block that needs no AWS account, Slack or GitHub: policy lint and test,
// simulate without --plan, help, and pause, resume and audit on an
// embedded store (given a fresh --store when the README names none). Each
// must exit 0. Commands with placeholders (FILE, ID, [...]), environment
// assignments, --plan, --aws, serve, demo, alarms and history export are
// left out.
func TestReadmeCommandsRun(t *testing.T) {
	for _, k := range []string{"MEDIC_TABLE", "MEDIC_ACCOUNT_ID", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(t.TempDir(), "medic.db")
	t.Chdir("../..") // the README's paths are relative to the repository
	ran := 0
	for _, line := range shLines(string(readme)) {
		args, ok := medicArgs(line)
		if !ok || !runnable(args) {
			continue
		}
		if usesStore(args) && !hasFlag(args, "--store") {
			args = append(args, "--store", store)
		}
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(args, strings.NewReader(""), &stdout, &stderr); code != exitOK {
				t.Errorf("README command `%s` exits %d\nstdout:\n%s\nstderr:\n%s", line, code, &stdout, &stderr)
			}
		})
		ran++
	}
	if ran < 10 {
		t.Errorf("ran %d README commands, want at least 10: is the README still showing how to use medic?", ran)
	}
}

var fence = regexp.MustCompile("(?s)```sh\n(.*?)```")

// shLines returns the command lines of the README's sh blocks, with
// continuation lines joined and comments removed.
func shLines(readme string) []string {
	var out []string
	for _, m := range fence.FindAllStringSubmatch(readme, -1) {
		joined := strings.ReplaceAll(m[1], "\\\n", " ")
		for _, l := range strings.Split(joined, "\n") {
			if i := strings.Index(l, " #"); i >= 0 {
				l = l[:i]
			}
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
	}
	return out
}

// medicArgs returns the arguments of a `medic ...` or `go run ./cmd/medic
// ...` line; ok is false for any other line, and for one that sets
// environment variables first (it needs an account or a secret).
func medicArgs(line string) ([]string, bool) {
	words := splitWords(line)
	switch {
	case len(words) >= 1 && words[0] == "medic":
		return words[1:], true
	case len(words) >= 3 && words[0] == "go" && words[1] == "run" && words[2] == "./cmd/medic":
		return words[3:], true
	}
	return nil, false
}

var placeholder = regexp.MustCompile(`^[A-Z][A-Z_]+$|[\[<]|\.\.\.`)

func runnable(args []string) bool {
	if len(args) == 0 {
		return false
	}
	for _, a := range args {
		if placeholder.MatchString(a) || a == "--plan" || a == "--aws" || a == "--table" {
			return false
		}
	}
	switch args[0] {
	case "serve", "demo", "history", "alarms": // alarms reads the load balancers in AWS
		return false
	}
	return true
}

func usesStore(args []string) bool {
	switch args[0] {
	case "pause", "resume", "audit", "report":
		return true
	}
	return false
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// splitWords splits a shell line into words, honouring single and double
// quotes.
func splitWords(s string) []string {
	var words []string
	var cur strings.Builder
	var quote rune
	inWord := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
