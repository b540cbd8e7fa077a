package app

import (
	"slices"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
)

// A letter's missing element is named by the request field that gives it, where a request
// does; the rest keep the letter's names (a probe was told "Client" for client_name).
func TestLetterElementsAreNamedByTheirRequestFields(t *testing.T) {
	letterErr := &apperr.Error{Kind: apperr.KindFailedPrecondition, Message: "decision letter is incomplete", Violations: []apperr.FieldViolation{
		{Field: "Client", Description: "missing"}, {Field: "Recipient.Address.PostalCode", Description: "missing"}, {Field: "Signatory.Mandate", Description: "missing"}}}
	e, ok := apperr.As(requestFields(letterErr))
	var got []string
	for _, v := range e.Violations {
		got = append(got, v.Field)
	}
	if !ok || e.Kind != apperr.KindFailedPrecondition || !slices.Equal(got, []string{"client_name", "recipient.postal_code", "Signatory.Mandate"}) {
		t.Fatalf("got %v %v", e, got)
	}
	if letterErr.Violations[0].Field != "Client" {
		t.Fatal("the letter's own error was changed")
	}
	if requestFields(nil) != nil {
		t.Fatal("no error must stay no error")
	}
}
