package service_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	pmv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestListsPage: a case's allocations, an allocation's versions and a provider's contracts
// page with page_size and an opaque page_token, and bad paging is INVALID_ARGUMENT on the field.
func TestListsPage(t *testing.T) {
	t.Parallel()
	w := start(t)
	ctx := svctest.Ctx(t)
	caseID := uuid.NewString()
	var numbers []string
	for range 3 {
		req := allocateRequest()
		req.CaseId = caseID
		numbers = append(numbers, w.allocate(t, req).GetNumber())
	}
	// A case's allocations, one per page, issued order.
	var got []string
	cases := &pmv1.ListCaseAllocationsRequest{CaseId: caseID, PageSize: 1}
	for {
		page, err := w.asService.ListCaseAllocations(ctx, cases)
		if err != nil || len(page.GetAllocations()) != 1 {
			t.Fatalf("case allocations page %d: %v %v", len(got), err, page)
		}
		got = append(got, page.GetAllocations()[0].GetNumber())
		if cases.PageToken = page.GetNextPageToken(); cases.PageToken == "" {
			break
		}
	}
	if !slices.Equal(got, numbers) {
		t.Fatalf("case allocations paged %v, want %v", got, numbers)
	}

	// Versions: one change makes two.
	_, err := w.asService.ChangeAllocation(ctx, &pmv1.ChangeAllocationRequest{IdempotencyKey: uuid.NewString(), AllocationNumber: numbers[0],
		ChangeReason: pmv1.AllocationChangeReason_ALLOCATION_CHANGE_REASON_CHANGED_NEED,
		Volume:       &commonv1.Volume{Amount: 6, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}})
	if err != nil {
		t.Fatalf("change: %v", err)
	}
	v1, err := w.asProvider.ListAllocationVersions(ctx, &pmv1.ListAllocationVersionsRequest{AllocationNumber: numbers[0], PageSize: 1})
	if err != nil || len(v1.GetVersions()) != 1 || v1.GetVersions()[0].GetVersion() != 1 || v1.GetNextPageToken() == "" {
		t.Fatalf("versions page 1: %v %v", err, v1)
	}
	v2, err := w.asProvider.ListAllocationVersions(ctx, &pmv1.ListAllocationVersionsRequest{AllocationNumber: numbers[0], PageSize: 1, PageToken: v1.GetNextPageToken()})
	if err != nil || len(v2.GetVersions()) != 1 || v2.GetVersions()[0].GetVersion() != 2 || v2.GetNextPageToken() != "" {
		t.Fatalf("versions page 2: %v %v", err, v2)
	}

	// The provider's own contracts (the seeded one): one page, no token.
	cs, err := w.asProvider.ListContracts(ctx, &pmv1.ListContractsRequest{ProviderAgb: providerAGB, MunicipalityCode: municipality, PageSize: 1})
	if err != nil || len(cs.GetContracts()) != 1 || cs.GetNextPageToken() != "" {
		t.Fatalf("contracts: %v %v", err, cs)
	}

	// The provider lists its own allocations (newest first, by status, paged); another
	// provider sees none of them; each one shown is access-logged.
	var mine []string
	my := &pmv1.ListMyAllocationsRequest{Statuses: []commonv1.AllocationStatus{commonv1.AllocationStatus_ALLOCATION_STATUS_ISSUED}, PageSize: 2}
	for range 5 {
		page, err := w.asProvider.ListMyAllocations(ctx, my)
		if err != nil {
			t.Fatalf("ListMyAllocations: %v", err)
		}
		for _, al := range page.GetAllocations() {
			mine = append(mine, al.GetNumber())
		}
		if my.PageToken = page.GetNextPageToken(); my.PageToken == "" {
			break
		}
	}
	if want := []string{numbers[2], numbers[1], numbers[0]}; !slices.Equal(mine, want) {
		t.Fatalf("the provider's own allocations: %v, want %v", mine, want)
	}
	if n := w.accessLog(t, numbers[0], "GRANTED"); n < 1 {
		t.Fatalf("listing an allocation must be access-logged: %d", n)
	}
	// Without a status filter: every status (an empty filter once matched nothing).
	if all, err := w.asProvider.ListMyAllocations(ctx, &pmv1.ListMyAllocationsRequest{}); err != nil || len(all.GetAllocations()) < len(mine) {
		t.Fatalf("the provider's unfiltered list: %v %v", err, all)
	}
	if theirs, err := w.asOther.ListMyAllocations(ctx, &pmv1.ListMyAllocationsRequest{}); err != nil || len(theirs.GetAllocations()) != 0 {
		t.Fatalf("another provider's list: %v %v", err, theirs)
	}
	if ended, err := w.asProvider.ListMyAllocations(ctx, &pmv1.ListMyAllocationsRequest{Statuses: []commonv1.AllocationStatus{commonv1.AllocationStatus_ALLOCATION_STATUS_ENDED}}); err != nil || len(ended.GetAllocations()) != 0 {
		t.Fatalf("no ended allocations: %v %v", err, ended)
	}
	_, err = w.asService.ListMyAllocations(ctx, &pmv1.ListMyAllocationsRequest{})
	wantCode(t, err, codes.PermissionDenied)
	if f := violatedFields(t, callErr(w.asProvider.ListMyAllocations(ctx, &pmv1.ListMyAllocationsRequest{Statuses: []commonv1.AllocationStatus{99}, PageSize: -1}))); !slices.Equal(f, []string{"statuses[0]", "page_size"}) {
		t.Fatalf("bad ListMyAllocations: %v", f)
	}

	// Bad paging: negative or oversized size, garbage, a token of another case or list.
	otherCase := paging.TokenAt(paging.Scoped("providermonitoring.case_allocations", uuid.NewString()), time.Now(), numbers[0])
	for name, call := range map[string]struct {
		err   error
		field string
	}{
		"negative size": {callErr(w.asService.ListCaseAllocations(ctx, &pmv1.ListCaseAllocationsRequest{CaseId: caseID, PageSize: -1})), "page_size"},
		"oversized":     {callErr(w.asProvider.ListContracts(ctx, &pmv1.ListContractsRequest{ProviderAgb: providerAGB, MunicipalityCode: municipality, PageSize: 10000})), "page_size"},
		"garbage":       {callErr(w.asProvider.ListAllocationVersions(ctx, &pmv1.ListAllocationVersionsRequest{AllocationNumber: numbers[0], PageToken: "%%%"})), "page_token"},
		"other case":    {callErr(w.asService.ListCaseAllocations(ctx, &pmv1.ListCaseAllocationsRequest{CaseId: caseID, PageToken: otherCase})), "page_token"},
		"other list":    {callErr(w.asProvider.ListAllocationVersions(ctx, &pmv1.ListAllocationVersionsRequest{AllocationNumber: numbers[1], PageToken: v1.GetNextPageToken()})), "page_token"},
	} {
		if fields := violatedFields(t, call.err); !slices.Contains(fields, call.field) {
			t.Errorf("%s: violations %v, want %s", name, fields, call.field)
		}
	}
}

