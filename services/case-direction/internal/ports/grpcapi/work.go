package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	paging "github.com/wijkbrug/wijkbrug/pkg/paging"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/app"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/protoconv"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Limits of the request lists.
const (
	maxGoals         = 13 // one per ZRM-2017 life domain
	maxAttendees     = 50
	maxDecisions     = 50
	maxDecisionRunes = 1000
	defaultPageSize  = 50
	maxPageSize      = 500
)

// caseList names the caseload in its page tokens; CaseLimits are its page sizes.
const caseList = "casedirection.cases"

// CaseLimits are the caseload's page sizes.
var CaseLimits = paging.Limits{Default: defaultPageSize, Max: maxPageSize}

// caseListOf names the caseload under the request's filter in its page tokens, so a token is
// only taken back with the filter that made it (as every other list does).
func caseListOf(req *casedirectionv1.ListCasesRequest) string {
	statuses := make([]string, 0, len(req.GetStatuses()))
	for _, st := range req.GetStatuses() {
		statuses = append(statuses, st.String())
	}
	slices.Sort(statuses)
	return paging.Scoped(caseList, req.GetDirectorProfessionalId(), req.GetHouseholdId(), req.GetResidentId(), strings.Join(statuses, ","))
}

// listFromRequest validates a ListCasesRequest (every violation at once) and maps it to domain values.
func listFromRequest(req *casedirectionv1.ListCasesRequest) (domain.ListFilter, error) {
	var v apperr.Validation
	page := paging.Parse(&v, caseListOf(req), 2, CaseLimits, req.GetPageSize(), req.GetPageToken())
	f := domain.ListFilter{Director: req.GetDirectorProfessionalId(), Limit: page.Size,
		HouseholdID: req.GetHouseholdId(), ResidentID: req.GetResidentId()}
	if !page.First() {
		at, err := time.Parse(time.RFC3339Nano, page.After[0])
		if err != nil || uuid.Validate(page.After[1]) != nil {
			v.Add("page_token", "not a token from a previous page of this list")
		} else {
			f.After = &domain.Cursor{OpenedAt: at, ID: page.After[1]}
		}
	}
	for i, st := range req.GetStatuses() {
		c := protoenum.Code(st)
		if c == "" {
			v.Add(fmt.Sprintf("statuses[%d]", i), "an unspecified or unknown status")
			continue
		}
		f.Statuses = append(f.Statuses, domain.Status(c))
	}
	if f.Director != "" {
		professionalID(&v, "director_professional_id", f.Director)
	}
	// household_id, resident_id: the proto's rules (empty or a UUID).
	return f, v.Err()
}

