package embeddedpg

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ownerFile records which process created a temporary directory. A test
// binary that panics or is killed never reaches Stop; postgres still dies
// through the parent-death signal, but its ~40 MB data directory would stay
// in /tmp forever. The next Start removes such directories once their owner
// is gone.
const ownerFile = ".wijkbrug-owner"

// newTempDir creates a temporary directory under a short root and marks it
// with our pid.
func newTempDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp(shortTempDir(), prefix)
	if err != nil {
		return "", fmt.Errorf("embeddedpg: create temp dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("embeddedpg: %w", err)
	}
	return dir, nil
}

// sweepStaleTempDirs removes temp dirs whose creating process is dead and
// whose postmaster (if any) is gone too. Directories without a readable
// owner file are left alone: they may be in the middle of being created.
// Directories younger than minAge are kept as well, in case of pid namespace
// oddities (a pid from another namespace looks dead to us).
func sweepStaleTempDirs(log *slog.Logger, minAge time.Duration) {
	root := shortTempDir()
	for _, prefix := range []string{"wjpg-", "wjpgs-"} {
		matches, _ := filepath.Glob(filepath.Join(root, prefix+"*"))
		for _, dir := range matches {
			b, err := os.ReadFile(filepath.Join(dir, ownerFile))
			if err != nil {
				continue
			}
			owner, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || owner <= 0 || processAlive(owner) {
				continue
			}
			if pid := postmasterPid(filepath.Join(dir, "data")); pid > 0 && processAlive(pid) {
				continue
			}
			if fi, err := os.Stat(dir); err != nil || time.Since(fi.ModTime()) < minAge {
				continue
			}
			log.Info("embeddedpg: removing stale temp dir", "dir", dir, "owner", owner)
			_ = os.RemoveAll(dir)
		}
	}
}

// postmasterPid returns the pid recorded in dataDir/postmaster.pid, or 0.
func postmasterPid(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}
