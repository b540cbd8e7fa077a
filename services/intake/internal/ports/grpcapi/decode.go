package grpcapi

import (
	"fmt"
	"strconv"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/app"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// The functions here turn a request into domain values, collecting every field violation
// into one INVALID_ARGUMENT error. They touch no database, so the fuzz targets run them on
// arbitrary requests.

// idempotencyKey reports a missing key together with the other violations; idempotency.Do
// refuses it too, but only once everything else is right.
func idempotencyKey(v *apperr.Validation, key string) {
	v.Check(key != "", "idempotency_key", "required for every change, so that a retry cannot apply it twice")
}

func addAll(v *apperr.Validation, errs []domain.FieldError) {
	for _, fe := range errs {
		v.Add(fe.Field, fe.Problem)
	}
}

func intakeFromRequest(req *intakev1.RegisterIntakeRequest) (domain.Intake, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	in := domain.Intake{
		Channel:       domain.Channel(protoenum.Required(&v, "channel", req.GetChannel())),
		Urgency:       domain.Urgency(protoenum.Required(&v, "urgency", req.GetUrgency())),
		Municipality:  req.GetMunicipalityCode(),
		District:      req.GetDistrictCode(),
		Question:      req.GetQuestion(),
		LifeDomains:   protoenum.LifeDomainCodes(&v, "life_domains", req.GetLifeDomains()),
		SafetyConcern: req.GetSafetyConcern(),
	}
	v.Check(in.Channel != domain.ChannelSignal, "channel", "SIGNAL intakes come from partner signals, not from this call")
	valid.BSN(&v, "resident_bsn", req.GetResidentBsn())
	// municipality_code, district_code: the proto's rules; the district must lie in the
	// municipality.
	valid.DistrictOf(&v, "district_code", req.GetDistrictCode(), req.GetMunicipalityCode())
	valid.Text(&v, "question", req.GetQuestion(), 0, MaxQuestionLength)
	return in, v.Err()
}

func decideFromRequest(req *intakev1.DecideTriageRequest) (domain.Outcome, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// intake_id: required, a UUID (the proto).
	outcome := domain.Outcome(protoenum.Code(req.GetOutcome()))
	switch {
	case req.GetApplyPolicy() && req.GetOutcome() != intakev1.TriageOutcome_TRIAGE_OUTCOME_UNSPECIFIED:
		v.Add("outcome", "set either outcome or apply_policy, not both")
	case !req.GetApplyPolicy() && outcome == domain.OutcomeNone:
		v.Add("outcome", "required unless apply_policy is set: one of the defined values")
	}
	return outcome, v.Err()
}

func contactAttemptFromRequest(req *intakev1.RecordContactAttemptRequest) (string, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// intake_id: required, a UUID (the proto).
	kind := protoenum.Required(&v, "kind", req.GetKind())
	return kind, v.Err()
}

// Limits of a clarification.
const (
	maxParticipants   = 20
	maxSummaryRunes   = 4000
	maxProfessionalID = 100
)

// clarificationFromRequest validates a RecordClarificationRequest (every violation at once)
// and maps it to domain values; the day's fit with the intake is the domain's rule.
func clarificationFromRequest(req *intakev1.RecordClarificationRequest) (domain.Clarification, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// intake_id: required, a UUID (the proto).
	c := domain.Clarification{HeldOn: valid.Date(&v, "held_on", req.GetHeldOn()), Summary: req.GetSummary(),
		NextStep: protoenum.Required(&v, "next_step", req.GetNextStep())}
	valid.Text(&v, "summary", req.GetSummary(), 1, maxSummaryRunes)
	switch n := len(req.GetParticipants()); {
	case n == 0:
		v.Add("participants", "at least one participant is required")
	case n > maxParticipants:
		v.Add("participants", fmt.Sprintf("at most %d", maxParticipants))
	}
	for i, p := range req.GetParticipants() {
		// A participant is named by its 0-based index, as the proto's rules do.
		f := "participants[" + strconv.Itoa(i) + "]."
		role := protoenum.Required(&v, f+"role", p.GetRole())
		id := p.GetProfessionalId()
		switch {
		case id != "" && role != domain.ParticipantProfessional:
			v.Add(f+"professional_id", "only for a participant with role PROFESSIONAL")
		case id != "":
			valid.Text(&v, f+"professional_id", id, 1, maxProfessionalID)
		}
		c.Participants = append(c.Participants, domain.Participant{Role: role, ProfessionalID: id})
	}
	return c, v.Err()
}

// policyFromRequest maps a triage-policy document (the rules a municipality adopts).
func policyFromRequest(req *intakev1.ReplaceTriagePolicyRequest) (domain.Policy, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// municipality_code: required, a CBS code (the proto).
	v.Check(req.GetExpectedVersion() >= 0, "expected_version", "must be 0 or a version number")
	p := domain.Policy{
		Municipality: req.GetMunicipalityCode(), Positioning: domain.Positioning(protoenum.Code(req.GetPositioning())),
		ContactAttempts: int(req.GetContactAttempts()), TriageDays: int(req.GetTriageDays()),
	}
	for _, r := range req.GetRules() {
		p.Rules = append(p.Rules, domain.Rule{
			Name: r.GetName(), Condition: domain.Condition(protoenum.Code(r.GetCondition())),
			MinCount: int(r.GetMinCount()), MaxScore: int(r.GetMaxScore()),
			SourceType: protoenum.Code(r.GetSourceType()), Outcome: domain.Outcome(protoenum.Code(r.GetOutcome())),
		})
	}
	addAll(&v, p.Validate(func(s string) bool { return protoenum.FromCode[referralv1.SourceType](s) != 0 }))
	return p, v.Err()
}

func assessmentFromRequest(req *intakev1.RecordAssessmentRequest) (domain.Assessment, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	subjectIDs(&v, req.GetResidentId(), req.GetHouseholdId())
	// intake_id: the proto's rule (empty or a UUID).
	a := domain.Assessment{
		ResidentID: req.GetResidentId(), HouseholdID: req.GetHouseholdId(), Instrument: req.GetInstrumentVersion(),
		Context: domain.Context(protoenum.Required(&v, "context", req.GetContext())), IntakeID: req.GetIntakeId(),
	}
	for _, sc := range req.GetScores() {
		// An unspecified or unknown life domain becomes "", which no instrument has.
		a.Scores = append(a.Scores, domain.Score{Domain: protoenum.Code(sc.GetLifeDomain()), Score: int(sc.GetScore())})
	}
	addAll(&v, domain.ValidateScores(a.Instrument, a.Scores))
	return a, v.Err()
}

func nameFromProto(v *apperr.Validation, field string, n *intakev1.PersonName) domain.Name {
	out := domain.Name{GivenNames: n.GetGivenNames(), Prefix: n.GetFamilyNamePrefix(), FamilyName: n.GetFamilyName()}
	addAll(v, domain.ValidateName(field+".", out))
	return out
}

func addressFromProto(v *apperr.Validation, field string, a *intakev1.Address) domain.Address {
	out := domain.Address{Street: a.GetStreet(), HouseNumber: int(a.GetHouseNumber()), Addition: a.GetHouseNumberAddition(),
		Postcode: domain.NormalizePostcode(a.GetPostcode()), City: a.GetCity()}
	addAll(v, domain.ValidateAddress(field+".", out))
	return out
}

// residentFromRequest maps a registration; name, date of birth and address are optional,
// each checked as a whole when given.
func residentFromRequest(req *intakev1.RegisterResidentRequest, now time.Time) (domain.Resident, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	valid.BSN(&v, "bsn", req.GetBsn())
	// municipality_code, district_code: the proto's rules; the district must lie in the
	// municipality.
	valid.DistrictOf(&v, "district_code", req.GetDistrictCode(), req.GetMunicipalityCode())
	r := domain.Resident{BSN: req.GetBsn(), Municipality: req.GetMunicipalityCode(), District: req.GetDistrictCode(),
		BirthDate: req.GetBirthDate()}
	if req.GetName() != nil {
		r.Name = nameFromProto(&v, "name", req.GetName())
	}
	if req.GetAddress() != nil {
		r.Address = addressFromProto(&v, "address", req.GetAddress())
	}
	if r.BirthDate != "" {
		addAll(&v, domain.ValidatePastDate("birth_date", r.BirthDate, domain.Today(now)))
	}
	return r, v.Err()
}

func residentChangesFromRequest(req *intakev1.UpdateResidentRequest, now time.Time) (app.ResidentChanges, error) {
	var (
		v apperr.Validation
		c app.ResidentChanges
	)
	idempotencyKey(&v, req.GetIdempotencyKey())
	// resident_id: required, a UUID (the proto).
	if req.GetName() != nil {
		n := nameFromProto(&v, "name", req.GetName())
		c.Name = &n
	}
	if req.GetAddress() != nil {
		a := addressFromProto(&v, "address", req.GetAddress())
		c.Address = &a
	}
	if d := req.GetBirthDate(); d != "" {
		addAll(&v, domain.ValidatePastDate("birth_date", d, domain.Today(now)))
		c.BirthDate = &d
	}
	if d := req.GetDistrictCode(); d != "" {
		valid.District(&v, "district_code", d)
		c.District = &d
	}
	v.Check(c.Name != nil || c.Address != nil || c.BirthDate != nil || c.District != nil, "resident_id", "nothing to change: set name, birth_date, address or district_code")
	return c, v.Err()
}

// startedOn checks an optional membership start (empty = today, set by the application).
func startedOn(v *apperr.Validation, field, s string, now time.Time) string {
	if s != "" {
		addAll(v, domain.ValidatePastDate(field, s, domain.Today(now)))
	}
	return s
}

func householdFromRequest(req *intakev1.CreateHouseholdRequest, now time.Time) (domain.Household, string, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// municipality_code, district_code: the proto's rules; the district must lie in the
	// municipality.
	valid.DistrictOf(&v, "district_code", req.GetDistrictCode(), req.GetMunicipalityCode())
	h := domain.Household{Municipality: req.GetMunicipalityCode(), District: req.GetDistrictCode()}
	if req.GetAddress() == nil {
		v.Add("address", "required: households are matched by address")
	} else {
		h.Address = addressFromProto(&v, "address", req.GetAddress())
	}
	for i, m := range req.GetMembers() {
		f := "members[" + strconv.Itoa(i) + "]." // resident_id: required, a UUID (the proto)
		h.Members = append(h.Members, domain.Member{ResidentID: m.GetResidentId(), Role: protoenum.Required(&v, f+"role", m.GetRole())})
	}
	addAll(&v, domain.ValidateMembers(h.Members))
	start := startedOn(&v, "started_on", req.GetStartedOn(), now)
	return h, start, v.Err()
}

func addMemberFromRequest(req *intakev1.AddHouseholdMemberRequest, now time.Time) (domain.Member, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// household_id, resident_id: required UUIDs (the proto).
	m := domain.Member{ResidentID: req.GetResidentId(), Role: protoenum.Required(&v, "role", req.GetRole()),
		StartedOn: startedOn(&v, "started_on", req.GetStartedOn(), now)}
	return m, v.Err()
}

func removeMemberFromRequest(req *intakev1.RemoveHouseholdMemberRequest, now time.Time) error {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// household_id, resident_id: required UUIDs (the proto).
	addAll(&v, domain.ValidatePastDate("ended_on", req.GetEndedOn(), domain.Today(now)))
	return v.Err()
}
