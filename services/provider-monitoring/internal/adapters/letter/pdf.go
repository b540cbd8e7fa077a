package letter

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
)

// PDF layout on A4, in millimetres.
const (
	pdfLeft, pdfTop, pdfRight, pdfBottom = 25.0, 20.0, 20.0, 25.0
	pdfWidth                             = 210 - pdfLeft - pdfRight
	pdfLine                              = 5.0 // line height of body text
	pdfBody                              = 10.5
)

// PDF renders the letter as an A4 PDF with document language nl-NL (/Lang) and its title in
// the metadata, shown by a reader instead of the file name (/DisplayDocTitle). The PDF is not
// tagged (no structure tree: fpdf cannot write one), so a screen reader gets its text in
// content order without headings or tables; the HTML letter has that structure. The output is
// deterministic: the same letter gives the same bytes (the PDF creation date is the decision
// date), so it can be stored and hashed with the decision. It returns the error of Validate
// when the letter is incomplete.
func PDF(l Letter) ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	d := compose(l)

	glyphs, err := pdfGlyphs()
	if err != nil {
		return nil, err
	}

	f := fpdf.New("P", "mm", "A4", "")
	f.AddUTF8FontFromBytes(pdfFamily, "", dejaVuSans)
	f.AddUTF8FontFromBytes(pdfFamily, "B", dejaVuSansBold)
	w := &pdfWriter{f: f, glyphs: glyphs}
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
		y := f.GetY()
		f.SetFont(pdfFamily, "", 8)
		f.CellFormat(pdfWidth, 4, w.text("pagina "+strconv.Itoa(f.PageNo())+" van {nb}"), "", 0, "R", false, 0, "")
		// The footer text has three quarters of the line: a long municipality name makes it
		// smaller (down to 6 pt), and then wrap.
		width, size := pdfWidth*0.75, 8.0
		if full := f.GetStringWidth(w.text(d.Footer)); full > width-2*f.GetCellMargin() {
			size = max(6, math.Floor(80*(width-2*f.GetCellMargin())/full)/10)
			f.SetFontSize(size)
		}
		for i, l := range w.split(d.Footer, width) {
			f.SetXY(pdfLeft, y+float64(i)*size/2)
			f.CellFormat(width, size/2, l, "", 0, "L", false, 0, "")
		}
	})
	f.AddPage()

	// Letterhead and address block (in the window of a DL envelope).
	f.SetFont(pdfFamily, "B", 14)
	w.lines(d.Sender[:1], 6)
	f.SetFont(pdfFamily, "", 9)
	w.lines(d.Sender[1:], 4)
	f.SetY(50)
	f.SetFont(pdfFamily, "", pdfBody)
	w.lines(d.Recipient, pdfLine)
	f.SetY(f.GetY() + 10)
	w.rows(d.Meta, false)

	f.SetFont(pdfFamily, "B", 13)
	f.Ln(4)
	w.paragraph(d.Title, 6.5)
	f.SetFont(pdfFamily, "", pdfBody)
	f.Ln(2)
	w.paragraph(d.Salutation, pdfLine)

	for _, s := range d.Sections {
		if s.Heading != "" {
			w.need(3 * pdfLine)
			f.Ln(2)
			f.SetFont(pdfFamily, "B", 12)
			w.paragraph(s.Heading, 6)
			f.SetFont(pdfFamily, "", pdfBody)
		}
		for _, b := range s.Blocks {
			w.block(b)
		}
	}

	f.SetFont(pdfFamily, "", pdfBody)
	f.Ln(2)
	w.closing(d.Greeting, d.Signatures)

	var out bytes.Buffer
	if err := f.Output(&out); err != nil {
		return nil, err
	}
	return displayDocTitle(out.Bytes())
}

// viewerPreferences makes a reader show the document title (the letter's subject) in its
// title bar and tabs instead of the file name (WCAG 2.4.2, technique PDF18; PDF/UA asks for it
// too). fpdf has no setting for it, so it is written into the catalog after the fact.
const viewerPreferences = "/ViewerPreferences <</DisplayDocTitle true>>\n"

// displayDocTitle adds viewerPreferences to the catalog of a PDF that fpdf wrote. fpdf writes
// the catalog as the last object, right before the cross-reference table, so an insertion in it
// moves only the table: the startxref offset is moved by as much. Anything else (the catalog
// not found once, not the last object, no startxref) is an error rather than a damaged PDF.
func displayDocTitle(pdf []byte) ([]byte, error) {
	const catalog = "\n/Type /Catalog\n"
	at := bytes.Index(pdf, []byte(catalog))
	if at < 0 || bytes.Count(pdf, []byte(catalog)) != 1 {
		return nil, errors.New("letter: PDF catalog not found once")
	}
	at += len(catalog)
	xref := bytes.LastIndex(pdf, []byte("\nstartxref\n"))
	if xref < at {
		return nil, errors.New("letter: PDF has no startxref after its catalog")
	}
	numStart := xref + len("\nstartxref\n")
	numEnd := bytes.IndexByte(pdf[numStart:], '\n')
	if numEnd < 0 {
		return nil, errors.New("letter: PDF startxref has no offset")
	}
	offset, err := strconv.Atoi(string(pdf[numStart : numStart+numEnd]))
	if err != nil || offset < at || !bytes.HasPrefix(pdf[offset:], []byte("xref\n")) {
		return nil, errors.New("letter: PDF catalog is not the last object before the cross-reference table")
	}
	out := make([]byte, 0, len(pdf)+len(viewerPreferences)+4)
	out = append(out, pdf[:at]...)
	out = append(out, viewerPreferences...)
	out = append(out, pdf[at:numStart]...)
	out = strconv.AppendInt(out, int64(offset+len(viewerPreferences)), 10)
	out = append(out, pdf[numStart+numEnd:]...)
	return out, nil
}

