package grpcapi

import (
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
)

// A ListCases page token is taken back only with the filter that made it; the order of the
// statuses does not matter.
func TestCaseListTokenIsBoundToItsFilter(t *testing.T) {
	active, watch := casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE, casedirectionv1.CaseStatus_CASE_STATUS_WATCH
	made := &casedirectionv1.ListCasesRequest{Statuses: []casedirectionv1.CaseStatus{active, watch}, DirectorProfessionalId: "noord-1"}
	token := paging.Token(caseListOf(made), "2026-01-01T00:00:00Z", fuzzID)
	same := &casedirectionv1.ListCasesRequest{Statuses: []casedirectionv1.CaseStatus{watch, active}, DirectorProfessionalId: "noord-1", PageToken: token}
	if _, err := listFromRequest(same); err != nil {
		t.Fatalf("same filter: %v", err)
	}
	for name, other := range map[string]*casedirectionv1.ListCasesRequest{
		"other director": {Statuses: made.Statuses, DirectorProfessionalId: "noord-2", PageToken: token},
		"other statuses": {Statuses: []casedirectionv1.CaseStatus{active}, DirectorProfessionalId: "noord-1", PageToken: token},
		"a household":    {Statuses: made.Statuses, DirectorProfessionalId: "noord-1", HouseholdId: fuzzID, PageToken: token},
	} {
		if _, err := listFromRequest(other); !violates(err, "page_token") {
			t.Errorf("%s: want a page_token violation, got %v", name, err)
		}
	}
}

// violates reports whether err is INVALID_ARGUMENT naming field.
func violates(err error, field string) bool {
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalidArgument {
		return false
	}
	for _, v := range e.Violations {
		if v.Field == field {
			return true
		}
	}
	return false
}
