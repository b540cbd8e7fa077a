package letter_test

import (
	"errors"
	"html"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/letter"
)

func civil(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func utrecht() letter.Municipality {
	return letter.Municipality{
		Name:            "Utrecht",
		CBSCode:         "0344",
		PostalAddress:   letter.Address{Street: "Postbus 16200", PostalCode: "3500 CE", City: "Utrecht"},
		VisitingAddress: letter.Address{Street: "Stadsplateau 1", PostalCode: "3521 AZ", City: "Utrecht"},
		ObjectionURL:    "www.utrecht.nl/bezwaar",
	}
}

func standard() letter.StandardParagraphs {
	return letter.StandardParagraphs{
		Opening: "Bedankt voor het gesprek met onze consulent.",
		Contact: "Bel ons op 14 030.\n\nOf kom langs op het Stadsplateau.",
		Closing: "Wij wensen u veel succes.",
	}
}

// wmoGranted: individual support at home from a contracted provider, decided by two officials.
func wmoGranted() letter.Letter {
	m := utrecht()
	m.CBSCode = "GM0344" // as the platform writes municipality codes
	return letter.Letter{
		Municipality:    m,
		DecisionNumber:  "WMO-2026-001234",
		Date:            civil(2026, time.December, 2),
		ApplicationDate: civil(2026, time.November, 18),
		Recipient: letter.Recipient{
			Name:    "mevrouw A. Jansen",
			Address: letter.Address{Street: "Oudegracht 12 bis", PostalCode: "3511 AP", City: "Utrecht"},
		},
		Law:          letter.LawWmo2015,
		Outcome:      letter.OutcomeGranted,
		Product:      letter.Product{CategoryCode: "02", CategoryName: "Begeleiding", ProductCode: "02A01", ProductName: "Individuele begeleiding"},
		ProviderName: "Zorgkracht Utrecht",
		StartDate:    civil(2026, time.December, 7),
		EndDate:      civil(2027, time.December, 6),
		Volume:       letter.Volume{Amount: 4, Unit: "uur", Frequency: "per week"},
		Motivation: letter.Motivation{
			Goals: []letter.Goal{
				{LifeDomain: "Financiën", Description: "U betaalt uw rekeningen op tijd.", Baseline: 2, Target: 4},
				{LifeDomain: "Huisvesting", Description: "U houdt uw huis schoon en veilig.", Baseline: 3, Target: 4},
			},
			Paragraphs: []string{"U heeft schulden en overziet uw post niet meer.", "Uw netwerk kan dit niet overnemen."},
		},
		Signatory:      letter.Signatory{Name: "J. de Boer", Function: "Consulent Wmo", Mandate: "Mandaatbesluit sociaal domein Utrecht 2026"},
		SecondOfficial: &letter.Signatory{Name: "P. Bakker", Function: "Teamleider Wmo", Mandate: "Mandaatbesluit sociaal domein Utrecht 2026"},
		Paragraphs:     standard(),
	}
}

// jeugdPGB: youth care as a personal budget, addressed to the parents, a Turkish name.
func jeugdPGB() letter.Letter {
	return letter.Letter{
		Municipality:    utrecht(),
		DecisionNumber:  "JW-2026-000777",
		Date:            civil(2026, time.December, 3),
		ApplicationDate: civil(2026, time.October, 20),
		Recipient: letter.Recipient{
			Name:       "De ouders van Elif Şahin Yıldız",
			Salutation: "Beste ouders,",
			Address:    letter.Address{Street: "Kanaalweg 8", PostalCode: "3526 KL", City: "Utrecht"},
		},
		Client:            "Elif Şahin Yıldız",
		Law:               letter.LawJeugdwet,
		Outcome:           letter.OutcomeGranted,
		Product:           letter.Product{CategoryCode: "45", CategoryName: "Jeugdhulp ambulant", ProductCode: "45A04", ProductName: "Ambulante jeugdhulp"},
		Budget:            &letter.PersonalBudget{AmountCents: 425000, Per: "per jaar"},
		StartDate:         civil(2027, time.January, 1),
		EndDate:           civil(2027, time.December, 31),
		Volume:            letter.Volume{Amount: 2, Unit: "dagdelen", Frequency: "per week"},
		ObjectionDeadline: civil(2027, time.January, 14),
		Motivation: letter.Motivation{
			Goals: []letter.Goal{
				{LifeDomain: "Tijdsbesteding", Description: "Elif gaat weer elke dag naar school.", Baseline: 1, Target: 3},
			},
			Paragraphs: []string{"Elif is sinds de zomer niet meer naar school geweest. Haar oma kan de begeleiding bieden."},
		},
		Signatory:  letter.Signatory{Name: "M. Öztürk", Function: "Jeugdconsulent", Mandate: "Mandaatbesluit sociaal domein Utrecht 2026"},
		Paragraphs: standard(),
	}
}

// rejection: a Wmo application for a household help that the network can provide.
func rejection() letter.Letter {
	return letter.Letter{
		Municipality:    utrecht(),
		DecisionNumber:  "WMO-2026-001240",
		Date:            civil(2026, time.December, 2),
		ApplicationDate: civil(2026, time.November, 20),
		Recipient: letter.Recipient{
			Name:    "de heer K. Visser",
			Address: letter.Address{Street: "Amsterdamsestraatweg 400", PostalCode: "3551 CW", City: "Utrecht"},
		},
		Law:              letter.LawWmo2015,
		Outcome:          letter.OutcomeRejected,
		RejectionGrounds: []string{"Uw zoon woont bij u en kan het huishouden doen. Dat noemen we gebruikelijke hulp."},
		Product:          letter.Product{CategoryName: "Hulp bij het huishouden", ProductName: "Huishoudelijke ondersteuning"},
		Motivation: letter.Motivation{
			Paragraphs: []string{"Wij hebben op 25 november 2026 met u en uw zoon gesproken."},
		},
		Signatory: letter.Signatory{Name: "J. de Boer", Function: "Consulent Wmo", Mandate: "Mandaatbesluit sociaal domein Utrecht 2026"},
	}
}

// partly: less support than asked, no end date, and a municipality that charges no own
// contribution for it.
func partly() letter.Letter {
	l := wmoGranted()
	l.Outcome = letter.OutcomePartlyGranted
	l.RejectionGrounds = []string{"U vroeg 8 uur per week. 4 uur per week is genoeg om uw doelen te halen."}
	l.EndDate = time.Time{}
	l.SecondOfficial = nil
	l.OwnContributionExemption = "De gemeente Utrecht vraagt geen eigen bijdrage voor begeleiding."
	return l
}

type letterCase struct {
	name   string
	letter letter.Letter
	want   []string // besides the elements every letter needs
	absent []string
}

func cases() []letterCase {
	return []letterCase{
		{name: "wmo granted", letter: wmoGranted(),
			want: []string{
				"Wij hebben dit besloten volgens de Wet maatschappelijke ondersteuning 2015 (Wmo 2015), artikel 2.3.5.",
				"De hulp heet een maatwerkvoorziening.",
				"U krijgt Individuele begeleiding",
				"Begeleiding (categorie 02)", "Individuele begeleiding (productcode 02A01)",
				"Zorgkracht Utrecht", "4 uur per week", "7 december 2026", "6 december 2027",
				"Financiën", "U betaalt uw rekeningen op tijd.", "2 van 5", "4 van 5",
				"Huisvesting", "U houdt uw huis schoon en veilig.", "3 van 5",
				"U heeft schulden en overziet uw post niet meer.", "Uw netwerk kan dit niet overnemen.",
				"Moet u iets betalen?", "eigen bijdrage", "Het CAK regelt de eigen bijdrage",
				"P. Bakker", "Teamleider Wmo",
				"Bedankt voor het gesprek met onze consulent.", "Bel ons op 14 030.", "Wij wensen u veel succes.",
				"Beste mevrouw A. Jansen,",
			},
			absent: []string{"Jeugdwet", "pgb", "Wij zeggen nee", "niet alles"}},
		{name: "jeugdwet granted with pgb", letter: jeugdPGB(),
			want: []string{
				"Wij hebben dit besloten volgens de Jeugdwet, artikel 2.3.",
				"De hulp heet een individuele voorziening. Dat is hulp die speciaal voor Elif Şahin Yıldız is geregeld.",
				"Elif Şahin Yıldız krijgt Ambulante jeugdhulp",
				"Jeugdhulp ambulant (categorie 45)", "Ambulante jeugdhulp (productcode 45A04)",
				"Persoonsgebonden budget (pgb)", "€ 4.250,00 per jaar", "Jeugdwet, artikel 8.1.1",
				"2 dagdelen per week", "1 januari 2027", "31 december 2027",
				"Tijdsbesteding", "Elif gaat weer elke dag naar school.", "1 van 5", "3 van 5",
				"Haar oma kan de begeleiding bieden.",
				"Uw bezwaar moet dus uiterlijk op 14 januari 2027 bij ons binnen zijn. Stuurt u het met de post? Dan is het ook op tijd als u het uiterlijk op 14 januari 2027 op de post doet en wij het binnen een week daarna krijgen (Awb artikel 6:9).",
				"M. Öztürk", "Jeugdconsulent", "Beste ouders,",
			},
			absent: []string{"CAK", "eigen bijdrage", "Wmo 2015", "Zorgkracht"}},
		{name: "wmo partly granted", letter: partly(),
			want: []string{
				"U krijgt Individuele begeleiding, maar minder dan u heeft gevraagd.",
				"U krijgt niet alles wat u heeft gevraagd. Dit is de reden:", "U vroeg 8 uur per week. 4 uur per week is genoeg om uw doelen te halen.",
				"4 uur per week", "geen einddatum", "Zorgkracht Utrecht",
				"Nee. U betaalt voor deze hulp geen eigen bijdrage. De gemeente Utrecht vraagt geen eigen bijdrage voor begeleiding.",
			},
			absent: []string{"Het CAK regelt", "Wij zeggen nee", "Daarom"}},
		{name: "wmo rejected", letter: rejection(),
			want: []string{
				"Wmo 2015), artikel 2.3.5", "U vroeg om een maatwerkvoorziening.",
				"U krijgt geen Huishoudelijke ondersteuning", "Wij zeggen nee tegen uw aanvraag",
				"Wij zeggen nee tegen uw aanvraag. Dit is de reden:", "Beste meneer K. Visser,",
				"Uw zoon woont bij u en kan het huishouden doen. Dat noemen we gebruikelijke hulp.",
				"Wij hebben op 25 november 2026 met u en uw zoon gesproken.",
			},
			absent: []string{"CAK", "eigen bijdrage", "Uw hulp", "Startdatum", "Score nu", "nodig heeft", "Daarom"}},
	}
}

// required is what every decision letter must show, read from the letter itself.
func required(l letter.Letter) []string {
	dates := map[time.Time]string{}
	for _, d := range []time.Time{l.Date, l.ApplicationDate} {
		dates[d] = strings.TrimLeft(d.Format("_2"), " ") + " " + dutchMonth(d.Month()) + " " + d.Format("2006")
	}
	want := []string{
		"Gemeente Utrecht", "gemeentecode 0344",
		"Besluitnummer", l.DecisionNumber,
		"Datum", dates[l.Date],
		"Uw aanvraag van", dates[l.ApplicationDate],
		l.Recipient.Name, l.Recipient.Address.Street, l.Recipient.Address.PostalCode + " " + l.Recipient.Address.City,
		l.Product.ProductName,
		"Wat hebben we besloten?", "Waarom?",
		"Bent u het niet eens met dit besluit?", "bezwaar maken", "6 weken",
		"Awb), artikel 6:7", "Awb artikel 6:5", "op de post doet en wij het binnen een week daarna krijgen (Awb artikel 6:9)",
		"Het college van burgemeester en wethouders van gemeente Utrecht, Postbus 16200, 3500 CE Utrecht",
		"uw naam en adres", "de datum", "het besluitnummer: " + l.DecisionNumber, "waarom u het niet eens bent met het besluit", "uw handtekening",
		"namens het college van burgemeester en wethouders van gemeente Utrecht",
		l.Signatory.Name, l.Signatory.Function, l.Signatory.Mandate,
	}
	want = append(want, l.Motivation.Paragraphs...)
	return want
}

func dutchMonth(m time.Month) string {
	return [...]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"}[m-1]
}

var (
	style  = regexp.MustCompile(`(?s)<style>.*</style>`)
	tags   = regexp.MustCompile(`<[^>]*>`)
	spaces = regexp.MustCompile(`\s+`)
)

// visibleText is what a reader of the HTML sees: no tags, entities decoded, spaces collapsed.
func visibleText(page []byte) string {
	s := tags.ReplaceAllString(style.ReplaceAllString(string(page), " "), " ")
	return spaces.ReplaceAllString(html.UnescapeString(s), " ")
}

func TestHTMLShowsEveryRequiredElement(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			page, err := letter.HTML(c.letter)
			if err != nil {
				t.Fatalf("HTML: %v", err)
			}
			for _, s := range []string{`<html lang="nl">`, `<meta charset="utf-8">`, "<h1>", "<h2>Wat hebben we besloten?</h2>", "<h2>Waarom?</h2>", "@media print"} {
				if !strings.Contains(string(page), s) {
					t.Errorf("HTML lacks %q", s)
				}
			}
			if c.letter.Outcome != letter.OutcomeRejected {
				for _, s := range []string{"<caption>Uw hulp</caption>", `<th scope="row">Hoeveel hulp</th>`, "<caption>Uw doelen per levensgebied</caption>", `<th scope="col">Levensgebied</th>`} {
					if !strings.Contains(string(page), s) {
						t.Errorf("HTML lacks the provision table: %q", s)
					}
				}
			}
			checkText(t, "HTML", visibleText(page), append(required(c.letter), c.want...), c.absent)
		})
	}
}

