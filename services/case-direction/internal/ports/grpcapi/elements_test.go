package grpcapi

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"google.golang.org/protobuf/proto"
)

// today is the day the request checks run on here (App.Today in the service): fixed, so the
// dates of the seeds (an evaluation on 2030-01-01, a pilot light until 2026-12-31) stay valid.
var today = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// violations returns the fields err names, failing unless each is a field (or an element) that
// req has.
func violations(t *testing.T, req proto.Message, err error) []string {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalidArgument {
		t.Fatalf("want INVALID_ARGUMENT, got %v", err)
	}
	var out []string
	for _, v := range e.Violations {
		if !fieldExists(req.ProtoReflect(), v.Field) {
			t.Errorf("%q is no field or element of the request", v.Field)
		}
		out = append(out, v.Field)
	}
	return out
}

// A violation inside a repeated field names the element by its 0-based index, the way the
// proto's rules (protovalidate) do, so a partner with six goals learns which one is wrong; a
// duplicate names the later element, and a rule about the list keeps the list's name.
func TestViolationsNameTheElement(t *testing.T) {
	d := func(n int32) commonv1.LifeDomain { return commonv1.LifeDomain(n) }
	goals := []*casedirectionv1.GoalInput{}
	for n := int32(1); n <= 6; n++ {
		goals = append(goals, &casedirectionv1.GoalInput{LifeDomain: d(n), BaselineScore: 2, TargetScore: 3})
	}
	plan := &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "k", CaseId: fuzzID, EvaluationDate: "2030-01-01", Goals: goals}
	if _, err := planFromRequest(plan, today); err != nil {
		t.Fatalf("six good goals: %v", err)
	}

	bad := proto.Clone(plan).(*casedirectionv1.AdoptPlanRequest)
	bad.Goals[1].BaselineScore, bad.Goals[1].TargetScore = 7, 0 // both out of range, the target below the baseline
	bad.Goals[3].GoalId = "not-a-uuid"
	bad.Goals[4].LifeDomain = bad.Goals[2].LifeDomain // the later one is the duplicate
	bad.Goals[5].GoalId, bad.Goals[0].GoalId = fuzzID, fuzzID
	_, err := planFromRequest(bad, today)
	got := violations(t, bad, err)
	want := []string{"goals[1].baseline_score", "goals[1].target_score", "goals[3].goal_id", "goals[4].life_domain", "goals[5].goal_id"}
	for _, f := range want {
		if !slices.Contains(got, f) {
			t.Errorf("want %s named, got %v", f, got)
		}
	}
	for _, f := range got {
		if !slices.Contains(want, f) {
			t.Errorf("unexpected violation of %s (want only %v)", f, want)
		}
	}
	for _, v := range mustInvalid(t, err).Violations {
		switch v.Field {
		case "goals[4].life_domain":
			if !strings.Contains(v.Description, "goals[2]") {
				t.Errorf("the duplicate life domain should point at the first goal with it: %q", v.Description)
			}
		case "goals[5].goal_id":
			if !strings.Contains(v.Description, "goals[0]") {
				t.Errorf("the duplicate goal id should point at the first goal with it: %q", v.Description)
			}
		}
	}

	// A rule about the list as a whole keeps the list's name.
	_, err = planFromRequest(&casedirectionv1.AdoptPlanRequest{IdempotencyKey: "k", CaseId: fuzzID, EvaluationDate: "2030-01-01"}, today)
	if !violates(err, "goals") {
		t.Errorf("no goals: want goals named, got %v", err)
	}

	conf := &casedirectionv1.RecordCaseConferenceRequest{IdempotencyKey: "k", CaseId: fuzzID, HeldOn: "2026-01-05",
		Attendees: []*casedirectionv1.Attendee{
			{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, ProfessionalId: "noord-1"},
			{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_GP, OrganisationOin: "1", ProfessionalId: "Jan de Vries"},
		},
		Decisions: []string{"start debt counselling", "", "ok"}}
	_, err = conferenceFromRequest(conf)
	got = violations(t, conf, err)
	if want := []string{"attendees[1].organisation_oin", "attendees[1].professional_id", "decisions[1]"}; !slices.Equal(got, want) {
		t.Errorf("conference: want %v, got %v", want, got)
	}

	alloc := &casedirectionv1.RequestAllocationRequest{IdempotencyKey: "k", CaseId: fuzzID, ProviderAgb: "12345678", ProductCategory: "45",
		ProductCode: "45A01", StartDate: "2026-04-01", EndDate: "2026-12-31",
		Volume:  &commonv1.Volume{Amount: 4, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK},
		GoalIds: []string{fuzzID, "g2"}}
	_, err = allocationFromRequest(alloc)
	if got := violations(t, alloc, err); !slices.Equal(got, []string{"goal_ids[1]"}) {
		t.Errorf("allocation: want goal_ids[1], got %v", got)
	}
}

func mustInvalid(t *testing.T, err error) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("want a typed error, got %v", err)
	}
	return e
}

// The fuzz targets' check of violation paths refuses a field of a repeated message without
// its element, and an element the request does not have.
func TestFieldExistsWantsTheElement(t *testing.T) {
	req := &casedirectionv1.AdoptPlanRequest{Goals: []*casedirectionv1.GoalInput{{}, {}}}
	for path, want := range map[string]bool{
		"goals":                   true,
		"goals[1]":                true,
		"goals[1].baseline_score": true,
		"goals[2].baseline_score": false,
		"goals.baseline_score":    false,
		"case_id":                 true,
		"case_id[0]":              false,
		"goals[1].nope":           false,
	} {
		if got := fieldExists(req.ProtoReflect(), path); got != want {
			t.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
}
