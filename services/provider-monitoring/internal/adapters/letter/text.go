package letter

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// document is the letter as the resident reads it, in Dutch: every sentence of the letter
// is written here (compose) and nowhere else. html.go and pdf.go only lay it out.
type document struct {
	Title      string   // <title>, PDF title, and the subject line
	Sender     []string // letterhead: "Gemeente X", visiting address
	Recipient  []string // address block
	Meta       []row    // date, decision number, application date, subject
	Salutation string
	Sections   []section
	Greeting   string      // "Met vriendelijke groet,"
	Signatures []signature // one or two officials
	Footer     string      // municipality, CBS code and decision number, on every PDF page
}

type section struct {
	Heading string // empty for the paragraphs under the salutation and before the greeting
	Blocks  []block
}

// block is one of: a paragraph (Text), a list (Items, with Text as its lead-in), a two-column
// table of labels and values (Rows), or a table with a header row (Header, Cells).
type block struct {
	Text    string
	Items   []string
	Caption string
	Rows    []row
	Header  []string
	Cells   [][]string
	Strong  bool // the paragraph is the decision itself
}

type row struct{ Label, Value string }

type signature struct {
	OnBehalf string // "namens het college van burgemeester en wethouders van Utrecht,"
	Name     string
	Function string
	Mandate  string
}

func para(s string) block { return block{Text: s} }

