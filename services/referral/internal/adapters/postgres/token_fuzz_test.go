package postgres

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
)

// FuzzPageToken feeds the page-token decoder (ListReferrals, ListMySignals) arbitrary tokens:
// it must not panic, must refuse with INVALID_ARGUMENT on page_token, and what it accepts
// must be usable in the keyset query as is (a real UUID, so PostgreSQL's ::uuid cast cannot
// fail into an INTERNAL error) and encode back to the same position.
func FuzzPageToken(f *testing.F) {
	f.Add(encodeToken(time.Date(2026, 3, 1, 12, 0, 0, 123, time.UTC), "0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01"))
	f.Add("")
	f.Add("not base64!")
	f.Fuzz(func(t *testing.T, tok string) {
		at, id, err := decodeToken(tok)
		if err != nil {
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.KindInvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "page_token" {
				t.Fatalf("want INVALID_ARGUMENT on page_token, got %#v", err)
			}
			return
		}
		if tok == "" {
			if at != nil || id != "" {
				t.Fatal("an empty token is the first page")
			}
			return
		}
		if _, err := uuid.Parse(id); err != nil {
			t.Fatalf("accepted a token whose id %q is no UUID", id)
		}
		at2, id2, err := decodeToken(encodeToken(*at, id))
		if err != nil || !at2.Equal(*at) || id2 != id {
			t.Fatalf("re-encoding moves the position: %v %q %v", at2, id2, err)
		}
	})
}
