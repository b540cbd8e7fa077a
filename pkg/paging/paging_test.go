package paging

import (
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
)

func TestParse(t *testing.T) {
	l := Limits{Default: 50, Max: 500}
	tok := Token("queue", "1", "2026-01-01T00:00:00Z", "id-1")
	cases := []struct {
		name  string
		size  int32
		tok   string
		bad   string
		wantN int
	}{
		{"default", 0, "", "", 50},
		{"given", 7, "", "", 7},
		{"negative", -1, "", "page_size", 0},
		{"too big", 10000, "", "page_size", 0},
		{"max", 500, "", "", 500},
		{"garbage token", 1, "%%%", "page_token", 0},
		{"token of another list", 1, Token("cases", "a", "b", "c"), "page_token", 0},
		{"token with another key length", 1, Token("queue", "a"), "page_token", 0},
		{"good token", 1, tok, "", 1},
	}
	for _, c := range cases {
		var v apperr.Validation
		p := Parse(&v, "queue", 3, l, c.size, c.tok)
		err := v.Err()
		if c.bad == "" {
			if err != nil {
				t.Errorf("%s: unexpected %v", c.name, err)
			} else if p.Size != c.wantN {
				t.Errorf("%s: size %d, want %d", c.name, p.Size, c.wantN)
			}
			continue
		}
		if err == nil || !fieldNamed(err, c.bad) {
			t.Errorf("%s: error %v should name %s", c.name, err, c.bad)
		}
	}
	var v apperr.Validation
	if p := Parse(&v, "queue", 3, l, 1, tok); p.First() || p.After[2] != "id-1" {
		t.Fatalf("token did not round-trip: %+v", p)
	}
}

func fieldNamed(err error, field string) bool {
	e, ok := apperr.As(err)
	if !ok {
		return false
	}
	for _, f := range e.Violations {
		if f.Field == field {
			return true
		}
	}
	return false
}

// FuzzPageToken: a page token comes back from outside. Parsing must never panic, and a token
// it accepts must round-trip to the same position.
func FuzzPageToken(f *testing.F) {
	f.Add(Token("casedirection.cases", "2026-03-01T09:30:00.123456Z", "0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01"))
	f.Add("")
	f.Add("not a token")
	f.Fuzz(func(t *testing.T, tok string) {
		var v apperr.Validation
		p := Parse(&v, "casedirection.cases", 2, Limits{Default: 50, Max: 500}, 10, tok)
		if v.Err() != nil || p.First() {
			return
		}
		var again apperr.Validation
		q := Parse(&again, "casedirection.cases", 2, Limits{Default: 50, Max: 500}, 10, Token("casedirection.cases", p.After...))
		if again.Err() != nil || q.After[0] != p.After[0] || q.After[1] != p.After[1] {
			t.Fatalf("%q parses to %v, which does not round-trip: %v %v", tok, p.After, q.After, again.Err())
		}
	})
}

// TestScopedAndAt: a token of one filter is refused under another, a (time, id) token
// round-trips, and a token whose time is not a time is refused.
func TestScopedAndAt(t *testing.T) {
	l := Limits{Default: 10, Max: 100}
	a, b := Scoped("x.list", "resident-1"), Scoped("x.list", "resident-2")
	if a == b || a != Scoped("x.list", "resident-1") {
		t.Fatalf("scoped names: %q %q", a, b)
	}
	at := time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)
	tok := TokenAt(a, at, "id-9")
	var v apperr.Validation
	if p, after := ParseAt(&v, a, l, 0, tok); v.Err() != nil || after == nil || !after.Time.Equal(at) || after.ID != "id-9" || p.Size != 10 {
		t.Fatalf("round trip: %v %+v", v.Err(), after)
	}
	var other apperr.Validation
	if _, after := ParseAt(&other, b, l, 0, tok); after != nil || !fieldNamed(other.Err(), "page_token") {
		t.Fatalf("token of another filter accepted: %v", other.Err())
	}
	var notTime apperr.Validation
	if _, after := ParseAt(&notTime, a, l, 0, Token(a, "yesterday", "id")); after != nil || !fieldNamed(notTime.Err(), "page_token") {
		t.Fatalf("token without a time accepted: %v", notTime.Err())
	}
	if page, more := Cut([]int{1, 2, 3}, 2); len(page) != 2 || !more {
		t.Fatalf("cut: %v %v", page, more)
	}
	if page, more := Cut([]int{1, 2}, 2); len(page) != 2 || more {
		t.Fatalf("cut at the end: %v %v", page, more)
	}
}

func TestSeek(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	all := []At{{t0, "a"}, {t0, "b"}, {t0.Add(time.Second), "a"}, {t0.Add(2 * time.Second), "c"}}
	shuffled := []At{all[3], all[1], all[0], all[2]}
	key := func(a At) At { return a }
	var got []At
	var after *At
	for {
		page, more := Seek(shuffled, key, after, 3)
		got = append(got, page...)
		if !more {
			break
		}
		after = &page[len(page)-1]
	}
	if len(got) != len(all) || got[3] != all[3] || got[2] != all[2] {
		t.Fatalf("seek through: %v", got)
	}
	if page, more := Seek(all, key, &At{t0, "b"}, 10); len(page) != 2 || more || page[0] != all[2] {
		t.Fatalf("after the tie: %v %v", page, more)
	}
}

func TestSeekNewest(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	all := []At{{t0, "a"}, {t0.Add(time.Second), "b"}, {t0.Add(time.Second), "c"}}
	key := func(a At) At { return a }
	first, more := SeekNewest(all, key, nil, 2)
	if !more || first[0] != all[2] || first[1] != all[1] {
		t.Fatalf("newest first: %v %v", first, more)
	}
	rest, more := SeekNewest(all, key, &first[1], 2)
	if more || len(rest) != 1 || rest[0] != all[0] {
		t.Fatalf("rest: %v %v", rest, more)
	}
}
