package app

import (
	"strings"
	"testing"
)

func TestDerivedKey(t *testing.T) {
	const caseID = "5d1c3e7a-2b4f-4e8a-9c6d-7e8f9a0b1c2d"
	if got := DerivedKey(caseID, "alloc-1"); got != "case-"+caseID+"-alloc-1" {
		t.Fatalf("short key: %q", got)
	}
	long := strings.Repeat("k", 128)
	got := DerivedKey(caseID, long)
	if len(got) > MaxPeerKeyLength || !strings.HasPrefix(got, "case-"+caseID+"-sha256:") {
		t.Fatalf("long key must be hashed to fit the peer: %q (%d bytes)", got, len(got))
	}
	if DerivedKey(caseID, long) != got || DerivedKey(caseID, long+"x") == got {
		t.Fatal("the derivation must be stable and distinguish keys")
	}
}
