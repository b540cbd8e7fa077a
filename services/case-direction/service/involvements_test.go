package service_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	protoenum "github.com/wijkbrug/wijkbrug/pkg/protoenum"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

var (
	provider    = svctest.Org(identity.OrgProvider, "Zorggroep De Brug")
	veiligThuis = svctest.Org(identity.OrgVeiligThuis, "Veilig Thuis Regio")
)

const (
	advisor  = casedirectionv1.InvolvementRole_INVOLVEMENT_ROLE_ADVISOR
	executor = casedirectionv1.InvolvementRole_INVOLVEMENT_ROLE_EXECUTOR
	director = casedirectionv1.InvolvementRole_INVOLVEMENT_ROLE_DIRECTOR
)

func roles(c *casedirectionv1.Case) map[string]casedirectionv1.InvolvementRole {
	out := map[string]casedirectionv1.InvolvementRole{}
	for _, i := range c.GetInvolvements() {
		out[i.GetOrganisationOin()+"/"+i.GetProfessionalId()] = i.GetRole()
	}
	return out
}

// An organisation with an active involvement reads the case (route INVOLVEMENT), before
// valid_from and after valid_to it does not, ending an involvement ends access at once, and
// only the owning team changes the case.
func TestInvolvementsGiveReadAccess(t *testing.T) {
	h, clock := startClocked(t)
	ctx := svctest.Ctx(t)
	noord := h.as(t, teamNoord)
	id := activeCase(t, h, "noord-1")
	dayOf := func(d time.Duration) string { return domain.Day(clock.Now().Add(d)).Format(time.DateOnly) }
	get := &casedirectionv1.GetCaseRequest{CaseId: id}
	canRead := func(org string, c casedirectionv1.CaseDirectionServiceClient) bool {
		t.Helper()
		_, err := c.GetCase(ctx, get)
		switch status.Code(err) {
		case codes.OK:
			return true
		case codes.NotFound:
			return false
		}
		t.Fatalf("%s reading: %v", org, err)
		return false
	}
	gpc, pvc, zuid := h.as(t, gp), h.as(t, provider), h.as(t, teamZuid)

	// The director is the one current involvement.
	view, err := noord.GetCase(ctx, get)
	if err != nil {
		t.Fatal(err)
	}
	if r := roles(view.GetCase()); len(r) != 1 || r[teamNoord.OIN+"/noord-1"] != director {
		t.Fatalf("want the director as the only involvement, got %v", view.GetCase().GetInvolvements())
	}
	if canRead("gp", gpc) || canRead("provider", pvc) || canRead("zuid", zuid) {
		t.Fatal("no one outside the team may read the case before being involved")
	}

	// A conference with a decision: the team sees it, an involved partner does not.
	if _, err := noord.RecordCaseConference(ctx, &casedirectionv1.RecordCaseConferenceRequest{IdempotencyKey: "conf", CaseId: id, HeldOn: dayOf(0),
		Attendees: []*casedirectionv1.Attendee{{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, ProfessionalId: "noord-1"}}, Decisions: []string{"start debt counselling"}}); err != nil {
		t.Fatal(err)
	}

	// The GP advises from today for three days; the provider executes from tomorrow; team Zuid
	// advises open-ended.
	add := func(key string, org string, oin, professional string, role casedirectionv1.InvolvementRole, from, to string) *casedirectionv1.Involvement {
		t.Helper()
		resp, err := noord.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: key, CaseId: id, OrganisationType: protoenum.FromCode[commonv1.OrganisationType](org),
			OrganisationOin: oin, ProfessionalId: professional, Role: role, ValidFrom: from, ValidTo: to})
		if err != nil {
			t.Fatalf("add %s: %v", key, err)
		}
		return resp.GetInvolvement()
	}
	gpInv := add("inv-gp", "GP", gp.OIN, "dr-jansen", advisor, "", dayOf(2*day))
	if gpInv.GetValidFrom() != dayOf(0) || gpInv.GetValidTo() != dayOf(2*day) || !gpInv.GetActive() || gpInv.GetEndedAt() != nil {
		t.Fatalf("GP involvement: %v", gpInv)
	}
	pvInv := add("inv-pv", "PROVIDER", provider.OIN, "", executor, dayOf(day), "")
	if pvInv.GetActive() {
		t.Fatal("an involvement from tomorrow is not active today")
	}
	zuidInv := add("inv-zuid", "TEAM", teamZuid.OIN, "zuid-3", advisor, "", "")

	// A retry with the same key gets the first answer, not a second involvement.
	retry, err := noord.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "inv-gp", CaseId: id, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_GP,
		OrganisationOin: gp.OIN, ProfessionalId: "dr-jansen", Role: advisor, ValidTo: dayOf(2 * day)})
	if err != nil || retry.GetInvolvement().GetId() != gpInv.GetId() {
		t.Fatalf("retry: %v %v", retry, err)
	}
	// The same organisation, professional and role again: ALREADY_EXISTS naming the first.
	_, err = noord.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "inv-gp-2", CaseId: id, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_GP,
		OrganisationOin: gp.OIN, ProfessionalId: "dr-jansen", Role: advisor})
	if st := status.Convert(err); st.Code() != codes.AlreadyExists || resourceName(st) != gpInv.GetId() {
		t.Fatalf("a second open GP advisor involvement: want ALREADY_EXISTS naming %s, got %v", gpInv.GetId(), err)
	}

	got, err := gpc.GetCase(ctx, get)
	if err != nil {
		t.Fatalf("the involved GP reads the case: %v", err)
	}
	if r := roles(got.GetCase()); len(r) != 3 || r[gp.OIN+"/dr-jansen"] != advisor || r[teamZuid.OIN+"/zuid-3"] != advisor {
		t.Fatalf("GetCase must show the current involvements (director, GP, team Zuid), got %v", got.GetCase().GetInvolvements())
	}
	if cf := got.GetCase().GetConferences(); len(cf) != 1 || len(cf[0].GetDecisions()) != 0 {
		t.Fatalf("an involved partner must not see conference decisions: %v", cf)
	}
	if own, _ := noord.GetCase(ctx, get); len(own.GetCase().GetConferences()[0].GetDecisions()) != 1 {
		t.Fatal("the team sees its conference decisions")
	}
	if canRead("provider", pvc) {
		t.Fatal("the provider's involvement starts tomorrow")
	}
	list, err := gpc.ListInvolvements(ctx, &casedirectionv1.ListInvolvementsRequest{CaseId: id})
	if err != nil || len(list.GetInvolvements()) != 4 {
		t.Fatalf("the GP lists everyone involved (also the provider from tomorrow): %v %v", list, err)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'casedirection.case.read' AND route = 'INVOLVEMENT' AND outcome = 'GRANTED' AND org_oin = $1 AND object_id = $2`, gp.OIN, id); n != 1 {
		t.Fatalf("the GP's read must be logged with route INVOLVEMENT once, got %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'casedirection.case.list_involvements' AND route = 'INVOLVEMENT' AND org_oin = $1`, gp.OIN); n != 1 {
		t.Fatalf("the GP's listing must be logged with route INVOLVEMENT, got %d", n)
	}

	// Involved is not owning: team Zuid reads, but changes nothing, and the GP may not even try.
	if !canRead("zuid", zuid) {
		t.Fatal("an involved team reads the case")
	}
	// It reads the case, so it is told PERMISSION_DENIED, not NOT_FOUND (thirty-fourth session).
	if _, err := zuid.StartPlanExecution(ctx, &casedirectionv1.StartPlanExecutionRequest{IdempotencyKey: "z", CaseId: id}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("an involved team changing the case: want PERMISSION_DENIED, got %v", err)
	}
	if _, err := zuid.EndInvolvement(ctx, &casedirectionv1.EndInvolvementRequest{IdempotencyKey: "z", CaseId: id, InvolvementId: zuidInv.GetId()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("an involved team ending its own involvement: want PERMISSION_DENIED, got %v", err)
	}
	if _, err := gpc.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "g", CaseId: id, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_GP,
		OrganisationOin: gp.OIN, Role: advisor}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a GP adding involvements: want PERMISSION_DENIED, got %v", err)
	}

	// Tomorrow the provider reads; three days on the GP's involvement has run out.
	clock.Advance(day)
	if !canRead("provider", pvc) || !canRead("gp", gpc) {
		t.Fatal("tomorrow both the provider and the GP read the case")
	}
	clock.Advance(day)
	if !canRead("gp", gpc) {
		t.Fatal("valid_to is the GP's last day, included")
	}
	clock.Advance(day)
	if canRead("gp", gpc) {
		t.Fatal("after valid_to the GP no longer reads the case")
	}
	if _, err := gpc.ListInvolvements(ctx, &casedirectionv1.ListInvolvementsRequest{CaseId: id}); status.Code(err) != codes.NotFound {
		t.Fatalf("after valid_to the GP no longer lists: %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'casedirection.case.read' AND outcome = 'DENIED' AND org_oin = $1 AND object_id = $2`, gp.OIN, id); n != 2 {
		t.Fatalf("the GP's refused reads (before and after) must be logged DENIED, got %d", n)
	}

	// Ending the provider's involvement now ends its access at once.
	ended, err := noord.EndInvolvement(ctx, &casedirectionv1.EndInvolvementRequest{IdempotencyKey: "end-pv", CaseId: id, InvolvementId: pvInv.GetId()})
	if err != nil {
		t.Fatalf("end: %v", err)
	}
	if i := ended.GetInvolvement(); i.GetActive() || i.GetEndedAt() == nil || i.GetValidTo() != dayOf(0) {
		t.Fatalf("ended involvement: %v", i)
	}
	if canRead("provider", pvc) {
		t.Fatal("an ended involvement gives no access")
	}
	if _, err := noord.EndInvolvement(ctx, &casedirectionv1.EndInvolvementRequest{IdempotencyKey: "end-pv-2", CaseId: id, InvolvementId: pvInv.GetId()}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("ending twice: want FAILED_PRECONDITION, got %v", err)
	}
	// Team Zuid's involvement ends after a given last day.
	last := dayOf(day)
	if _, err := noord.EndInvolvement(ctx, &casedirectionv1.EndInvolvementRequest{IdempotencyKey: "end-z", CaseId: id, InvolvementId: zuidInv.GetId(), ValidTo: last}); err != nil {
		t.Fatal(err)
	}
	if !canRead("zuid", zuid) {
		t.Fatal("until its last day team Zuid still reads")
	}

	// Events, information-poor: ids, codes and dates.
	addedEvents := outboxEvents(t, h, id, func() *casedirectionv1.CaseInvolvementAdded { return &casedirectionv1.CaseInvolvementAdded{} })
	if len(addedEvents) != 4 || addedEvents[0].GetRole() != director || addedEvents[1].GetInvolvementId() != gpInv.GetId() ||
		addedEvents[1].GetOrganisationOin() != gp.OIN || addedEvents[1].GetValidTo() != gpInv.GetValidTo() || addedEvents[1].GetMunicipalityCode() != "GM0363" {
		t.Fatalf("CaseInvolvementAdded events: %v", addedEvents)
	}
	endedEvents := outboxEvents(t, h, id, func() *casedirectionv1.CaseInvolvementEnded { return &casedirectionv1.CaseInvolvementEnded{} })
	if len(endedEvents) != 2 || endedEvents[0].GetInvolvementId() != pvInv.GetId() || endedEvents[0].GetEndedAt() == nil ||
		endedEvents[1].GetInvolvementId() != zuidInv.GetId() || endedEvents[1].GetValidTo() != last || endedEvents[1].GetEndedAt() != nil {
		t.Fatalf("CaseInvolvementEnded events: %v", endedEvents)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action IN ('casedirection.case.add_involvement', 'casedirection.case.end_involvement') AND outcome = 'GRANTED' AND object_id = $1`, id); n != 5 {
		t.Fatalf("every involvement change must be access-logged, got %d", n)
	}
}

// The director is an involvement: a handover ends the previous one and starts the next, so
// there is exactly one director at a time and the history stays; closing (here: handing over)
// the case ends every partner's involvement.
func TestDirectorInvolvementAndHandover(t *testing.T) {
	h, clock := startClocked(t)
	ctx := svctest.Ctx(t)
	noord := h.as(t, teamNoord)
	id := activeCase(t, h, "noord-1")
	vt := h.as(t, veiligThuis)
	if _, err := noord.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "vt", CaseId: id, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_VEILIG_THUIS,
		OrganisationOin: veiligThuis.OIN, Role: advisor}); err != nil {
		t.Fatal(err)
	}
	future, err := noord.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "pv", CaseId: id, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_PROVIDER,
		OrganisationOin: provider.OIN, Role: executor, ValidFrom: domain.Day(clock.Now().Add(10 * day)).Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}

	clock.Advance(time.Hour)
	resp, err := noord.AssignDirector(ctx, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: "d2", CaseId: id, ProfessionalId: "noord-2"})
	if err != nil {
		t.Fatal(err)
	}
	directors := 0
	for _, i := range resp.GetCase().GetInvolvements() {
		if i.GetRole() == director {
			directors++
			if i.GetProfessionalId() != "noord-2" {
				t.Fatalf("the current director involvement is noord-2's, got %v", i)
			}
		}
	}
	if directors != 1 {
		t.Fatalf("exactly one director at a time, got %d in %v", directors, resp.GetCase().GetInvolvements())
	}
	list, err := noord.ListInvolvements(ctx, &casedirectionv1.ListInvolvementsRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	history := 0
	for _, i := range list.GetInvolvements() {
		if i.GetRole() == director && i.GetProfessionalId() == "noord-1" {
			history++
			if i.GetActive() || i.GetEndedAt() == nil {
				t.Fatalf("the previous director's involvement has ended: %v", i)
			}
		}
	}
	if history != 1 || h.count(t, `SELECT count(*) FROM director_history WHERE case_id = $1`, id) != 2 {
		t.Fatalf("the handover history stays (involvements and director_history): %v", list.GetInvolvements())
	}
	// Paged one at a time, the same involvements in the same order (oldest first).
	var paged []string
	req := &casedirectionv1.ListInvolvementsRequest{CaseId: id, PageSize: 1}
	for {
		page, err := noord.ListInvolvements(ctx, req)
		if err != nil || len(page.GetInvolvements()) != 1 {
			t.Fatalf("involvements page %d: %v %v", len(paged), err, page)
		}
		paged = append(paged, page.GetInvolvements()[0].GetId())
		if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	var all []string
	for _, i := range list.GetInvolvements() {
		all = append(all, i.GetId())
	}
	if !slices.Equal(paged, all) || len(all) < 2 {
		t.Fatalf("paged involvements %v, want %v", paged, all)
	}
	dirInv := resp.GetCase().GetInvolvements()[0].GetId()
	for _, i := range resp.GetCase().GetInvolvements() {
		if i.GetRole() == director {
			dirInv = i.GetId()
		}
	}
	if _, err := noord.EndInvolvement(ctx, &casedirectionv1.EndInvolvementRequest{IdempotencyKey: "end-dir", CaseId: id, InvolvementId: dirInv}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("ending the director's involvement: want FAILED_PRECONDITION, got %v", err)
	}

	// Handing over to Veilig Thuis ends the partners' involvements (also the future one).
	if _, err := vt.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id}); err != nil {
		t.Fatalf("Veilig Thuis, involved, reads: %v", err)
	}
	if _, err := noord.HandOver(ctx, &casedirectionv1.HandOverRequest{IdempotencyKey: "ho", CaseId: id,
		Recipient: casedirectionv1.HandoverRecipient_HANDOVER_RECIPIENT_VEILIG_THUIS, RecipientOin: veiligThuis.OIN}); err != nil {
		t.Fatal(err)
	}
	if _, err := vt.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id}); status.Code(err) != codes.NotFound {
		t.Fatalf("after the handover the advisor involvement has ended: %v", err)
	}
	clock.Advance(11 * day)
	if _, err := h.as(t, provider).GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id}); status.Code(err) != codes.NotFound {
		t.Fatalf("the provider's future involvement ended with the case: %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM involvements WHERE case_id = $1 AND role <> 'DIRECTOR' AND ended_at IS NOT NULL`, id); n != 2 {
		t.Fatalf("both partner involvements must be ended, got %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM involvements WHERE id = $1 AND valid_from > valid_to`, future.GetInvolvement().GetId()); n != 0 {
		t.Fatal("ending a future involvement must not make its dates inconsistent")
	}
	endedEvents := outboxEvents(t, h, id, func() *casedirectionv1.CaseInvolvementEnded { return &casedirectionv1.CaseInvolvementEnded{} })
	if len(endedEvents) != 3 || endedEvents[0].GetRole() != director {
		t.Fatalf("want an ended event for the previous director and the two partners, got %v", endedEvents)
	}
	if _, err := noord.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "late", CaseId: id, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_GP,
		OrganisationOin: gp.OIN, Role: advisor}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("involving someone in a handed-over case: want FAILED_PRECONDITION, got %v", err)
	}
}

