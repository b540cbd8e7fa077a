package main

import (
	"fmt"
	"io/fs"
	"os"
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
// benchmark (go run ./cmd/wijkbrug/bench), whose runs take minutes. The decision
// record and the performance history are left out: they tell what was, flags since renamed
// included.
func TestDocumentedCommandsAndFlagsExist(t *testing.T) {
	t.Parallel()
	files := slices.DeleteFunc(documents(t, filepath.Join("..", "..")), isHistory)
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
	benchFlags := benchmarkFlags(t)
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

// documents are the README, docs/ and the service guides under root.
func documents(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	guides, _ := filepath.Glob(filepath.Join(root, "docs", "services", "*.md"))
	return append(append(files, guides...), filepath.Join(root, "README.md"))
}

// isHistory tells the decision record and the performance history, which tell what was (flags
// and tests since renamed or replaced included).
func isHistory(file string) bool {
	return strings.HasSuffix(file, "decisions.md") || strings.HasSuffix(file, "performance-history.md")
}

// benchmarkFlags are the flags the benchmark declares on its flag set, read from its source.
// Building it compiled its load generator (ghz and its dependencies) for this test alone,
// which then took 14–15 s instead of under one.
func benchmarkFlags(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("bench", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), `fs := flag.NewFlagSet("bench"`) {
		t.Fatal("cmd/wijkbrug/bench/main.go no longer declares its flags on fs := flag.NewFlagSet(\"bench\", …): teach benchmarkFlags where they are")
	}
	flags := map[string]bool{}
	decl := regexp.MustCompile(`\bfs\.(?:Bool|Duration|Float64|Func|Int|Int64|String|TextVar|Uint|Var|(?:Bool|Duration|Float64|Int|Int64|String|Uint)Var)\((?:&?[\w.]+, )?"([a-z][a-z0-9-]*)"`)
	for _, m := range decl.FindAllSubmatch(src, -1) {
		flags[string(m[1])] = true
	}
	if len(flags) < 10 { // 14 when written
		t.Fatalf("found %d of the benchmark's flags in cmd/wijkbrug/bench/main.go: fewer than it declares (14 when this test was written)", len(flags))
	}
	return flags
}

// flagToken is a flag as a document gives it: -name, --name or -name=value.
var flagToken = regexp.MustCompile(`^--?([a-z][a-z0-9-]*)(?:=.*)?$`)

// codeTexts are a Markdown document's code: each line of a fenced block (a line ending in a
// backslash joined with the next, as the shell reads it), and each inline span (its line
// breaks as spaces).
func codeTexts(md string) []string {
	var out []string
	parts := strings.Split(md, "```")
	for i, p := range parts {
		if i%2 == 1 { // inside a fence: its language on the first line, then the lines
			out = append(out, strings.Split(strings.ReplaceAll(p, "\\\n", " "), "\n")...)
			continue
		}
		for _, m := range inlineCode.FindAllStringSubmatch(p, -1) {
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
		if !commandWord.MatchString(words[i+1]) {
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

// TestDocumentsReferToWhatExists: what the README and docs/ point a reader to is there — every
// relative link's file and its #anchor (a heading of that file, as GitHub names it), every
// repository path in inline code (`pkg/outbox/relay.go`, `deploy/overlays/prod`) and, outside
// the decision record and the performance history (which tell of tests since replaced), every
// test, fuzz target or benchmark named (`TestBOLA`).
func TestDocumentsReferToWhatExists(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	files := documents(t, root)
	funcs := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bin" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range goFunc.FindAllSubmatch(b, -1) {
			funcs[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var links, paths, tests int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, name := string(b), strings.TrimPrefix(f, root+string(filepath.Separator))
		history := isHistory(f)
		for _, m := range mdLink.FindAllStringSubmatch(doc, -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			links++
			path, anchor, _ := strings.Cut(link, "#")
			target := f
			if path != "" {
				target = filepath.Join(filepath.Dir(f), path)
			}
			tb, err := os.ReadFile(target)
			if err != nil {
				if _, statErr := os.Stat(target); statErr != nil {
					t.Errorf("%s: the link %s leads nowhere", name, link)
				}
				continue // a directory
			}
			if anchor != "" && strings.HasSuffix(target, ".md") && !slices.Contains(headingAnchors(string(tb)), anchor) {
				t.Errorf("%s: the link %s names no heading of %s", name, link, filepath.Base(target))
			}
		}
		for _, m := range repoPath.FindAllStringSubmatch(doc, -1) {
			p := strings.TrimRight(m[1], ".")
			if strings.ContainsAny(p, "<*{…") {
				continue
			}
			paths++
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				t.Errorf("%s: `%s` is not in the repository", name, p)
			}
		}
		if history {
			continue
		}
		for _, m := range testName.FindAllStringSubmatch(doc, -1) {
			tests++
			if !funcs[m[1]] {
				t.Errorf("%s: `%s` is no test of the repository", name, m[1])
			}
		}
	}
	t.Logf("%d links, %d repository paths, %d test names checked", links, paths, tests)
	if links < 60 || paths < 150 || tests < 100 { // 87, 208 and 121 when written
		t.Errorf("fewer references than the documents hold (87 links, 208 paths, 121 test names when this test was written)")
	}
}

var (
	goFunc   = regexp.MustCompile(`(?m)^func (?:\([^)]*\) )?(\w+)`)
	mdLink   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	repoPath = regexp.MustCompile("`((?:cmd|pkg|services|deploy|docs|proto|scripts|examples|\\.ci)/[\\w./-]*)`")
	testName = regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Z]\\w*)`")
	// inlineCode is an inline code span; commandWord a word that may name a command;
	// notInAnchor what GitHub drops from a heading's anchor.
	inlineCode  = regexp.MustCompile("`([^`]+)`")
	commandWord = regexp.MustCompile(`^[a-z][a-z-]*$`)
	notInAnchor = regexp.MustCompile(`[^\p{L}\p{N}_\- ]`)
)

// headingAnchors are the anchors GitHub gives a Markdown document's headings: lower case,
// without punctuation but hyphens and underscores, spaces as hyphens; a repeated one -1, -2.
func headingAnchors(md string) []string {
	var out []string
	seen := map[string]int{}
	inFence := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		h, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if inFence || !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		a := strings.ReplaceAll(notInAnchor.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), ""), " ", "-")
		if n := seen[a]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", a, n))
		} else {
			out = append(out, a)
		}
		seen[a]++
	}
	return out
}
