package service_test

import (
	"bytes"
	"context"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"slices"
	"strings"
	"testing"
	"time"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	"github.com/google/uuid"
	pmv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/service"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

func TestEveryMethodHasARule(t *testing.T) {
	t.Parallel()
	spec := service.Spec()
	if missing := spec.Policy.Uncovered(spec.Services...); len(missing) > 0 {
		t.Fatalf("methods without a rule: %v", missing)
	}
}

// municipal adds a municipality (role contract_manager) and a team acting for GM0363, and a
// team of another municipality.
func (w *world) municipal(t *testing.T) (muni, team, otherTeam pmv1.ProviderMonitoringServiceClient) {
	t.Helper()
	m := svctest.Org(identity.OrgMunicipality, "Gemeente Amsterdam")
	tm := svctest.Org(identity.OrgTeam, "Sociaal Wijkteam Centrum")
	other := svctest.Org(identity.OrgTeam, "Sociaal Wijkteam Elders")
	ctx := svctest.Ctx(t)
	if err := service.SeedMunicipalOrganisations(ctx, w.svc.DSN, municipality, m.OIN, tm.OIN); err != nil {
		t.Fatal(err)
	}
	if err := service.SeedMunicipalOrganisations(ctx, w.svc.DSN, "GM0599", other.OIN); err != nil {
		t.Fatal(err)
	}
	return pmv1.NewProviderMonitoringServiceClient(w.env.Client(t, w.svc.Addr, m)),
		pmv1.NewProviderMonitoringServiceClient(w.env.Client(t, w.svc.Addr, tm)),
		pmv1.NewProviderMonitoringServiceClient(w.env.Client(t, w.svc.Addr, other))
}

func asRole(t *testing.T, role string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return grpcx.ActingUser(ctx, "user-1", role, "contract-management")
}

// Providers and contracts through the API, by a municipality's contract manager; an
// allocation then needs a valid contract for the product and district.
func TestProvidersAndContractsThroughTheAPI(t *testing.T) {
	t.Parallel()
	w := start(t)
	muni, team, otherTeam := w.municipal(t)
	ctx := asRole(t, "contract_manager")
	newProvider := svctest.Org(identity.OrgProvider, "Buurtzorg Jong")

	reg := &pmv1.RegisterProviderRequest{IdempotencyKey: uuid.NewString(), Agb: "22334455", Name: newProvider.Name, Oin: newProvider.OIN}
	if _, err := muni.RegisterProvider(ctx, reg); err != nil {
		t.Fatal(err)
	}
	// Only the contract manager of a municipality registers providers.
	_, err := muni.RegisterProvider(svctest.Ctx(t), &pmv1.RegisterProviderRequest{IdempotencyKey: uuid.NewString(), Agb: "22334466", Name: "X Zorg", Oin: newProvider.OIN})
	wantCode(t, err, codes.PermissionDenied)
	_, err = team.RegisterProvider(ctx, &pmv1.RegisterProviderRequest{IdempotencyKey: uuid.NewString(), Agb: "22334466", Name: "X Zorg", Oin: newProvider.OIN})
	wantCode(t, err, codes.PermissionDenied)
	// The same AGB code with other details is taken.
	_, err = muni.RegisterProvider(ctx, &pmv1.RegisterProviderRequest{IdempotencyKey: uuid.NewString(), Agb: "22334455", Name: "Other name", Oin: newProvider.OIN})
	wantCode(t, err, codes.AlreadyExists)

	add := &pmv1.AddContractRequest{
		IdempotencyKey: uuid.NewString(), ProviderAgb: "22334455", Model: pmv1.ContractModel_CONTRACT_MODEL_CONSORTIUM,
		MunicipalityCode: municipality, Products: []*pmv1.Product{{Category: "45", Code: "45A01"}, {Category: "43", Code: "43A02"}},
		DistrictCodes: []string{district}, Capacity: 40, ValidFrom: date(today().AddDate(0, -1, 0)), ValidTo: date(today().AddDate(1, 0, 0)),
	}
	resp, err := muni.AddContract(ctx, add)
	if err != nil {
		t.Fatal(err)
	}
	contractID := resp.GetContract().GetId()
	if len(resp.GetContract().GetProducts()) != 2 || resp.GetContract().GetCapacity() != 40 {
		t.Fatalf("contract: %v", resp.GetContract())
	}
	// Bad contracts: every field reported at once.
	bad := &pmv1.AddContractRequest{IdempotencyKey: uuid.NewString(), ProviderAgb: "2233", MunicipalityCode: municipality,
		Products: []*pmv1.Product{{Category: "99", Code: "X"}}, DistrictCodes: []string{"WK059901"}, ValidFrom: "2025-02-01", ValidTo: "2025-01-01", Capacity: -1}
	_, err = muni.AddContract(ctx, bad)
	got := violatedFields(t, err)
	for _, f := range []string{"provider_agb", "model", "products[0].category", "district_codes[0]", "valid_to", "capacity"} {
		if !slices.Contains(got, f) {
			t.Errorf("add contract: %s not reported; got %v", f, got)
		}
	}
	// Each violation once (probe-C F10: valid_to was reported twice).
	if len(slices.Compact(slices.Sorted(slices.Values(got)))) != len(got) {
		t.Errorf("add contract: a field reported twice: %v", got)
	}
	// Another municipality's contract manager cannot contract for GM0363.
	add2 := proto.Clone(add).(*pmv1.AddContractRequest)
	add2.IdempotencyKey = uuid.NewString()
	add2.MunicipalityCode, add2.DistrictCodes = "GM0599", nil
	_, err = muni.AddContract(ctx, add2)
	wantCode(t, err, codes.PermissionDenied)

	// Allocations under the new contract: a product it covers is allowed, others are not.
	req := allocateRequest()
	req.ProviderAgb, req.ProductCategory, req.ProductCode = "22334455", "43", "43A02"
	al := w.allocate(t, req)
	if al.GetContractId() != contractID {
		t.Fatalf("allocation issued under %s, want %s", al.GetContractId(), contractID)
	}
	req = allocateRequest()
	req.ProviderAgb, req.ProductCategory, req.ProductCode = "22334455", "43", "43A03"
	_, err = w.asService.Allocate(svctest.Ctx(t), req)
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), "no valid contract") {
		t.Fatalf("message: %s", st.Message())
	}
	// Moving the start date repeats the contract check of the issue (probe-C F5): the
	// contract is valid from a month ago.
	early := &pmv1.ChangeAllocationRequest{IdempotencyKey: uuid.NewString(), AllocationNumber: al.GetNumber(),
		ChangeReason: pmv1.AllocationChangeReason_ALLOCATION_CHANGE_REASON_ADMINISTRATIVE_CORRECTION, StartDate: date(today().AddDate(0, -2, 0))}
	_, err = team.ChangeAllocation(svctest.Ctx(t), early)
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), "no valid contract") {
		t.Fatalf("start date outside the contract: %s", st.Message())
	}
	early.IdempotencyKey, early.StartDate = uuid.NewString(), date(today().AddDate(0, 0, -7))
	if ch, err := team.ChangeAllocation(svctest.Ctx(t), early); err != nil || ch.GetAllocation().GetContractId() != contractID {
		t.Fatalf("start date within the contract: %v %v", ch, err)
	}
	// An unknown provider is named as such (probe-C F8).
	req = allocateRequest()
	req.ProviderAgb = "99999999"
	_, err = w.asService.Allocate(svctest.Ctx(t), req)
	wantResource(t, err, "provider", "99999999")
	// A municipality that acts for no municipality registers no provider (probe-C F9): the
	// registration would bind the AGB code to an OIN for every municipality.
	nobody := pmv1.NewProviderMonitoringServiceClient(w.env.Client(t, w.svc.Addr, svctest.Org(identity.OrgMunicipality, "Gemeente Nergens")))
	_, err = nobody.RegisterProvider(ctx, &pmv1.RegisterProviderRequest{IdempotencyKey: uuid.NewString(), Agb: "33445566", Name: "Nep Zorg", Oin: "00000001000000000910"})
	wantCode(t, err, codes.PermissionDenied)

	// The contract's overview: to the team of GM0363, not to another municipality's team.
	ov, err := team.GetContractOverview(svctest.Ctx(t), &pmv1.GetContractOverviewRequest{ContractId: contractID})
	if err != nil || ov.GetActiveAllocations() != 1 || ov.GetFigures().GetIssued() != 1 || ov.GetContract().GetCapacity() != 40 {
		t.Fatalf("overview: %v %v", err, ov)
	}
	_, err = otherTeam.GetContractOverview(svctest.Ctx(t), &pmv1.GetContractOverviewRequest{ContractId: contractID})
	wantCode(t, err, codes.NotFound)
	list, err := w.asProvider.ListContracts(svctest.Ctx(t), &pmv1.ListContractsRequest{ProviderAgb: providerAGB, MunicipalityCode: municipality})
	if err != nil || len(list.GetContracts()) != 1 {
		t.Fatalf("the provider's own contracts: %v %v", err, list)
	}
	_, err = w.asOther.ListContracts(svctest.Ctx(t), &pmv1.ListContractsRequest{ProviderAgb: providerAGB, MunicipalityCode: municipality})
	wantCode(t, err, codes.NotFound)
}

