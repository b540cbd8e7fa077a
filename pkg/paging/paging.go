// Package paging is the one way every Wijkbrug list pages: a page_size (0 = the list's
// default, above its maximum refused) and an opaque page_token that carries the sort key of
// the last entry of the previous page (keyset paging, so a page stays stable while rows are
// added). A token names the list it belongs to, so a token of another list is refused.
package paging

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

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
