package validate

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// CheckDockerfile reads the Dockerfile with BuildKit's own parser (the one `docker build`
// uses) and checks what docs/operations.md promises of the image: a multi-stage build whose
// build stage compiles without cgo; a final stage on distroless static or scratch, by tag or
// digest, never latest; a numeric non-root USER; an exec-form ENTRYPOINT that is the binary
// copied from the build stage; no ADD of URLs; every file copied from the context exists
// under root; and every service's main package exists where the build command looks. There is
// no container engine in CI (nor a registry to pull the bases from), so this check and
// CheckStatic on the binaries stand in for `docker build`.
func CheckDockerfile(content []byte, root string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	res, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		return []string{"Dockerfile does not parse: " + err.Error()}
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return []string{"Dockerfile does not parse: " + err.Error()}
	}
	if len(stages) < 2 {
		return []string{fmt.Sprintf("Dockerfile has %d stage(s): want a multi-stage build (compile, then a minimal runtime image)", len(stages))}
	}
	build, final := stages[0], stages[len(stages)-1]

	cgoOff := false
	var buildRuns []string
	for _, cmd := range build.Commands {
		switch c := cmd.(type) {
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				if kv.Key == "CGO_ENABLED" && kv.Value == "0" {
					cgoOff = true
				}
			}
		case *instructions.RunCommand:
			buildRuns = append(buildRuns, strings.Join(c.CmdLine, " "))
		}
	}
	if !cgoOff {
		bad("build stage %q does not set CGO_ENABLED=0: the binary would not be static", build.Name)
	}
	if !strings.Contains(strings.Join(buildRuns, "\n"), "./cmd/$SERVICE") {
		bad("build stage %q never builds ./cmd/$SERVICE", build.Name)
	}
	for svc := range Services {
		if _, err := os.Stat(filepath.Join(root, "services", svc, "cmd", svc, "main.go")); err != nil {
			bad("SERVICE=%s: services/%s/cmd/%s/main.go does not exist", svc, svc, svc)
		}
	}

	base := final.BaseName
	switch {
	case base == "scratch":
	case strings.HasPrefix(base, "gcr.io/distroless/static"):
		if !strings.Contains(base, ":") && !strings.Contains(base, "@sha256:") {
			bad("final base image %q has no tag or digest", base)
		}
		if strings.HasSuffix(base, ":latest") {
			bad("final base image %q uses latest", base)
		}
	default:
		bad("final base image %q is neither distroless static nor scratch", base)
	}

	user, copied, entry := "", map[string]bool{}, []string(nil)
	for _, cmd := range final.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.CopyCommand:
			if c.From == build.Name {
				copied[c.DestPath] = true
			}
		case *instructions.EntrypointCommand:
			if !c.PrependShell {
				entry = c.CmdLine
			} else {
				bad("ENTRYPOINT in shell form: the final image has no shell")
			}
		case *instructions.RunCommand:
			bad("RUN in the final stage: distroless and scratch have no shell (%s)", strings.Join(c.CmdLine, " "))
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); user == "" || err != nil || n == 0 {
		bad("final stage USER %q: want a numeric non-root user (Kubernetes' runAsNonRoot can only verify a numeric one)", user)
	}
	if len(entry) == 0 {
		bad("final stage has no exec-form ENTRYPOINT")
	} else if !copied[entry[0]] {
		bad("ENTRYPOINT %s is not the binary copied from stage %q", entry[0], build.Name)
	}

	for _, st := range stages {
		for _, cmd := range st.Commands {
			switch c := cmd.(type) {
			case *instructions.AddCommand:
				for _, src := range c.SourcePaths {
					if regexp.MustCompile(`^[a-z]+://`).MatchString(src) {
						bad("ADD %s downloads at build time: fetch it in a pinned, checked step instead", src)
					}
				}
			case *instructions.CopyCommand:
				if c.From != "" {
					continue
				}
				for _, src := range c.SourcePaths {
					if _, err := os.Stat(filepath.Join(root, src)); err != nil {
						bad("COPY %s: not in the build context (%s)", src, filepath.Join(root, src))
					}
				}
			}
		}
	}
	return problems
}

// CheckStatic reports why the ELF binary at path is not a static executable (it has a dynamic
// loader or needs shared libraries), or nothing when it is: a static binary runs on distroless
// static or scratch, which have no libc.
func CheckStatic(path string) []string {
	f, err := elf.Open(path)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	defer f.Close()
	var problems []string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			problems = append(problems, path+": has a dynamic loader (PT_INTERP): built with cgo?")
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		problems = append(problems, fmt.Sprintf("%s: needs shared libraries %v", path, libs))
	}
	return problems
}
