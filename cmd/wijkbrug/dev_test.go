package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A development suite whose PostgreSQL dies stops and says so, rather than answering
// UNAVAILABLE for good: nothing restarts it (an outage probe killed it and nothing noticed).
func TestDevStopsWhenItsPostgreSQLDies(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"dev", "-ephemeral", "-base-port", "0", "-pg-port", strconv.Itoa(freePort(t)), "-nats-port", strconv.Itoa(freePort(t))}, &out)
	}()
	dataLine := regexp.MustCompile(`(?m)^  data +(\S+) \(removed on exit\)`)
	var dir string
	for deadline := time.Now().Add(3 * time.Minute); dir == ""; {
		select {
		case err := <-done:
			t.Fatalf("dev ended before it served: %v\n%s", err, out.Bytes())
		case <-time.After(100 * time.Millisecond):
		}
		if m := dataLine.FindSubmatch(out.Bytes()); m != nil {
			dir = string(m[1])
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner:\n%s", out.Bytes())
		}
	}
	pidFile, err := os.ReadFile(filepath.Join(dir, "postgres", "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(pidFile), "\n", 2)[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		// The log goes with the error: the throw-away directory that held it is removed.
		if err == nil || !strings.Contains(err.Error(), "PostgreSQL stopped unexpectedly") || !strings.Contains(err.Error(), "the end of its log") ||
			strings.Contains(err.Error(), dir) {
			t.Fatalf("dev ended with %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("dev did not notice that its PostgreSQL died")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the throw-away data directory is still there: %v", err)
	}
}
