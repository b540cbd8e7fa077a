package main

import (
	"time"

	"github.com/prometheus/procfs"
)

// machineBusy is the CPU time the whole machine has spent busy since it booted (user, nice,
// system, irq, softirq and steal of all CPUs in /proc/stat, read with prometheus/procfs): the
// suite, PostgreSQL, NATS, the bench's client and anything else. ok is false where there is no
// /proc/stat.
func machineBusy() (busy time.Duration, ok bool) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return 0, false
	}
	st, err := fs.Stat()
	if err != nil {
		return 0, false
	}
	c := st.CPUTotal
	return time.Duration((c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal) * float64(time.Second)), true
}

// cpuMeter measures the machine's busy CPU time from its start to done, per unit of work.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	b, ok := machineBusy()
	return cpuMeter{start: b, ok: ok}
}

// per is the machine's busy CPU time since the meter started, divided by n (0 when unknown).
func (c cpuMeter) per(n int) time.Duration {
	end, ok := machineBusy()
	if !c.ok || !ok || n <= 0 {
		return 0
	}
	return (end - c.start) / time.Duration(n)
}