// A provider's request for allocation over gRPC: submitted by the provider, answered by the
// team, with the due day, and the allocation that granting issues.
func TestRequestForAllocationOverGRPC(t *testing.T) {
	t.Parallel()
	w := start(t)
	_, team, otherTeam := w.municipal(t)
	ctx := svctest.Ctx(t)
	sub := &pmv1.SubmitAllocationRequestRequest{
		IdempotencyKey: uuid.NewString(), Kind: pmv1.AllocationRequestKind_ALLOCATION_REQUEST_KIND_ALLOCATION,
		ProviderAgb: providerAGB, MunicipalityCode: municipality, DistrictCode: district,
		ProductCategory: category, ProductCode: productCode, StartDate: date(today()),
		Volume: &commonv1.Volume{Amount: 3, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}, ReferrerType: "02", ReferrerCode: "01234567",
	}
	resp, err := w.asProvider.SubmitAllocationRequest(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	q := resp.GetRequest()
	if q.GetStatus() != pmv1.AllocationRequestStatus_ALLOCATION_REQUEST_STATUS_RECEIVED || q.GetAnswerDue() <= date(today()) || q.GetOverdue() {
		t.Fatalf("request: %v", q)
	}
	// Another team cannot see it; the team sees it in its open queue.
	_, err = otherTeam.DescribeAllocationRequest(ctx, &pmv1.DescribeAllocationRequestRequest{RequestId: q.GetId()})
	wantCode(t, err, codes.NotFound)
	_, err = otherTeam.ListAllocationRequests(ctx, &pmv1.ListAllocationRequestsRequest{MunicipalityCode: municipality})
	wantCode(t, err, codes.PermissionDenied)
	queue, err := team.ListAllocationRequests(ctx, &pmv1.ListAllocationRequestsRequest{MunicipalityCode: municipality, OpenOnly: true})
	if err != nil || len(queue.GetRequests()) != 1 || queue.GetRequests()[0].GetId() != q.GetId() {
		t.Fatalf("queue: %v %v", err, queue)
	}
	// A refusal needs a reason; the provider cannot answer.
	_, err = team.AnswerAllocationRequest(ctx, &pmv1.AnswerAllocationRequestRequest{IdempotencyKey: uuid.NewString(), RequestId: q.GetId(),
		Decision: pmv1.AnswerDecision_ANSWER_DECISION_REFUSE})
	if got := violatedFields(t, err); !slices.Equal(got, []string{"refusal_reason"}) {
		t.Fatalf("refusal without reason: %v", got)
	}
	_, err = w.asProvider.AnswerAllocationRequest(ctx, &pmv1.AnswerAllocationRequestRequest{IdempotencyKey: uuid.NewString(), RequestId: q.GetId(),
		Decision: pmv1.AnswerDecision_ANSWER_DECISION_GRANT})
	wantCode(t, err, codes.PermissionDenied)

	// The case granted to must exist, be the team's and be open (probe-C F4), as case-direction
	// checks for its own RequestAllocation.
	grant := func(caseID string) (*pmv1.AnswerAllocationRequestResponse, error) {
		return team.AnswerAllocationRequest(ctx, &pmv1.AnswerAllocationRequestRequest{IdempotencyKey: uuid.NewString(), RequestId: q.GetId(),
			Decision: pmv1.AnswerDecision_ANSWER_DECISION_GRANT, CaseId: caseID})
	}
	teamOIN := svctest.Org(identity.OrgTeam, "Sociaal Wijkteam Centrum").OIN
	unknown, others, handedOver, caseID := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	w.cases.open(others, municipality, svctest.Org(identity.OrgTeam, "Sociaal Wijkteam Elders").OIN, casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS)
	w.cases.open(handedOver, municipality, teamOIN, casedirectionv1.CaseStatus_CASE_STATUS_HANDED_OVER)
	w.cases.open(caseID, municipality, teamOIN, casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS)
	_, err = grant(unknown)
	wantCode(t, err, codes.NotFound)
	_, err = grant(others)
	wantResource(t, err, "case", others)
	_, err = grant(handedOver)
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), "HANDED_OVER") {
		t.Fatalf("grant to a handed-over case: %s", st.Message())
	}
	ans, err := grant(caseID)
	if err != nil || ans.GetRequest().GetStatus() != pmv1.AllocationRequestStatus_ALLOCATION_REQUEST_STATUS_GRANTED ||
		!ans.GetRequest().GetAnsweredOnTime() || ans.GetAllocation().GetRequestId() != q.GetId() ||
		ans.GetAllocation().GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_ISSUED {
		t.Fatalf("grant: %v %v", err, ans)
	}
	// The provider reads the answered request and its allocation.
	own, err := w.asProvider.DescribeAllocationRequest(ctx, &pmv1.DescribeAllocationRequestRequest{RequestId: q.GetId()})
	if err != nil || own.GetRequest().GetResultingAllocationNumber() != ans.GetAllocation().GetNumber() {
		t.Fatalf("provider reads its request: %v %v", err, own)
	}
	// Invalid requests: all fields at once.
	bad := &pmv1.SubmitAllocationRequestRequest{IdempotencyKey: uuid.NewString(), Kind: pmv1.AllocationRequestKind_ALLOCATION_REQUEST_KIND_ALLOCATION,
		ProviderAgb: "1", MunicipalityCode: "X", ProductCategory: "99", ProductCode: "", StartDate: "soon", ReferrerType: "77"}
	_, err = w.asProvider.SubmitAllocationRequest(ctx, bad)
	got := violatedFields(t, err)
	for _, f := range []string{"provider_agb", "municipality_code", "product_category", "product_code", "start_date", "volume", "referrer_type"} {
		if !slices.Contains(got, f) {
			t.Errorf("submit: %s not reported; got %v", f, got)
		}
	}
	// The referrer's code follows its COD327 type (iJw 315): a GP, youth doctor or medical
	// specialist is named by an 8-digit AGB code; a self-referral or a municipality by none.
	for _, tc := range []struct {
		referrerType, code string
		ok                 bool
	}{
		{"02", "", false}, {"02", "GP-1", false}, {"03", "", false}, {"05", "1234567", false},
		{"06", "01234567", false}, {"01", "x", false},
		{"02", "01234567", true}, {"05", "12345678", true}, {"06", "", true}, {"04", "", true},
	} {
		req := &pmv1.SubmitAllocationRequestRequest{IdempotencyKey: uuid.NewString(), Kind: pmv1.AllocationRequestKind_ALLOCATION_REQUEST_KIND_ALLOCATION,
			ProviderAgb: providerAGB, MunicipalityCode: municipality, DistrictCode: district, ProductCategory: category, ProductCode: productCode,
			StartDate: date(today()), Volume: &commonv1.Volume{Amount: 3, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK},
			ReferrerType: tc.referrerType, ReferrerCode: tc.code}
		_, err := w.asProvider.SubmitAllocationRequest(ctx, req)
		switch {
		case tc.ok && err != nil:
			t.Errorf("referrer %s with code %q: %v", tc.referrerType, tc.code, err)
		case !tc.ok && !slices.Equal(violatedFields(t, err), []string{"referrer_code"}):
			t.Errorf("referrer %s with code %q: want INVALID_ARGUMENT on referrer_code, got %v", tc.referrerType, tc.code, err)
		}
	}
}

