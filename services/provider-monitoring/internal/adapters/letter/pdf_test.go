package letter_test

import (
	"bytes"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/letter"
)

// pdfText opens the PDF with a real reader (pdftotext from poppler-utils) and returns its text
// with spaces collapsed. A missing pdftotext fails the test: the PDF must be checked.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext not found (%v): install poppler-utils (Debian/Ubuntu: apt-get install poppler-utils) to check the rendered PDF", err)
	}
	in := filepath.Join(t.TempDir(), "letter.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command(bin, "-enc", "UTF-8", in, "-")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("pdftotext cannot read the PDF: %v %s", err, stderr.String())
	}
	return spaces.ReplaceAllString(out.String(), " ")
}

func TestPDFOpensAndShowsEveryRequiredElement(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			pdf, err := letter.PDF(c.letter)
			if err != nil {
				t.Fatalf("PDF: %v", err)
			}
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				t.Fatalf("not a PDF: %q", pdf[:min(len(pdf), 16)])
			}
			text := pdfText(t, pdf)
			checkText(t, "PDF", text, append(append(required(c.letter), c.want...), "pagina 1 van "), c.absent)
		})
	}
}

func TestPDFKeepsDutchCharactersAndTheEuroSign(t *testing.T) {
	l := jeugdPGB()
	l.Motivation.Paragraphs = []string{"Zij heeft overleg gehad met de coördinator van de crèche over het geïndexeerde bedrag — € 12,50 per uur – en daarna is „alles” geregeld."}
	l.Motivation.Goals[0].LifeDomain = "Financiën"
	text := pdfText(t, must(letter.PDF(l)))
	for _, s := range []string{"€ 4.250,00 per jaar", "Financiën", "coördinator", "crèche", "geïndexeerde", "€ 12,50 per uur", "—", "–", "„alles”", "M. Öztürk"} {
		if !strings.Contains(text, s) {
			t.Errorf("PDF text lacks %q", s)
		}
	}
	if !strings.Contains(text, "Elif Şahin Yıldız krijgt Ambulante jeugdhulp") {
		t.Errorf("PDF text lacks the young person's name as registered; text: %s", text)
	}
}

// names are residents' names in Latin script with the diacritics of Turkish, Polish and
// Vietnamese, and names in Greek and Cyrillic script (a representative, a co-signing official).
var names = []string{"Ayşe Ağaoğlu", "Łukasz Żółć", "Nguyễn Thị Minh", "Ελένη Παπαδοπούλου", "Дмитрий Шостакович"}

// namesLetter puts name where a name appears: addressee, address (care of), the young person,
// and the official who signs (in bold).
func namesLetter(name string) letter.Letter {
	l := jeugdPGB()
	l.Recipient = letter.Recipient{Name: name, Address: letter.Address{Street: "p/a " + name + ", Kanaalweg 8", PostalCode: "3526 KL", City: "Utrecht"}}
	l.Client = name
	l.Signatory.Name = name
	return l
}

// TestPDFSpellsNamesAsRegistered is the tester's finding: the PDF spelled "Ayşe Ağaoğlu" as
// "Ayse Agaoglu". Every name must come out of the PDF as it went in.
func TestPDFSpellsNamesAsRegistered(t *testing.T) {
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			l := namesLetter(name)
			text := pdfText(t, must(letter.PDF(l)))
			checkText(t, "PDF", text, []string{
				"Beste " + name + ",",
				"p/a " + name + ", Kanaalweg 8",
				"speciaal voor " + name + " is geregeld",
				name + " krijgt Ambulante jeugdhulp",
				name + " Jeugdconsulent",
				name + " mag dit besluit nemen",
			}, nil)
			// No character was replaced: the PDF has the question marks of the HTML letter's
			// headings, and no others.
			if pdfQ, htmlQ := strings.Count(text, "?"), strings.Count(visibleText(must(letter.HTML(l))), "?"); pdfQ != htmlQ {
				t.Errorf("PDF text has %d question marks, the HTML %d", pdfQ, htmlQ)
			}
		})
	}
}

// A character the fonts cannot show (an emoji, Arabic script, which fpdf cannot join or set
// right to left) is written as "?": the letter still renders, and says that something is missing.
func TestPDFWritesWhatItCannotShowAsAQuestionMark(t *testing.T) {
	l := namesLetter("Ayşe 😀 Ağaoğlu")
	l.Motivation.Paragraphs = []string{"Haar zoon heet محمد 👍🏽 en woont bij haar."}
	pdf, err := letter.PDF(l)
	if err != nil {
		t.Fatalf("PDF: %v", err)
	}
	text := pdfText(t, pdf)
	checkText(t, "PDF", text, []string{"Beste Ayşe ? Ağaoğlu,", "Haar zoon heet ???? ? en woont bij haar."}, []string{"😀", "محمد", "\uFFFD"})
	if !bytes.Equal(pdf, must(letter.PDF(l))) {
		t.Error("the same letter gives different PDF bytes")
	}
}

