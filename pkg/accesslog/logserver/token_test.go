package logserver

import (
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
)

// A page may end inside a list entry: its token carries the index, and the tokens of entries
// about one object stay plain ids (so tokens handed out before list entries existed still work).
func TestPageTokens(t *testing.T) {
	for _, e := range []logstore.Stored{{ID: 42}, {ID: 42, Index: 7}, {ID: 1, Index: 1}} {
		tok := formatToken(e)
		p, ok := parseToken(tok)
		if !ok || p != (logstore.Position{ID: e.ID, Index: e.Index}) {
			t.Fatalf("%+v → %q → %+v %v", e, tok, p, ok)
		}
	}
	if tok := formatToken(logstore.Stored{ID: 42}); tok != "42" {
		t.Fatalf("an entry about one object: token %q, want the id", tok)
	}
	for _, bad := range []string{"", "x", "0", "-1", "42.", "42.0", "42.-3", "42.x", "42.1.2", ".5"} {
		if p, ok := parseToken(bad); ok {
			t.Errorf("%q accepted as %+v", bad, p)
		}
	}
}
