package letter

import (
	"fmt"
	"strings"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
)

// Law is the law under which the application was decided.
type Law string

const (
	// LawWmo2015 is the Wet maatschappelijke ondersteuning 2015, art. 2.3.5 (maatwerkvoorziening).
	LawWmo2015 Law = "WMO_2015"
	// LawJeugdwet is the Jeugdwet, art. 2.3 (individuele voorziening).
	LawJeugdwet Law = "JEUGDWET"
)

// Outcome is what was decided on the application.
type Outcome string

const (
	OutcomeGranted       Outcome = "GRANTED"        // toegekend
	OutcomePartlyGranted Outcome = "PARTLY_GRANTED" // gedeeltelijk toegekend: a provision and rejection grounds
	OutcomeRejected      Outcome = "REJECTED"       // afgewezen
)

// Letter is everything a decision letter shows, resolved to display values. Dates are
// calendar dates: only their year, month and day are used, so convert an instant to
// Europe/Amsterdam before passing it. Free text is plain text; HTML escapes it.
type Letter struct {
	Municipality Municipality

	DecisionNumber  string    // besluitnummer, as numbered when decided
	Date            time.Time // dagtekening: the date of the decision, the day it is sent
	ApplicationDate time.Time // the date of the application (aanvraag)

	Recipient Recipient
	// Client is the name of the person the provision is for when that is not the recipient.
	// Required for the Jeugdwet: the young person (the letter is usually addressed to a parent).
	Client string

	Law     Law
	Outcome Outcome
	// RejectionGrounds are the grounds for refusing (all or, when partly granted, part of) the
	// application, one sentence or short paragraph each. Required unless granted.
	RejectionGrounds []string

	// Product is the provision applied for; for a grant, the provision granted.
	Product Product

	// The form of the provision when granted: exactly one of ProviderName (zorg in natura) and
	// Budget (persoonsgebonden budget).
	ProviderName string
	Budget       *PersonalBudget

	StartDate time.Time // first day of the provision (granted)
	EndDate   time.Time // last day of the provision; zero means no end date
	Volume    Volume

	Motivation Motivation

	// OwnContributionExemption, for a Wmo grant, is the reason no own contribution is due
	// (e.g. "U bent jonger dan 18 jaar."). Empty means the letter says the CAK will set and
	// collect an own contribution — the rule for a Wmo maatwerkvoorziening. Not allowed for the
	// Jeugdwet, which has no own contribution.
	OwnContributionExemption string

	// ObjectionDeadline, when set, is stated as the last day the objection must be received,
	// or posted by and then received within a week after (Awb 6:9). The six-week term itself
	// is always stated.
	ObjectionDeadline time.Time

	Signatory      Signatory
	SecondOfficial *Signatory // four eyes: set when the decision needed a second official

	Paragraphs StandardParagraphs
}

// Municipality is the deciding municipality (its college van burgemeester en wethouders).
type Municipality struct {
	Name            string  // "Utrecht" (without "Gemeente")
	CBSCode         string  // CBS gemeentecode as the platform writes it, "GM0344", or its four digits, "0344"
	PostalAddress   Address // where objections are sent (often a Postbus)
	VisitingAddress Address // optional: shown in the letterhead
	ObjectionURL    string  // optional: where an objection can be made online
}

// Address is a Dutch postal address. Street holds the street and number or "Postbus 16200".
type Address struct {
	Street     string
	PostalCode string
	City       string
}

// Recipient is the addressee of the letter.
type Recipient struct {
	Name       string // as on the envelope: "mevrouw A. Jansen", "De ouder(s)/verzorger(s) van Sem de Vries"
	Salutation string // optional: "Beste mevrouw Jansen,"; default "Beste " + Name + "," ("de heer" becomes "meneer")
	Address    Address
}

// Product is a provision by its iJw/iWmo product category and product code.
type Product struct {
	CategoryCode string // "02"
	CategoryName string // "Begeleiding"
	ProductCode  string // "02A01"
	ProductName  string // "Individuele begeleiding"
}