func TestRenderingIsSafeForConcurrentUse(t *testing.T) {
	want := must(letter.PDF(jeugdPGB()))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if got := must(letter.PDF(jeugdPGB())); !bytes.Equal(got, want) {
				t.Error("a PDF rendered concurrently differs")
			}
			if _, err := letter.HTML(wmoGranted()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestPDFIsDeterministic(t *testing.T) {
	for _, l := range []letter.Letter{wmoGranted(), namesLetter(strings.Join(names, " "))} {
		a, b := must(letter.PDF(l)), must(letter.PDF(l))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the same letter gives different PDF bytes", l.DecisionNumber)
		}
	}
}

// fpdf embeds only the glyphs a letter uses: the two fonts are 1.4 MB, a letter about 40 kB.
func TestPDFEmbedsASubsetOfTheFonts(t *testing.T) {
	for _, l := range []letter.Letter{wmoGranted(), namesLetter(strings.Join(names, " "))} {
		if n := len(must(letter.PDF(l))); n > 100_000 {
			t.Errorf("%s: PDF of %d bytes: are the fonts embedded whole?", l.DecisionNumber, n)
		}
	}
}

func TestPDFBreaksPagesForALongMotivation(t *testing.T) {
	l := wmoGranted()
	for i := range 40 {
		l.Motivation.Paragraphs = append(l.Motivation.Paragraphs, strings.Repeat("Een lange zin over de situatie thuis. ", 8)+"Alinea "+string(rune('A'+i%26))+".")
	}
	text := pdfText(t, must(letter.PDF(l)))
	for _, s := range []string{"pagina 1 van", "pagina 3 van", "Alinea N.", l.Signatory.Mandate} {
		if !strings.Contains(text, s) {
			t.Errorf("PDF text lacks %q", s)
		}
	}
}

// TestWriteSamples renders every sample letter; with WIJKBRUG_LETTER_SAMPLES=dir it keeps them
// there for reading (go test -run TestWriteSamples ./internal/adapters/letter/).
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("WIJKBRUG_LETTER_SAMPLES")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, c := range cases() {
		name := strings.ReplaceAll(c.name, " ", "-")
		for ext, render := range map[string]func(letter.Letter) ([]byte, error){"html": letter.HTML, "pdf": letter.PDF} {
			out, err := render(c.letter)
			if err != nil || len(out) == 0 {
				t.Fatalf("%s.%s: %d bytes, %v", name, ext, len(out), err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+"."+ext), out, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// A reader shows the letter's title, not the file name, and reads it as Dutch: the catalog
// has /DisplayDocTitle and /Lang, the info dictionary the title of the HTML letter, and the
// cross-reference table (moved by the insertion into the catalog) still points at every object,
// so pdfinfo reads the file without a syntax error.
func TestPDFShowsItsTitleAndLanguage(t *testing.T) {
	bin, err := exec.LookPath("pdfinfo")
	if err != nil {
		t.Fatalf("pdfinfo not found (%v): install poppler-utils", err)
	}
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			pdf := must(letter.PDF(c.letter))
			page := string(must(letter.HTML(c.letter)))
			title := html.UnescapeString(page[strings.Index(page, "<title>")+len("<title>") : strings.Index(page, "</title>")])

			catalog := regexp.MustCompile(`(?s)\d+ 0 obj\n<<\n/Type /Catalog\n(.*?)\n>>\nendobj`).FindSubmatch(pdf)
			if catalog == nil {
				t.Fatal("no catalog")
			}
			for _, want := range []string{"/ViewerPreferences <</DisplayDocTitle true>>", "/Lang (nl-NL)"} {
				if !bytes.Contains(catalog[1], []byte(want)) {
					t.Errorf("catalog lacks %s: %s", want, catalog[1])
				}
			}
			checkXref(t, pdf)

			in := filepath.Join(t.TempDir(), "letter.pdf")
			if err := os.WriteFile(in, pdf, 0o600); err != nil {
				t.Fatal(err)
			}
			var out, stderr bytes.Buffer
			cmd := exec.Command(bin, "-enc", "UTF-8", in)
			cmd.Stdout, cmd.Stderr = &out, &stderr
			if err := cmd.Run(); err != nil || stderr.Len() > 0 {
				t.Fatalf("pdfinfo: %v %s", err, stderr.String())
			}
			if got := regexp.MustCompile(`(?m)^Title:\s+(.*)$`).FindStringSubmatch(out.String()); got == nil || got[1] != title {
				t.Errorf("PDF title %q, the letter's is %q", got, title)
			}
		})
	}
}

// checkXref: startxref points at the cross-reference table and each of its entries at the
// start of its object.
func checkXref(t *testing.T, pdf []byte) {
	t.Helper()
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n?$`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no startxref at the end")
	}
	start, _ := strconv.Atoi(string(m[1]))
	if start >= len(pdf) || !bytes.HasPrefix(pdf[start:], []byte("xref\n")) {
		t.Fatalf("startxref %d does not point at the cross-reference table", start)
	}
	entries := regexp.MustCompile(`(\d{10}) 00000 n `).FindAllSubmatch(pdf[start:], -1)
	if len(entries) == 0 {
		t.Fatal("empty cross-reference table")
	}
	for i, e := range entries {
		off, _ := strconv.Atoi(string(e[1]))
		if want := strconv.Itoa(i+1) + " 0 obj"; !bytes.HasPrefix(pdf[off:], []byte(want)) {
			t.Errorf("xref entry %d points at %.20q", i+1, pdf[off:])
		}
	}
}
