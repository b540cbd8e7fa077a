// Package netport picks free TCP ports on loopback for programs that must name a port before
// they bind it (the all-in-one command, its test suite, the fault harness, the embedded
// PostgreSQL cluster).
//
// A port the kernel hands out for ":0" lies in its ephemeral range, where every outgoing
// connection also takes its local port: between our close of the probe and the server's bind,
// any connection (ours or another test's) may take it, and the server fails with "address
// already in use". Free therefore picks ports outside the ephemeral range (read from
// /proc/sys/net/ipv4/ip_local_port_range), which only listeners use, checks that each is
// bindable, and never hands out a port twice in one process.
//
// Free still leaves a window between its check and the caller's bind, and a port handed out
// and bound may be released for a while (a process of the fault harness killed and started
// again on the same port). Two things keep other processes off such ports:
//   - Listen binds the port itself and tries another when the bind fails. Use it wherever the
//     caller binds the port in this process.
//   - Every port handed out is also claimed for the life of this process with a lock file
//     (flock on <temp dir>/wijkbrug-netport/<port>), which the kernel releases when the process
//     ends. netport in another process (another test binary, the fault harness) skips a port
//     claimed so, bound or not.
package netport

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// lowest is the first port Free uses; below it lie the well-known and common service ports.
const lowest = 20000

// attempts bounds the search for a free port.
const attempts = 2000

var (
	mu     sync.Mutex
	handed = map[int]bool{}
	claims []*os.File // the lock files of handed ports, open (and locked) until the process ends
)

// Free returns n distinct ports on 127.0.0.1 that were free when checked.
func Free(n int) ([]int, error) {
	mu.Lock()
	defer mu.Unlock()
	out := make([]int, 0, n)
	for len(out) < n {
		l, err := listenLocked()
		if err != nil {
			return nil, err
		}
		out = append(out, l.Addr().(*net.TCPAddr).Port)
		l.Close()
	}
	return out, nil
}

// One returns one free port.
func One() (int, error) {
	ps, err := Free(1)
	if err != nil {
		return 0, err
	}
	return ps[0], nil
}

// Span returns the first of n consecutive ports on 127.0.0.1 that were all free when checked,
// none handed out before, each claimed as Free claims its ports: for a program that places
// its ports at fixed offsets from a base (the all-in-one command's -base-port).
func Span(n int) (int, error) {
	mu.Lock()
	defer mu.Unlock()
	lo, hi := portRange()
	if n < 1 || hi-lo+1 < n {
		return 0, fmt.Errorf("netport: no span of %d ports in %d-%d", n, lo, hi)
	}
	for range attempts {
		base := lo + rand.IntN(hi-lo+2-n)
		if spanFree(base, n) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("netport: no %d consecutive free ports in %d-%d after %d attempts", n, lo, hi, attempts)
}

// spanFree binds and claims base…base+n-1; when one of them cannot be had it releases the
// claims it took and reports false. The caller holds mu.
func spanFree(base, n int) bool {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		if handed[p] {
			return false
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			return false
		}
		ls = append(ls, l)
	}
	claimed := len(claims)
	for p := base; p < base+n; p++ {
		if !claim(p) {
			for _, f := range claims[claimed:] {
				f.Close() // closing the file releases its lock
			}
			claims = claims[:claimed]
			handed[p] = true // another process's: not ours to try again
			return false
		}
	}
	for p := base; p < base+n; p++ {
		handed[p] = true
	}
	return true
}

// Listen binds a TCP listener on 127.0.0.1 on a port outside the kernel's ephemeral range
// that this process has not handed out before, trying other ports while binds fail.
func Listen() (net.Listener, error) {
	mu.Lock()
	defer mu.Unlock()
	return listenLocked()
}

func listenLocked() (net.Listener, error) {
	lo, hi := portRange()
	return listenIn(lo, hi)
}

// listenIn binds a port of lo–hi not handed out before; the caller holds mu.
func listenIn(lo, hi int) (net.Listener, error) {
	for range attempts {
		p := lo + rand.IntN(hi-lo+1)
		if handed[p] {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		if !claim(p) {
			l.Close()
			handed[p] = true // another process's: not ours to try again
			continue
		}
		handed[p] = true
		return l, nil
	}
	return nil, fmt.Errorf("netport: no free port in %d-%d after %d attempts", lo, hi, attempts)
}

// portRange is the range Free and Listen pick from: from lowest up to the kernel's ephemeral
// range, or, where that range starts too low to leave room, the ports above it. When neither
// leaves room (the range spans nearly everything), it is lowest–65535 and the bind checks
// alone keep ports apart.
func portRange() (lo, hi int) {
	eLo, eHi := ephemeralRange()
	switch {
	case eLo > lowest+1000:
		return lowest, eLo - 1
	case eHi < 65535-1000:
		return max(eHi+1, lowest), 65535
	default:
		return lowest, 65535
	}
}

// ephemeralRange is the kernel's ephemeral port range (32768–60999 when unknown).
func ephemeralRange() (lo, hi int) {
	lo, hi = 32768, 60999
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return lo, hi
	}
	l, err1 := strconv.Atoi(f[0])
	h, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || l < 1 || h < l || h > 65535 {
		return lo, hi
	}
	return l, h
}

// claimDir holds the lock files; a variable for tests. The files are never removed: a file
// removed while another process holds its lock would let a third lock a new file of the same
// name. They are empty, one per port ever handed out on the machine.
var claimDir = filepath.Join(os.TempDir(), "wijkbrug-netport")

// claim locks port p's file for the life of this process; false when another process holds
// it. Where no lock can be taken at all (the directory is not writable), ports go unclaimed:
// the bind checks still apply.
func claim(p int) bool {
	// The directory is shared by every user's processes, like /tmp itself: whoever creates it
	// opens it to all (sticky), once.
	if err := os.Mkdir(claimDir, 0o755); err == nil {
		_ = os.Chmod(claimDir, 0o777|os.ModeSticky)
	} else if !errors.Is(err, fs.ErrExist) {
		return true
	}
	// Read-only: flock needs no write access, so another user can lock a file created by us.
	f, err := os.OpenFile(filepath.Join(claimDir, strconv.Itoa(p)), os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return err != syscall.EWOULDBLOCK
	}
	claims = append(claims, f)
	return true
}
