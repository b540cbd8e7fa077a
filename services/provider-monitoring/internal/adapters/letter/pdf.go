package letter

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/text/unicode/norm"
)

// PDF layout on A4, in millimetres.
const (
	pdfLeft, pdfTop, pdfRight, pdfBottom = 25.0, 20.0, 20.0, 25.0
	pdfWidth                             = 210 - pdfLeft - pdfRight
	pdfLine                              = 5.0 // line height of body text
	pdfBody                              = 10.5
)

// PDF renders the letter as an A4 PDF (tagged with language nl-NL). The output is
// deterministic: the same letter gives the same bytes (the PDF creation date is the decision
// date), so it can be stored and hashed with the decision. It returns the error of Validate
// when the letter is incomplete.
func PDF(l Letter) ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	d := compose(l)

	f := fpdf.New("P", "mm", "A4", "")
	w := &pdfWriter{f: f, tr: f.UnicodeTranslatorFromDescriptor("cp1252")}
	f.SetMargins(pdfLeft, pdfTop, pdfRight)
	f.SetAutoPageBreak(true, pdfBottom)
	f.SetTitle(d.Title, true)
	f.SetAuthor(d.Sender[0], true)
	f.SetSubject(d.Footer, true)
	f.SetCreator("Wijkbrug", true)
	f.SetProducer("Wijkbrug", true)
	f.SetLang("nl-NL")
	f.SetCreationDate(day(l.Date))
	f.SetModificationDate(day(l.Date))
	f.SetCatalogSort(true)
	f.AliasNbPages("{nb}")
	f.SetFooterFunc(func() {
		f.SetY(-15)
		f.SetFont("Helvetica", "", 8)
		f.CellFormat(pdfWidth*0.75, 4, w.text(d.Footer), "", 0, "L", false, 0, "")
		f.CellFormat(pdfWidth*0.25, 4, w.text("pagina "+strconv.Itoa(f.PageNo())+" van {nb}"), "", 0, "R", false, 0, "")
	})
	f.AddPage()

	// Letterhead and address block (in the window of a DL envelope).
	f.SetFont("Helvetica", "B", 14)
	w.lines(d.Sender[:1], 6)
	f.SetFont("Helvetica", "", 9)
	w.lines(d.Sender[1:], 4)
	f.SetY(50)
	f.SetFont("Helvetica", "", pdfBody)
	w.lines(d.Recipient, pdfLine)
	f.SetY(f.GetY() + 10)
	w.rows(d.Meta, false)

	f.SetFont("Helvetica", "B", 13)
	f.Ln(4)
	w.paragraph(d.Title, 6.5)
	f.SetFont("Helvetica", "", pdfBody)
	f.Ln(2)
	w.paragraph(d.Salutation, pdfLine)

	for _, s := range d.Sections {
		if s.Heading != "" {
			w.need(3 * pdfLine)
			f.Ln(2)
			f.SetFont("Helvetica", "B", 12)
			w.paragraph(s.Heading, 6)
			f.SetFont("Helvetica", "", pdfBody)
		}
		for _, b := range s.Blocks {
			w.block(b)
		}
	}

	f.SetFont("Helvetica", "", pdfBody)
	f.Ln(2)
	w.paragraph(d.Greeting, pdfLine)
	w.signatures(d.Signatures)

	var out bytes.Buffer
	if err := f.Output(&out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

type pdfWriter struct {
	f  *fpdf.Fpdf
	tr func(string) string // UTF-8 → Windows-1252, from fpdf's code page map
}

// text converts UTF-8 to the core fonts' Windows-1252. A letter outside that code page is
// written without its accent (ş → s, ı → i), or as "?" when it has no Latin base letter.
func (w *pdfWriter) text(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case w.tr(string(r)) != ".": // fpdf writes "." for a rune its map lacks
			b.WriteRune(r)
		default:
			b.WriteString(foldRune(r))
		}
	}
	return w.tr(b.String())
}

var folds = map[rune]string{'ı': "i", 'ł': "l", 'Ł': "L", 'đ': "d", 'Đ': "D", 'ħ': "h", 'Ħ': "H", 'ŀ': "l", 'Ŀ': "L", '‐': "-", '‑': "-", '−': "-"}

