package netport

import (
	"net"
	"strconv"
	"testing"
)

func TestFreeGivesDistinctBindablePortsBelowTheEphemeralRange(t *testing.T) {
	ps, err := Free(50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ps {
		if p < lowest || p >= ephemeralStart() || seen[p] {
			t.Fatalf("port %d: outside %d-%d or handed twice", p, lowest, ephemeralStart()-1)
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