// compose writes the letter. l must be valid.
func compose(l Letter) document {
	m := l.Municipality
	gemeente := "gemeente " + m.Name
	granted := l.Outcome != OutcomeRejected
	product := strings.TrimSpace(l.Product.ProductName)

	d := document{
		Title:      "Besluit over uw aanvraag voor " + product,
		Sender:     append([]string{"Gemeente " + m.Name}, addressLines(m.VisitingAddress)...),
		Recipient:  append([]string{l.Recipient.Name}, addressLines(l.Recipient.Address)...),
		Salutation: l.Recipient.Salutation,
		Greeting:   "Met vriendelijke groet,",
		Footer:     fmt.Sprintf("Gemeente %s (gemeentecode %s) - besluitnummer %s", m.Name, strings.TrimPrefix(m.CBSCode, "GM"), l.DecisionNumber),
	}
	if blank(d.Salutation) {
		d.Salutation = salutation(l.Recipient.Name)
	}
	d.Meta = []row{
		{"Datum", date(l.Date)},
		{"Besluitnummer", l.DecisionNumber},
		{"Uw aanvraag van", date(l.ApplicationDate)},
		{"Onderwerp", d.Title},
	}

	// Opening.
	var opening []block
	opening = append(opening, paragraphs(l.Paragraphs.Opening)...)
	forWhom := ""
	if !blank(l.Client) {
		forWhom = " voor " + l.Client
	}
	opening = append(opening,
		para(fmt.Sprintf("Op %s heeft u%s hulp aangevraagd: %s. In deze brief leest u wat wij hebben besloten. En waarom.",
			date(l.ApplicationDate), forWhom, product)))
	d.Sections = append(d.Sections, section{Blocks: opening})

	// What was decided.
	var what []block
	who := "U krijgt"
	if !blank(l.Client) {
		who = l.Client + " krijgt"
	}
	switch l.Outcome {
	case OutcomeGranted:
		what = append(what, block{Text: fmt.Sprintf("%s %s. Wij zeggen ja tegen uw aanvraag.", who, product), Strong: true})
	case OutcomePartlyGranted:
		what = append(what, block{Text: fmt.Sprintf("%s %s, maar minder dan u heeft gevraagd. Wij zeggen gedeeltelijk ja tegen uw aanvraag.", who, product), Strong: true})
	case OutcomeRejected:
		what = append(what, block{Text: fmt.Sprintf("%s geen %s. Wij zeggen nee tegen uw aanvraag.", who, product), Strong: true})
	}
	what = append(what, para(legalBasis(l)))
	if granted {
		what = append(what, block{Caption: "Uw hulp", Rows: provision(l)})
		if l.Budget != nil {
			what = append(what, para(budgetText(l)))
		} else {
			what = append(what, para(fmt.Sprintf("%s geeft de hulp. Wij laten %s weten dat de hulp kan beginnen.", l.ProviderName, l.ProviderName)))
		}
	}
	d.Sections = append(d.Sections, section{Heading: "Wat hebben we besloten?", Blocks: what})

	// Why.
	var why []block
	if len(l.Motivation.Goals) > 0 {
		why = append(why,
			para("Wij hebben met u gesproken over uw situatie. We hebben gekeken naar verschillende delen van het leven. Die noemen we levensgebieden. Per levensgebied hebben we een doel afgesproken."),
			para("Bij elk doel staat een score. De score laat zien hoe goed het nu gaat, en waar we naartoe willen. Een score van 1 betekent: er zijn grote problemen, er is direct hulp nodig. Een score van 5 betekent: dit gaat helemaal goed zonder hulp. Zo meten we het bij iedereen. Deze manier van meten heet de Zelfredzaamheid-Matrix (ZRM)."))
		var cells [][]string
		for _, g := range l.Motivation.Goals {
			cells = append(cells, []string{g.LifeDomain, g.Description, scoreText(g.Baseline), scoreText(g.Target)})
		}
		why = append(why, block{Caption: "Uw doelen per levensgebied", Header: []string{"Levensgebied", "Doel", "Score nu", "Score doel"}, Cells: cells})
	}
	why = append(why, motivation(l)...)
	d.Sections = append(d.Sections, section{Heading: "Waarom?", Blocks: why})

	// Own contribution (Wmo only).
	if l.Law == LawWmo2015 && granted {
		var pay []block
		if blank(l.OwnContributionExemption) {
			pay = append(pay,
				para("Ja. Voor deze hulp betaalt u een eigen bijdrage. Dat is een bedrag dat u zelf betaalt voor de hulp."),
				para("Het CAK regelt de eigen bijdrage, niet de gemeente. Het CAK is een organisatie van de overheid. Wij geven het CAK door dat u deze hulp krijgt. Het CAK berekent hoeveel u moet betalen en stuurt u daarover een brief. Op www.hetcak.nl kunt u uitrekenen hoeveel u ongeveer betaalt."))
		} else {
			pay = append(pay, para("Nee. U betaalt voor deze hulp geen eigen bijdrage. "+strings.TrimSpace(l.OwnContributionExemption)))
		}
		d.Sections = append(d.Sections, section{Heading: "Moet u iets betalen?", Blocks: pay})
	}

	// Objection (Awb 3:45, 6:5, 6:7, 6:8).
	college := "Het college van burgemeester en wethouders van " + gemeente
	obj := []block{
		para("Dan kunt u bezwaar maken. Dat betekent: u vraagt ons om het besluit opnieuw te bekijken."),
		para("U heeft daarvoor 6 weken de tijd. Die 6 weken beginnen op de dag nadat wij deze brief hebben verstuurd. Dat staat in de Algemene wet bestuursrecht (Awb), artikel 6:7 en 6:8."),
	}
	// In time (Awb 6:9): received by the last day, or posted by then and received within a
	// week after it.
	if !l.ObjectionDeadline.IsZero() {
		last := date(l.ObjectionDeadline)
		obj = append(obj, para(fmt.Sprintf("Uw bezwaar moet dus uiterlijk op %s bij ons binnen zijn. Stuurt u het met de post? Dan is het ook op tijd als u het uiterlijk op %s op de post doet en wij het binnen een week daarna krijgen (Awb artikel 6:9).", last, last)))
	} else {
		obj = append(obj, para("Uw bezwaar moet binnen die 6 weken bij ons binnen zijn. Stuurt u het met de post? Dan is het ook op tijd als u het binnen de 6 weken op de post doet en wij het binnen een week daarna krijgen (Awb artikel 6:9)."))
	}
	obj = append(obj, block{Text: "Stuur uw bezwaar in een brief naar:", Items: []string{strings.Join(append([]string{college}, addressLines(m.PostalAddress)...), ", ")}})
	if !blank(m.ObjectionURL) {
		obj = append(obj, para("U kunt ook online bezwaar maken: "+strings.TrimSpace(m.ObjectionURL)))
	}
	obj = append(obj,
		block{Text: "Zet in uw bezwaar (Awb artikel 6:5):", Items: []string{
			"uw naam en adres",
			"de datum",
			"het besluitnummer: " + l.DecisionNumber + ". U mag ook een kopie van deze brief meesturen.",
			"waarom u het niet eens bent met het besluit",
			"uw handtekening",
		}},
		para("Wilt u eerst met ons praten over het besluit? Neem dan contact met ons op. Misschien kunnen we het samen oplossen. Let op: ook als u met ons praat, blijft de termijn van 6 weken gelden."))
	d.Sections = append(d.Sections, section{Heading: "Bent u het niet eens met dit besluit?", Blocks: obj})

	// Contact and closing.
	if c := paragraphs(l.Paragraphs.Contact); len(c) > 0 {
		d.Sections = append(d.Sections, section{Heading: "Heeft u nog vragen?", Blocks: c})
	}
	if c := paragraphs(l.Paragraphs.Closing); len(c) > 0 {
		d.Sections = append(d.Sections, section{Blocks: c})
	}

	sign := func(s Signatory) signature {
		return signature{
			OnBehalf: "namens het college van burgemeester en wethouders van " + gemeente + ",",
			Name:     s.Name,
			Function: s.Function,
			Mandate:  fmt.Sprintf("%s mag dit besluit nemen namens het college. Dat staat in het %s.", s.Name, s.Mandate),
		}
	}
	d.Signatures = append(d.Signatures, sign(l.Signatory))
	if l.SecondOfficial != nil {
		d.Signatures = append(d.Signatures, sign(*l.SecondOfficial))
	}
	return d
}

