package service_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	pmv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// What the fakes tell a Wijkbrug service about whom a case or household concerns, by case
// and household id ([]*commonv1.ResidentPseudonym); tests use fresh ids.
var fakeCaseResidents, fakeHouseholdResidents sync.Map

func notFound(what string) error { return status.Error(codes.NotFound, what+" not found") }

func (f *fakeCaseSvc) ListCaseResidents(_ context.Context, req *casedirectionv1.ListCaseResidentsRequest) (*casedirectionv1.ListCaseResidentsResponse, error) {
	f.mu.Lock()
	_, ok := f.cases[req.GetCaseId()]
	f.mu.Unlock()
	if !ok {
		return nil, notFound("case")
	}
	r, _ := fakeCaseResidents.Load(req.GetCaseId())
	rs, _ := r.([]*commonv1.ResidentPseudonym)
	return &casedirectionv1.ListCaseResidentsResponse{Residents: rs}, nil
}

func (f *fakeIntakeSvc) ListHouseholdResidents(_ context.Context, req *intakev1.ListHouseholdResidentsRequest) (*intakev1.ListHouseholdResidentsResponse, error) {
	r, ok := fakeHouseholdResidents.Load(req.GetHouseholdId())
	if !ok {
		return nil, notFound("household")
	}
	return &intakev1.ListHouseholdResidentsResponse{Residents: r.([]*commonv1.ResidentPseudonym)}, nil
}

