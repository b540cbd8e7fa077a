package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocumentedCommandsAndFlagsExist: every wijkbrug command the documents name — in an
// example block or inline, the operator's guide included, whose commands are a deployment's
// and cannot run here (TestDocsExamplesRun runs the rest) — is a command of wijkbrug, and every
// flag given with it is one that command takes (from its -h); so is every flag given to the
// benchmark (go run ./cmd/wijkbrug/bench, built once), whose runs take minutes. The decision
// record and the performance history are left out: they tell what was, flags since renamed
// included.
func TestDocumentedCommandsAndFlagsExist(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	guides, _ := filepath.Glob("../../docs/services/*.md")
	files = append(append(files, guides...), "../../README.md")
	files = slices.DeleteFunc(files, func(f string) bool {
		return strings.HasSuffix(f, "/decisions.md") || strings.HasSuffix(f, "/performance-history.md")
	})
	known := map[string]bool{}
	for _, c := range commands() {
		known[c.name] = true
	}
	srv := &docsServer{work: t.TempDir(), cliFlags: map[string]map[string]bool{}}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	var benchUses [][]string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range codeTexts(string(b)) {
			for _, use := range wijkbrugUses(text) {
				name := filepath.Base(f) + ": " + strings.Join(use, " ")
				if use[0] == benchUse {
					benchUses = append(benchUses, use)
					continue
				}
				if !known[use[0]] {
					t.Errorf("%s: wijkbrug has no command %q", name, use[0])
					continue
				}
				command := use[:1]
				if use[0] == "parked" && len(use) > 1 && (use[1] == "list" || use[1] == "replay") {
					command = use[:2]
				}
				var given []string
				for _, a := range use[len(command):] {
					if m := flagToken.FindStringSubmatch(a); m != nil && m[1] != "h" {
						given = append(given, m[1])
					}
				}
				checked++
				if len(given) == 0 {
					continue
				}
				flags, err := srv.flagsOf(exe, command, runAsCLI+"=1")
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, g := range given {
					if !flags[g] {
						t.Errorf("%s: wijkbrug %s has no flag -%s", name, strings.Join(command, " "), g)
					}
				}
			}
		}
	}
	if len(benchUses) < 5 { // 7 when written
		t.Errorf("%d benchmark commands found in the documents: fewer than they hold (7 when this test was written)", len(benchUses))
	}
	bench := filepath.Join(srv.work, "bench")
	if out, err := exec.Command("go", "build", "-o", bench, "./bench").CombinedOutput(); err != nil {
		t.Fatalf("the benchmark does not build: %v\n%s", err, out)
	}
	benchFlags, err := srv.flagsOf(bench, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, use := range benchUses {
		for _, a := range use[1:] {
			if m := flagToken.FindStringSubmatch(a); m != nil && m[1] != "h" && !benchFlags[m[1]] {
				t.Errorf("%s: the benchmark has no flag -%s", strings.Join(use[1:], " "), m[1])
			}
		}
	}
	t.Logf("%d wijkbrug commands in the documents, %d benchmark commands", checked, len(benchUses))
	if checked < 60 { // 74 when written: fewer means the documents are no longer read
		t.Errorf("%d wijkbrug commands found in the documents: fewer than they hold (74 when this test was written)", checked)
	}
}

// flagToken is a flag as a document gives it: -name, --name or -name=value.
var flagToken = regexp.MustCompile(`^--?([a-z][a-z0-9-]*)(?:=.*)?$`)

// codeTexts are a Markdown document's code: each line of a fenced block, and each inline span
// (its line breaks as spaces).
func codeTexts(md string) []string {
	var out []string
	parts := strings.Split(md, "```")
	for i, p := range parts {
		if i%2 == 1 { // inside a fence: its language on the first line, then the lines
			out = append(out, strings.Split(p, "\n")...)
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(p, -1) {
			out = append(out, strings.ReplaceAll(m[1], "\n", " "))
		}
	}
	return out
}

// benchUse stands for the benchmark's name in what wijkbrugUses gives.
const benchUse = "(bench)"

// wijkbrugUses are the wijkbrug commands a code text names (wijkbrug X, bin/wijkbrug X, go run
// ./cmd/wijkbrug X), each as its words up to a shell comment, pipe or list separator; and the
// benchmark's (go run ./cmd/wijkbrug/bench …), as benchUse and its words.
func wijkbrugUses(text string) [][]string {
	words := strings.Fields(text)
	var uses [][]string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "./cmd/wijkbrug/bench" && i > 0 && words[i-1] == "run" {
			uses = append(uses, append([]string{benchUse}, untilSeparator(words[i+1:])...))
			continue
		}
		if i+1 == len(words) {
			break
		}
		if w != "wijkbrug" && w != "bin/wijkbrug" && !(w == "./cmd/wijkbrug" && i > 0 && words[i-1] == "run") {
			continue
		}
		if !regexp.MustCompile(`^[a-z][a-z-]*$`).MatchString(words[i+1]) {
			continue // wijkbrug <command>, wijkbrug -h
		}
		uses = append(uses, untilSeparator(words[i+1:]))
	}
	return uses
}

// untilSeparator is words up to a shell comment, pipe or list separator.
func untilSeparator(words []string) []string {
	for i, a := range words {
		if strings.HasPrefix(a, "#") || a == "|" || a == "&&" || a == ";" || a == "||" {
			return words[:i]
		}
	}
	return words
}