// The gRPC edge of the delivery and progress RPCs: validation, and another provider's id.
func TestStopAndProgressOverGRPC(t *testing.T) {
	t.Parallel()
	w := start(t)
	ctx := svctest.Ctx(t)
	allocated := w.allocate(t, allocateRequest())
	number := allocated.GetNumber()
	if _, err := w.asProvider.ReportDeliveryStarted(ctx, &pmv1.ReportDeliveryStartedRequest{IdempotencyKey: uuid.NewString(),
		AllocationNumber: number, StartedOn: date(today().AddDate(0, 0, -1))}); err != nil {
		t.Fatal(err)
	}
	_, err := w.asProvider.ReportDeliveryStopped(ctx, &pmv1.ReportDeliveryStoppedRequest{IdempotencyKey: uuid.NewString(),
		AllocationNumber: "TW1", StoppedOn: "yesterday", ReasonCode: "77"})
	if got := violatedFields(t, err); !slices.Equal(got, []string{"allocation_number", "stopped_on", "reason_code"}) {
		t.Fatalf("stop: %v", got)
	}
	stop := &pmv1.ReportDeliveryStoppedRequest{IdempotencyKey: uuid.NewString(), AllocationNumber: number, StoppedOn: date(today()), ReasonCode: "20"}
	_, err = w.asOther.ReportDeliveryStopped(ctx, stop)
	wantCode(t, err, codes.NotFound)
	resp, err := w.asProvider.ReportDeliveryStopped(ctx, stop)
	if err != nil || resp.GetAllocation().GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_PAUSED || !resp.GetAllocation().GetStopReportedOnTime() {
		t.Fatalf("pause: %v %v", err, resp)
	}
	prog := &pmv1.ReportProgressRequest{IdempotencyKey: uuid.NewString(), AllocationNumber: number, GoalIds: []string{"g1"}}
	_, err = w.asProvider.ReportProgress(ctx, prog)
	if got := violatedFields(t, err); !slices.Equal(got, []string{"goal_ids[0]", "judgement"}) {
		t.Fatalf("progress: %v", got)
	}
	// Only goals of the allocation's case (case-direction is asked).
	goal := uuid.NewString()
	w.cases.add(allocated.GetCaseId(), goal)
	prog.GoalIds, prog.Judgement = []string{goal, uuid.NewString()}, pmv1.ProgressAssessment_PROGRESS_ASSESSMENT_REACHED
	_, err = w.asProvider.ReportProgress(ctx, prog)
	if got := violatedFields(t, err); !slices.Equal(got, []string{"goal_ids[1]"}) {
		t.Fatalf("progress on a goal of another case: %v", got)
	}
	// The goal's UUID in upper case is the same goal (probe-C F10), reported in lower case.
	prog.GoalIds = []string{strings.ToUpper(goal)}
	pr, err := w.asProvider.ReportProgress(ctx, prog)
	if err != nil || !pr.GetReport().GetScaleDownAdvised() || !slices.Equal(pr.GetReport().GetGoalIds(), []string{goal}) {
		t.Fatalf("progress: %v %v", err, pr)
	}
	// A provider's 317 asking a new start date of paused care cannot be granted: the request
	// is refused as a whole (FAILED_PRECONDITION), not a start_date the team never sent.
	_, team, _ := w.municipal(t)
	chg, err := w.asProvider.SubmitAllocationRequest(ctx, &pmv1.SubmitAllocationRequestRequest{IdempotencyKey: uuid.NewString(),
		Kind: pmv1.AllocationRequestKind_ALLOCATION_REQUEST_KIND_CHANGE, ProviderAgb: providerAGB, AllocationNumber: number,
		StartDate: date(today().AddDate(0, 0, -2)), EndDate: date(today().AddDate(0, 6, 0)), ChangeReasonText: "eerder begonnen",
		Volume: &commonv1.Volume{Amount: 4, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}})
	if err != nil || chg.GetRequest().GetChangeReasonText() != "eerder begonnen" {
		t.Fatalf("submit a 317: %v %v", chg, err)
	}
	// The reason for a change is free text about the resident's care: stored sealed only.
	var plain string
	var sealed []byte
	if err := w.svc.Pool.QueryRow(ctx, `SELECT change_reason_text, change_reason_enc FROM allocation_requests WHERE id = $1`, chg.GetRequest().GetId()).
		Scan(&plain, &sealed); err != nil || plain != "" || len(sealed) == 0 || bytes.Contains(sealed, []byte("begonnen")) {
		t.Fatalf("the stored reason for the change: %q %x %v", plain, sealed, err)
	}
	if got, err := team.DescribeAllocationRequest(ctx, &pmv1.DescribeAllocationRequestRequest{RequestId: chg.GetRequest().GetId()}); err != nil ||
		got.GetRequest().GetChangeReasonText() != "eerder begonnen" {
		t.Fatalf("the reason for the change, read back: %v %v", got.GetRequest(), err)
	}
	_, err = team.AnswerAllocationRequest(ctx, &pmv1.AnswerAllocationRequestRequest{IdempotencyKey: uuid.NewString(), RequestId: chg.GetRequest().GetId(),
		Decision: pmv1.AnswerDecision_ANSWER_DECISION_GRANT})
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), chg.GetRequest().GetId()) {
		t.Fatalf("granting an impossible 317: %s", st.Message())
	}
	// Care restarts after the pause: started_on is the restart, first_started_on the first
	// start (probe-C F10).
	restarted, err := w.asProvider.ReportDeliveryStarted(ctx, &pmv1.ReportDeliveryStartedRequest{IdempotencyKey: uuid.NewString(),
		AllocationNumber: number, StartedOn: date(today())})
	if err != nil || restarted.GetAllocation().GetStartedOn() != date(today()) || restarted.GetAllocation().GetFirstStartedOn() != date(today().AddDate(0, 0, -1)) {
		t.Fatalf("restart: %v %v", restarted, err)
	}
	// Running again, it shows no stop: the pause is over (an outside tester saw the pause's
	// stopped_on, stop_reason_code and stop_reported_on_time on a STARTED allocation).
	if al := restarted.GetAllocation(); al.GetStoppedOn() != "" || al.GetStopReasonCode() != "" || al.GetStopReportedOnTime() {
		t.Fatalf("a restarted allocation still shows its pause: %v", al)
	}
	pause, err := w.asProvider.ReportDeliveryStopped(ctx, &pmv1.ReportDeliveryStoppedRequest{IdempotencyKey: uuid.NewString(), AllocationNumber: number,
		StoppedOn: date(today()), ReasonCode: "20"})
	if err != nil || pause.GetAllocation().GetFirstStartedOn() != date(today().AddDate(0, 0, -1)) {
		t.Fatalf("pause again: %v %v", pause, err)
	}
	_, err = w.asService.WithdrawAllocation(ctx, &pmv1.WithdrawAllocationRequest{IdempotencyKey: uuid.NewString(), AllocationNumber: number,
		Reason: pmv1.WithdrawalReason_WITHDRAWAL_REASON_OTHER})
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), "PAUSED to WITHDRAWN") {
		t.Fatalf("withdraw while paused: %s", st.Message())
	}
	cases, err := w.asService.ListCaseAllocations(ctx, &pmv1.ListCaseAllocationsRequest{CaseId: uuid.NewString()})
	if err != nil || len(cases.GetAllocations()) != 0 {
		t.Fatalf("an unknown case has no allocations: %v %v", err, cases)
	}
	// A pod of the previous release restarts the paused care during a rolling update (or after
	// a rollback) the way it did: status and start, the pause's fields left in place, which
	// migration 00012 cleared only once. Its trigger clears them on every such write (an
	// outside probe saw a stop on a STARTED allocation after going forward again).
	if _, err := w.svc.Pool.Exec(ctx, `UPDATE allocations SET status = 'STARTED', started_on = CURRENT_DATE WHERE number = $1`, number); err != nil {
		t.Fatal(err)
	}
	got, err := w.asProvider.GetAllocation(ctx, &pmv1.GetAllocationRequest{AllocationNumber: number})
	if al := got.GetAllocation(); err != nil || al.GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_STARTED ||
		al.GetStoppedOn() != "" || al.GetStopReasonCode() != "" || al.GetStopReportedOnTime() {
		t.Fatalf("care restarted by the previous release shows its pause: %v %v", al, err)
	}
}