// ListCases lists the calling team's caseload.
func (s *Server) ListCases(ctx context.Context, req *casedirectionv1.ListCasesRequest) (*casedirectionv1.ListCasesResponse, error) {
	f, err := listFromRequest(req)
	if err != nil {
		return nil, err
	}
	page, err := s.app.ListCases(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &casedirectionv1.ListCasesResponse{}
	if n := page.Next; n != nil {
		out.NextPageToken = paging.Token(caseListOf(req), n.OpenedAt.UTC().Format(time.RFC3339Nano), n.ID)
	}
	for _, c := range page.Cases {
		sum := &casedirectionv1.CaseSummary{
			Id: c.ID, HouseholdId: c.HouseholdID, Status: caseStatus(c.Status), DirectorProfessionalId: c.Director,
			MunicipalityCode: c.Municipality, DistrictCode: c.District, OpenedAt: timestamppb.New(c.OpenedAt),
			OpenEvaluationTodos: int32(c.OpenTodos),
		}
		if c.NextCheckAt != nil && c.Status == domain.StatusWatch {
			sum.NextCheckAt = timestamppb.New(*c.NextCheckAt)
		}
		out.Cases = append(out.Cases, sum)
	}
	for _, st := range domain.Statuses {
		if n := page.Counts[st]; n > 0 {
			out.Counts = append(out.Counts, &casedirectionv1.StatusCount{Status: caseStatus(st), Count: int32(n)})
		}
	}
	return out, nil
}

// planFromRequest validates an AdoptPlanRequest (every violation at once) and maps it to domain
// values. today is the service's day (App.Today): the dates are checked against it here, with
// the other fields; what needs the stored case (resident_agreed_on not before the case was
// opened, goals carried over) is AdoptPlan's, after these.
func planFromRequest(req *casedirectionv1.AdoptPlanRequest, today time.Time) (app.PlanInput, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id: required, a UUID (the proto).
	in := app.PlanInput{ResidentAgreed: req.GetResidentAgreed(), ResidentAgreedOn: req.GetResidentAgreedOn(), EvaluationDate: req.GetEvaluationDate()}
	// based_on_version: 0-1000000 when set (the proto); checked against the case by AdoptPlan.
	if req.BasedOnVersion != nil {
		based := int(req.GetBasedOnVersion())
		in.BasedOnVersion = &based
	}
	switch {
	case len(req.GetGoals()) == 0:
		v.Add("goals", "at least one goal is required")
	case len(req.GetGoals()) > maxGoals:
		v.Add("goals", "at most one goal per life domain")
	}
	// A violation about one goal names it by its 0-based index, as the proto's rules do
	// (goals[2].baseline_score); a duplicate names the later goal and says which came first.
	domains, ids := map[string]int{}, map[string]int{}
	for i, g := range req.GetGoals() {
		f := element("goals", i) + "."
		if g.GetGoalId() != "" {
			valid.UUID(&v, f+"goal_id", g.GetGoalId())
			if first, seen := ids[g.GetGoalId()]; seen {
				v.Add(f+"goal_id", "names the same goal a second time (as "+element("goals", first)+" does)")
			} else {
				ids[g.GetGoalId()] = i
			}
		}
		d := protoenum.Code(g.GetLifeDomain())
		if d == "" {
			v.Add(f+"life_domain", "required: one of the ZRM life domains")
		} else if first, seen := domains[d]; seen {
			v.Add(f+"life_domain", "one goal per life domain; "+d+" is "+element("goals", first)+"'s already")
		} else {
			domains[d] = i
		}
		v.Check(g.GetBaselineScore() >= 1 && g.GetBaselineScore() <= 5, f+"baseline_score", "must be a ZRM score 1-5")
		v.Check(g.GetTargetScore() >= 1 && g.GetTargetScore() <= 5, f+"target_score", "must be a ZRM score 1-5")
		if g.GetTargetScore() < g.GetBaselineScore() {
			v.Add(f+"target_score", "must not be below the baseline score")
		}
		in.Goals = append(in.Goals, app.NewGoal{ID: g.GetGoalId(), LifeDomain: d, Baseline: int(g.GetBaselineScore()), Target: int(g.GetTargetScore())})
	}
	if in.ResidentAgreed {
		if d := valid.Date(&v, "resident_agreed_on", in.ResidentAgreedOn); !d.IsZero() && d.After(today) {
			v.Add("resident_agreed_on", "must not be in the future")
		}
	} else if in.ResidentAgreedOn != "" {
		v.Add("resident_agreed_on", "only with resident_agreed")
	}
	if d := valid.Date(&v, "evaluation_date", in.EvaluationDate); !d.IsZero() {
		addRule(&v, domain.CheckEvaluationDate(d, today))
	}
	return in, v.Err()
}

// addRule adds a domain rule's FieldError (nil: nothing) to v.
func addRule(v *apperr.Validation, err error) {
	var fe *domain.FieldError
	if errors.As(err, &fe) {
		v.Add(fe.Field, fe.Msg)
	}
}

// AdoptPlan adopts a new plan version.
func (s *Server) AdoptPlan(ctx context.Context, req *casedirectionv1.AdoptPlanRequest) (*casedirectionv1.AdoptPlanResponse, error) {
	in, err := planFromRequest(req, s.app.Today())
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.AdoptPlanResponse { return &casedirectionv1.AdoptPlanResponse{} },
		func(ctx context.Context) (*casedirectionv1.AdoptPlanResponse, error) {
			c, err := s.app.AdoptPlan(ctx, req.GetCaseId(), in)
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.AdoptPlanResponse{Case: s.caseToProto(c)}, nil
		})
}

