package app

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Letter formats.
const (
	LetterHTML = "HTML"
	LetterPDF  = "PDF"
)

// Recipient is the addressee of a decision letter: the applicant's name and address read
// from intake when the decision was drafted (domain.Addressee), or as the caller gives it
// (an override). A given recipient is used for the rendering only and stored only inside
// the letter.
type Recipient struct {
	Name, Salutation, Street, PostalCode, City string
}

func addresseeRecipient(a domain.Addressee) *Recipient {
	return &Recipient{Name: a.Name, Street: a.Street, PostalCode: a.PostalCode, City: a.City}
}

// LetterInput is everything a decision letter shows, beside the decision itself.
type LetterInput struct {
	Decision     domain.Decision
	Register     domain.MandateRegister
	ProviderName string
	CategoryName string
	Recipient    Recipient
	// ClientName is the young person the decision is about (Jeugdwet), when the letter is
	// addressed to a parent.
	ClientName string
	// Date is the letter's date (dagtekening).
	Date time.Time
}

// Letters renders decision letters (HTML or PDF) and returns the content and its type.
type Letters interface {
	Render(in LetterInput, format string) ([]byte, string, error)
}

// letterInput gathers what the letter needs from this service's own data.
func (a *App) letterInput(ctx context.Context, d domain.Decision, r Recipient, client string, date time.Time) (LetterInput, error) {
	reg, err := a.dec.Mandates.Version(ctx, d.Municipality, d.ParagraphsVersion)
	if err != nil {
		return LetterInput{}, err
	}
	in := LetterInput{Decision: d, Register: reg, CategoryName: a.codes.ProductCategories[d.Product.Category],
		Recipient: r, ClientName: client, Date: date}
	if d.ProviderAGB != "" {
		p, err := a.providers.Get(ctx, d.ProviderAGB)
		if err != nil {
			return in, err
		}
		in.ProviderName = p.Name
	}
	return in, nil
}

// RenderDecisionLetter renders a decided or sent decision's letter for the owning team or a
// municipality acting for its municipality. Without a recipient it returns the letter stored
// when the decision was sent (PDF), or renders it for the applicant intake registered.
func (a *App) RenderDecisionLetter(ctx context.Context, id, format string, r *Recipient, client string) ([]byte, string, error) {
	caller, _ := identity.From(ctx)
	var out []byte
	var contentType string
	err := accesslog.ReadTx(ctx, a.tx, func(ctx context.Context) error {
		d, err := a.dec.Decisions.Get(ctx, id)
		if err != nil {
			return err
		}
		route := ""
		if caller.Org.Type != identity.OrgService {
			if route, err = a.ownerRoute(ctx, d.TeamOIN, d.Municipality); err != nil {
				return err
			}
		}
		if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: decisionEntry("providermonitoring.decision.render_letter", id, "", ""), Route: route}); err != nil {
			return err
		}
		if d.Number == "" || d.DecidedAt == nil {
			return domain.DecisionStateError{ID: d.ID, Status: d.Status, Action: "render a letter before it is decided"}
		}
		if r == nil {
			if len(d.Letter) > 0 && format == LetterPDF {
				out, contentType = d.Letter, d.LetterContentType
				return nil
			}
			if !d.Addressee.Complete() {
				return apperr.Invalid("recipient", "required: intake knows no complete name and address of the applicant, and no letter (PDF) was stored when the decision was sent")
			}
			r = addresseeRecipient(d.Addressee)
		}
		date := *d.DecidedAt
		if d.SentAt != nil {
			date = *d.SentAt
		}
		in, err := a.letterInput(ctx, d, *r, client, domain.DayIn(date, domain.Amsterdam))
		if err != nil {
			return err
		}
		out, contentType, err = a.dec.Letters.Render(in, format)
		return requestFields(err)
	})
	return out, contentType, err
}

// letterFields are the letter's elements a request gives (SendDecision and
// RenderDecisionLetter), by the request fields that give them.
var letterFields = map[string]string{
	"Client":                       "client_name",
	"Recipient.Name":               "recipient.name",
	"Recipient.Address.Street":     "recipient.street",
	"Recipient.Address.PostalCode": "recipient.postal_code",
	"Recipient.Address.City":       "recipient.city",
}

// requestFields names a letter's missing elements by the request fields that give them, where
// a request does (a probe was told "Client" where it had to send client_name); the others
// (the municipality's paragraphs, the signatory's mandate) keep the letter's names, as the
// elements nobody sends.
func requestFields(err error) error {
	e, ok := apperr.As(err)
	if !ok || len(e.Violations) == 0 {
		return err
	}
	out := *e
	out.Violations = make([]apperr.FieldViolation, len(e.Violations))
	for i, v := range e.Violations {
		if f, ok := letterFields[v.Field]; ok {
			v.Field = f
		}
		out.Violations[i] = v
	}
	return &out
}