// PersonalBudget is a persoonsgebonden budget (PGB).
type PersonalBudget struct {
	AmountCents int64  // in euro cents
	Per         string // what the amount covers, in Dutch: "per jaar", "voor de hele periode"
}

// Volume is how much of the provision is granted, in Dutch words: 4 "uur" "per week".
type Volume struct {
	Amount    int
	Unit      string // "uur", "dagdelen", "etmalen", "stuks"
	Frequency string // "per week", "per maand", "in totaal"
}

// Motivation is why the decision was taken (Awb art. 3:46).
type Motivation struct {
	Goals []Goal // per life domain; required for a grant
	// Paragraphs are the professional's motivation: the facts found and why they lead to this
	// decision. Optional: without them the letter motivates the decision by what the outcome
	// rests on (Awb 3:46), the goals for a grant, the rejection grounds for a refusal, in a
	// sentence that fits the outcome (a refusal never says the help is needed).
	Paragraphs []string
}

// Goal is a goal in one ZRM life domain with the score now and the target score.
type Goal struct {
	LifeDomain  string // display label: "Financiën", "Huisvesting"
	Description string // the goal in the resident's words
	Baseline    int    // ZRM score at the investigation, 1–5
	Target      int    // ZRM score the provision aims for, 1–5
}

// Signatory is an official who decided on behalf of the college under mandate.
type Signatory struct {
	Name     string
	Function string // "Consulent Wmo"
	Mandate  string // the mandate decision: "Mandaatbesluit sociaal domein Utrecht 2026"
}

// StandardParagraphs are the municipality's own texts, plain text (no markup); a blank line
// separates paragraphs. All optional.
type StandardParagraphs struct {
	Opening string // after the salutation
	Contact string // under "Heeft u nog vragen?": how to reach the municipality
	Closing string // before the greeting
}

