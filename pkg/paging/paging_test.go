package paging

import (
	"testing"

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
