package consumer_test

import (
	"runtime"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/consumer"
)

// A consumer's default workers follow the CPUs the process may use: one for every two, at
// least one (docs/decisions.md, issue 12, item 31). Not parallel: it changes GOMAXPROCS.
func TestDefaultWorkersFollowTheCPUs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for procs, want := range map[int]int{1: 1, 2: 1, 3: 1, 4: 2, 8: 4, 16: 8} {
		runtime.GOMAXPROCS(procs)
		if got := consumer.DefaultWorkers(); got != want {
			t.Errorf("GOMAXPROCS %d: %d default workers, want %d", procs, got, want)
		}
	}
}
