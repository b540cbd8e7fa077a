// Package paging is the one way every Wijkbrug list pages: a page_size (0 = the list's
// default, above its maximum refused) and an opaque page_token that carries the sort key of
// the last entry of the previous page (keyset paging, so a page stays stable while rows are
// added). A token names the list it belongs to, so a token of another list is refused.
package paging

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
)

// Page is a validated paging request.
type Page struct {
	// Size is the number of entries to return.
	Size int
	// After holds the sort key of the last entry of the previous page; nil for the first page.
	After []string
}

// First reports whether this is the first page.
func (p Page) First() bool { return p.After == nil }

// Limits are a list's default and maximum page size.
type Limits struct{ Default, Max int }

type token struct {
	List  string   `json:"l"`
	After []string `json:"a"`
}

// maxTokenLen bounds what is decoded at all.
const maxTokenLen = 1024

// Parse validates page_size and page_token of the list named list (keys is the number of
// values in its sort key), recording violations on the fields "page_size" and "page_token".
func Parse(v *apperr.Validation, list string, keys int, l Limits, size int32, tok string) Page {
	p := Page{Size: int(size)}
	if size < 0 || int(size) > l.Max {
		v.Add("page_size", fmt.Sprintf("must be 1-%d (0 = %d)", l.Max, l.Default))
	}
	if size == 0 {
		p.Size = l.Default
	}
	if tok == "" {
		return p
	}
	var t token
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if len(tok) > maxTokenLen || err != nil || json.Unmarshal(raw, &t) != nil || t.List != list || len(t.After) != keys {
		v.Add("page_token", "not a token from a previous page of this list")
		return p
	}
	p.After = t.After
	return p
}

// Token is the page_token that continues after an entry with sort key after.
func Token(list string, after ...string) string {
	b, _ := json.Marshal(token{List: list, After: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

// Scoped names list as asked with filter (the request's filter values, in a fixed order): a
// token carries the name, so a token taken under one filter is refused under another, where
// its position would mean nothing. The filter is hashed, so a token does not show it.
func Scoped(list string, filter ...string) string {
	h := sha256.New()
	for _, f := range filter {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return list + "/" + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

// At is the position most lists sort by: a time, and an id that breaks ties.
type At struct {
	Time time.Time
	ID   string
}

// ParseAt is Parse for a list sorted by (time, id); after is nil for the first page.
func ParseAt(v *apperr.Validation, list string, l Limits, size int32, tok string) (p Page, after *At) {
	p = Parse(v, list, 2, l, size, tok)
	if p.First() {
		return p, nil
	}
	t, err := time.Parse(time.RFC3339Nano, p.After[0])
	if err != nil || p.After[1] == "" {
		v.Add("page_token", "not a token from a previous page of this list")
		return p, nil
	}
	return p, &At{Time: t, ID: p.After[1]}
}

// TokenAt is the page_token that continues after an entry at (t, id) of a list ParseAt reads.
func TokenAt(list string, t time.Time, id string) string {
	return Token(list, t.UTC().Format(time.RFC3339Nano), id)
}

// Cut trims rows read with a limit of size+1 to one page; more reports whether a next page
// exists (the extra row was there).
func Cut[T any](rows []T, size int) (page []T, more bool) {
	if len(rows) > size {
		return rows[:size], true
	}
	return rows, false
}

// Less orders positions: by time, then by id.
func (a At) Less(b At) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	return a.ID < b.ID
}

// Seek pages a list already held whole in memory (a case's involvements, read with the case):
// it orders the entries by key, oldest first (stably, so the caller's order does not matter
// to the tokens), and returns those after the position after (all for nil), at most size,
// and whether more follow. Tokens are those of a keyset query on the same key.
func Seek[T any](list []T, key func(T) At, after *At, size int) (page []T, more bool) {
	return seek(list, key, after, size, false)
}

// SeekNewest is Seek for a list shown newest first.
func SeekNewest[T any](list []T, key func(T) At, after *At, size int) (page []T, more bool) {
	return seek(list, key, after, size, true)
}

func seek[T any](list []T, key func(T) At, after *At, size int, newest bool) (page []T, more bool) {
	before := func(a, b At) bool { // a comes before b in the list's order
		if newest {
			return b.Less(a)
		}
		return a.Less(b)
	}
	sorted := slices.Clone(list)
	slices.SortStableFunc(sorted, func(a, b T) int {
		ka, kb := key(a), key(b)
		switch {
		case before(ka, kb):
			return -1
		case before(kb, ka):
			return 1
		}
		return 0
	})
	start := 0
	if after != nil {
		for start < len(sorted) && !before(*after, key(sorted[start])) {
			start++
		}
	}
	return Cut(sorted[start:], size)
}