// startFromRequest validates a StartPlanExecutionRequest (every violation at once).
func startFromRequest(req *casedirectionv1.StartPlanExecutionRequest) error {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id: required, a UUID (the proto).
	return v.Err()
}

// StartPlanExecution moves PLAN_ADOPTED → IN_PROGRESS.
func (s *Server) StartPlanExecution(ctx context.Context, req *casedirectionv1.StartPlanExecutionRequest) (*casedirectionv1.StartPlanExecutionResponse, error) {
	err := startFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.StartPlanExecutionResponse {
		return &casedirectionv1.StartPlanExecutionResponse{}
	},
		func(ctx context.Context) (*casedirectionv1.StartPlanExecutionResponse, error) {
			c, err := s.app.StartPlanExecution(ctx, req.GetCaseId())
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.StartPlanExecutionResponse{Case: s.caseToProto(c)}, nil
		})
}

// goalActionFromRequest validates an AddGoalActionRequest (every violation at once).
func goalActionFromRequest(req *casedirectionv1.AddGoalActionRequest) error {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id, goal_id: required UUIDs (the proto).
	// Exactly one of them (a rule across fields); their formats are the proto's rules.
	if (req.GetReferralId() == "") == (req.GetAllocationNumber() == "") {
		v.Add("referral_id", "exactly one of referral_id and allocation_number is required")
	}
	return v.Err()
}

// AddGoalAction links a referral or allocation to a goal.
func (s *Server) AddGoalAction(ctx context.Context, req *casedirectionv1.AddGoalActionRequest) (*casedirectionv1.AddGoalActionResponse, error) {
	err := goalActionFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.AddGoalActionResponse { return &casedirectionv1.AddGoalActionResponse{} },
		func(ctx context.Context) (*casedirectionv1.AddGoalActionResponse, error) {
			c, err := s.app.AddGoalAction(ctx, req.GetCaseId(), req.GetGoalId(), domain.GoalAction{ReferralID: req.GetReferralId(), AllocationNumber: req.GetAllocationNumber()})
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.AddGoalActionResponse{Case: s.caseToProto(c)}, nil
		})
}

// goalStatusFromRequest validates a SetGoalStatusRequest (every violation at once) and maps it to domain values.
func goalStatusFromRequest(req *casedirectionv1.SetGoalStatusRequest) (string, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id, goal_id: required UUIDs (the proto).
	status := protoenum.Required(&v, "status", req.GetStatus())
	return status, v.Err()
}

// SetGoalStatus changes a goal's status.
func (s *Server) SetGoalStatus(ctx context.Context, req *casedirectionv1.SetGoalStatusRequest) (*casedirectionv1.SetGoalStatusResponse, error) {
	status, err := goalStatusFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.SetGoalStatusResponse { return &casedirectionv1.SetGoalStatusResponse{} },
		func(ctx context.Context) (*casedirectionv1.SetGoalStatusResponse, error) {
			c, err := s.app.SetGoalStatus(ctx, req.GetCaseId(), req.GetGoalId(), domain.GoalStatus(status))
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.SetGoalStatusResponse{Case: s.caseToProto(c)}, nil
		})
}

// evaluationFromRequest validates a RecordEvaluationRequest (every violation at once) and maps
// it to domain values; watch_until is checked against today (App.Today) here, with the other
// fields. What needs the stored case (its status, the assessments) is RecordEvaluation's.
func evaluationFromRequest(req *casedirectionv1.RecordEvaluationRequest, today time.Time) (app.EvaluationInput, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id: required, a UUID (the proto).
	in := app.EvaluationInput{AssessmentID: req.GetAssessmentId(), BaselineAssessmentID: req.GetBaselineAssessmentId()}
	// assessment_id: required, a UUID (the proto).
	// baseline_assessment_id: the proto's rule (empty or a UUID).
	in.Decision = protoenum.Required(&v, "decision", req.GetDecision())
	if in.Decision == domain.DecisionWatch {
		v.Check(req.GetCheckInIntervalDays() >= 1 && req.GetCheckInIntervalDays() <= 365, "check_in_interval_days", "must be 1-365 days for a pilot light")
		in.IntervalDays = int(req.GetCheckInIntervalDays())
		if in.Until = valid.Date(&v, "watch_until", req.GetWatchUntil()); !in.Until.IsZero() {
			addRule(&v, domain.CheckWatchUntil(in.Until, today))
		}
	} else {
		v.Check(req.GetCheckInIntervalDays() == 0, "check_in_interval_days", "only with decision WATCH")
		v.Check(req.GetWatchUntil() == "", "watch_until", "only with decision WATCH")
	}
	return in, v.Err()
}