// A refused DraftDecision answers NOT_FOUND naming the intake or case the caller sent and is
// logged DENIED with that intake or case as its object, under each resident it concerns, with
// the caller's organisation and user; a caller refused on the intake it named makes no one
// read the intake's case. An intake named beside one's own case must be one's own as well.
func TestDecisionDraftRefusalsAreLoggedUnderTheResidents(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	intakeID, caseID := w.triaged(1)
	w.intake.mu.Lock()
	withCase := w.intake.intakes[intakeID]
	// An intake of the team that led to no case, and one of the other team.
	intakeOnly := proto.Clone(withCase).(*intakev1.Intake)
	intakeOnly.Id, intakeOnly.CaseId, intakeOnly.ResidentId, intakeOnly.HouseholdId = uuid.NewString(), "", uuid.NewString(), uuid.NewString()
	w.intake.intakes[intakeOnly.GetId()] = intakeOnly
	othersIntake := proto.Clone(intakeOnly).(*intakev1.Intake)
	othersIntake.Id, othersIntake.TeamOin, othersIntake.ResidentId, othersIntake.HouseholdId = uuid.NewString(), w.otherTeam.OIN, uuid.NewString(), uuid.NewString()
	w.intake.intakes[othersIntake.GetId()] = othersIntake
	w.intake.mu.Unlock()
	ref := func(resident, pseudonym string) *commonv1.ResidentPseudonym {
		return &commonv1.ResidentPseudonym{ResidentId: resident, Pseudonym: pseudonym}
	}
	fakeCaseResidents.Store(caseID, []*commonv1.ResidentPseudonym{ref(withCase.GetResidentId(), "p-anna"), ref(uuid.NewString(), "p-bram")})
	fakeHouseholdResidents.Store(intakeOnly.GetHouseholdId(), []*commonv1.ResidentPseudonym{ref(uuid.NewString(), "p-dirk"), ref(intakeOnly.GetResidentId(), "p-carla")})
	fakeHouseholdResidents.Store(othersIntake.GetHouseholdId(), []*commonv1.ResidentPseudonym{ref(othersIntake.GetResidentId(), "p-erik")})

	const intruder = "u-team2"
	ctx := acting(t, intruder, "case_director")
	denied := func(objectType, objectID, org string) []string {
		t.Helper()
		rows, err := w.svc.Pool.Query(context.Background(), `SELECT resident_pseudonym FROM access_log_entries
			WHERE action = 'providermonitoring.decision.create' AND outcome = 'DENIED' AND route = 'NONE'
			  AND object_type = $1 AND object_id = $2 AND org_oin = $3 AND user_id = $4 ORDER BY 1`, objectType, objectID, org, intruder)
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
	caseReads := func() []string {
		w.cases.mu.Lock()
		defer w.cases.mu.Unlock()
		return slices.Clone(w.cases.gets)
	}
	byIntake := func(id string) *pmv1.DraftDecisionRequest {
		r := draftRequest("", 4)
		r.IntakeId = id
		return r
	}

	// The other team, and a municipality that does not act for the intake's, name the team's
	// intake that led to a case: refused on the intake, under the case's residents, and the
	// case is not read for them.
	for _, c := range []struct {
		name, role string
		client     pmv1.DecisionServiceClient
		org        string
	}{{"another team", "case_director", w.asOtherTeam, w.otherTeam.OIN}, {"another municipality", "wmo_consultant", w.asOtherMuni, w.otherMuni.OIN}} {
		before := len(caseReads())
		_, err := c.client.DraftDecision(acting(t, intruder, c.role), byIntake(intakeID))
		wantResource(t, err, "intake", intakeID)
		if got := denied("intake", intakeID, c.org); !slices.Equal(got, []string{"p-anna", "p-bram"}) {
			t.Errorf("%s on the intake: DENIED entries under %q, want the case's residents", c.name, got)
		}
		if reads := caseReads()[before:]; len(reads) != 0 {
			t.Errorf("%s on the intake: the intake's case was read for it: %v", c.name, reads)
		}
	}
	// The other team names the team's case.
	_, err := w.asOtherTeam.DraftDecision(ctx, draftRequest(caseID, 4))
	wantResource(t, err, "case", caseID)
	if got := denied("case", caseID, w.otherTeam.OIN); !slices.Equal(got, []string{"p-anna", "p-bram"}) {
		t.Errorf("another team on the case: DENIED entries under %q", got)
	}
	// The other team names the team's intake without a case: under its applicant only.
	_, err = w.asOtherTeam.DraftDecision(ctx, byIntake(intakeOnly.GetId()))
	wantResource(t, err, "intake", intakeOnly.GetId())
	if got := denied("intake", intakeOnly.GetId(), w.otherTeam.OIN); !slices.Equal(got, []string{"p-carla"}) {
		t.Errorf("another team on an intake without a case: DENIED entries under %q, want the applicant's", got)
	}

	// The team names its own case (one that names no intake) and the other team's intake:
	// refused on the intake, whose facts it must not copy into its decision.
	ownCase := uuid.NewString()
	w.cases.open(ownCase, municipality, w.team.OIN, casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS)
	mixed := draftRequest(ownCase, 4)
	mixed.IntakeId = othersIntake.GetId()
	_, err = w.asTeam.DraftDecision(ctx, mixed)
	wantResource(t, err, "intake", othersIntake.GetId())
	if got := denied("intake", othersIntake.GetId(), w.team.OIN); !slices.Equal(got, []string{"p-erik"}) {
		t.Errorf("the team on its case with another team's intake: DENIED entries under %q", got)
	}
	// Its own case with an intake the case does not belong to: INVALID_ARGUMENT, before the
	// intake is read.
	mismatch := draftRequest(caseID, 4)
	mismatch.IntakeId = othersIntake.GetId()
	_, err = w.asTeam.DraftDecision(ctx, mismatch)
	if f := violatedFields(t, err); !slices.Contains(f, "case_id") {
		t.Errorf("a case with an intake it does not belong to: %v", f)
	}

	// The owners still draft, by intake and by case.
	if _, err := w.asTeam.DraftDecision(ctx, byIntake(intakeID)); err != nil {
		t.Fatalf("the team on its intake: %v", err)
	}
	if _, err := w.asMuni.DraftDecision(svctest.Ctx(t), draftRequest(caseID, 4)); err != nil {
		t.Fatalf("the municipality on the team's case: %v", err)
	}
	if _, err := w.asTeam.DraftDecision(ctx, byIntake(intakeOnly.GetId())); err != nil {
		t.Fatalf("the team on its intake without a case: %v", err)
	}
	_, err = w.asProvider.DraftDecision(ctx, byIntake(intakeID))
	wantCode(t, err, codes.PermissionDenied)
}