func foldRune(r rune) string {
	if s, ok := folds[r]; ok {
		return s
	}
	var b strings.Builder
	for _, c := range norm.NFD.String(string(r)) {
		if c < 0x80 && !unicode.Is(unicode.Mn, c) {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "?"
	}
	return b.String()
}

// need starts a new page when less than h millimetres are left on this one.
func (w *pdfWriter) need(h float64) {
	_, pageH := w.f.GetPageSize()
	if w.f.GetY()+h > pageH-pdfBottom {
		w.f.AddPage()
	}
}

func (w *pdfWriter) split(s string, width float64) []string {
	var out []string
	for _, l := range w.f.SplitLines([]byte(w.text(s)), width) {
		out = append(out, string(l))
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

func (w *pdfWriter) lines(ls []string, h float64) {
	for _, l := range ls {
		w.f.CellFormat(pdfWidth, h, w.text(l), "", 1, "L", false, 0, "")
	}
}

// paragraph writes wrapped text over the full width, at the left margin.
func (w *pdfWriter) paragraph(s string, h float64) {
	w.paragraphAt(s, pdfLeft, pdfWidth, h)
}

func (w *pdfWriter) paragraphAt(s string, x, width, h float64) {
	for _, l := range w.split(s, width) {
		w.need(h)
		w.f.SetX(x)
		w.f.CellFormat(width, h, l, "", 1, "L", false, 0, "")
	}
}

func (w *pdfWriter) block(b block) {
	f := w.f
	switch {
	case len(b.Rows) > 0:
		w.caption(b.Caption)
		w.rows(b.Rows, true)
	case len(b.Header) > 0:
		w.caption(b.Caption)
		widths := []float64{35, pdfWidth - 35 - 2*22, 22, 22}
		f.SetFont("Helvetica", "B", pdfBody)
		w.row(widths, b.Header, true, true)
		f.SetFont("Helvetica", "", pdfBody)
		for _, c := range b.Cells {
			w.row(widths, c, true, false)
		}
		f.Ln(2)
	case len(b.Items) > 0:
		w.paragraph(b.Text, pdfLine)
		for _, it := range b.Items {
			ls := w.split(it, pdfWidth-6)
			w.need(pdfLine * float64(min(len(ls), 3)))
			f.SetX(pdfLeft + 1)
			f.CellFormat(5, pdfLine, w.text("•"), "", 0, "L", false, 0, "")
			w.paragraphAt(it, pdfLeft+6, pdfWidth-6, pdfLine)
		}
		f.Ln(2)
	default:
		if b.Strong {
			f.SetFont("Helvetica", "B", pdfBody)
		}
		w.paragraph(b.Text, pdfLine)
		f.SetFont("Helvetica", "", pdfBody)
		f.Ln(2)
	}
}

func (w *pdfWriter) caption(c string) {
	if c == "" {
		return
	}
	w.need(3 * pdfLine)
	w.f.SetFont("Helvetica", "B", pdfBody)
	w.paragraph(c, pdfLine)
	w.f.SetFont("Helvetica", "", pdfBody)
}

// rows writes label/value pairs, with borders when framed.
func (w *pdfWriter) rows(rs []row, framed bool) {
	widths := []float64{45, pdfWidth - 45}
	for _, r := range rs {
		w.row(widths, []string{r.Label, r.Value}, framed, false)
	}
	w.f.Ln(2)
}

// row writes one table row; the first column is bold (it labels the row).
func (w *pdfWriter) row(widths []float64, cells []string, framed, header bool) {
	f := w.f
	style := func(i int) string {
		if header || i == 0 {
			return "B"
		}
		return ""
	}
	split := make([][]string, len(cells))
	n := 1
	for i, c := range cells {
		f.SetFont("Helvetica", style(i), pdfBody)
		split[i] = w.split(c, widths[i])
		n = max(n, len(split[i]))
	}
	h := float64(n)*pdfLine + 1
	w.need(h)
	x, y := pdfLeft, f.GetY()
	border := ""
	if framed {
		border = "D"
	}
	for i := range cells {
		if framed {
			f.Rect(x, y, widths[i], h, border)
		}
		f.SetFont("Helvetica", style(i), pdfBody)
		for j, l := range split[i] {
			f.SetXY(x, y+0.5+float64(j)*pdfLine)
			f.CellFormat(widths[i], pdfLine, l, "", 0, "L", false, 0, "")
		}
		x += widths[i]
	}
	f.SetFont("Helvetica", "", pdfBody)
	f.SetXY(pdfLeft, y+h)
}

// signatures writes the officials side by side, each with the college it acts for and its
// mandate.
func (w *pdfWriter) signatures(sigs []signature) {
	f := w.f
	colW := pdfWidth / float64(len(sigs))
	type part struct {
		style string
		size  float64
		h     float64
		text  string
	}
	parts := func(s signature) []part {
		return []part{{"", pdfBody, pdfLine, s.OnBehalf}, {"B", pdfBody, pdfLine, s.Name}, {"", pdfBody, pdfLine, s.Function}, {"", 9, 4.5, s.Mandate}}
	}
	height := 0.0
	for _, s := range sigs {
		h := 0.0
		for _, p := range parts(s) {
			f.SetFont("Helvetica", p.style, p.size)
			h += float64(len(w.split(p.text, colW-4))) * p.h
		}
		height = max(height, h)
	}
	f.Ln(2)
	w.need(height)
	y := f.GetY()
	for i, s := range sigs {
		x := pdfLeft + float64(i)*colW
		f.SetY(y)
		for _, p := range parts(s) {
			f.SetFont("Helvetica", p.style, p.size)
			w.paragraphAt(p.text, x, colW-4, p.h)
		}
	}
	f.SetFont("Helvetica", "", pdfBody)
	f.SetY(y + height)
}
