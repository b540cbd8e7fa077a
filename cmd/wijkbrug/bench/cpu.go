package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/stat's times (USER_HZ), 100 a second on every Linux the suite
// runs on (sysconf(_SC_CLK_TCK) without cgo is not available to Go).
const clockTick = 10 * time.Millisecond

// machineBusy is the CPU time the whole machine has spent busy since it booted (user, nice,
// system, irq, softirq and steal of all CPUs in /proc/stat): the suite, PostgreSQL, NATS, the
// bench's client and anything else. ok is false where there is no /proc/stat.
func machineBusy() (busy time.Duration, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, false
	}
	fields := strings.Fields(sc.Text())
	// cpu user nice system idle iowait irq softirq steal …
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, true
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