func TestInvolvementBadInput(t *testing.T) {
	h, clock := startClocked(t)
	ctx := svctest.Ctx(t)
	noord := h.as(t, teamNoord)
	id := activeCase(t, h, "noord-1")
	expectViolations(t, mustErr(noord.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{CaseId: "x", OrganisationType: commonv1.OrganisationType(99),
		OrganisationOin: "123", ProfessionalId: "Jan de Vries", Role: director, ValidFrom: "2026-02-30", ValidTo: "tomorrow"})),
		"idempotency_key", "case_id", "organisation_type", "organisation_oin", "professional_id", "role", "valid_from", "valid_to")
	expectViolations(t, mustErr(noord.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "k", CaseId: id, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_GP,
		OrganisationOin: gp.OIN, ValidFrom: "2030-02-01", ValidTo: "2030-01-31"})), "role", "valid_to")
	yesterday := domain.Day(clock.Now().Add(-day)).Format(time.DateOnly)
	expectViolations(t, mustErr(noord.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "k", CaseId: id, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_GP,
		OrganisationOin: gp.OIN, Role: advisor, ValidFrom: yesterday})), "valid_from")
	expectViolations(t, mustErr(noord.EndInvolvement(ctx, &casedirectionv1.EndInvolvementRequest{CaseId: id, InvolvementId: "1", ValidTo: "2030-1-1"})),
		"idempotency_key", "involvement_id", "valid_to")
	expectViolations(t, mustErr(noord.ListInvolvements(ctx, &casedirectionv1.ListInvolvementsRequest{CaseId: "nope"})), "case_id")
	expectViolations(t, mustErr(noord.ListInvolvements(ctx, &casedirectionv1.ListInvolvementsRequest{CaseId: id, PageSize: -1})), "page_size")
	expectViolations(t, mustErr(noord.ListInvolvements(ctx, &casedirectionv1.ListInvolvementsRequest{CaseId: id, PageSize: 10000})), "page_size")
	expectViolations(t, mustErr(noord.ListInvolvements(ctx, &casedirectionv1.ListInvolvementsRequest{CaseId: id, PageToken: "garbage"})), "page_token")
	otherCase := paging.TokenAt(paging.Scoped("casedirection.involvements", uuid.NewString()), clock.Now(), uuid.NewString())
	expectViolations(t, mustErr(noord.ListInvolvements(ctx, &casedirectionv1.ListInvolvementsRequest{CaseId: id, PageToken: otherCase})), "page_token")
	expectViolations(t, mustErr(noord.ListInvolvements(ctx, &casedirectionv1.ListInvolvementsRequest{CaseId: id, PageToken: paging.Token("casedirection.cases", "x", "y")})), "page_token")

	added, err := noord.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "gp", CaseId: id, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_GP,
		OrganisationOin: gp.OIN, Role: advisor, ValidTo: domain.Day(clock.Now().Add(5 * day)).Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}
	inv := added.GetInvolvement().GetId()
	expectViolations(t, mustErr(noord.EndInvolvement(ctx, &casedirectionv1.EndInvolvementRequest{IdempotencyKey: "e1", CaseId: id, InvolvementId: inv, ValidTo: yesterday})), "valid_to")
	if _, err := noord.EndInvolvement(ctx, &casedirectionv1.EndInvolvementRequest{IdempotencyKey: "e2", CaseId: id, InvolvementId: inv,
		ValidTo: domain.Day(clock.Now().Add(9 * day)).Format(time.DateOnly)}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("extending an involvement: want FAILED_PRECONDITION, got %v", err)
	}
	if _, err := noord.EndInvolvement(ctx, &casedirectionv1.EndInvolvementRequest{IdempotencyKey: "e3", CaseId: id, InvolvementId: uuid.NewString()}); status.Code(err) != codes.NotFound {
		t.Fatalf("an unknown involvement: want NOT_FOUND, got %v", err)
	}
	// An involvement of another case is not found through this one.
	other := activeCase(t, h, "noord-9")
	if _, err := noord.EndInvolvement(ctx, &casedirectionv1.EndInvolvementRequest{IdempotencyKey: "e4", CaseId: other, InvolvementId: inv}); status.Code(err) != codes.NotFound {
		t.Fatalf("another case's involvement: want NOT_FOUND, got %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM involvements WHERE id = $1 AND ended_at IS NULL AND valid_to = $2::date`, inv, domain.Day(clock.Now().Add(5*day))); n != 1 {
		t.Fatal("refused requests must leave the involvement as it was")
	}
}