// motivation is the motivation under "Waarom?" after the goals (Awb 3:46): the professional's
// paragraphs, or else a sentence that fits the outcome, and for a refusal (in full or in
// part) its grounds. Only a full grant says the help is needed; a rejection is motivated by
// its grounds alone, a partial grant by the goals for what is granted and the grounds for
// what is not.
func motivation(l Letter) []block {
	out := paragraphs(strings.Join(l.Motivation.Paragraphs, "\n\n"))
	own := len(out) > 0
	grounds := nonBlank(l.RejectionGrounds)
	reason := "Dit is de reden:"
	if len(grounds) > 1 {
		reason = "Dit zijn de redenen:"
	}
	switch l.Outcome {
	case OutcomeGranted:
		if !own {
			out = append(out, para("Wij hebben met u gesproken over uw situatie en uw doelen. Daaruit blijkt dat u deze hulp nodig heeft."))
		}
	case OutcomePartlyGranted:
		if !own {
			out = append(out, para("Wij hebben met u gesproken over uw situatie en uw doelen. Daaruit blijkt dat u een deel van de hulp nodig heeft die u heeft gevraagd. Dat deel krijgt u."))
		}
		out = append(out, block{Text: "U krijgt niet alles wat u heeft gevraagd. " + reason, Items: grounds})
	case OutcomeRejected:
		out = append(out, block{Text: "Wij zeggen nee tegen uw aanvraag. " + reason, Items: grounds})
	}
	return out
}

// salutation is the default greeting: "Beste mevrouw A. Jansen,", "Beste meneer K. Visser,".
func salutation(name string) string {
	name = strings.TrimSpace(name)
	for _, p := range []struct{ envelope, greeting string }{{"de heer ", "meneer "}, {"De heer ", "meneer "}, {"Mevrouw ", "mevrouw "}} {
		if rest, ok := strings.CutPrefix(name, p.envelope); ok {
			name = p.greeting + rest
		}
	}
	return "Beste " + name + ","
}

