package grpcapi

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
)

// FuzzPageToken feeds the page tokens of ListMySignals and ListReferrals arbitrary text: no
// panic; a refusal is INVALID_ARGUMENT on page_token; what is accepted is usable in the keyset
// query as is (a real UUID, so PostgreSQL's ::uuid cast cannot fail into an INTERNAL error);
// a token of the list's own pages comes back to the same position, and one of another list
// (another filter) is refused.
func FuzzPageToken(f *testing.F) {
	list := paging.Scoped("referral.referrals", "RECIPIENT", "")
	own := paging.TokenAt(list, time.Date(2026, 3, 1, 12, 0, 0, 123, time.UTC), "0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01")
	f.Add(own)
	f.Add(paging.TokenAt(list, time.Now(), "not-a-uuid"))
	f.Add("")
	f.Add("not base64!")
	f.Fuzz(func(t *testing.T, tok string) {
		var v apperr.Validation
		p := pageOf(&v, list, 0, tok)
		if err := v.Err(); err != nil {
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.KindInvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "page_token" {
				t.Fatalf("want INVALID_ARGUMENT on page_token, got %#v", err)
			}
			return
		}
		if p.Size != ListLimits.Default {
			t.Fatalf("page size %d, want the default %d", p.Size, ListLimits.Default)
		}
		if tok == "" {
			if p.After != nil {
				t.Fatal("an empty token is the first page")
			}
			return
		}
		if p.After == nil {
			t.Fatalf("token %q accepted without a position", tok)
		}
		if _, err := uuid.Parse(p.After.ID); err != nil {
			t.Fatalf("accepted a token whose id %q is no UUID", p.After.ID)
		}
		var again apperr.Validation
		if q := pageOf(&again, list, 0, paging.TokenAt(list, p.After.At, p.After.ID)); again.Err() != nil || !q.After.At.Equal(p.After.At) || q.After.ID != p.After.ID {
			t.Fatalf("re-encoding moves the position: %+v %v", q.After, again.Err())
		}
		var other apperr.Validation
		pageOf(&other, paging.Scoped("referral.referrals", "REFERRER", ""), 0, tok)
		if other.Err() == nil {
			t.Fatal("a token of the recipient's list is accepted on the referrer's")
		}
	})
}
