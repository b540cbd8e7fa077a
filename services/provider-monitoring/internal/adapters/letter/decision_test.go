package letter_test

import (
	"strings"
	"testing"
	"time"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/zrm"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/letter"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/app"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// A decision as the service keeps it maps to a complete letter: granted in kind (Wmo, two
// officials), a personal budget (Jeugdwet) and a rejection.
func TestFromDecisionIsComplete(t *testing.T) {
	decided := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	deadline := domain.Date(2026, 4, 22)
	end := domain.Date(2026, 12, 31)
	base := domain.Decision{ID: "d-1", Number: "GM0363-2026-000001", Municipality: "GM0363", LegalBasis: domain.BasisWmo, Granted: true,
		Product: domain.Product{Category: "02", Code: "02A01"}, ProviderAGB: "12345678", Form: domain.FormInKind,
		Start: domain.Date(2026, 3, 16), End: &end, Volume: domain.Volume{Amount: 4, Unit: "04", Frequency: "2"},
		Motivation:      domain.Motivation{Goals: []domain.MotivationGoal{{GoalID: "g", LifeDomain: "SOCIAL_NETWORK", Baseline: 1, Target: 3}}},
		ApplicationDate: domain.Date(2026, 3, 2), DecidedAt: &decided, ObjectionDeadline: &deadline, Status: domain.DecisionSent,
		FirstSigner: "consulent-bert", FirstSignerRole: "wmo_consultant", SecondOfficial: "hoofd-carla", SecondOfficialRole: "department_head",
		Mandate: "wmo-consulent"}
	pgb := base
	pgb.LegalBasis, pgb.Form, pgb.ProviderAGB, pgb.BudgetCents, pgb.SecondOfficial = domain.BasisJeugdwet, domain.FormPGB, "", 350000, ""
	pgb.Product = domain.Product{Category: "45", Code: "45A01"}
	rejected := base
	rejected.Granted, rejected.RejectionGrounds, rejected.Motivation.Text = false, "Een algemene voorziening is passend.", "Wij hebben uw situatie onderzocht."
	for name, d := range map[string]domain.Decision{"wmo in kind": base, "jeugd pgb": pgb, "rejection": rejected} {
		t.Run(name, func(t *testing.T) {
			in := app.LetterInput{Decision: d, Register: domain.DefaultMandateRegister("GM0363"), ProviderName: "Zorggroep De Brug",
				CategoryName: "Begeleiding", Date: domain.Date(2026, 3, 11), ClientName: "Sem de Vries",
				Recipient: app.Recipient{Name: "mevrouw A. Jansen", Street: "Kerkstraat 1", PostalCode: "1011 AB", City: "Amsterdam"}}
			if d.LegalBasis == domain.BasisWmo {
				in.ClientName = ""
			}
			if err := letter.FromDecision(in).Validate(); err != nil {
				t.Fatalf("incomplete: %v", err)
			}
			html, ct, err := letter.Renderer{}.Render(in, app.LetterHTML)
			if err != nil || !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(html), d.Number) {
				t.Fatalf("HTML: %v %s", err, ct)
			}
			pdf, ct, err := letter.Renderer{}.Render(in, app.LetterPDF)
			if err != nil || ct != "application/pdf" || !strings.Contains(pdfText(t, pdf), d.Number) {
				t.Fatalf("PDF: %v %s", err, ct)
			}
			if d.SecondOfficial != "" && !strings.Contains(string(html), "Teamleider sociaal domein") {
				t.Fatal("the second official's function is missing")
			}
		})
	}
	// Without the young person's name a Jeugdwet letter is refused, naming the element.
	in := app.LetterInput{Decision: pgb, Register: domain.DefaultMandateRegister("GM0363"), CategoryName: "Jeugdhulp ambulant",
		Date: domain.Date(2026, 3, 11), Recipient: app.Recipient{Name: "X", Street: "Y 1", PostalCode: "1000 AA", City: "Z"}}
	if _, _, err := (letter.Renderer{}).Render(in, app.LetterHTML); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("Jeugdwet letter without the young person: %v", err)
	}
}

