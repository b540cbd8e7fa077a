//go:build unix && !linux

package embeddedpg

import "syscall"

// sysProcAttr puts postgres in its own process group so Stop can signal the
// whole cluster. There is no parent-death signal outside Linux, so an
// orphaned cluster is possible there if our process is killed hard.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Credential: cred,
	}
}

// isPostgresProcess cannot inspect other processes portably; assuming a live
// pid is postgres keeps us from deleting the lock file of a running cluster.
func isPostgresProcess(pid int) bool { return true }

// syncFS flushes every file system to disk (sync(2)): there is no syncfs outside Linux.
func syncFS(string) error {
	syscall.Sync()
	return nil
}