// RecordEvaluation records an evaluation and applies its decision.
func (s *Server) RecordEvaluation(ctx context.Context, req *casedirectionv1.RecordEvaluationRequest) (*casedirectionv1.RecordEvaluationResponse, error) {
	in, err := evaluationFromRequest(req, s.app.Today())
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.RecordEvaluationResponse { return &casedirectionv1.RecordEvaluationResponse{} },
		func(ctx context.Context) (*casedirectionv1.RecordEvaluationResponse, error) {
			c, id, err := s.app.RecordEvaluation(ctx, req.GetCaseId(), in)
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.RecordEvaluationResponse{EvaluationId: id, Case: s.caseToProto(c)}, nil
		})
}

// conferenceFromRequest validates a RecordCaseConferenceRequest (every violation at once) and maps it to domain values.
func conferenceFromRequest(req *casedirectionv1.RecordCaseConferenceRequest) (domain.Conference, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id: required, a UUID (the proto).
	if d := valid.Date(&v, "held_on", req.GetHeldOn()); !d.IsZero() && d.After(domain.Day(time.Now())) {
		v.Add("held_on", "must not be in the future")
	}
	conf := domain.Conference{HeldOn: req.GetHeldOn(), Decisions: req.GetDecisions()}
	switch {
	case len(req.GetAttendees()) == 0:
		v.Add("attendees", "at least one attendee is required")
	case len(req.GetAttendees()) > maxAttendees:
		v.Add("attendees", "at most 50")
	}
	for i, a := range req.GetAttendees() {
		f := element("attendees", i) + "."
		orgType := protoenum.Code(a.GetOrganisationType())
		v.Check(knownOrgType(orgType), f+"organisation_type", "must be an organisation type other than SERVICE and INTEGRATOR")
		if a.GetOrganisationOin() != "" {
			valid.OIN(&v, f+"organisation_oin", a.GetOrganisationOin())
		}
		professionalID(&v, f+"professional_id", a.GetProfessionalId())
		conf.Attendees = append(conf.Attendees, domain.Attendee{OrganisationType: orgType, OrganisationOIN: a.GetOrganisationOin(),
			ProfessionalID: a.GetProfessionalId(), External: a.GetExternal()})
	}
	v.Check(len(conf.Decisions) <= maxDecisions, "decisions", "at most 50")
	for i, d := range conf.Decisions {
		if !utf8.ValidString(d) || utf8.RuneCountInString(d) < 1 || utf8.RuneCountInString(d) > maxDecisionRunes {
			v.Add(element("decisions", i), "must be 1-1000 characters of UTF-8")
		}
	}
	return conf, v.Err()
}

// RecordCaseConference records a case conference.
func (s *Server) RecordCaseConference(ctx context.Context, req *casedirectionv1.RecordCaseConferenceRequest) (*casedirectionv1.RecordCaseConferenceResponse, error) {
	conf, err := conferenceFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.RecordCaseConferenceResponse {
		return &casedirectionv1.RecordCaseConferenceResponse{}
	},
		func(ctx context.Context) (*casedirectionv1.RecordCaseConferenceResponse, error) {
			c, id, err := s.app.RecordConference(ctx, req.GetCaseId(), conf)
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.RecordCaseConferenceResponse{ConferenceId: id, Case: s.caseToProto(c)}, nil
		})
}

// checkInFromRequest validates a CheckInRequest (every violation at once).
func checkInFromRequest(req *casedirectionv1.CheckInRequest) error {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id: required, a UUID (the proto).
	return v.Err()
}