// Validate reports every element the law requires that is missing or wrong, as one
// FAILED_PRECONDITION error whose violations name the fields (Go field paths, e.g.
// "Motivation.Paragraphs", "Municipality.PostalAddress.City"). The descriptions name the
// element, never its content, so the error carries no personal data.
func (l Letter) Validate() error {
	var v []apperr.FieldViolation
	add := func(field, description string) {
		v = append(v, apperr.FieldViolation{Field: field, Description: description})
	}
	need := func(s, field, description string) {
		if blank(s) {
			add(field, "missing: "+description)
		}
	}

	m := l.Municipality
	need(m.Name, "Municipality.Name", "name of the municipality")
	if !isCBSCode(m.CBSCode) {
		add("Municipality.CBSCode", "missing or not a CBS municipality code like GM0344")
	}
	needAddress := func(a Address, field, what string) {
		need(a.Street, field+".Street", what+": street or Postbus")
		need(a.PostalCode, field+".PostalCode", what+": postal code")
		need(a.City, field+".City", what+": city")
	}
	needAddress(m.PostalAddress, "Municipality.PostalAddress", "address for objections (Awb 3:45)")

	need(l.DecisionNumber, "DecisionNumber", "decision number")
	if l.Date.IsZero() {
		add("Date", "missing: date of the decision (dagtekening)")
	}
	if l.ApplicationDate.IsZero() {
		add("ApplicationDate", "missing: date of the application")
	} else if !l.Date.IsZero() && day(l.ApplicationDate).After(day(l.Date)) {
		add("ApplicationDate", "after the date of the decision")
	}

	need(l.Recipient.Name, "Recipient.Name", "name of the recipient")
	needAddress(l.Recipient.Address, "Recipient.Address", "address of the recipient")

	switch l.Law {
	case LawWmo2015:
	case LawJeugdwet:
		need(l.Client, "Client", "the young person the decision is about (Jeugdwet)")
		if !blank(l.OwnContributionExemption) {
			add("OwnContributionExemption", "the Jeugdwet has no own contribution")
		}
	default:
		add("Law", "missing or unknown: legal basis (Wmo 2015 art. 2.3.5 or Jeugdwet art. 2.3)")
	}

	granted := l.Outcome == OutcomeGranted || l.Outcome == OutcomePartlyGranted
	switch l.Outcome {
	case OutcomeGranted, OutcomePartlyGranted, OutcomeRejected:
	default:
		add("Outcome", "missing or unknown: granted, partly granted or rejected")
	}
	if l.Outcome == OutcomeRejected || l.Outcome == OutcomePartlyGranted {
		if allBlank(l.RejectionGrounds) {
			add("RejectionGrounds", "missing: grounds for the rejection (Awb 3:46)")
		}
	} else if !allBlank(l.RejectionGrounds) && l.Outcome == OutcomeGranted {
		add("RejectionGrounds", "set for a decision that grants in full")
	}

	need(l.Product.ProductName, "Product.ProductName", "name of the provision")
	need(l.Product.CategoryName, "Product.CategoryName", "product category")
	if granted {
		need(l.Product.CategoryCode, "Product.CategoryCode", "product category code")
		need(l.Product.ProductCode, "Product.ProductCode", "product code")

		hasProvider, hasBudget := !blank(l.ProviderName), l.Budget != nil
		switch {
		case hasProvider && hasBudget:
			add("Budget", "both a provider and a personal budget: choose one form")
		case !hasProvider && !hasBudget:
			add("ProviderName", "missing: the provider, or a personal budget (Budget)")
		case hasBudget:
			if l.Budget.AmountCents <= 0 {
				add("Budget.AmountCents", "missing: amount of the personal budget")
			}
			need(l.Budget.Per, "Budget.Per", "period the budget amount covers")
		}
		if l.StartDate.IsZero() {
			add("StartDate", "missing: start date of the provision")
		} else if !l.EndDate.IsZero() && day(l.EndDate).Before(day(l.StartDate)) {
			add("EndDate", "before the start date")
		}
		if l.Volume.Amount <= 0 {
			add("Volume.Amount", "missing: volume of the provision")
		}
		need(l.Volume.Unit, "Volume.Unit", "unit of the volume")
		need(l.Volume.Frequency, "Volume.Frequency", "frequency of the volume")
		if len(l.Motivation.Goals) == 0 {
			add("Motivation.Goals", "missing: goals per life domain (Awb 3:46)")
		}
	} else if l.Outcome == OutcomeRejected && (l.Budget != nil || !blank(l.ProviderName)) {
		add("ProviderName", "a provider or budget on a rejection")
	}
	if l.Law == LawWmo2015 && !granted && !blank(l.OwnContributionExemption) {
		add("OwnContributionExemption", "only for a provision that is granted")
	}

	for i, g := range l.Motivation.Goals {
		f := fmt.Sprintf("Motivation.Goals[%d]", i)
		need(g.LifeDomain, f+".LifeDomain", "life domain")
		need(g.Description, f+".Description", "goal")
		if g.Baseline < 1 || g.Baseline > 5 {
			add(f+".Baseline", "ZRM score now must be 1 to 5")
		}
		if g.Target < 1 || g.Target > 5 {
			add(f+".Target", "ZRM target score must be 1 to 5")
		}
	}

	checkSignatory := func(s Signatory, field string) {
		need(s.Name, field+".Name", "name of the official who decided")
		need(s.Function, field+".Function", "function of the official")
		need(s.Mandate, field+".Mandate", "the mandate under which the official decided")
	}
	checkSignatory(l.Signatory, "Signatory")
	if l.SecondOfficial != nil {
		checkSignatory(*l.SecondOfficial, "SecondOfficial")
	}

	if len(v) == 0 {
		return nil
	}
	return &apperr.Error{Kind: apperr.KindFailedPrecondition, Message: "decision letter is incomplete", Violations: v}
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

func allBlank(ss []string) bool {
	for _, s := range ss {
		if !blank(s) {
			return false
		}
	}
	return true
}

func isCBSCode(s string) bool {
	s = strings.TrimPrefix(s, "GM")
	if len(s) != 4 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// day is the calendar date of t, for comparisons that ignore the clock and the zone.
func day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