func legalBasis(l Letter) string {
	kind, what, forWhom := "maatwerkvoorziening", "Die wet regelt hulp om zo lang mogelijk zelfstandig te wonen en mee te doen.", "u"
	law := "de Wet maatschappelijke ondersteuning 2015 (Wmo 2015), artikel 2.3.5"
	if l.Law == LawJeugdwet {
		kind, what, forWhom = "individuele voorziening", "Die wet regelt hulp voor kinderen, jongeren en hun ouders.", l.Client
		law = "de Jeugdwet, artikel 2.3"
	}
	s := fmt.Sprintf("Wij hebben dit besloten volgens %s. %s", law, what)
	if l.Outcome == OutcomeRejected {
		return s + fmt.Sprintf(" U vroeg om een %s. Dat is hulp die speciaal voor %s wordt geregeld.", kind, forWhom)
	}
	return s + fmt.Sprintf(" De hulp heet een %s. Dat is hulp die speciaal voor %s is geregeld.", kind, forWhom)
}

func provision(l Letter) []row {
	p := l.Product
	rows := []row{
		{"Soort hulp", fmt.Sprintf("%s (categorie %s)", p.CategoryName, p.CategoryCode)},
		{"Product", fmt.Sprintf("%s (productcode %s)", p.ProductName, p.ProductCode)},
	}
	if l.Budget != nil {
		rows = append(rows,
			row{"Vorm", "Persoonsgebonden budget (pgb)"},
			row{"Bedrag", euro(l.Budget.AmountCents) + " " + strings.TrimSpace(l.Budget.Per)})
	} else {
		rows = append(rows, row{"Wie geeft de hulp", l.ProviderName})
	}
	end := "geen einddatum"
	if !l.EndDate.IsZero() {
		end = date(l.EndDate)
	}
	rows = append(rows,
		row{"Hoeveel hulp", fmt.Sprintf("%d %s %s", l.Volume.Amount, strings.TrimSpace(l.Volume.Unit), strings.TrimSpace(l.Volume.Frequency))},
		row{"Startdatum", date(l.StartDate)},
		row{"Einddatum", end})
	return rows
}

func budgetText(l Letter) string {
	art := "Wmo 2015, artikel 2.3.6"
	if l.Law == LawJeugdwet {
		art = "Jeugdwet, artikel 8.1.1"
	}
	return fmt.Sprintf("U krijgt de hulp als persoonsgebonden budget (pgb) van %s %s. Met een pgb kiest en koopt u de hulp zelf. De Sociale Verzekeringsbank (SVB) betaalt de zorgverlener uit uw budget. U krijgt het geld dus niet zelf op uw rekening. Het pgb is geregeld in de %s.",
		euro(l.Budget.AmountCents), strings.TrimSpace(l.Budget.Per), art)
}

func scoreText(s int) string { return strconv.Itoa(s) + " van 5" }

// paragraphs splits plain text on blank lines; single newlines are spaces.
func paragraphs(s string) []block {
	var out []block
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, para(p))
		}
	}
	return out
}

func nonBlank(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !blank(s) {
			out = append(out, strings.TrimSpace(s))
		}
	}
	return out
}

func addressLines(a Address) []string {
	var out []string
	if !blank(a.Street) {
		out = append(out, strings.TrimSpace(a.Street))
	}
	if pc := strings.TrimSpace(strings.TrimSpace(a.PostalCode) + " " + strings.TrimSpace(a.City)); pc != "" {
		out = append(out, pc)
	}
	return out
}

var months = [...]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"}

// date writes a calendar date the Dutch way: "2 december 2026".
func date(t time.Time) string {
	return fmt.Sprintf("%d %s %d", t.Day(), months[t.Month()-1], t.Year())
}

// euro writes an amount in cents the Dutch way: "€ 4.250,00".
func euro(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	whole := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("€ %s%s,%02d", sign, b.String(), cents%100)
}