type pdfWriter struct {
	f      *fpdf.Fpdf
	glyphs *runeSet // what the embedded fonts can show
}

// text prepares UTF-8 text for the embedded fonts (pdfText).
func (w *pdfWriter) text(s string) string { return pdfText(s, w.glyphs) }

// need starts a new page when less than h millimetres are left on this one.
func (w *pdfWriter) need(h float64) {
	_, pageH := w.f.GetPageSize()
	if w.f.GetY()+h > pageH-pdfBottom {
		w.f.AddPage()
	}
}

// split wraps text into lines of at most width millimetres (less the cell margins) in the
// current font: at spaces and at line feeds, and within a word only when the word alone is wider
// than the line, never between a letter and its accents. (fpdf's SplitLines measures bytes, not
// runes, and its SplitText counts a combining accent as a very wide character.)
func (w *pdfWriter) split(s string, width float64) []string {
	maxW := width - 2*w.f.GetCellMargin()
	var out []string
	text := strings.TrimRight(strings.ReplaceAll(w.text(s), "\r", ""), "\n")
	for _, para := range strings.Split(text, "\n") {
		line, started := "", false
		for _, word := range strings.Split(para, " ") {
			next := word
			if started {
				next = line + " " + word
			}
			if w.f.GetStringWidth(next) <= maxW {
				line, started = next, true
				continue
			}
			if started {
				out = append(out, line)
			}
			line, started = word, true
			for w.f.GetStringWidth(line) > maxW {
				head := w.cut(line, maxW)
				out = append(out, head)
				line = line[len(head):]
			}
		}
		out = append(out, line)
	}
	return out
}

// cut returns the longest start of s, in whole characters (a letter with its combining marks),
// that is at most maxW wide; at least one character.
func (w *pdfWriter) cut(s string, maxW float64) string {
	end := len(s)
	for i, r := range s {
		if i == 0 || unicode.In(r, unicode.M) {
			continue
		}
		if end < len(s) && w.f.GetStringWidth(s[:i]) > maxW {
			break
		}
		end = i
	}
	return s[:end]
}

func (w *pdfWriter) lines(ls []string, h float64) {
	for _, l := range ls {
		w.paragraph(l, h)
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
		widths := []float64{35, pdfWidth - 35 - 2*25, 25, 25} // "Score doel" in bold fits 25
		f.SetFont(pdfFamily, "B", pdfBody)
		w.row(widths, b.Header, true, true)
		f.SetFont(pdfFamily, "", pdfBody)
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
			f.SetFont(pdfFamily, "B", pdfBody)
		}
		w.paragraph(b.Text, pdfLine)
		f.SetFont(pdfFamily, "", pdfBody)
		f.Ln(2)
	}
}

func (w *pdfWriter) caption(c string) {
	if c == "" {
		return
	}
	w.need(3 * pdfLine)
	w.f.SetFont(pdfFamily, "B", pdfBody)
	w.paragraph(c, pdfLine)
	w.f.SetFont(pdfFamily, "", pdfBody)
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
		f.SetFont(pdfFamily, style(i), pdfBody)
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
		f.SetFont(pdfFamily, style(i), pdfBody)
		for j, l := range split[i] {
			f.SetXY(x, y+0.5+float64(j)*pdfLine)
			f.CellFormat(widths[i], pdfLine, l, "", 0, "L", false, 0, "")
		}
		x += widths[i]
	}
	f.SetFont(pdfFamily, "", pdfBody)
	f.SetXY(pdfLeft, y+h)
}

// closing writes the greeting and, under it, the officials side by side, each with the college
// it acts for and its mandate; greeting and signatures go on one page.
func (w *pdfWriter) closing(greeting string, sigs []signature) {
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
			f.SetFont(pdfFamily, p.style, p.size)
			h += float64(len(w.split(p.text, colW-4))) * p.h
		}
		height = max(height, h)
	}
	f.SetFont(pdfFamily, "", pdfBody)
	w.need(float64(len(w.split(greeting, pdfWidth)))*pdfLine + 2 + height)
	w.paragraph(greeting, pdfLine)
	f.Ln(2)
	y := f.GetY()
	for i, s := range sigs {
		x := pdfLeft + float64(i)*colW
		f.SetY(y)
		for _, p := range parts(s) {
			f.SetFont(pdfFamily, p.style, p.size)
			w.paragraphAt(p.text, x, colW-4, p.h)
		}
	}
	f.SetFont(pdfFamily, "", pdfBody)
	f.SetY(y + height)
}
