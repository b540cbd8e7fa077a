package app_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/app"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Granting a provider's request for allocation for another team's case answers NOT_FOUND
// naming the case, as for a case nobody knows, and logs the refusal with the case as its
// object under each of the case's residents: as provider-monitoring keeps them from
// case-direction's events, or, when it has not heard of them yet, as case-direction tells.
func TestAnswerRequestForAnotherTeamsCaseIsLoggedUnderItsResidents(t *testing.T) {
	a, db, now := newApp(t)
	*now = amsterdam(2025, 3, 3, 9, 0)
	ctx := context.Background()
	otherTeamsCase := func() string {
		id := uuid.NewString()
		caseOwners.Store(id, app.CaseFacts{Municipality: "GM0363", TeamOIN: "00000001000000000999", Status: "IN_PROGRESS"})
		caseGoals.Store(id, []string{})
		return id
	}
	denied := func(caseID string) []string {
		t.Helper()
		rows, err := db.Pool.Query(ctx, `SELECT resident_pseudonym FROM access_log_entries
			WHERE action = 'providermonitoring.allocation_request.answer' AND object_type = 'case' AND object_id = $1
			  AND outcome = 'DENIED' AND route = 'NONE' AND org_oin = $2 ORDER BY 1`, caseID, teamOIN)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		known func(caseID string)
	}{
		{"residents known from the events", func(caseID string) {
			if err := postgres.NewCaseResidents(db).SetCaseResidents(ctx, caseID, []string{"p-anna", "p-bram"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"residents asked of case-direction", func(caseID string) { casePseudonyms.Store(caseID, []string{"p-anna", "p-bram"}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := a.SubmitRequest(providerCtx, domain.Request{Kind: domain.RequestAllocation, ProviderAGB: "12345678",
				Municipality: "GM0363", District: "WK036301", Product: product, Start: domain.Date(2025, 3, 10),
				Volume: domain.Volume{Amount: 3, Unit: "04", Frequency: "2"}, ReferrerType: "02", ReferrerCode: "01234567"})
			if err != nil {
				t.Fatal(err)
			}
			foreign := otherTeamsCase()
			tc.known(foreign)
			_, _, err = a.AnswerRequest(teamCtx, q.ID, app.Answer{Decision: domain.RequestGranted, CaseID: foreign})
			unknown := uuid.NewString()
			_, _, want := a.AnswerRequest(teamCtx, q.ID, app.Answer{Decision: domain.RequestGranted, CaseID: unknown})
			e, ok := apperr.As(err)
			w, wok := apperr.As(want)
			if !ok || !wok || e.Kind != apperr.KindNotFound || e.ID != foreign || w.Kind != e.Kind || w.Resource != e.Resource || w.Message != e.Message || w.ID != unknown {
				t.Fatalf("another team's case: %v; an unknown case: %v", err, want)
			}
			if got := denied(foreign); !slices.Equal(got, []string{"p-anna", "p-bram"}) {
				t.Fatalf("DENIED entries under the case's residents: %q", got)
			}
			// Nothing was granted: the request is still open.
			if got, err := a.GetRequest(teamCtx, q.ID); err != nil || got.Status != domain.RequestReceived {
				t.Fatalf("the request after the refusal: %v %+v", err, got)
			}
		})
	}
}

// A request for change (317) concerns the residents of the allocation it would change: its
// submission, reading and answer are logged under them (a probe found them logged without a
// resident, so they were missing from the residents' access history), and a purpose that
// processes no residents' data cannot submit or grant one.
func TestRequestsForChangeAreLoggedUnderTheAllocationsResidents(t *testing.T) {
	a, db, now := newApp(t)
	*now = amsterdam(2025, 3, 3, 9, 0)
	ctx := context.Background()
	base := allocation(domain.Date(2025, 3, 3))
	if err := postgres.NewCaseResidents(db).SetCaseResidents(ctx, base.CaseID, []string{"p-anna", "p-bram"}); err != nil {
		t.Fatal(err)
	}
	al, err := a.Allocate(serviceCtx, base)
	if err != nil {
		t.Fatal(err)
	}
	change := domain.Request{Kind: domain.RequestChange, ProviderAGB: "12345678", AllocationNumber: al.Number,
		Start: domain.Date(2025, 3, 3), Volume: domain.Volume{Amount: 4, Unit: "04", Frequency: "2"}, ChangeReasonText: "more support needed"}
	under := func(c context.Context, purpose string) context.Context {
		caller, _ := identity.From(c)
		caller.Purpose = purpose
		return identity.WithCaller(c, caller)
	}
	if _, err := a.SubmitRequest(under(providerCtx, "social-map"), change); !apperr.IsKind(err, apperr.KindPermissionDenied) {
		t.Fatalf("a request for change under social-map: want PERMISSION_DENIED, got %v", err)
	}
	q, err := a.SubmitRequest(providerCtx, change)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.AnswerRequest(under(teamCtx, "social-map"), q.ID, app.Answer{Decision: domain.RequestGranted}); !apperr.IsKind(err, apperr.KindPermissionDenied) {
		t.Fatalf("granting it under social-map: want PERMISSION_DENIED, got %v", err)
	}
	if _, _, err := a.AnswerRequest(teamCtx, q.ID, app.Answer{Decision: domain.RequestGranted}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Pool.Query(ctx, `SELECT action, resident_pseudonym FROM access_log_entries
		WHERE object_type = 'allocation_request' AND object_id = $1 AND outcome = 'GRANTED' ORDER BY id, resident_pseudonym`, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for rows.Next() {
		var action, p string
		if err := rows.Scan(&action, &p); err != nil {
			t.Fatal(err)
		}
		got[action] = append(got[action], p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"providermonitoring.allocation_request.create", "providermonitoring.allocation_request.answer"} {
		if !slices.Equal(got[action], []string{"p-anna", "p-bram"}) {
			t.Errorf("%s logged under %q, want the allocation's residents (all: %v)", action, got[action], got)
		}
	}
}