func callErr[T any](_ T, err error) error { return err }

// Every list refuses a page_size out of range with the same words, the request queue too (an
// outside tester found ListAllocationRequests answering with the proto rule's own text).
func TestPageSizeRefusedAlike(t *testing.T) {
	t.Parallel()
	w := start(t)
	ctx := svctest.Ctx(t)
	_, team, _ := w.municipal(t)
	for _, size := range []int32{-1, 501} {
		for name, err := range map[string]error{
			"ListAllocationRequests": callErr(team.ListAllocationRequests(ctx, &pmv1.ListAllocationRequestsRequest{MunicipalityCode: municipality, PageSize: size})),
			"ListContracts":          callErr(w.asProvider.ListContracts(ctx, &pmv1.ListContractsRequest{ProviderAgb: providerAGB, MunicipalityCode: municipality, PageSize: size})),
			"ListCaseAllocations":    callErr(w.asService.ListCaseAllocations(ctx, &pmv1.ListCaseAllocationsRequest{CaseId: uuid.NewString(), PageSize: size})),
			"ListMyAllocations":      callErr(w.asProvider.ListMyAllocations(ctx, &pmv1.ListMyAllocationsRequest{PageSize: size})),
		} {
			wantCode(t, err, codes.InvalidArgument)
			st, _ := status.FromError(err)
			var got []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						got = append(got, v.GetField()+": "+v.GetDescription())
					}
				}
			}
			if want := []string{"page_size: must be 1-500 (0 = 100)"}; !slices.Equal(got, want) {
				t.Errorf("%s page_size %d: %v, want %v", name, size, got, want)
			}
		}
	}
}
