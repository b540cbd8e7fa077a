package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestEmergencyAccess breaks the glass on every kind of record a professional may need in an
// acute situation: refused before, readable with a grant for exactly that professional and
// record, still refused to a colleague, and flagged EMERGENCY in the service's access log.
func TestEmergencyAccess(t *testing.T) {
	t.Parallel()
	_, s := startSuite(t, 3*time.Minute, suite.Options{})
	env := newBolaEnv(t, s)
	f := setupBolaFixture(t, env)
	night := actor{"night shift", "other-TEAM", "case_director"}
	colleague := actor{"colleague", "other-TEAM", "case_director"}
	records := []struct {
		endpoint, objectType, id, method string
		req                              proto.Message
	}{
		{"casedirection", "case", f.caseA, casedirectionv1.CaseDirectionService_GetCase_FullMethodName, &casedirectionv1.GetCaseRequest{CaseId: f.caseA}},
		{"intake", "intake", f.intakeCase, intakev1.IntakeService_GetIntake_FullMethodName, &intakev1.GetIntakeRequest{IntakeId: f.intakeCase}},
		{"intake", "resident", f.resident1, intakev1.IntakeService_GetResident_FullMethodName, &intakev1.GetResidentRequest{ResidentId: f.resident1}},
		{"intake", "household", f.household1, intakev1.IntakeService_GetHousehold_FullMethodName, &intakev1.GetHouseholdRequest{HouseholdId: f.household1}},
		{"providermonitoring", "decision", f.decision, providermonitoringv1.DecisionService_GetDecision_FullMethodName, &providermonitoringv1.GetDecisionRequest{DecisionId: f.decision}},
		{"providermonitoring", "allocation", f.allocation, providermonitoringv1.ProviderMonitoringService_GetAllocation_FullMethodName,
			&providermonitoringv1.GetAllocationRequest{AllocationNumber: f.allocation}},
		{"referral", "signal", f.signal, referralv1.ReferralService_GetSignal_FullMethodName, &referralv1.GetSignalRequest{SignalId: f.signal}},
		{"referral", "referral", f.refSent, referralv1.ReferralService_GetReferral_FullMethodName, &referralv1.GetReferralRequest{ReferralId: f.refSent}},
	}
	t.Run("a record type no read of the service checks a grant for is refused, naming those that are", func(t *testing.T) {
		for endpoint, typ := range map[string]string{"intake": "foo", "casedirection": "intake", "referral": "case"} {
			_, err := env.invoke(t, endpoint, accesslogv1.AccessLogService_StartEmergencyAccess_FullMethodName, night,
				&accesslogv1.StartEmergencyAccessRequest{ObjectType: typ, ObjectId: f.caseA, Reason: "resident in acute danger; own team unreachable at night", DurationMinutes: 15})
			if status.Code(err) != codes.InvalidArgument || !slices.Contains(badRequestFields(err), "object_type") ||
				!strings.Contains(fmt.Sprint(status.Convert(err).Details()), "an emergency grant opens here") {
				t.Errorf("%s at %s: want INVALID_ARGUMENT on object_type naming the types, got %v", typ, endpoint, err)
			}
		}
	})
	t.Run("a reason of spaces, a wildcard id and a BSN as the id are refused", func(t *testing.T) {
		for _, req := range []*accesslogv1.StartEmergencyAccessRequest{
			{ObjectType: "case", ObjectId: f.caseA, Reason: strings.Repeat(" ", 25), DurationMinutes: 15},
			{ObjectType: "case", ObjectId: "*", Reason: "resident in acute danger; own team unreachable at night", DurationMinutes: 15},
			{ObjectType: "resident", ObjectId: f.bsn1, Reason: "resident in acute danger; own team unreachable at night", DurationMinutes: 15},
		} {
			field := map[bool]string{true: "reason", false: "object_id"}[req.GetObjectId() == f.caseA]
			_, err := env.invoke(t, "intake", accesslogv1.AccessLogService_StartEmergencyAccess_FullMethodName, night, req)
			if status.Code(err) != codes.InvalidArgument || !slices.Contains(badRequestFields(err), field) {
				t.Errorf("%s %q: want INVALID_ARGUMENT on %s, got %v", req.GetObjectType(), req.GetObjectId(), field, err)
			}
			if strings.Contains(status.Convert(err).Message(), f.bsn1) {
				t.Errorf("the refusal repeats the BSN: %v", err)
			}
		}
		if n := queryOne[int64](t, s.Postgres.DSN("intake"), `SELECT count(*) FROM access_log WHERE object_id = $1`, f.bsn1); n != 0 {
			t.Fatalf("the BSN is in the access log %d times", n)
		}
	})
	// The case holds a conference decision: the team's own free text, which an involved
	// partner does not see and a grant does not open either.
	mustCall[*casedirectionv1.RecordCaseConferenceResponse](t, env, "casedirection", casedirectionv1.CaseDirectionService_RecordCaseConference_FullMethodName, ownerTeam,
		&casedirectionv1.RecordCaseConferenceRequest{IdempotencyKey: "emergency-conference", CaseId: f.caseA, HeldOn: f.today,
			Attendees: []*casedirectionv1.Attendee{{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, ProfessionalId: "regisseur-anna"}},
			Decisions: []string{fixtureConferenceDecision}})
	for _, r := range records {
		t.Run(r.objectType, func(t *testing.T) {
			if _, err := env.invoke(t, r.endpoint, r.method, night, r.req); status.Code(err) != codes.NotFound {
				t.Fatalf("before the grant: want NOT_FOUND, got %v", err)
			}
			if _, err := env.invoke(t, r.endpoint, accesslogv1.AccessLogService_StartEmergencyAccess_FullMethodName, night,
				&accesslogv1.StartEmergencyAccessRequest{ObjectType: r.objectType, ObjectId: r.id, Reason: "resident in acute danger; own team unreachable at night", DurationMinutes: 15}); err != nil {
				t.Fatalf("start emergency access: %v", err)
			}
			got, err := env.invoke(t, r.endpoint, r.method, night, r.req)
			if err != nil {
				t.Fatalf("with the grant: %v", err)
			}
			if c, ok := got.(*casedirectionv1.GetCaseResponse); ok {
				confs := c.GetCase().GetConferences()
				if len(confs) != 1 || len(confs[0].GetDecisions()) != 0 {
					t.Fatalf("a grant opens the case as an involvement does, without the conference decisions; got %v", confs)
				}
			}
			if _, err := env.invoke(t, r.endpoint, r.method, colleague, r.req); status.Code(err) != codes.NotFound {
				t.Fatalf("a colleague without a grant: want NOT_FOUND, got %v", err)
			}
			if n := queryOne[int64](t, s.Postgres.DSN(r.endpoint), `SELECT count(*) FROM access_log_entries WHERE route = 'EMERGENCY' AND object_id = $1 AND outcome = 'GRANTED'`, r.id); n != 2 {
				t.Fatalf("want the grant and the read flagged EMERGENCY, got %d entries", n)
			}
			// The reason is free text about the resident: stored sealed only, read back by the
			// privacy officer.
			if n := queryOne[int64](t, s.Postgres.DSN(r.endpoint), `SELECT count(*) FROM emergency_grants WHERE object_id = $1 AND reason = ''
				AND reason_enc IS NOT NULL AND position(convert_to('acute danger', 'UTF8') in reason_enc) = 0`, r.id); n != 1 {
				t.Fatalf("the grant's reason must be stored sealed, found %d sealed grants", n)
			}
			list, err := env.invoke(t, r.endpoint, accesslogv1.AccessLogService_ListEmergencyAccess_FullMethodName, actor{"privacy officer", "municipality", "privacy_officer"},
				&accesslogv1.ListEmergencyAccessRequest{Since: timestamppb.New(time.Now().Add(-time.Hour))})
			if err != nil {
				t.Fatalf("the privacy officer's list: %v", err)
			}
			found := false
			for _, g := range list.(*accesslogv1.ListEmergencyAccessResponse).GetGrants() {
				found = found || (g.GetObjectId() == r.id && g.GetReason() == "resident in acute danger; own team unreachable at night")
			}
			if !found {
				t.Fatalf("the privacy officer does not read the grant's reason back: %v", list)
			}
		})
	}
}