// checkText reports each wanted phrase the text lacks and each absent phrase it has.
func checkText(t *testing.T, format, text string, want, absent []string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(text, s) {
			t.Errorf("%s text lacks %q", format, s)
		}
	}
	for _, s := range absent {
		if strings.Contains(text, s) {
			t.Errorf("%s text has %q, which does not belong in this letter", format, s)
		}
	}
	if t.Failed() {
		t.Logf("%s text: %s", format, text)
	}
}

func TestHTMLEscapesMarkupInFreeText(t *testing.T) {
	l := wmoGranted()
	l.Recipient.Name = `<img src=x onerror=alert(1)>`
	l.Motivation.Paragraphs = []string{`<script>alert("motivatie")</script>`}
	l.Motivation.Goals[0].Description = `<b>vet</b> & "quotes"`
	l.Paragraphs.Opening = `<a href="javascript:alert(1)">klik</a>`
	page, err := letter.HTML(l)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<img", "<b>vet", `<a href="javascript`} {
		if strings.Contains(string(page), bad) {
			t.Errorf("HTML contains unescaped markup %q", bad)
		}
	}
	for _, good := range []string{"&lt;script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "&lt;b&gt;vet&lt;/b&gt; &amp; &#34;quotes&#34;", "&lt;a href=&#34;javascript:alert(1)&#34;&gt;klik&lt;/a&gt;"} {
		if !strings.Contains(string(page), good) {
			t.Errorf("HTML does not show the markup as text %q", good)
		}
	}
}

func violations(t *testing.T, err error) []string {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindFailedPrecondition {
		t.Fatalf("want a FAILED_PRECONDITION apperr, got %v", err)
	}
	var fields []string
	for _, v := range e.Violations {
		fields = append(fields, v.Field)
	}
	return fields
}

func TestValidateAcceptsCompleteLetters(t *testing.T) {
	for _, c := range cases() {
		if err := c.letter.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestValidateReportsMissingElements(t *testing.T) {
	tests := []struct {
		name   string
		base   func() letter.Letter
		change func(*letter.Letter)
		fields []string
	}{
		{"decision number", wmoGranted, func(l *letter.Letter) { l.DecisionNumber = " " }, []string{"DecisionNumber"}},
		{"dates", wmoGranted, func(l *letter.Letter) { l.Date, l.ApplicationDate, l.StartDate = time.Time{}, time.Time{}, time.Time{} },
			[]string{"Date", "ApplicationDate", "StartDate"}},
		{"application after decision", wmoGranted, func(l *letter.Letter) { l.ApplicationDate = l.Date.AddDate(0, 0, 1) }, []string{"ApplicationDate"}},
		{"end before start", wmoGranted, func(l *letter.Letter) { l.EndDate = l.StartDate.AddDate(0, 0, -1) }, []string{"EndDate"}},
		{"legal basis", wmoGranted, func(l *letter.Letter) { l.Law = "" }, []string{"Law"}},
		{"outcome", wmoGranted, func(l *letter.Letter) { l.Outcome = "MAYBE" }, []string{"Outcome"}},
		{"motivation (Awb 3:46)", wmoGranted, func(l *letter.Letter) { l.Motivation = letter.Motivation{Paragraphs: []string{"", "  "}} },
			[]string{"Motivation.Goals"}},
		{"ZRM scores", wmoGranted, func(l *letter.Letter) { l.Motivation.Goals[1].Baseline, l.Motivation.Goals[1].Target = 99, 0 },
			[]string{"Motivation.Goals[1].Baseline", "Motivation.Goals[1].Target"}},
		{"objection address (Awb 3:45)", wmoGranted, func(l *letter.Letter) { l.Municipality.PostalAddress = letter.Address{} },
			[]string{"Municipality.PostalAddress.Street", "Municipality.PostalAddress.PostalCode", "Municipality.PostalAddress.City"}},
		{"CBS code", wmoGranted, func(l *letter.Letter) { l.Municipality.CBSCode = "GM344" }, []string{"Municipality.CBSCode"}},
		{"signatory and mandate", wmoGranted, func(l *letter.Letter) { l.Signatory = letter.Signatory{}; l.SecondOfficial.Mandate = "" },
			[]string{"Signatory.Name", "Signatory.Function", "Signatory.Mandate", "SecondOfficial.Mandate"}},
		{"provision", wmoGranted, func(l *letter.Letter) { l.Product.ProductCode, l.ProviderName, l.Volume = "", "", letter.Volume{} },
			[]string{"Product.ProductCode", "ProviderName", "Volume.Amount", "Volume.Unit", "Volume.Frequency"}},
		{"provider and budget", jeugdPGB, func(l *letter.Letter) { l.ProviderName = "Zorgkracht" }, []string{"Budget"}},
		{"budget amount", jeugdPGB, func(l *letter.Letter) { l.Budget = &letter.PersonalBudget{} }, []string{"Budget.AmountCents", "Budget.Per"}},
		{"young person", jeugdPGB, func(l *letter.Letter) { l.Client = "" }, []string{"Client"}},
		{"no own contribution in the Jeugdwet", jeugdPGB, func(l *letter.Letter) { l.OwnContributionExemption = "Jonger dan 18." }, []string{"OwnContributionExemption"}},
		{"rejection grounds", rejection, func(l *letter.Letter) { l.RejectionGrounds = nil }, []string{"RejectionGrounds"}},
		{"recipient", rejection, func(l *letter.Letter) { l.Recipient = letter.Recipient{} },
			[]string{"Recipient.Name", "Recipient.Address.Street", "Recipient.Address.PostalCode", "Recipient.Address.City"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.base()
			tc.change(&l)
			got := violations(t, l.Validate())
			if !slices.Equal(got, tc.fields) {
				t.Errorf("violations = %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestValidateReportsEverythingOfAnEmptyLetter(t *testing.T) {
	got := violations(t, letter.Letter{}.Validate())
	for _, f := range []string{"Municipality.Name", "Municipality.CBSCode", "Municipality.PostalAddress.Street", "DecisionNumber", "Date",
		"ApplicationDate", "Recipient.Name", "Law", "Outcome", "Product.ProductName", "Signatory.Name", "Signatory.Mandate"} {
		if !slices.Contains(got, f) {
			t.Errorf("violations %v lack %s", got, f)
		}
	}
}

func TestRenderingRefusesAnIncompleteLetter(t *testing.T) {
	l := wmoGranted()
	l.Motivation.Goals = nil
	want := l.Validate()
	for name, render := range map[string]func(letter.Letter) ([]byte, error){"HTML": letter.HTML, "PDF": letter.PDF} {
		out, err := render(l)
		if out != nil || err == nil || err.Error() != want.Error() || !apperr.IsKind(err, apperr.KindFailedPrecondition) {
			t.Errorf("%s: got %d bytes and %v, want the Validate error %v", name, len(out), err, want)
		}
		var e *apperr.Error
		if !errors.As(err, &e) || !slices.ContainsFunc(e.Violations, func(v apperr.FieldViolation) bool { return v.Field == "Motivation.Goals" }) {
			t.Errorf("%s: error %v does not name Motivation.Goals", name, err)
		}
	}
}
