package app

import (
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// FuzzPageToken: a caseload page token comes back from outside. Decoding must never panic,
// and a token it accepts must encode back to a token that decodes to the same position.
func FuzzPageToken(f *testing.F) {
	f.Add(encodeCursor(domain.Cursor{OpenedAt: time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC), ID: "0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01"}))
	f.Add("")
	f.Add("not a token")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := decodeCursor(token)
		if err != nil {
			return
		}
		again, err := decodeCursor(encodeCursor(c))
		if err != nil || !again.OpenedAt.Equal(c.OpenedAt) || again.ID != c.ID {
			t.Fatalf("%q decodes to %+v, which does not round-trip: %+v %v", token, c, again, err)
		}
	})
}