// Every outcome, with and without the professional's motivation text, is motivated
// consistently in every format (Awb 3:46): only a full grant says the help is needed; a
// rejection is motivated by its grounds, a partial grant by the goals for what it grants and
// the grounds for what it does not. (An earlier letter gave a rejection without motivation text
// the grant's paragraph, "Daaruit blijkt dat u deze hulp nodig heeft", before "Daarom zeggen
// wij nee".)
func TestLetterMotivationFitsTheOutcome(t *testing.T) {
	const (
		needed   = "Daaruit blijkt dat u deze hulp nodig heeft."
		ownText  = "Uit het onderzoek blijkt dat uw partner u helpt."
		grounds  = "Geen beperking vastgesteld in het onderzoek."
		refusal  = "Wij zeggen nee tegen uw aanvraag. Dit is de reden: " // the list follows the lead-in
		partial  = "U krijgt niet alles wat u heeft gevraagd. Dit is de reden: "
		partNeed = "Daaruit blijkt dat u een deel van de hulp nodig heeft die u heeft gevraagd."
	)
	decided := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	deadline := domain.Date(2026, 4, 22)
	granted := domain.Decision{ID: "d-1", Number: "GM0363-2026-000001", Municipality: "GM0363", LegalBasis: domain.BasisWmo, Granted: true,
		Product: domain.Product{Category: "02", Code: "02A01"}, ProviderAGB: "12345678", Form: domain.FormInKind,
		Start: domain.Date(2026, 3, 16), Volume: domain.Volume{Amount: 4, Unit: "04", Frequency: "2"},
		Motivation:      domain.Motivation{Goals: []domain.MotivationGoal{{GoalID: "g", LifeDomain: "SOCIAL_NETWORK", Baseline: 1, Target: 3}}},
		ApplicationDate: domain.Date(2026, 3, 2), DecidedAt: &decided, ObjectionDeadline: &deadline, Status: domain.DecisionSent,
		FirstSigner: "consulent-bert", FirstSignerRole: "wmo_consultant", Mandate: "wmo-consulent"}
	rejected := granted
	rejected.Granted, rejected.RejectionGrounds, rejected.Form, rejected.ProviderAGB, rejected.Volume = false, grounds, "", "", domain.Volume{}
	rejected.Motivation.Goals = nil // a rejection of an application from an intake without a plan
	fromDecision := func(d domain.Decision, text string) letter.Letter {
		d.Motivation.Text = text
		return letter.FromDecision(app.LetterInput{Decision: d, Register: domain.DefaultMandateRegister("GM0363"), ProviderName: "Zorggroep De Brug",
			CategoryName: "Begeleiding", Date: domain.Date(2026, 3, 11),
			Recipient: app.Recipient{Name: "mevrouw A. Jansen", Street: "Kerkstraat 1", PostalCode: "1011 AB", City: "Amsterdam"}})
	}
	partly := func(text string) letter.Letter {
		l := fromDecision(granted, text)
		l.Outcome, l.RejectionGrounds = letter.OutcomePartlyGranted, []string{"U vroeg 8 uur per week. 4 uur per week is genoeg."}
		return l
	}
	tests := []struct {
		name         string
		letter       letter.Letter
		want, absent []string
	}{
		{"granted, no text", fromDecision(granted, ""), []string{needed}, []string{ownText, "nee", "niet alles"}},
		{"granted, text", fromDecision(granted, ownText), []string{ownText}, []string{needed, "nee", "niet alles"}},
		{"rejected, no text", fromDecision(rejected, ""), []string{refusal + grounds}, []string{"nodig heeft", "Daarom", "U krijgt Begeleiding"}},
		{"rejected, text", fromDecision(rejected, ownText), []string{ownText + " " + refusal + grounds}, []string{"nodig heeft", "Daarom"}},
		{"partly granted, no text", partly(""), []string{partNeed, partial + "U vroeg 8 uur"}, []string{needed, "Daarom", "Wij zeggen nee"}},
		{"partly granted, text", partly(ownText), []string{ownText + " " + partial + "U vroeg 8 uur"}, []string{needed, partNeed, "Wij zeggen nee"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.letter.Validate(); err != nil {
				t.Fatalf("incomplete: %v", err)
			}
			page, err := letter.HTML(tc.letter)
			if err != nil {
				t.Fatal(err)
			}
			pdf, err := letter.PDF(tc.letter)
			if err != nil {
				t.Fatal(err)
			}
			for format, text := range map[string]string{"HTML": visibleText(page), "PDF": pdfText(t, pdf)} {
				text = strings.ReplaceAll(text, "• ", "") // the PDF's list bullets
				why, _, _ := strings.Cut(text[strings.Index(text, "Waarom?"):], "Bent u het niet eens")
				why, _, _ = strings.Cut(why, "Moet u iets betalen?")
				checkText(t, format+" Waarom?", why, tc.want, tc.absent)
			}
		})
	}
}