// Other services (referral) ask whether their caller may act on a case.
func TestCheckCaseInvolvement(t *testing.T) {
	h, clock := startClocked(t)
	ctx := svctest.Ctx(t)
	// An active case of two residents.
	open := openRequest("open-chk", uuid.NewString())
	open.Residents = []*commonv1.ResidentPseudonym{{ResidentId: uuid.NewString(), Pseudonym: "chk-a"}, {ResidentId: uuid.NewString(), Pseudonym: "chk-b"}}
	opened, err := h.as(t, intake).OpenCase(ctx, open)
	if err != nil {
		t.Fatal(err)
	}
	id := opened.GetCase().GetId()
	if _, err := h.as(t, teamNoord).AssignDirector(ctx, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: "dir-chk", CaseId: id, ProfessionalId: "noord-chk"}); err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	if _, err := h.as(t, teamNoord).AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "chk-gp", CaseId: id,
		OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_GP, OrganisationOin: gp.OIN, ProfessionalId: "dr-jansen", Role: casedirectionv1.InvolvementRole_INVOLVEMENT_ROLE_ADVISOR,
		ValidTo: domain.Day(clock.Now().Add(day)).Format(time.DateOnly)}); err != nil {
		t.Fatal(err)
	}
	svc := h.as(t, intake)
	check := func(caseID string, org devca.Org) bool {
		t.Helper()
		resp, err := svc.CheckCaseInvolvement(ctx, &casedirectionv1.CheckCaseInvolvementRequest{CaseId: caseID, OrganisationOin: org.OIN, OrganisationType: protoenum.FromCode[commonv1.OrganisationType](string(org.Type))})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetInvolved()
	}
	if !check(id, teamNoord) || !check(id, gp) {
		t.Fatal("the case's team and an actively involved GP are involved")
	}
	if check(id, teamZuid) || check(id, provider) || check(uuid.NewString(), teamNoord) {
		t.Fatal("another team, an uninvolved provider and an unknown case are not")
	}

	// With the facts: the case as GetCase gives it to a service, without the conference's
	// decisions, and its residents as ListCaseResidents gives them, logged as those two reads
	// are; nothing for anyone not involved.
	if _, err := h.as(t, teamNoord).RecordCaseConference(ctx, &casedirectionv1.RecordCaseConferenceRequest{IdempotencyKey: "conf-chk", CaseId: id,
		HeldOn: domain.Day(clock.Now()).Format(time.DateOnly), Attendees: []*casedirectionv1.Attendee{{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, ProfessionalId: "noord-chk"}},
		Decisions: []string{"start debt counselling"}}); err != nil {
		t.Fatal(err)
	}
	logged := func() map[string]int {
		out := map[string]int{}
		for _, action := range []string{"casedirection.case.read", "casedirection.case.list_residents"} {
			out[action] = h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = $1 AND object_id = $2 AND route = 'SERVICE' AND outcome = 'GRANTED'`, action, id)
		}
		return out
	}
	before := logged()
	asService, err := svc.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	residents, err := svc.ListCaseResidents(ctx, &casedirectionv1.ListCaseResidentsRequest{CaseId: id, PageSize: 500})
	if err != nil || len(residents.GetResidents()) != 2 {
		t.Fatalf("the residents as ListCaseResidents gives them: %v %v", residents, err)
	}
	var want []string
	for _, r := range residents.GetResidents() {
		want = append(want, r.GetPseudonym())
	}
	reads := logged()
	withoutDecisions := proto.Clone(asService.GetCase()).(*casedirectionv1.Case)
	if len(withoutDecisions.GetConferences()) != 1 || len(withoutDecisions.GetConferences()[0].GetDecisions()) != 1 {
		t.Fatalf("a service reads the conference with its decision: %v", withoutDecisions.GetConferences())
	}
	withoutDecisions.GetConferences()[0].Decisions = nil
	for _, org := range []devca.Org{teamNoord, gp} {
		resp, err := svc.CheckCaseInvolvement(ctx, &casedirectionv1.CheckCaseInvolvementRequest{CaseId: id, OrganisationOin: org.OIN,
			OrganisationType: protoenum.FromCode[commonv1.OrganisationType](string(org.Type)), WithFacts: true})
		if err != nil {
			t.Fatal(err)
		}
		if !resp.GetInvolved() || !proto.Equal(resp.GetCase(), withoutDecisions) {
			t.Fatalf("%s: the case with the answer:\n%v\nwant, as GetCase gives it to a service without the decisions:\n%v", org.Name, resp.GetCase(), withoutDecisions)
		}
		if !slices.Equal(resp.GetCaseResidentPseudonyms(), want) {
			t.Fatalf("%s: residents %v, want %v", org.Name, resp.GetCaseResidentPseudonyms(), want)
		}
	}
	after := logged()
	for action, n := range after {
		if perRead := reads[action] - before[action]; perRead == 0 || n-reads[action] != 2*perRead {
			t.Fatalf("%s: two answers with the facts logged %d entries, one read logs %d", action, n-reads[action], perRead)
		}
	}
	for _, org := range []devca.Org{teamZuid, provider} {
		resp, err := svc.CheckCaseInvolvement(ctx, &casedirectionv1.CheckCaseInvolvementRequest{CaseId: id, OrganisationOin: org.OIN,
			OrganisationType: protoenum.FromCode[commonv1.OrganisationType](string(org.Type)), WithFacts: true})
		if err != nil || resp.GetInvolved() || resp.GetCase() != nil || len(resp.GetCaseResidentPseudonyms()) != 0 {
			t.Fatalf("%s is not involved and gets no facts: %v %v", org.Name, resp, err)
		}
	}
	if again := logged(); !maps.Equal(again, after) {
		t.Fatalf("answers without facts logged reads: %v, before them %v", again, after)
	}

	clock.Advance(3 * day)
	if check(id, gp) {
		t.Fatal("an ended involvement no longer counts")
	}
	if _, err := h.as(t, teamNoord).CheckCaseInvolvement(ctx, &casedirectionv1.CheckCaseInvolvementRequest{CaseId: id, OrganisationOin: teamNoord.OIN, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("only services may ask: %v", err)
	}
	if _, err := svc.CheckCaseInvolvement(ctx, &casedirectionv1.CheckCaseInvolvementRequest{CaseId: "x", OrganisationOin: "1", OrganisationType: commonv1.OrganisationType(77)}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad input: %v", err)
	}
}
