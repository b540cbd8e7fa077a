// Package archcheck keeps the layer rule of DESIGN §10 that every service follows (see
// docs/development.md): domain code imports only the standard library, its own domain and the
// shared domain packages (SharedDomain, standard library only themselves);
// application code reaches no database, broker, transport or generated code, directly or
// through pkg/; ports do not import adapters. Check reads the package graph that
// `go list -deps -json` prints and names every offending import.
package archcheck

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Package is the part of `go list -json` output the rules need.
type Package struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// Read decodes the stream of JSON objects `go list -deps -json` writes.
func Read(r io.Reader) (map[string]Package, error) {
	dec := json.NewDecoder(r)
	out := map[string]Package{}
	for dec.More() {
		var p Package
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
		out[p.ImportPath] = p
	}
	return out, nil
}

// SharedDomain are the packages of domain knowledge several services share, which their domain
// code may import: reference data of the Dutch social domain read the same way everywhere (the
// ZRM instruments, pkg/zrm: intake assesses with them, provider-monitoring names their life
// domains in letters). Each may itself import only the standard library, so the domain stays
// free of transport and database code as DESIGN §10 asks; one copy of the data instead of one
// per service (a newer release of an instrument replaces one file).
var SharedDomain = []string{
	"github.com/wijkbrug/wijkbrug/pkg/zrm",
}

// Infrastructure is what an application layer must not reach: the database driver, the
// broker client, gRPC and protobuf, and the generated API code.
var Infrastructure = []string{
	"github.com/jackc/pgx",
	"github.com/nats-io/",
	"google.golang.org/grpc",
	"google.golang.org/protobuf",
	"github.com/wijkbrug/wijkbrug/pkg/gen/",
}

func infrastructure(path string) bool {
	for _, p := range Infrastructure {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// layer returns the service module ("github.com/wijkbrug/wijkbrug/services/intake") and the
// layer ("domain", "app", "ports", "adapters") of a package, or "" when it is none of them.
func layer(path string) (module, name string) {
	const root = "github.com/wijkbrug/wijkbrug/services/"
	if !strings.HasPrefix(path, root) {
		return "", ""
	}
	module, rest, ok := strings.Cut(path, "/internal/")
	if !ok {
		return "", ""
	}
	name, _, _ = strings.Cut(rest, "/")
	return module, name
}

// Check applies the rules to every service package in pkgs and returns one message per
// offending import, sorted.
func Check(pkgs map[string]Package) []string {
	var out []string
	for path, p := range pkgs {
		module, name := layer(path)
		switch name {
		case "domain":
			for _, imp := range p.Imports {
				if pkgs[imp].Standard || strings.HasPrefix(imp, module+"/internal/domain") {
					continue
				}
				if slices.Contains(SharedDomain, imp) {
					// Shared reference data: allowed while it stays standard library only.
					if i := slices.IndexFunc(pkgs[imp].Deps, func(d string) bool { return !pkgs[d].Standard }); i >= 0 {
						out = append(out, fmt.Sprintf("%s imports %s, which reaches %s: shared domain packages import only the standard library", path, imp, pkgs[imp].Deps[i]))
					}
					continue
				}
				out = append(out, fmt.Sprintf("%s imports %s: domain code imports only the standard library, its own domain and the shared domain packages (SharedDomain)", path, imp))
			}
		case "app":
			for _, imp := range p.Imports {
				if infrastructure(imp) {
					out = append(out, fmt.Sprintf("%s imports %s: application code reaches no database, broker, transport or generated code", path, imp))
					continue
				}
				for _, dep := range pkgs[imp].Deps {
					if infrastructure(dep) {
						out = append(out, fmt.Sprintf("%s imports %s, which reaches %s: application code reaches no database, broker, transport or generated code (depend on a port, wire the adapter in the service's composition root)", path, imp, dep))
						break
					}
				}
			}
		case "ports":
			for _, imp := range p.Imports {
				if _, l := layer(imp); l == "adapters" {
					out = append(out, fmt.Sprintf("%s imports %s: ports do not import adapters", path, imp))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
