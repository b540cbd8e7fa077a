package archcheck_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/archcheck"
)

// The layer rule holds for every service in the workspace.
func TestServicesKeepTheLayerRule(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,Imports,Deps", "github.com/wijkbrug/wijkbrug/services/...")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs, err := archcheck.Read(&stdout)
	if err != nil {
		t.Fatal(err)
	}
	layers := map[string]int{}
	for path := range pkgs {
		for _, l := range []string{"domain", "app", "ports"} {
			if strings.Contains(path, "/internal/"+l) && strings.HasPrefix(path, "github.com/wijkbrug/wijkbrug/services/") {
				layers[l]++
			}
		}
	}
	// Four services, each with its domain, app and ports: the check saw them all.
	for _, l := range []string{"domain", "app", "ports"} {
		if layers[l] < 4 {
			t.Fatalf("go list found %d %s packages, want at least 4: the check would pass vacuously", layers[l], l)
		}
	}
	for _, v := range archcheck.Check(pkgs) {
		t.Error(v)
	}
}

// The rules catch what they are for: an app package that imports pgx, directly or through
// a pkg/ package; a domain package that imports anything but the standard library, its own
// domain and a shared domain package, or a shared domain package that reaches beyond the
// standard library; a port that imports an adapter. Each message names the offending import.
func TestCheckNamesTheOffendingImport(t *testing.T) {
	const svc = "github.com/wijkbrug/wijkbrug/services/intake"
	pkgs := map[string]archcheck.Package{
		"context":                                 {ImportPath: "context", Standard: true},
		"github.com/jackc/pgx/v5":                 {ImportPath: "github.com/jackc/pgx/v5"},
		"github.com/wijkbrug/wijkbrug/pkg/store":  {ImportPath: "github.com/wijkbrug/wijkbrug/pkg/store", Imports: []string{"github.com/jackc/pgx/v5"}, Deps: []string{"context", "github.com/jackc/pgx/v5"}},
		"github.com/wijkbrug/wijkbrug/pkg/apperr": {ImportPath: "github.com/wijkbrug/wijkbrug/pkg/apperr", Deps: []string{"context"}},
		"github.com/wijkbrug/wijkbrug/pkg/zrm":    {ImportPath: "github.com/wijkbrug/wijkbrug/pkg/zrm", Imports: []string{"github.com/wijkbrug/wijkbrug/pkg/apperr"}, Deps: []string{"context", "github.com/wijkbrug/wijkbrug/pkg/apperr"}},
		svc + "/internal/domain":                  {ImportPath: svc + "/internal/domain", Imports: []string{"context", svc + "/internal/domain/zrm", "github.com/wijkbrug/wijkbrug/pkg/zrm"}},
		svc + "/internal/domain/zrm":              {ImportPath: svc + "/internal/domain/zrm", Imports: []string{"github.com/wijkbrug/wijkbrug/pkg/apperr"}},
		svc + "/internal/app":                     {ImportPath: svc + "/internal/app", Imports: []string{"context", "github.com/jackc/pgx/v5", "github.com/wijkbrug/wijkbrug/pkg/apperr"}},
		svc + "/internal/app/lists":               {ImportPath: svc + "/internal/app/lists", Imports: []string{"github.com/wijkbrug/wijkbrug/pkg/store"}},
		svc + "/internal/ports/grpcapi":           {ImportPath: svc + "/internal/ports/grpcapi", Imports: []string{svc + "/internal/app", svc + "/internal/adapters/events"}},
		svc + "/internal/adapters/events":         {ImportPath: svc + "/internal/adapters/events", Imports: []string{"github.com/jackc/pgx/v5"}},
	}
	got := archcheck.Check(pkgs)
	want := []string{
		svc + "/internal/app imports github.com/jackc/pgx/v5:",
		svc + "/internal/app/lists imports github.com/wijkbrug/wijkbrug/pkg/store, which reaches github.com/jackc/pgx/v5:",
		svc + "/internal/domain imports github.com/wijkbrug/wijkbrug/pkg/zrm, which reaches github.com/wijkbrug/wijkbrug/pkg/apperr:",
		svc + "/internal/domain/zrm imports github.com/wijkbrug/wijkbrug/pkg/apperr:",
		svc + "/internal/ports/grpcapi imports " + svc + "/internal/adapters/events:",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("finding %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}
}
