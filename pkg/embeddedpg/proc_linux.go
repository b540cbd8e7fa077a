//go:build linux

package embeddedpg

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts postgres in its own process group (so Stop can signal the
// postmaster and its backends together, and a terminal ^C aimed at us does not
// reach postgres directly) and asks the kernel to SIGQUIT it when we die, so
// a crashed or kill -9'd parent never leaves an orphaned cluster behind.
// SIGQUIT is postgres' "immediate shutdown": it stops at once and recovers
// from WAL on the next start.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGQUIT,
		Credential: cred,
	}
}

// isPostgresProcess reports whether pid looks like a postgres server. It is
// used to tell a stale postmaster.pid whose pid has been reused by an
// unrelated process (safe to remove) from a live cluster (must not be
// touched).
func isPostgresProcess(pid int) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err == nil {
		base := filepath.Base(strings.TrimSuffix(exe, " (deleted)"))
		return base == "postgres" || base == "postmaster"
	}
	// exe is unreadable for other users' processes when we are not root;
	// comm is world-readable.
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		// Cannot tell: assume the worst and leave the lock file alone.
		return true
	}
	c := strings.TrimSpace(string(comm))
	return c == "postgres" || c == "postmaster"
}

// syncFS flushes the file system that holds path to disk (syncfs(2)).
func syncFS(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
