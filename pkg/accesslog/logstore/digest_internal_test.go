package logstore

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// goldenEntry is an entry about one object, and goldenMAC its MAC as the chain computed it
// before list entries existed (commit 7d07f29): entries sealed then must keep verifying.
var goldenEntry = row{id: 42, at: time.Date(2026, 12, 2, 10, 11, 12, 131415000, time.UTC), action: "casedirection.case.read",
	objectType: "case", objectID: "c-1", pseudonym: "ps-1", user: "anna", role: "case_director", oin: "00000001000000000001",
	orgType: "TEAM", purpose: "case-direction", accessPoint: "case-direction /x/Y", route: "TEAM", outcome: "GRANTED", traceID: "t"}

const goldenMAC = "c6d1622621fcc46eb67e10737fa21321ec0a9c8d340219be283ef929303a7ed8"

func TestSingleEntriesKeepTheirMAC(t *testing.T) {
	keys, err := NewKeys(1, bytes.Repeat([]byte{0x4b}, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	sum, ok := goldenEntry.digest(keys, 1, []byte("previous"), 7)
	if !ok {
		t.Fatal("no key")
	}
	if got := hex.EncodeToString(sum); got != goldenMAC {
		t.Fatalf("MAC of an entry about one object changed: %s, want %s", got, goldenMAC)
	}
	// A list entry is told apart from the same columns without its objects.
	list := goldenEntry
	list.shownObjects, list.shownResidents = []pgtype.Text{{String: "c-1", Valid: true}}, []pgtype.Text{{String: "ps-1", Valid: true}}
	if other, _ := list.digest(keys, 1, []byte("previous"), 7); bytes.Equal(other, sum) {
		t.Fatal("a list entry has the MAC of the entry without its list")
	}
}
