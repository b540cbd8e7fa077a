package netport

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

func TestFreeGivesDistinctBindablePortsOutsideTheEphemeralRange(t *testing.T) {
	lo, hi := portRange() // outside the ephemeral range: TestPortRangeAvoidsTheEphemeralRange
	ps, err := Free(50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ps {
		if p < lo || p > hi || seen[p] {
			t.Fatalf("port %d: outside %d-%d or handed twice", p, lo, hi)
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d not bindable: %v", p, err)
		}
		l.Close()
	}
	// A port handed out once is not handed out again, even after it is released.
	more, err := Free(50)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range more {
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
	}
}

// TestListenSkipsPortsTakenByOthers holds most of a narrow range the way another process
// would: Listen binds each of the rest once, never a held one, and then says the range is
// full instead of returning a port it could not bind.
func TestListenSkipsPortsTakenByOthers(t *testing.T) {
	mu.Lock()
	defer mu.Unlock()
	privateClaims(t) // other test binaries' claims stay out of the count
	lo := thirtyFreePorts(t)
	hi := lo + 29
	held := map[int]net.Listener{}
	for p := lo; p <= hi-5; p++ {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatal(err)
		}
		held[p] = l
		defer l.Close()
	}
	got := map[int]bool{}
	for range 5 {
		l, err := listenIn(lo, hi)
		if err != nil {
			t.Fatalf("after %d of the 5 free ports: %v", len(got), err)
		}
		defer l.Close()
		p := l.Addr().(*net.TCPAddr).Port
		if held[p] != nil || got[p] || p < lo || p > hi {
			t.Fatalf("port %d: held by another listener, handed twice, or outside %d-%d", p, lo, hi)
		}
		got[p] = true
	}
	if l, err := listenIn(lo, hi); err == nil {
		l.Close()
		t.Fatalf("a sixth port %v from a range with five free", l.Addr())
	}
}

func TestPortRangeAvoidsTheEphemeralRange(t *testing.T) {
	lo, hi := portRange()
	eLo, eHi := ephemeralRange()
	if hi < lo+1000 {
		t.Fatalf("range %d-%d is too narrow", lo, hi)
	}
	if eLo > lowest+1000 || eHi < 65535-1000 {
		if lo <= eHi && hi >= eLo {
			t.Fatalf("range %d-%d overlaps the ephemeral range %d-%d", lo, hi, eLo, eHi)
		}
	}
}

// TestClaimedPortsAreSkipped: ports another process claimed (its lock files held) are not
// handed out although nothing is bound to them, and a port handed out is claimed for as long
// as this process lives.
func TestClaimedPortsAreSkipped(t *testing.T) {
	mu.Lock()
	defer mu.Unlock()
	privateClaims(t)
	lo := thirtyFreePorts(t)
	hi := lo + 29
	// The other process: a lock on its own open file of each of 25 ports, nothing bound.
	for p := lo; p <= hi-5; p++ {
		f, err := os.OpenFile(filepath.Join(claimDir, strconv.Itoa(p)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			t.Fatal(err)
		}
	}
	got := map[int]bool{}
	for range 5 {
		l, err := listenIn(lo, hi)
		if err != nil {
			t.Fatalf("after %d of the 5 unclaimed ports: %v", len(got), err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p <= hi-5 || got[p] {
			t.Fatalf("port %d: claimed by the other process or handed twice", p)
		}
		got[p] = true
		// Ours now: another open file of it cannot be locked.
		f, err := os.OpenFile(filepath.Join(claimDir, strconv.Itoa(p)), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		f.Close()
		if err != syscall.EWOULDBLOCK {
			t.Fatalf("port %d handed out but not claimed: %v", p, err)
		}
	}
	if l, err := listenIn(lo, hi); err == nil {
		l.Close()
		t.Fatalf("a sixth port %v from a range with five unclaimed", l.Addr())
	}
}

// thirtyFreePorts finds thirty consecutive bindable ports this process never handed out, at
// the bottom of the range netport uses.
func thirtyFreePorts(t *testing.T) int {
	t.Helper()
	rlo, _ := portRange()
	for start := rlo; start < rlo+3000; start += 30 {
		ok := true
		for p := start; p < start+30 && ok; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			ok = err == nil && !handed[p]
			if err == nil {
				l.Close()
			}
		}
		if ok {
			return start
		}
	}
	t.Skipf("no thirty free consecutive ports in %d-%d", rlo, rlo+2999)
	return 0
}

// privateClaims gives the test a lock-file directory of its own.
func privateClaims(t *testing.T) {
	saved := claimDir
	claimDir = t.TempDir()
	t.Cleanup(func() { claimDir = saved })
}

// TestSpanGivesConsecutiveFreePortsOnce: a span's ports are all bindable, within the range and
// not handed out again; a span that holds a port another listener has is refused, and the
// claims taken for it are released.
func TestSpanGivesConsecutiveFreePortsOnce(t *testing.T) {
	lo, hi := portRange()
	base, err := Span(44)
	if err != nil {
		t.Fatal(err)
	}
	if base < lo || base+43 > hi {
		t.Fatalf("span %d-%d outside %d-%d", base, base+43, lo, hi)
	}
	for p := base; p < base+44; p++ {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d of the span not bindable: %v", p, err)
		}
		l.Close()
	}
	more, err := Free(200)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range more {
		if p >= base && p < base+44 {
			t.Fatalf("port %d of the span handed out again by Free", p)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	privateClaims(t)
	start := thirtyFreePorts(t)
	held, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(start+10))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	claimed := len(claims)
	if spanFree(start, 20) {
		t.Fatalf("span %d-%d given while port %d is held", start, start+19, start+10)
	}
	if len(claims) != claimed {
		t.Fatalf("a refused span kept %d claims", len(claims)-claimed)
	}
	// Another process's claim on start+25 (a lock on its file from an open file of our own,
	// which flock treats as another holder).
	f, err := os.OpenFile(filepath.Join(claimDir, strconv.Itoa(start+25)), os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if spanFree(start+11, 19) {
		t.Fatalf("span %d-%d given while port %d is claimed elsewhere", start+11, start+29, start+25)
	}
	if len(claims) != claimed {
		t.Fatalf("a refused span kept %d claims", len(claims)-claimed)
	}
	f.Close()
	handed[start+25] = false
	if !spanFree(start+11, 19) {
		t.Fatalf("span %d-%d refused: all its ports are free", start+11, start+29)
	}
	for p := start + 11; p < start+30; p++ {
		if !handed[p] {
			t.Fatalf("port %d of a given span is not marked handed", p)
		}
	}
}
