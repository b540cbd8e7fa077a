package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A refused DraftDecision is logged under the resident (security.md: "another organisation's
// id answers NOT_FOUND … and the refusal is logged"). Team B names team A's intake (one that
// led to a case, and one that did not) and team A's case: each answer is NOT_FOUND naming the
// id sent, exactly as for an id nobody knows, and the resident's access history in
// provider-monitoring shows a DENIED providermonitoring.decision.create entry with B's
// organisation and user and the intake or case B named. Refused on the intake, the case it
// leads to is not read: case-direction has nothing of B's in the resident's history.
func TestRefusedDecisionDraftIsLoggedUnderTheResident(t *testing.T) {
	t.Parallel()
	_, s := startSuite(t, 3*time.Minute, suite.Options{})
	const bsnWithCase, bsnIntakeOnly = "123456782", "111222333"

	// Team A's intakes: three life domains are triaged to case direction at once (a case),
	// one life domain stays in the team's queue (no case).
	teamA := intakev1.NewIntakeServiceClient(dialAs(t, s, "team", s.Endpoint("intake").Addr))
	director := acting(t, "regisseur-anna", "case_director", "case-direction")
	register := func(bsn string, domains ...commonv1.LifeDomain) *intakev1.Intake {
		t.Helper()
		resp, err := teamA.RegisterIntake(director, &intakev1.RegisterIntakeRequest{IdempotencyKey: uuid.NewString(), Channel: intakev1.Channel_CHANNEL_DESK,
			ResidentBsn: bsn, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict, Question: "hulp gevraagd",
			LifeDomains: domains, Urgency: intakev1.Urgency_URGENCY_NORMAL})
		if err != nil {
			t.Fatalf("register intake: %v", err)
		}
		return resp.GetIntake()
	}
	withCase := register(bsnWithCase, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK)
	caseID := withCase.GetCaseId()
	if caseID == "" {
		t.Fatalf("the demo policy opens a case for three life domains: %v", withCase)
	}
	intakeOnly := register(bsnIntakeOnly, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES)
	if intakeOnly.GetCaseId() != "" {
		t.Fatalf("one life domain opens no case: %v", intakeOnly)
	}
	// Provider-monitoring learns the case's residents from case-direction's events.
	pmDSN := s.Postgres.DSN("providermonitoring")
	waitUntil(t, "the case's residents in provider-monitoring", func() bool {
		return queryOne[int64](t, pmDSN, `SELECT count(*) FROM case_residents WHERE case_id = $1`, caseID) > 0
	})

	// Team B: another neighbourhood team with a certificate of the regional CA.
	teamB := devca.Org{OIN: "00000002000000000777", Name: "Sociaal Wijkteam Elders", Type: string(identity.OrgTeam)}
	decisionsB := providermonitoringv1.NewDecisionServiceClient(refusalDial(t, s, teamB, s.Endpoint("providermonitoring").Addr))
	const intruder = "u-team2"
	asB := func() context.Context { return acting(t, intruder, "case_director", "decisions") }
	draft := func(intakeID, caseID string) *providermonitoringv1.DraftDecisionRequest {
		return &providermonitoringv1.DraftDecisionRequest{IdempotencyKey: uuid.NewString(), IntakeId: intakeID, CaseId: caseID,
			LegalBasis: providermonitoringv1.LegalBasis_LEGAL_BASIS_JEUGDWET_2_3, Outcome: providermonitoringv1.DecisionOutcome_DECISION_OUTCOME_GRANTED,
			Product: &providermonitoringv1.Product{Category: suite.DemoProductCategory, Code: suite.DemoProductCode}, ProviderAgb: suite.DemoProviderAGB,
			StartDate: nowNL().Format(time.DateOnly), EndDate: nowNL().AddDate(0, 6, 0).Format(time.DateOnly), Volume: hoursPerWeek(2)}
	}
	// refused calls DraftDecision as B and wants the answer an unknown id of the same kind gets.
	refused := func(req *providermonitoringv1.DraftDecisionRequest, named string) {
		t.Helper()
		_, err := decisionsB.DraftDecision(asB(), req)
		unknown := uuid.NewString()
		probe := draft("", "")
		if req.GetCaseId() != "" {
			probe.CaseId = unknown
		} else {
			probe.IntakeId = unknown
		}
		_, want := decisionsB.DraftDecision(asB(), probe)
		// Code, message and the ResourceInfo naming the id: the same but for the id.
		if status.Code(err) != codes.NotFound || !strings.Contains(describe(err), `"resourceName":"`+named+`"`) ||
			status.Code(want) != codes.NotFound || strings.ReplaceAll(describe(want), unknown, named) != describe(err) {
			t.Errorf("team B on %s: got %s, want what an unknown id gets (%s) naming %s", named, describe(err), describe(want), named)
		}
	}
	history := func(service, bsn string) []*accesslogv1.AccessEntry {
		t.Helper()
		cc := dialAs(t, s, "municipality", s.Endpoint(service).Addr)
		resp, err := accesslogv1.NewAccessLogServiceClient(cc).ListResidentAccess(acting(t, "privacy-officer", "privacy_officer", "right-of-access"),
			&accesslogv1.ListResidentAccessRequest{ResidentBsn: bsn, PageSize: 1000})
		if err != nil {
			t.Fatalf("%s: access history: %v", service, err)
		}
		return resp.GetEntries()
	}
	wantDenied := func(bsn, objectType, objectID string) {
		t.Helper()
		var seen []string
		for _, e := range history("providermonitoring", bsn) {
			if e.GetAction() == "providermonitoring.decision.create" && e.GetOutcome() == "DENIED" && e.GetObjectType() == objectType &&
				e.GetObjectId() == objectID && e.GetOrganisationOin() == teamB.OIN && e.GetUser() == intruder && e.GetRoute() == "NONE" {
				return
			}
			seen = append(seen, strings.Join([]string{e.GetAction(), e.GetObjectType(), e.GetObjectId(), e.GetOrganisationOin(), e.GetUser(), e.GetRoute(), e.GetOutcome()}, " "))
		}
		t.Errorf("no DENIED providermonitoring.decision.create on %s %s by %s/%s in the resident's history; got %q", objectType, objectID, teamB.OIN, intruder, seen)
	}
	byIntruder := func(service, bsn string) []string {
		var out []string
		for _, e := range history(service, bsn) {
			if e.GetUser() == intruder {
				out = append(out, strings.Join([]string{e.GetAction(), e.GetObjectType(), e.GetRoute(), e.GetOutcome()}, " "))
			}
		}
		return out
	}

	// B names A's intake that led to a case.
	refused(draft(withCase.GetId(), ""), withCase.GetId())
	wantDenied(bsnWithCase, "intake", withCase.GetId())
	// Refused on the intake, so the case was not read for B.
	if got := byIntruder("casedirection", bsnWithCase); len(got) != 0 {
		t.Errorf("case-direction read the case for team B, whose draft the intake already refused: %v", got)
	}
	// B names A's case.
	refused(draft("", caseID), caseID)
	wantDenied(bsnWithCase, "case", caseID)
	// B names A's intake without a case.
	refused(draft(intakeOnly.GetId(), ""), intakeOnly.GetId())
	wantDenied(bsnIntakeOnly, "intake", intakeOnly.GetId())

	// What each service's history of the two residents shows of B (the peers' reads for B as
	// a Wijkbrug service are theirs to log).
	for _, bsn := range []string{bsnWithCase, bsnIntakeOnly} {
		for _, service := range []string{"intake", "casedirection", "providermonitoring"} {
			t.Logf("resident %s…, %s: %q", bsn[:3], service, byIntruder(service, bsn))
		}
	}

	// Positive control: A drafts on its own case (the refusals are B's, not everyone's).
	decisionsA := providermonitoringv1.NewDecisionServiceClient(dialAs(t, s, "team", s.Endpoint("providermonitoring").Addr))
	if _, err := decisionsA.DraftDecision(acting(t, "regisseur-anna", "case_director", "decisions"), draft(withCase.GetId(), "")); err != nil {
		t.Fatalf("team A drafts on its own intake: %s", describe(err))
	}
}

// refusalDial connects to addr with a client certificate for org issued by the suite's CA.
func refusalDial(t *testing.T, s *suite.Suite, org devca.Org, addr string) *grpc.ClientConn {
	t.Helper()
	ca, err := devca.LoadOrCreate(filepath.Join(s.DataDir, "pki"), devca.DevCAName)
	if err != nil {
		t.Fatal(err)
	}
	cert, _, _, err := ca.IssueClient(org, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return dialWithCert(t, s, cert, addr)
}
