package letter

import (
	"strings"
	"testing"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
)

func glyphs(t *testing.T) *runeSet {
	t.Helper()
	g, err := pdfGlyphs()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// The embedded fonts (regular and bold) have a glyph for every letter of the Latin alphabets
// in Unicode's Latin blocks that residents' names use, for Greek and Cyrillic, and for the
// Dutch punctuation of the letter.
func TestEmbeddedFontsCoverLatinGreekAndCyrillic(t *testing.T) {
	g := glyphs(t)
	blocks := []struct {
		name     string
		from, to rune
	}{
		{"Latin-1 Supplement", 0xA0, 0xFF},
		{"Latin Extended-A", 0x100, 0x17F},
		{"Latin Extended-B", 0x180, 0x24F},
		{"Latin Extended Additional, Vietnamese among it (not the Middle Welsh U+1EFA-1EFF)", 0x1E00, 0x1EF9},
		{"Greek", 0x384, 0x3CE},
		{"Cyrillic", 0x400, 0x45F},
	}
	for _, b := range blocks {
		for r := b.from; r <= b.to; r++ {
			if unicode.IsPrint(r) && unicode.IsOneOf(pdfScripts, r) && !g.has(r) {
				t.Errorf("%s: no glyph for %U %c", b.name, r, r)
			}
		}
	}
	for _, r := range "€„”“‘’–—•…ĳĲ·" {
		if !g.has(r) {
			t.Errorf("no glyph for %U %c", r, r)
		}
	}
	for _, r := range []rune{'中', 0x1F600, 0xFF2A, -1, 0x110000} {
		if g.has(r) {
			t.Errorf("glyph set claims %U", r)
		}
	}
}

func TestPDFTextKeepsNamesAndShowsWhatItCannotWrite(t *testing.T) {
	g := glyphs(t)
	for in, want := range map[string]string{
		"Ayşe Ağaoğlu":    "Ayşe Ağaoğlu",
		"Łukasz Żółć":     "Łukasz Żółć",
		"Nguyễn Thị Minh": "Nguyễn Thị Minh",
		"Ελένη":           "Ελένη",
		"Дмитрий":         "Дмитрий",
		"Elif Şahin Yıldız, Đorđe, Tomáš Dvořák, Ødegård, Ğ ı İ ș ț": "Elif Şahin Yıldız, Đorđe, Tomáš Dvořák, Ødegård, Ğ ı İ ș ț",
		"€ 12,50 „alles” – —":                                        "€ 12,50 „alles” – —",
		// decomposed (NFD) input is composed
		"Nguye\u0302\u0303n Thi\u0323": "Nguyễn Thị",
		// a letter with an accent that has no precomposed form keeps its combining accent
		"Ade\u0301s\u0323e\u0323\u0301": "Ad\u00E9\u1E63\u1EB9\u0301",
		// no glyph: the compatibility form when it can be shown, else "?"
		"𝐀𝐧𝐧𝐚 Ｊａｎ": "Anna Jan",
		"Jan 😀":    "Jan ?",
		"👍🏽 👨‍👩‍👧 🏃‍♀️": "? ? ?",
		"x\u0350y": "x?y",
		"中文":       "??",
		// scripts fpdf cannot set (right to left, joined): "?" even where DejaVu has glyphs
		"محمد": "????",
		"שלום": "????",
		// invisible format characters are left out
		"Jan\u00AD\u200Bsen\u200F\uFEFF": "Jansen",
		"❤\uFE0F":                        "❤",
	} {
		if got := pdfText(in, g); got != want {
			t.Errorf("pdfText(%+q) = %+q, want %+q", in, got, want)
		}
	}
}

// Every result of pdfText can be drawn by both fonts: fpdf gets no rune it has no glyph for
// (a blank or a .notdef box) and no rune above U+FFFF (which would make it panic).
func FuzzPDFTextOnlyShowsWhatTheFontsHave(f *testing.F) {
	for _, s := range []string{"Ayşe Ağaoğlu", "Jan 😀", "محمد", "a\u0301\u0350", "\xff\xfe", "🏃‍♀️"} {
		f.Add(s)
	}
	g, err := pdfGlyphs()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range pdfText(s, g) {
			if r >= 0x80 && !(g.has(r) && unicode.IsOneOf(pdfScripts, r)) {
				t.Fatalf("pdfText(%+q) has %U", s, r)
			}
		}
	})
}

func TestCmapRunesRefusesWhatIsNotAFont(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("not a font at all"), dejaVuSans[:12], dejaVuSans[:2000]} {
		if _, err := cmapRunes(b); err == nil {
			t.Errorf("cmapRunes of %d bytes: no error", len(b))
		}
	}
}

// Lines break at spaces; a word wider than the line breaks between characters, never between a
// letter and its combining accents; no line is wider than the column.
func TestSplitWrapsUnicodeByWidth(t *testing.T) {
	f := fpdf.New("P", "mm", "A4", "")
	f.AddUTF8FontFromBytes(pdfFamily, "", dejaVuSans)
	f.SetFont(pdfFamily, "", pdfBody)
	w := &pdfWriter{f: f, glyphs: glyphs(t)}

	word := strings.Repeat("Adéṣẹ́", 12)
	lines := w.split("Ayşe Ağaoğlu "+word+" Дмитрий", 30)
	if len(lines) < 4 || lines[0] != "Ayşe Ağaoğlu" || lines[len(lines)-1] != "Дмитрий" {
		t.Fatalf("lines %q", lines)
	}
	if got := strings.Join(lines[1:len(lines)-1], ""); got != pdfText(word, w.glyphs) {
		t.Errorf("the long word broke into %q", lines[1:len(lines)-1])
	}
	for _, l := range lines {
		if width := f.GetStringWidth(l); width > 30-2*f.GetCellMargin() {
			t.Errorf("line %q is %.1f mm wide", l, width)
		}
		if first := []rune(l)[0]; unicode.In(first, unicode.M) {
			t.Errorf("line %q starts with a combining mark", l)
		}
	}
	if got := w.split("a\n\nb\n", 100); strings.Join(got, "|") != "a||b" {
		t.Errorf("line feeds: %q", got)
	}
	if got := w.split("", 100); len(got) != 1 || got[0] != "" {
		t.Errorf("empty text: %q", got)
	}
}