// A provider's registration is corrected by a municipality that may: its name at any time, its
// OIN only while nothing names the provider, each correction kept with who made it and why.
func TestProviderRegistrationIsCorrected(t *testing.T) {
	t.Parallel()
	w := start(t)
	muni, team, _ := w.municipal(t)
	ctx := asRole(t, "contract_manager")
	right := svctest.Org(identity.OrgProvider, "Buurtzorg Jong")
	const agb, wrongOIN = "22334477", "00000001000000000920"
	if _, err := muni.RegisterProvider(ctx, &pmv1.RegisterProviderRequest{IdempotencyKey: uuid.NewString(), Agb: agb, Name: "Buurtzorg Jnog", Oin: wrongOIN}); err != nil {
		t.Fatal(err)
	}
	correct := func(c pmv1.ProviderMonitoringServiceClient, req *pmv1.CorrectProviderRequest) (*pmv1.CorrectProviderResponse, error) {
		req.IdempotencyKey = uuid.NewString()
		return c.CorrectProvider(ctx, req)
	}
	// The name, then the OIN: each a correction; the same name again changes nothing.
	res, err := correct(muni, &pmv1.CorrectProviderRequest{Agb: agb, Name: "Buurtzorg Jong", Reason: "typing error in the registered name"})
	if err != nil || !res.GetCorrected() || res.GetProvider().GetName() != "Buurtzorg Jong" || res.GetProvider().GetOin() != wrongOIN {
		t.Fatalf("name corrected: %v %v", res, err)
	}
	if res, err = correct(muni, &pmv1.CorrectProviderRequest{Agb: agb, Name: "Buurtzorg Jong", Reason: "typing error in the registered name"}); err != nil || res.GetCorrected() {
		t.Fatalf("the same name again: %v %v, want corrected false", res, err)
	}
	if res, err = correct(muni, &pmv1.CorrectProviderRequest{Agb: agb, Oin: right.OIN, Reason: "registered with the OIN of another organisation"}); err != nil ||
		!res.GetCorrected() || res.GetProvider().GetOin() != right.OIN || res.GetProvider().GetName() != "Buurtzorg Jong" {
		t.Fatalf("OIN corrected: %v %v", res, err)
	}
	list, err := muni.ListProviderCorrections(ctx, &pmv1.ListProviderCorrectionsRequest{Agb: agb})
	if err != nil || len(list.GetCorrections()) != 2 {
		t.Fatalf("corrections: %v %v", list, err)
	}
	newest, oldest := list.GetCorrections()[0], list.GetCorrections()[1]
	if newest.GetOldOin() != wrongOIN || newest.GetNewOin() != right.OIN || newest.GetReason() != "registered with the OIN of another organisation" ||
		oldest.GetOldName() != "Buurtzorg Jnog" || oldest.GetNewName() != "Buurtzorg Jong" || oldest.GetCorrectedByUser() != "user-1" || oldest.GetCorrectedAt() == nil {
		t.Fatalf("corrections, newest first: %v", list.GetCorrections())
	}
	// Bad input names every field; an unknown provider is NOT_FOUND; a team may not.
	_, err = correct(muni, &pmv1.CorrectProviderRequest{Agb: agb, Reason: "short"})
	if got := violatedFields(t, err); !slices.Contains(got, "name") || !slices.Contains(got, "reason") {
		t.Fatalf("nothing to correct and a short reason: %v", got)
	}
	_, err = correct(muni, &pmv1.CorrectProviderRequest{Agb: agb, Oin: "123", Reason: "registered with the wrong OIN"})
	if got := violatedFields(t, err); !slices.Contains(got, "oin") {
		t.Fatalf("a bad OIN: %v", got)
	}
	_, err = correct(muni, &pmv1.CorrectProviderRequest{Agb: "99999998", Name: "Niemand", Reason: "registered with the wrong name"})
	wantResource(t, err, "provider", "99999998")
	_, err = correct(team, &pmv1.CorrectProviderRequest{Agb: agb, Name: "Buurtzorg Team", Reason: "a team tries to rename it"})
	wantCode(t, err, codes.PermissionDenied)
	// Once GM0363 contracts the provider, a municipality acting for another one may not correct it.
	elders := svctest.Org(identity.OrgMunicipality, "Gemeente Elders")
	if err := service.SeedMunicipalOrganisations(svctest.Ctx(t), w.svc.DSN, "GM0599", elders.OIN); err != nil {
		t.Fatal(err)
	}
	eldersClient := pmv1.NewProviderMonitoringServiceClient(w.env.Client(t, w.svc.Addr, elders))
	if _, err := correct(eldersClient, &pmv1.CorrectProviderRequest{Agb: agb, Name: "Buurtzorg Jong BV", Reason: "the legal form was left out"}); err != nil {
		t.Fatalf("a provider without contracts, by any municipality: %v", err)
	}
	if _, err := muni.AddContract(ctx, &pmv1.AddContractRequest{IdempotencyKey: uuid.NewString(), ProviderAgb: agb, Model: pmv1.ContractModel_CONTRACT_MODEL_CHOICE,
		MunicipalityCode: municipality, Products: []*pmv1.Product{{Category: "45", Code: "45A01"}}, Capacity: 5, ValidFrom: date(today())}); err != nil {
		t.Fatal(err)
	}
	_, err = correct(eldersClient, &pmv1.CorrectProviderRequest{Agb: agb, Name: "Buurtzorg Elders", Reason: "another municipality renames it"})
	wantCode(t, err, codes.PermissionDenied)
	_, err = eldersClient.ListProviderCorrections(ctx, &pmv1.ListProviderCorrectionsRequest{Agb: agb})
	wantCode(t, err, codes.PermissionDenied)
	// A provider with allocations keeps its OIN; its name is still corrected.
	w.allocate(t, allocateRequest())
	_, err = correct(muni, &pmv1.CorrectProviderRequest{Agb: providerAGB, Oin: right.OIN, Reason: "moving the provider's care elsewhere"})
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), "no longer corrected") {
		t.Fatalf("OIN of a provider in use: %s", st.Message())
	}
	if res, err := correct(muni, &pmv1.CorrectProviderRequest{Agb: providerAGB, Name: "Zorggroep De Brug BV", Reason: "the legal form was left out"}); err != nil || !res.GetCorrected() {
		t.Fatalf("name of a provider in use: %v %v", res, err)
	}
}
