package letter

import (
	"strings"
	"unicode"

	"github.com/wijkbrug/wijkbrug/pkg/zrm"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/app"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Renderer is the application's app.Letters: it turns a decision, the municipality's register
// (paragraphs, mandate decree, functions) and the recipient into a Letter and renders it.
type Renderer struct{}

// Render renders the decision's letter as HTML or PDF; an incomplete letter is the error of
// Validate (FAILED_PRECONDITION naming the missing elements).
func (Renderer) Render(in app.LetterInput, format string) ([]byte, string, error) {
	l := FromDecision(in)
	if format == app.LetterPDF {
		b, err := PDF(l)
		return b, "application/pdf", err
	}
	b, err := HTML(l)
	return b, "text/html; charset=utf-8", err
}

// Dutch words for the iJw/iWmo units (WJ756) and frequencies (WJ757) of a volume.
var (
	unitWords      = map[string]string{"01": "minuten", "04": "uur", "14": "etmalen", "16": "dagdelen", "82": "stuks", "83": "euro", "84": "stuks"}
	frequencyWords = map[string]string{"1": "per dag", "2": "per week", "4": "per maand", "6": "in totaal"}
)

// FromDecision maps a decision and its context to the letter's display values.
func FromDecision(in app.LetterInput) Letter {
	d, p := in.Decision, in.Register.Paragraphs
	l := Letter{
		Municipality: Municipality{Name: p.MunicipalityName, CBSCode: d.Municipality, ObjectionURL: p.ObjectionURL,
			PostalAddress: Address{Street: p.PostalAddress.Street, PostalCode: p.PostalAddress.PostalCode, City: p.PostalAddress.City}},
		DecisionNumber: d.Number, Date: in.Date, ApplicationDate: d.ApplicationDate,
		Recipient: Recipient{Name: in.Recipient.Name, Salutation: in.Recipient.Salutation,
			Address: Address{Street: in.Recipient.Street, PostalCode: in.Recipient.PostalCode, City: in.Recipient.City}},
		Client:  in.ClientName,
		Law:     LawWmo2015,
		Outcome: OutcomeGranted,
		Product: Product{CategoryCode: d.Product.Category, CategoryName: in.CategoryName, ProductCode: d.Product.Code,
			ProductName: in.CategoryName + " (" + d.Product.Code + ")"},
		StartDate:  d.Start,
		Volume:     Volume{Amount: int(d.Volume.Amount), Unit: unitWords[d.Volume.Unit], Frequency: frequencyWords[d.Volume.Frequency]},
		Paragraphs: StandardParagraphs{Opening: p.Opening, Contact: p.Contact, Closing: p.Closing},
	}
	if d.LegalBasis == domain.BasisJeugdwet {
		l.Law = LawJeugdwet
	}
	if !d.Granted {
		l.Outcome, l.RejectionGrounds = OutcomeRejected, []string{d.RejectionGrounds}
	} else if d.Form == domain.FormPGB {
		l.Budget = &PersonalBudget{AmountCents: d.BudgetCents, Per: "voor de hele periode"}
	} else {
		l.ProviderName = in.ProviderName
	}
	if d.End != nil {
		l.EndDate = *d.End
	}
	if d.ObjectionDeadline != nil {
		l.ObjectionDeadline = *d.ObjectionDeadline
	}
	for _, g := range d.Motivation.Goals {
		label := zrm.Label(g.LifeDomain) // the ZRM reference data (pkg/zrm); "" refuses the letter
		l.Motivation.Goals = append(l.Motivation.Goals, Goal{LifeDomain: label,
			Description: "Beter zelf redden op het gebied " + lowerFirst(label) + ".", Baseline: int(g.Baseline), Target: int(g.Target)})
	}
	// The professional's text, when there is one; without it the letter motivates the
	// decision by what it decided (compose): a grant by the goals, a refusal by its grounds.
	if strings.TrimSpace(d.Motivation.Text) != "" {
		l.Motivation.Paragraphs = append(l.Motivation.Paragraphs, d.Motivation.Text)
	}
	reg := in.Register
	decree := p.MandateDecree + " (mandaat " + d.Mandate + ")"
	l.Signatory = Signatory{Name: d.FirstSigner, Function: reg.Function(d.FirstSignerRole), Mandate: decree}
	if d.SecondOfficial != "" {
		l.SecondOfficial = &Signatory{Name: d.SecondOfficial, Function: reg.Function(d.SecondOfficialRole), Mandate: decree}
	}
	return l
}

// lowerFirst writes a label inside a sentence: its first letter in lower case, unless it
// starts an abbreviation ("ADL ..." stays as it is; "Basale ADL" becomes "basale ADL").
func lowerFirst(s string) string {
	r := []rune(s)
	if len(r) == 0 || (len(r) > 1 && unicode.IsUpper(r[1])) {
		return s
	}
	r[0] = unicode.ToLower(r[0])
	return string(r)
}
