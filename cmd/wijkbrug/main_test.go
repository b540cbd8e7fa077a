package main

import (
	"os"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// runAsCLI set to 1 makes the test binary the wijkbrug command: TestDocsExamplesRun runs the
// documents' `go run ./cmd/wijkbrug …` lines with it, each in a process of its own, in the
// directory and with the arguments a reader's shell would give it.
const runAsCLI = "WIJKBRUG_TEST_RUN_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(runAsCLI) == "1" {
		main() // exits 1 on an error
		os.Exit(0)
	}
	testkit.Main(m)
}
