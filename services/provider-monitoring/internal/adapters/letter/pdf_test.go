package letter_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
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
			// Letters outside Windows-1252 lose their accent in the PDF only.
			fold := strings.NewReplacer("Ş", "S", "ı", "i")
			var want []string
			for _, s := range append(required(c.letter), c.want...) {
				want = append(want, fold.Replace(s))
			}
			checkText(t, "PDF", text, append(want, "pagina 1 van "), c.absent)
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
	// Outside Windows-1252: written without the accent, never dropped or replaced by a dot.
	if !strings.Contains(text, "Elif Sahin Yildiz krijgt Ambulante jeugdhulp") {
		t.Errorf("PDF text lacks the young person's name without accents; text: %s", text)
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
	a, b := must(letter.PDF(wmoGranted())), must(letter.PDF(wmoGranted()))
	if !bytes.Equal(a, b) {
		t.Error("the same letter gives different PDF bytes")
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