// CheckIn records a pilot-light check-in.
func (s *Server) CheckIn(ctx context.Context, req *casedirectionv1.CheckInRequest) (*casedirectionv1.CheckInResponse, error) {
	err := checkInFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.CheckInResponse { return &casedirectionv1.CheckInResponse{} },
		func(ctx context.Context) (*casedirectionv1.CheckInResponse, error) {
			c, err := s.app.CheckIn(ctx, req.GetCaseId(), req.GetReopen())
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.CheckInResponse{Case: s.caseToProto(c)}, nil
		})
}

// safetyFromRequest validates a RecordSafetyConcernRequest (every violation at once) and maps it to domain values.
func safetyFromRequest(req *casedirectionv1.RecordSafetyConcernRequest) (string, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id: required, a UUID (the proto).
	kind := protoenum.Required(&v, "kind", req.GetKind())
	protoenum.Required(&v, "meldcode_step", req.GetMeldcodeStep())
	return kind, v.Err()
}

// RecordSafetyConcern records a safety concern.
func (s *Server) RecordSafetyConcern(ctx context.Context, req *casedirectionv1.RecordSafetyConcernRequest) (*casedirectionv1.RecordSafetyConcernResponse, error) {
	kind, err := safetyFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.RecordSafetyConcernResponse {
		return &casedirectionv1.RecordSafetyConcernResponse{}
	},
		func(ctx context.Context) (*casedirectionv1.RecordSafetyConcernResponse, error) {
			c, err := s.app.RecordSafetyConcern(ctx, req.GetCaseId(), kind, int(req.GetMeldcodeStep()))
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.RecordSafetyConcernResponse{Case: s.caseToProto(c)}, nil
		})
}

// handOverFromRequest validates a HandOverRequest (every violation at once) and maps it to domain values.
func handOverFromRequest(req *casedirectionv1.HandOverRequest) (domain.Handover, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id: required, a UUID (the proto).
	h := domain.Handover{Recipient: protoenum.Required(&v, "recipient", req.GetRecipient()), RecipientOIN: req.GetRecipientOin(), Municipality: req.GetMunicipalityCode()}
	switch h.Recipient {
	case domain.HandoverOtherMunicipality:
		valid.Municipality(&v, "municipality_code", h.Municipality)
		// recipient_oin: optional here; its format is the proto's rule.
	case domain.HandoverVeiligThuis, domain.HandoverCertifiedInstitution:
		valid.OIN(&v, "recipient_oin", h.RecipientOIN)
		v.Check(h.Municipality == "", "municipality_code", "only for a handover to another municipality")
	}
	return h, v.Err()
}

// HandOver hands the case over.
func (s *Server) HandOver(ctx context.Context, req *casedirectionv1.HandOverRequest) (*casedirectionv1.HandOverResponse, error) {
	h, err := handOverFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.HandOverResponse { return &casedirectionv1.HandOverResponse{} },
		func(ctx context.Context) (*casedirectionv1.HandOverResponse, error) {
			c, err := s.app.HandOver(ctx, req.GetCaseId(), h)
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.HandOverResponse{Case: s.caseToProto(c)}, nil
		})
}

// closeFromRequest validates a CloseCaseRequest (every violation at once) and maps it to domain values.
func closeFromRequest(req *casedirectionv1.CloseCaseRequest) (string, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id: required, a UUID (the proto).
	result := protoenum.Required(&v, "result", req.GetResult())
	v.Check(req.GetResult() != commonv1.CaseResult_CASE_RESULT_HANDED_OVER, "result", "HANDED_OVER is set by HandOver")
	// assessment_id: required, a UUID (the proto).
	return result, v.Err()
}

// CloseCase closes the case with a result.
func (s *Server) CloseCase(ctx context.Context, req *casedirectionv1.CloseCaseRequest) (*casedirectionv1.CloseCaseResponse, error) {
	result, err := closeFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.CloseCaseResponse { return &casedirectionv1.CloseCaseResponse{} },
		func(ctx context.Context) (*casedirectionv1.CloseCaseResponse, error) {
			c, err := s.app.CloseCase(ctx, req.GetCaseId(), result, req.GetAssessmentId())
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.CloseCaseResponse{Case: s.caseToProto(c)}, nil
		})
}

