package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/faults"
)

// EnvFaultsBin points the fault smoke test at prebuilt binaries (make test sets it to ./bin
// after make build); without it the test builds them.
const EnvFaultsBin = "WIJKBRUG_FAULTS_BIN"

// A short run of the fault harness (make faults runs all of it): the separate binaries under
// load, kill -9 of NATS and of the referral service, nothing lost or applied twice.
func TestFaultsSmoke(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the fault smoke starts PostgreSQL, NATS and four service processes")
	}
	bin := os.Getenv(EnvFaultsBin)
	if _, err := os.Stat(filepath.Join(bin, "nats-server")); bin == "" || err != nil {
		bin = t.TempDir()
		builds := [][]string{
			{"../../services/intake", "./cmd/intake", "intake"},
			{"../../services/case-direction", "./cmd/case-direction", "case-direction"},
			{"../../services/provider-monitoring", "./cmd/provider-monitoring", "provider-monitoring"},
			{"../../services/referral", "./cmd/referral", "referral"},
			{"../../pkg", "github.com/nats-io/nats-server/v2", "nats-server"},
		}
		for _, b := range builds {
			cmd := exec.Command("go", "build", "-o", filepath.Join(bin, b[2]), b[1])
			cmd.Dir = b[0]
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build %s: %v\n%s", b[2], err, out)
			}
		}
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	err := faults.Run(ctx, faults.Options{BinDir: bin, Clients: 2, Steady: time.Second, Down: time.Second,
		Topologies: []string{"single"}, Faults: []string{"kill -9 nats", "kill -9 referral"}}, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kill -9 nats", "kill -9 referral", "nothing lost"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("the table lacks %q", want)
		}
	}
}
