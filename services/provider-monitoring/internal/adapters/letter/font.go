package letter

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The PDF's typeface: DejaVu Sans 2.37, regular and bold, unmodified (licence and origin in
// fonts/LICENSE). fpdf embeds only the glyphs a letter uses.
var (
	//go:embed fonts/DejaVuSans.ttf
	dejaVuSans []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	dejaVuSansBold []byte
)

const pdfFamily = "DejaVuSans"

// pdfScripts are the scripts the PDF writes as they are. fpdf sets one glyph after the other,
// left to right, without shaping; that is right for these alphabets and for digits, punctuation
// and combining accents (Common, Inherited). Arabic and Hebrew (right to left, Arabic joined) and
// the scripts of South and South-East Asia (shaped) would come out garbled or in the wrong order,
// so they are not written, even where DejaVu Sans has glyphs for them.
var pdfScripts = []*unicode.RangeTable{unicode.Latin, unicode.Greek, unicode.Cyrillic, unicode.Common, unicode.Inherited}

// runeSet is a set of runes of the Basic Multilingual Plane: fpdf addresses the glyphs of a
// UTF-8 font by 16-bit code (Identity-H), so it cannot write a rune above U+FFFF.
type runeSet [0x10000 / 64]uint64

func (s *runeSet) has(r rune) bool { return r >= 0 && r <= 0xFFFF && s[r>>6]&(1<<(r&63)) != 0 }

func (s *runeSet) add(r rune) { s[r>>6] |= 1 << (r & 63) }

// pdfGlyphs is the set of runes both embedded fonts have a glyph for, so a name is spelled the
// same in bold as in the body text (in DejaVu Sans 2.37 they differ only in four private-use code
// points, U+F000–U+F003, which the regular font has).
var pdfGlyphs = sync.OnceValues(func() (*runeSet, error) {
	regular, err := cmapRunes(dejaVuSans)
	if err != nil {
		return nil, err
	}
	bold, err := cmapRunes(dejaVuSansBold)
	if err != nil {
		return nil, err
	}
	for i := range regular {
		regular[i] &= bold[i]
	}
	return regular, nil
})

var errFont = errors.New("letter: embedded font has no readable Unicode cmap")

// cmapRunes returns the runes a TrueType font maps to a glyph, read from the subtable fpdf reads:
// the first format 4 (BMP) subtable of platform 3 encoding 1 (Windows Unicode) or platform 0
// (Unicode). Reading that subtable, rather than asking a font library, gives exactly the runes
// fpdf can draw (fpdf keeps its own parse unexported).
func cmapRunes(ttf []byte) (*runeSet, error) {
	u16 := func(p int) (int, bool) {
		if p < 0 || p+2 > len(ttf) {
			return 0, false
		}
		return int(binary.BigEndian.Uint16(ttf[p:])), true
	}
	u32 := func(p int) (int, bool) {
		if p < 0 || p+4 > len(ttf) {
			return 0, false
		}
		return int(binary.BigEndian.Uint32(ttf[p:])), true
	}
	tables := map[string]int{}
	n, ok := u16(4)
	for i := range n {
		rec := 12 + 16*i
		off, ok2 := u32(rec + 8)
		if !ok || !ok2 {
			return nil, errFont
		}
		tables[string(ttf[rec:rec+4])] = off
	}
	cmap, okC := tables["cmap"]
	maxp, okM := tables["maxp"]
	numGlyphs, okN := u16(maxp + 4)
	subtables, okS := u16(cmap + 2)
	if !okC || !okM || !okN || !okS {
		return nil, errFont
	}
	sub := -1
	for i := range subtables {
		platform, ok1 := u16(cmap + 4 + 8*i)
		encoding, ok2 := u16(cmap + 6 + 8*i)
		off, ok3 := u32(cmap + 8 + 8*i)
		format, ok4 := u16(cmap + off)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, errFont
		}
		if (platform == 3 && encoding == 1 || platform == 0) && format == 4 {
			sub = cmap + off
			break
		}
	}
	segX2, ok := u16(sub + 6)
	if sub < 0 || !ok {
		return nil, errFont
	}
	ends, starts, deltas, rangeOffsets := sub+14, sub+16+segX2, sub+16+2*segX2, sub+16+3*segX2
	var set runeSet
	for i := 0; i < segX2; i += 2 {
		end, ok1 := u16(ends + i)
		start, ok2 := u16(starts + i)
		delta, ok3 := u16(deltas + i)
		ro, ok4 := u16(rangeOffsets + i)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, errFont
		}
		for c := start; c <= end && c < 0xFFFF; c++ {
			g := c
			if ro != 0 {
				if g, ok = u16(rangeOffsets + i + ro + 2*(c-start)); !ok {
					return nil, errFont
				}
				if g == 0 {
					continue
				}
			}
			if g = (g + delta) & 0xFFFF; g != 0 && g < numGlyphs {
				set.add(rune(c))
			}
		}
	}
	return &set, nil
}

// pdfText prepares text for the PDF's fonts. It is composed first (NFC: "e" with a combining
// circumflex and dot below becomes "ệ"). A rune the PDF cannot show — no glyph in the embedded
// fonts, a script fpdf cannot set (see pdfScripts), or above U+FFFF, such as an emoji — is
// written as its compatibility decomposition without accents when all of that can be shown
// (𝐀 → A, Ｊ → J), and otherwise as "?": never dropped, never a blank. What belongs to a
// character written as "?" goes with it (its combining marks, an emoji's skin tone, the rest of
// an emoji sequence joined by U+200D). Invisible format characters (soft hyphen, zero-width space
// and joiner, direction marks, variation selectors) are left out.
func pdfText(s string, glyphs *runeSet) string {
	show := func(r rune) bool {
		return r < 0x80 || glyphs.has(r) && unicode.IsOneOf(pdfScripts, r)
	}
	var b strings.Builder
	replaced := false // the last character was written as "?"
	joined := false   // and a zero-width joiner followed it
	for _, r := range norm.NFC.String(s) {
		switch {
		case r == zwj && replaced:
			joined = true
		case unicode.In(r, unicode.Cf, unicode.Variation_Selector):
		case replaced && (joined || unicode.In(r, unicode.M) || r >= 0x1F3FB && r <= 0x1F3FF): // skin tones
			joined = false
		case show(r):
			b.WriteRune(r)
			replaced = false
		default:
			fold := fallback(r, show)
			b.WriteString(fold)
			replaced, joined = fold == "?", false
		}
	}
	return b.String()
}

const zwj = '\u200D' // zero-width joiner

// fallback is r's compatibility decomposition without combining marks, when the PDF can show all
// of it, and "?" otherwise.
func fallback(r rune, show func(rune) bool) string {
	var b strings.Builder
	for _, c := range norm.NFKD.String(string(r)) {
		switch {
		case unicode.In(c, unicode.M):
		case show(c):
			b.WriteRune(c)
		default:
			return "?"
		}
	}
	if b.Len() == 0 {
		return "?"
	}
	return b.String()
}