// The letter names each goal's life domain by the ZRM reference data (pkg/zrm), not by a
// table in code: every life domain of the API has its Dutch label, ADL (ZRM 2013) included,
// and a label keeps its abbreviation inside the sentence. An earlier letter printed "ADL" and
// "op het gebied basale adl".
func TestLetterNamesLifeDomainsFromTheReferenceData(t *testing.T) {
	for v, name := range commonv1.LifeDomain_name {
		code := strings.TrimPrefix(name, "LIFE_DOMAIN_")
		if v != 0 && zrm.Label(code) == "" {
			t.Errorf("life domain %s has no label in zrm.json", code)
		}
	}
	decided := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	d := domain.Decision{ID: "d-1", Number: "GM0363-2026-000001", Municipality: "GM0363", LegalBasis: domain.BasisWmo, Granted: true,
		Product: domain.Product{Category: "02", Code: "02A01"}, ProviderAGB: "12345678", Form: domain.FormInKind,
		Start: domain.Date(2026, 3, 16), Volume: domain.Volume{Amount: 4, Unit: "04", Frequency: "2"},
		Motivation: domain.Motivation{Goals: []domain.MotivationGoal{{GoalID: "a", LifeDomain: "ADL", Baseline: 2, Target: 4},
			{GoalID: "b", LifeDomain: "BASIC_ADL", Baseline: 2, Target: 3}, {GoalID: "c", LifeDomain: "DAYTIME_ACTIVITIES", Baseline: 1, Target: 3}}},
		ApplicationDate: domain.Date(2026, 3, 2), DecidedAt: &decided, Status: domain.DecisionDecided,
		FirstSigner: "consulent-bert", FirstSignerRole: "wmo_consultant", Mandate: "wmo-consulent"}
	in := app.LetterInput{Decision: d, Register: domain.DefaultMandateRegister("GM0363"), ProviderName: "Zorggroep De Brug",
		CategoryName: "Begeleiding", Date: domain.Date(2026, 3, 11),
		Recipient: app.Recipient{Name: "mevrouw A. Jansen", Street: "Kerkstraat 1", PostalCode: "1011 AB", City: "Amsterdam"}}
	page, _, err := letter.Renderer{}.Render(in, app.LetterHTML)
	if err != nil {
		t.Fatal(err)
	}
	checkText(t, "HTML", visibleText(page), []string{
		"Activiteiten dagelijks leven", "Beter zelf redden op het gebied activiteiten dagelijks leven.",
		"Basale ADL", "Beter zelf redden op het gebied basale ADL.",
		"Tijdsbesteding", "Beter zelf redden op het gebied tijdsbesteding.",
	}, []string{"basale adl", "Dagbesteding"})
}
