package service_test

import (
	"slices"
	"testing"
	"time"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A partner lists the cases it has an involvement in that is active now, newest first, paged,
// each as GetCase shows it to an involved organisation, every listed case access-logged under
// route INVOLVEMENT. An involvement not yet begun or already ended lists nothing; a team uses
// ListCases instead.
func TestListInvolvedCases(t *testing.T) {
	h, clock := startClocked(t)
	ctx := svctest.Ctx(t)
	noord := h.as(t, teamNoord)
	dayOf := func(d time.Duration) string { return domain.Day(clock.Now().Add(d)).Format(time.DateOnly) }
	add := func(caseID, key string, org commonv1.OrganisationType, oin string, from string) *casedirectionv1.Involvement {
		t.Helper()
		resp, err := noord.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: key, CaseId: caseID, OrganisationType: org,
			OrganisationOin: oin, Role: advisor, ValidFrom: from})
		if err != nil {
			t.Fatalf("add %s: %v", key, err)
		}
		return resp.GetInvolvement()
	}
	var cases []string
	for i := range 3 {
		cases = append(cases, activeCase(t, h, "noord-1"))
		clock.Advance(time.Minute)
		add(cases[i], "gp-"+cases[i], commonv1.OrganisationType_ORGANISATION_TYPE_GP, gp.OIN, "")
	}
	activeCase(t, h, "noord-1") // the GP is not involved in this one
	if _, err := noord.RecordCaseConference(ctx, &casedirectionv1.RecordCaseConferenceRequest{IdempotencyKey: "conf", CaseId: cases[0], HeldOn: dayOf(0),
		Attendees: []*casedirectionv1.Attendee{{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, ProfessionalId: "noord-1"}},
		Decisions: []string{"start debt counselling"}}); err != nil {
		t.Fatal(err)
	}
	add(cases[0], "pv", commonv1.OrganisationType_ORGANISATION_TYPE_PROVIDER, provider.OIN, dayOf(day))
	vt := add(cases[1], "vt", commonv1.OrganisationType_ORGANISATION_TYPE_VEILIG_THUIS, veiligThuis.OIN, "")
	if _, err := noord.EndInvolvement(ctx, &casedirectionv1.EndInvolvementRequest{IdempotencyKey: "end-vt", CaseId: cases[1], InvolvementId: vt.GetId()}); err != nil {
		t.Fatal(err)
	}

	// The GP pages through its three cases, newest first.
	gpc := h.as(t, gp)
	var got []string
	first, err := gpc.ListInvolvedCases(ctx, &casedirectionv1.ListInvolvedCasesRequest{PageSize: 2})
	if err != nil || len(first.GetCases()) != 2 || first.GetNextPageToken() == "" {
		t.Fatalf("first page: %v %v", first, err)
	}
	second, err := gpc.ListInvolvedCases(ctx, &casedirectionv1.ListInvolvedCasesRequest{PageSize: 2, PageToken: first.GetNextPageToken()})
	if err != nil || len(second.GetCases()) != 1 || second.GetNextPageToken() != "" {
		t.Fatalf("second page: %v %v", second, err)
	}
	for _, c := range append(first.GetCases(), second.GetCases()...) {
		got = append(got, c.GetId())
		if c.GetId() == cases[0] {
			if cf := c.GetConferences(); len(cf) != 1 || len(cf[0].GetDecisions()) != 0 {
				t.Fatalf("an involved partner must not see conference decisions: %v", cf)
			}
		}
	}
	want := slices.Clone(cases)
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Fatalf("want the GP's cases newest first %v, got %v", want, got)
	}
	all, err := gpc.ListInvolvedCases(ctx, &casedirectionv1.ListInvolvedCasesRequest{}) // page_size 0: the default
	if err != nil || len(all.GetCases()) != 3 || all.GetNextPageToken() != "" {
		t.Fatalf("default page: %v %v", all, err)
	}
	if n := h.count(t, `SELECT count(DISTINCT object_id) FROM access_log_entries WHERE action = 'casedirection.case.list_involved' AND route = 'INVOLVEMENT' AND outcome = 'GRANTED' AND org_oin = $1`, gp.OIN); n != 3 {
		t.Fatalf("every listed case must be access-logged with route INVOLVEMENT, got %d cases", n)
	}

	// Not begun yet, ended, never involved: nothing.
	for _, org := range []struct {
		name string
		c    casedirectionv1.CaseDirectionServiceClient
	}{{"provider (from tomorrow)", h.as(t, provider)}, {"Veilig Thuis (ended)", h.as(t, veiligThuis)}} {
		if l, err := org.c.ListInvolvedCases(ctx, &casedirectionv1.ListInvolvedCasesRequest{}); err != nil || len(l.GetCases()) != 0 {
			t.Fatalf("%s: want no cases, got %v %v", org.name, l, err)
		}
	}
	// Tomorrow the provider sees its case.
	clock.Advance(day)
	if l, err := h.as(t, provider).ListInvolvedCases(ctx, &casedirectionv1.ListInvolvedCasesRequest{}); err != nil || len(l.GetCases()) != 1 || l.GetCases()[0].GetId() != cases[0] {
		t.Fatalf("the provider from its first day: %v %v", l, err)
	}
	// A team lists its own cases with ListCases.
	if _, err := noord.ListInvolvedCases(ctx, &casedirectionv1.ListInvolvedCasesRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a team: want PERMISSION_DENIED, got %v", err)
	}

	// Bad input names the field.
	expectViolations(t, mustErr(gpc.ListInvolvedCases(ctx, &casedirectionv1.ListInvolvedCasesRequest{PageSize: 10000})), "page_size")
	expectViolations(t, mustErr(gpc.ListInvolvedCases(ctx, &casedirectionv1.ListInvolvedCasesRequest{PageSize: -1})), "page_size")
	expectViolations(t, mustErr(gpc.ListInvolvedCases(ctx, &casedirectionv1.ListInvolvedCasesRequest{PageToken: "not-a-token"})), "page_token")
	caseload, err := noord.ListCases(ctx, &casedirectionv1.ListCasesRequest{PageSize: 1})
	if err != nil || caseload.GetNextPageToken() == "" {
		t.Fatalf("caseload: %v %v", caseload, err)
	}
	expectViolations(t, mustErr(gpc.ListInvolvedCases(ctx, &casedirectionv1.ListInvolvedCasesRequest{PageToken: caseload.GetNextPageToken()})), "page_token")
}
