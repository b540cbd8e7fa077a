package embeddedpg

import (
	"errors"
	"syscall"
	"time"
)

// Crash stops postgres the hard way: an immediate shutdown (SIGQUIT to the postmaster and its
// backends: no checkpoint, clients cut off mid-transaction; the next start runs crash
// recovery), as in a node failure. Like Stop it is final for this Cluster value; start the same
// Dir and Port again with Start to bring the data back.
func (c *Cluster) Crash() error {
	if c.proc == nil {
		return errors.New("embeddedpg: not running")
	}
	c.proc.signalGroup(syscall.SIGQUIT)
	if !c.proc.exited(10 * time.Second) {
		c.proc.kill()
	}
	return c.Stop()
}