// uuids checks every item of a repeated id field, naming a bad one by its index (goal_ids[1]).
func uuids(v *apperr.Validation, field string, ids []string) {
	for i, id := range ids {
		valid.UUID(v, element(field, i), id)
	}
}

// element names item i (0-based) of the repeated field list the way protovalidate does, so a
// caller with six goals learns which one is wrong: element("goals", 2)+".baseline_score" is
// goals[2].baseline_score.
func element(list string, i int) string { return list + "[" + strconv.Itoa(i) + "]" }

func professionalID(v *apperr.Validation, field, id string) {
	v.Check(professionalIDRe.MatchString(id), field, "must be an identifier of 1-64 letters, digits, '.', '_', ':' or '-'")
}

func knownOrgType(t string) bool {
	switch identity.OrgType(t) {
	case identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis, identity.OrgHousingCorporation,
		identity.OrgUtility, identity.OrgHealthInsurer, identity.OrgPolice, identity.OrgCreditBank,
		identity.OrgProvider, identity.OrgTeam, identity.OrgMunicipality:
		return true
	}
	return false
}

func caseStatus(s domain.Status) casedirectionv1.CaseStatus {
	return protoenum.FromCode[casedirectionv1.CaseStatus](string(s))
}

// caseToProto maps a case; its involvements are those active now.
func (s *Server) caseToProto(c domain.Case) *casedirectionv1.Case {
	now := s.app.Now()
	out := &casedirectionv1.Case{
		Id: c.ID, HouseholdId: c.HouseholdID, IntakeId: c.IntakeID, MunicipalityCode: c.Municipality,
		DistrictCode: c.District, TeamOin: c.TeamOIN, Status: caseStatus(c.Status),
		LifeDomains: protoenum.LifeDomains(c.LifeDomains), OpenedAt: timestamppb.New(c.OpenedAt),
		Result:         protoenum.FromCode[commonv1.CaseResult](c.Result),
		DomainOutcomes: protoconv.Outcomes(c.Details.Outcomes),
	}
	if c.ClosedAt != nil {
		out.ClosedAt = timestamppb.New(*c.ClosedAt)
	}
	if d := c.Director; d != nil {
		out.Director = &casedirectionv1.Director{ProfessionalId: d.ProfessionalID, TeamOin: d.TeamOIN, Since: timestamppb.New(d.Since)}
	}
	for _, a := range c.Allocations {
		out.Allocations = append(out.Allocations, &casedirectionv1.AllocationAction{
			AllocationNumber: a.Number, ProviderAgb: a.ProviderAGB, ProductCategory: a.ProductCategory,
			ProductCode: a.ProductCode, Status: protoenum.FromCode[commonv1.AllocationStatus](a.Status), UpdatedAt: timestamppb.New(a.UpdatedAt),
			Origin: protoenum.FromCode[casedirectionv1.AllocationOrigin](a.Origin), DecisionNumber: a.DecisionNumber,
		})
	}
	if p := c.Plan; p != nil {
		pp := &casedirectionv1.Plan{Version: int32(p.Version), AdoptedAt: timestamppb.New(p.AdoptedAt), AdoptedBy: p.AdoptedBy,
			ResidentAgreed: p.ResidentAgreed, ResidentAgreedOn: p.ResidentAgreedOn, EvaluationDate: p.EvaluationDate}
		for _, g := range p.Goals {
			pg := &casedirectionv1.Goal{Id: g.ID, LifeDomain: protoenum.FromCode[commonv1.LifeDomain](g.LifeDomain),
				BaselineScore: int32(g.Baseline), TargetScore: int32(g.Target), Status: protoconv.GoalStatus(g.Status)}
			for _, a := range g.Actions {
				ga := &casedirectionv1.GoalAction{ReferralId: a.ReferralID, AllocationNumber: a.AllocationNumber}
				if a.ReferralID != "" {
					ga.ReferralStatus = protoenum.FromCode[commonv1.ReferralStatus](a.Status)
				} else {
					ga.AllocationStatus = protoenum.FromCode[commonv1.AllocationStatus](a.Status)
				}
				pg.Actions = append(pg.Actions, ga)
			}
			pp.Goals = append(pp.Goals, pg)
		}
		out.Plan = pp
	}
	for _, r := range c.Referrals {
		ra := &casedirectionv1.ReferralAction{ReferralId: r.ReferralID, IntakeId: r.IntakeID}
		if r.Unreported() {
			// Linked, never reported on: no status and no time rather than a made-up one.
			ra.Unreported = true
		} else {
			ra.Status, ra.UpdatedAt = protoenum.FromCode[commonv1.ReferralStatus](r.Status), timestamppb.New(r.UpdatedAt)
		}
		out.Referrals = append(out.Referrals, ra)
	}
	d := c.Details
	for _, e := range d.Evaluations {
		pe := &casedirectionv1.Evaluation{Id: e.ID, EvaluatedAt: timestamppb.New(e.At), EvaluatedBy: e.By, AssessmentId: e.AssessmentID,
			BaselineAssessmentId: e.BaselineAssessmentID, Decision: protoenum.FromCode[casedirectionv1.EvaluationDecision](e.Decision)}
		for _, ch := range e.Changes {
			pe.Changes = append(pe.Changes, &commonv1.DomainChange{LifeDomain: protoenum.FromCode[commonv1.LifeDomain](ch.LifeDomain),
				FromScore: int32(ch.From), ToScore: int32(ch.To), Delta: int32(ch.Delta), Change: protoenum.FromCode[commonv1.ScoreChange](ch.Change)})
		}
		out.Evaluations = append(out.Evaluations, pe)
	}
	for _, t := range d.Todos {
		pt := &casedirectionv1.EvaluationTodo{Id: t.ID, Reason: protoenum.FromCode[casedirectionv1.EvaluationTodoReason](t.Reason), AllocationNumber: t.AllocationNumber, GoalIds: t.GoalIDs, CreatedAt: timestamppb.New(t.CreatedAt)}
		if t.DoneAt != nil {
			pt.DoneAt = timestamppb.New(*t.DoneAt)
		}
		out.EvaluationTodos = append(out.EvaluationTodos, pt)
	}
	for _, cf := range d.Conferences {
		pc := &casedirectionv1.CaseConference{Id: cf.ID, HeldOn: cf.HeldOn, Decisions: cf.Decisions, RecordedAt: timestamppb.New(cf.RecordedAt)}
		for _, a := range cf.Attendees {
			pc.Attendees = append(pc.Attendees, &casedirectionv1.Attendee{OrganisationType: protoenum.FromCode[commonv1.OrganisationType](a.OrganisationType), OrganisationOin: a.OrganisationOIN,
				ProfessionalId: a.ProfessionalID, External: a.External})
		}
		out.Conferences = append(out.Conferences, pc)
	}
	if w := c.Watch; w != nil && c.Status == domain.StatusWatch {
		pw := &casedirectionv1.Watch{CheckInIntervalDays: int32(w.IntervalDays), WatchUntil: w.Until.Format(time.DateOnly), MissedCheckIns: int32(w.Missed)}
		if w.NextCheckAt != nil {
			pw.NextCheckAt = timestamppb.New(*w.NextCheckAt)
		}
		if w.LastCheckInAt != nil {
			pw.LastCheckInAt = timestamppb.New(*w.LastCheckInAt)
		}
		out.Watch = pw
	}
	for _, s := range d.SafetyConcerns {
		out.SafetyConcerns = append(out.SafetyConcerns, &casedirectionv1.SafetyConcern{Kind: protoenum.FromCode[casedirectionv1.SafetyConcernKind](s.Kind),
			MeldcodeStep: casedirectionv1.MeldcodeStep(s.MeldcodeStep), RecordedAt: timestamppb.New(s.RecordedAt), UpdatedAt: timestamppb.New(s.UpdatedAt)})
	}
	for _, i := range c.Involvements {
		if i.ActiveAt(now) {
			out.Involvements = append(out.Involvements, involvementToProto(i, now))
		}
	}
	if h := c.Handover; h != nil {
		out.Handover = &casedirectionv1.Handover{Recipient: protoenum.FromCode[casedirectionv1.HandoverRecipient](h.Recipient),
			RecipientOin: h.RecipientOIN, MunicipalityCode: h.Municipality, At: timestamppb.New(h.At)}
	}
	return out
}
