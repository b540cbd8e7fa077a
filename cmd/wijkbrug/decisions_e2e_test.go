package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	casedirection "github.com/wijkbrug/wijkbrug/services/case-direction/service"
	intake "github.com/wijkbrug/wijkbrug/services/intake/service"
	providermonitoring "github.com/wijkbrug/wijkbrug/services/provider-monitoring/service"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Issue 17, decisions: real intake, case-direction and provider-monitoring (with their own
// databases, NATS and mTLS, started by svctest; referral is not needed and is an empty fake).
// A triaged intake with a case plan → one drafting call → a decision with every required
// element → decided under mandate (a second official above the threshold; an official
// outside the mandate refused, naming it) → the allocation issued in provider-monitoring
// carries the decision number.
func TestDecisionFromTriagedIntakeToAllocation(t *testing.T) {
	t.Parallel()
	env := svctest.New(t)
	inAddr, cdAddr, pmAddr := env.Reserve(t), env.Reserve(t), env.Reserve(t)
	refAddr := env.ServeFake(t, func(r grpc.ServiceRegistrar) {
		referralv1.RegisterReferralServiceServer(r, referralv1.UnimplementedReferralServiceServer{})
	})
	peers := func(self string) func(*svc.Config) {
		return func(c *svc.Config) {
			c.GRPCAddr, c.RESTAddr = self, "off"
			c.IntakeAddr, c.CaseDirectionAddr, c.ProviderMonitoringAddr, c.ReferralAddr = inAddr, cdAddr, pmAddr, refAddr
		}
	}
	env.Start(t, casedirection.Spec(), peers(cdAddr))
	intakeSvc := env.Start(t, intake.Spec(), peers(inAddr))
	pm := env.Start(t, providermonitoring.Spec(), peers(pmAddr))

	team := svctest.Org(identity.OrgTeam, "Sociaal Wijkteam Centrum")
	muni := svctest.Org(identity.OrgMunicipality, "Gemeente Demo")
	provider := svctest.Org(identity.OrgProvider, "Zorggroep De Brug")
	const municipality, district, agb, category, product = "GM0363", "WK036300", "12345678", "45", "45A01"
	seed := svctest.Ctx(t)
	if err := providermonitoring.SeedDemo(seed, pm.DSN, providermonitoring.DemoProvider{AGB: agb, Name: provider.Name, OIN: provider.OIN,
		Municipality: municipality, ProductCategory: category, ProductCode: product}); err != nil {
		t.Fatal(err)
	}
	if err := providermonitoring.SeedMunicipalOrganisations(seed, pm.DSN, municipality, muni.OIN); err != nil {
		t.Fatal(err)
	}
	act := func(user, role string) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t.Cleanup(cancel)
		return grpcx.ActingUser(ctx, user, role, "decisions")
	}
	director := act("regisseur-anna", "case_director")

	// A triaged intake with a case and an adopted plan, for a resident the team registered with
	// name and address (once, in intake: the decision letter does not ask for them again).
	in := intakev1.NewIntakeServiceClient(env.Client(t, inAddr, team))
	resident, err := in.RegisterResident(director, &intakev1.RegisterResidentRequest{IdempotencyKey: uuid.NewString(), Bsn: residentBSN,
		MunicipalityCode: municipality, DistrictCode: district,
		Name:    &intakev1.PersonName{GivenNames: "Anna Maria", FamilyNamePrefix: "de", FamilyName: "Vries"},
		Address: &intakev1.Address{Street: "Kerkstraat", HouseNumber: 1, HouseNumberAddition: "A", Postcode: "1011ab", City: "Amsterdam"}})
	if err != nil {
		t.Fatalf("register resident: %v", err)
	}
	domains := []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_DAYTIME_ACTIVITIES, commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK, commonv1.LifeDomain_LIFE_DOMAIN_MENTAL_HEALTH}
	reg, err := in.RegisterIntake(director, &intakev1.RegisterIntakeRequest{IdempotencyKey: uuid.NewString(), Channel: intakev1.Channel_CHANNEL_DESK,
		ResidentBsn: residentBSN, MunicipalityCode: municipality, DistrictCode: district, Question: "Onze zoon gaat niet meer naar school",
		LifeDomains: domains, Urgency: intakev1.Urgency_URGENCY_NORMAL})
	if err != nil {
		t.Fatalf("register intake: %v", err)
	}
	intakeID := reg.GetIntake().GetId()
	// Three life domains: the demo municipality's policy triages it at once (rule "complex")
	// and intake opens the case in case-direction; otherwise the team triages it.
	caseID := reg.GetIntake().GetCaseId()
	if caseID == "" {
		if _, err := in.StartTriage(director, &intakev1.StartTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: intakeID}); err != nil {
			t.Fatalf("start triage: %v", err)
		}
		triaged, err := in.DecideTriage(director, &intakev1.DecideTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: intakeID,
			Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION})
		if err != nil || triaged.GetIntake().GetCaseId() == "" {
			t.Fatalf("triage: %v %v", triaged, err)
		}
		caseID = triaged.GetIntake().GetCaseId()
	}
	cd := casedirectionv1.NewCaseDirectionServiceClient(env.Client(t, cdAddr, team))
	if _, err := cd.AssignDirector(director, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: uuid.NewString(), CaseId: caseID, ProfessionalId: "regisseur-anna"}); err != nil {
		t.Fatalf("assign director: %v", err)
	}
	today := nowNL().Format(time.DateOnly)
	if _, err := cd.AdoptPlan(director, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: uuid.NewString(), CaseId: caseID,
		Goals: []*casedirectionv1.GoalInput{
			{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_DAYTIME_ACTIVITIES, BaselineScore: 2, TargetScore: 4},
			{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK, BaselineScore: 1, TargetScore: 3},
		},
		ResidentAgreed: true, ResidentAgreedOn: today, EvaluationDate: nowNL().AddDate(0, 3, 0).Format(time.DateOnly)}); err != nil {
		t.Fatalf("adopt plan: %v", err)
	}

	// One drafting call.
	decisions := providermonitoringv1.NewDecisionServiceClient(env.Client(t, pmAddr, team))
	draft := func(hours int32) *providermonitoringv1.Decision {
		t.Helper()
		resp, err := decisions.DraftDecision(director, &providermonitoringv1.DraftDecisionRequest{IdempotencyKey: uuid.NewString(), CaseId: caseID,
			LegalBasis: providermonitoringv1.LegalBasis_LEGAL_BASIS_JEUGDWET_2_3, Outcome: providermonitoringv1.DecisionOutcome_DECISION_OUTCOME_GRANTED,
			Product: &providermonitoringv1.Product{Category: category, Code: product}, ProviderAgb: agb,
			StartDate: today, EndDate: nowNL().AddDate(0, 6, 0).Format(time.DateOnly), Volume: hoursPerWeek(hours)})
		if err != nil {
			t.Fatalf("draft: %v", err)
		}
		return resp.GetDecision()
	}
	d := draft(12)
	missing := []string{}
	check := func(ok bool, element string) {
		if !ok {
			missing = append(missing, element)
		}
	}
	check(d.GetIntakeId() == intakeID && d.GetCaseId() == caseID, "intake and case")
	check(d.GetResidentId() == reg.GetIntake().GetResidentId() && d.GetResidentId() != "", "applicant")
	check(d.GetHouseholdId() == reg.GetIntake().GetHouseholdId() && d.GetHouseholdId() != "", "household")
	check(d.GetLegalBasis() == providermonitoringv1.LegalBasis_LEGAL_BASIS_JEUGDWET_2_3 && d.GetGranted(), "legal basis and outcome")
	check(d.GetProduct().GetCategory() == category && d.GetProduct().GetCode() == product, "product")
	check(d.GetProviderAgb() == agb && d.GetForm() == providermonitoringv1.AllocationForm_ALLOCATION_FORM_IN_KIND, "provider and form")
	check(d.GetStartDate() == today && d.GetEndDate() != "", "period")
	check(d.GetVolume().GetAmount() == 12 && d.GetVolume().GetUnit() == commonv1.VolumeUnit_VOLUME_UNIT_HOUR, "volume and frequency")
	goals := d.GetMotivation().GetGoals()
	check(len(goals) == 2 && goals[0].GetGoalId() != "" && goals[0].GetBaselineScore() == 2 && goals[0].GetTargetScore() == 4, "motivation: goals with ZRM scores")
	check(len(d.GetMotivation().GetLifeDomains()) == 3 && d.GetMotivation().GetTriageOutcome() == "CASE_DIRECTION", "motivation: triage")
	check(strings.Contains(d.GetObjectionClause(), "zes weken"), "objection clause")
	check(d.GetOwnContributionNotice() == "", "no own contribution for youth care")
	check(d.GetApplicationDate() != "" && d.GetDueDate() > d.GetApplicationDate(), "application and due date")
	check(d.GetResidentId() == resident.GetResident().GetId(), "the registered resident")
	check(d.GetAddresseeKnown(), "the applicant's registered name and address, read from intake")
	if len(missing) > 0 {
		t.Fatalf("draft lacks %v: %v", missing, d)
	}
	if _, err := decisions.ProposeDecision(director, &providermonitoringv1.ProposeDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: d.GetId()}); err != nil {
		t.Fatalf("propose: %v", err)
	}

	// Decided under mandate: 12 hours a week is above the youth consultant's four-eyes
	// threshold (10), so a second official co-signs.
	officials := providermonitoringv1.NewDecisionServiceClient(env.Client(t, pmAddr, muni))
	first, err := officials.DecideDecision(act("consulent-dirk", "youth_consultant"), &providermonitoringv1.DecideDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: d.GetId()})
	if err != nil || !first.GetDecision().GetAwaitingSecondOfficial() || first.GetDecision().GetNumber() != "" {
		t.Fatalf("first signature: %v %v", first, err)
	}
	decided, err := officials.DecideDecision(act("hoofd-carla", "department_head"), &providermonitoringv1.DecideDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: d.GetId()})
	if err != nil {
		t.Fatalf("second signature: %v", err)
	}
	dec := decided.GetDecision()
	if dec.GetStatus() != providermonitoringv1.DecisionStatus_DECISION_STATUS_DECIDED || dec.GetNumber() == "" || dec.GetMandate() != "jeugd-consulent" ||
		dec.GetDecidedBy() != "consulent-dirk" || dec.GetSecondOfficial() != "hoofd-carla" || !dec.GetWithinStatutoryTerm() {
		t.Fatalf("decided: %v", dec)
	}

	// The allocation issued in provider-monitoring carries the number.
	if len(decided.GetAllocations()) != 1 || decided.GetAllocations()[0].GetDecisionNumber() != dec.GetNumber() {
		t.Fatalf("allocations: %v", decided.GetAllocations())
	}
	number := decided.GetAllocations()[0].GetNumber()
	allocations := providermonitoringv1.NewProviderMonitoringServiceClient(env.Client(t, pmAddr, muni))
	got, err := allocations.GetAllocation(act("consulent-dirk", "youth_consultant"), &providermonitoringv1.GetAllocationRequest{AllocationNumber: number})
	if err != nil || got.GetAllocation().GetDecisionNumber() != dec.GetNumber() || got.GetAllocation().GetCaseId() != caseID {
		t.Fatalf("GetAllocation: %v %v", got, err)
	}
	forProvider := providermonitoringv1.NewProviderMonitoringServiceClient(env.Client(t, pmAddr, provider))
	mine, err := forProvider.ListMyAllocations(act("zorg-piet", "care_coordinator"), &providermonitoringv1.ListMyAllocationsRequest{})
	if err != nil || len(mine.GetAllocations()) != 1 || mine.GetAllocations()[0].GetDecisionNumber() != dec.GetNumber() {
		t.Fatalf("the provider's allocation: %v %v", mine, err)
	}

	// The case shows the allocation and the decision it was issued under (case-direction
	// follows allocation.issued, which carries the decision number).
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := cd.GetCase(director, &casedirectionv1.GetCaseRequest{CaseId: caseID})
		if err != nil {
			t.Fatalf("get case: %v", err)
		}
		shown := false
		for _, a := range c.GetCase().GetAllocations() {
			shown = shown || (a.GetAllocationNumber() == number && a.GetDecisionNumber() == dec.GetNumber())
		}
		if shown {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the case does not show allocation %s with decision %s: %v", number, dec.GetNumber(), c.GetCase().GetAllocations())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The letter renders (HTML now; the PDF is stored when the decision is sent) and holds the
	// required elements, addressed to the resident as intake registered them: nobody typed the
	// name or address.
	html, err := officials.RenderDecisionLetter(act("consulent-dirk", "youth_consultant"), &providermonitoringv1.RenderDecisionLetterRequest{DecisionId: d.GetId(),
		Format: providermonitoringv1.LetterFormat_LETTER_FORMAT_HTML, ClientName: "Sem de Vries"})
	if err != nil {
		t.Fatalf("render HTML: %v", err)
	}
	for _, want := range []string{dec.GetNumber(), "Jeugdwet", "6 weken", provider.Name, "Sem de Vries", "A.M. de Vries", "Kerkstraat 1A", "1011 AB", "Amsterdam", "Tijdsbesteding"} {
		if !strings.Contains(string(html.GetContent()), want) {
			t.Errorf("the letter lacks %q", want)
		}
	}
	// Intake logged the read under the resident: provider-monitoring as a service, for the team.
	if n := queryOne[int64](t, intakeSvc.DSN, `SELECT count(*) FROM access_log_entries WHERE action = 'intake.resident.read' AND object_id = $1
		AND route = 'SERVICE' AND outcome = 'GRANTED' AND org_type = 'SERVICE' AND on_behalf_of = $2 AND resident_pseudonym <> ''`,
		resident.GetResident().GetId(), team.OIN); n == 0 {
		t.Error("intake did not log provider-monitoring's read of the resident (route SERVICE, on behalf of the team)")
	}
	// A recipient typed by the caller still overrides (e.g. a legal representative).
	other, err := officials.RenderDecisionLetter(act("consulent-dirk", "youth_consultant"), &providermonitoringv1.RenderDecisionLetterRequest{DecisionId: d.GetId(),
		Format: providermonitoringv1.LetterFormat_LETTER_FORMAT_HTML, ClientName: "Sem de Vries",
		Recipient: &providermonitoringv1.LetterRecipient{Name: "mr. B. Bakker", Street: "Dorpsstraat 2", PostalCode: "1012 CD", City: "Amsterdam"}})
	if err != nil || !strings.Contains(string(other.GetContent()), "Dorpsstraat 2") || strings.Contains(string(other.GetContent()), "Kerkstraat") {
		t.Fatalf("render for a typed recipient: %v", err)
	}
	sent, err := officials.SendDecision(act("consulent-dirk", "youth_consultant"), &providermonitoringv1.SendDecisionRequest{IdempotencyKey: uuid.NewString(),
		DecisionId: d.GetId(), ClientName: "Sem de Vries"})
	if err != nil || !sent.GetDecision().GetLetterStored() || sent.GetDecision().GetObjectionDeadline() == "" {
		t.Fatalf("send: %v %v", sent, err)
	}
	stored, err := decisions.RenderDecisionLetter(director, &providermonitoringv1.RenderDecisionLetterRequest{DecisionId: d.GetId(),
		Format: providermonitoringv1.LetterFormat_LETTER_FORMAT_PDF})
	if err != nil || stored.GetContentType() != "application/pdf" || !strings.HasPrefix(string(stored.GetContent()), "%PDF-") {
		t.Fatalf("stored letter: %v", err)
	}
	if text := pdfToText(t, stored.GetContent()); !strings.Contains(text, dec.GetNumber()) || !strings.Contains(text, "bezwaar") ||
		!strings.Contains(text, "A.M. de Vries") || !strings.Contains(text, "Kerkstraat 1A") {
		t.Fatalf("the stored PDF does not show the decision: %.300s", text)
	}
	// At rest the letter (name and address) is sealed.
	var atRest, addresseeAtRest []byte
	if err := pm.Pool.QueryRow(context.Background(), `SELECT letter, addressee FROM decisions WHERE id = $1`, d.GetId()).Scan(&atRest, &addresseeAtRest); err != nil {
		t.Fatal(err)
	}
	if len(atRest) == 0 || strings.HasPrefix(string(atRest), "%PDF") || strings.Contains(string(atRest), "Kerkstraat") {
		t.Fatal("the stored letter is not sealed")
	}
	if len(addresseeAtRest) == 0 || strings.Contains(string(addresseeAtRest), "Kerkstraat") || strings.Contains(string(addresseeAtRest), "Vries") {
		t.Fatal("the addressee read from intake is not stored sealed")
	}

	// Outside the mandate: 50 hours a week exceeds the youth consultant's maximum (40).
	big := draft(50)
	if _, err := decisions.ProposeDecision(director, &providermonitoringv1.ProposeDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: big.GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err = officials.DecideDecision(act("consulent-dirk", "youth_consultant"), &providermonitoringv1.DecideDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: big.GetId()})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), `mandate "jeugd-consulent"`) {
		t.Fatalf("outside mandate: %v", err)
	}
}

// pdfToText reads a PDF with a real reader (pdftotext, poppler-utils, as the letter's own tests).
func pdfToText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext not found (%v): install poppler-utils", err)
	}
	in := filepath.Join(t.TempDir(), "letter.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext cannot read the PDF: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}
