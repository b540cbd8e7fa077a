// Package netport picks free TCP ports on loopback for programs that must name a port before
// they bind it (the all-in-one command, its test suite, the fault harness, the embedded
// PostgreSQL cluster).
//
// A port the kernel hands out for ":0" lies in its ephemeral range, where every outgoing
// connection also takes its local port: between our close of the probe and the server's bind,
// any connection (ours or another test's) may take it, and the server fails with "address
// already in use". Free therefore picks ports below the ephemeral range (read from
// /proc/sys/net/ipv4/ip_local_port_range), which only listeners use, checks that each is
// bindable, and never hands out a port twice in one process.
package netport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// lowest is the first port Free uses; below it lie the well-known and common service ports.
const lowest = 20000

var (
	mu     sync.Mutex
	handed = map[int]bool{}
)

// Free returns n distinct ports on 127.0.0.1 that were free when checked.
func Free(n int) ([]int, error) {
	mu.Lock()
	defer mu.Unlock()
	hi := ephemeralStart() - 1
	out := make([]int, 0, n)
	for tries := 0; len(out) < n; tries++ {
		if tries > 2000 {
			return nil, fmt.Errorf("netport: no free port in %d-%d", lowest, hi)
		}
		p := lowest + rand.IntN(hi-lowest+1)
		if handed[p] || !bindable(p) {
			continue
		}
		handed[p] = true
		out = append(out, p)
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

func bindable(p int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// ephemeralStart is the first port of the kernel's ephemeral range (32768 when unknown).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= lowest+1000 {
		return 32768
	}
	return n
}
