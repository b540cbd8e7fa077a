package service_test

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	pmv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/service"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	providerAGB  = "12345678"
	otherAGB     = "87654321"
	municipality = "GM0363"
	district     = "WK036301"
	category     = "45"
	productCode  = "45A48"
)

var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	return loc
}()

// world is a running provider-monitoring with two contracted providers.
type world struct {
	env      *svctest.Env
	svc      *svctest.Service
	provider devca.Org
	other    devca.Org
	// asService is case-direction; asProvider and asOther are the two providers.
	asService, asProvider, asOther pmv1.ProviderMonitoringServiceClient
	events                         *svctest.Recorder
	// cases is case-direction as the service reads it (a fake gRPC server).
	cases *fakeCaseSvc
}

func start(t *testing.T) *world {
	t.Helper()
	env := svctest.New(t)
	cases := &fakeCaseSvc{cases: map[string]*casedirectionv1.Case{}}
	cdAddr := env.ServeFake(t, func(r grpc.ServiceRegistrar) { casedirectionv1.RegisterCaseDirectionServiceServer(r, cases) })
	s := env.Start(t, service.Spec(), func(c *svc.Config) { c.CaseDirectionAddr = cdAddr })
	w := &world{
		env: env, svc: s, cases: cases,
		provider: svctest.Org(identity.OrgProvider, "Zorggroep De Brug"),
		other:    svctest.Org(identity.OrgProvider, "Jeugdhulp Overkant"),
	}
	ctx := svctest.Ctx(t)
	for _, p := range []service.DemoProvider{
		{AGB: providerAGB, Name: w.provider.Name, OIN: w.provider.OIN, Municipality: municipality,
			Districts: []string{district, "WK036302"}, ProductCategory: category, ProductCode: productCode},
		{AGB: otherAGB, Name: w.other.Name, OIN: w.other.OIN, Municipality: municipality,
			ProductCategory: category, ProductCode: productCode},
	} {
		if err := service.SeedDemo(ctx, s.DSN, p); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	client := func(org devca.Org) pmv1.ProviderMonitoringServiceClient {
		return pmv1.NewProviderMonitoringServiceClient(env.Client(t, s.Addr, org))
	}
	w.asService = client(svctest.ServiceOrg("casedirection"))
	w.asProvider = client(w.provider)
	w.asOther = client(w.other)
	w.events = env.Events(t, "providermonitoring", "wijkbrug.providermonitoring.>")
	return w
}

func today() time.Time {
	n := time.Now().In(amsterdam)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

func date(t time.Time) string { return t.Format("2006-01-02") }

func allocateRequest() *pmv1.AllocateRequest {
	return &pmv1.AllocateRequest{
		IdempotencyKey: uuid.NewString(), CaseId: uuid.NewString(),
		MunicipalityCode: municipality, DistrictCode: district, ProviderAgb: providerAGB,
		ProductCategory: category, ProductCode: productCode,
		StartDate: date(today().AddDate(0, 0, -3)), EndDate: date(today().AddDate(0, 6, 0)),
		Volume: &commonv1.Volume{Amount: 4, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK},
	}
}

func (w *world) allocate(t *testing.T, req *pmv1.AllocateRequest) *pmv1.Allocation {
	t.Helper()
	resp, err := w.asService.Allocate(svctest.Ctx(t), req)
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	return resp.GetAllocation()
}

func wantCode(t *testing.T, err error, want codes.Code) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != want {
		t.Fatalf("want %s, got %v", want, err)
	}
	return st
}

// violatedFields lists the fields named in an INVALID_ARGUMENT's BadRequest details.
func violatedFields(t *testing.T, err error) []string {
	t.Helper()
	st := wantCode(t, err, codes.InvalidArgument)
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// wantResource checks a NOT_FOUND naming the resource type and name (ResourceInfo).
func wantResource(t *testing.T, err error, resourceType, name string) {
	t.Helper()
	st := wantCode(t, err, codes.NotFound)
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.ResourceInfo); ok && ri.GetResourceType() == resourceType && ri.GetResourceName() == name {
			return
		}
	}
	t.Fatalf("NOT_FOUND %q does not name %s %s: %v", st.Message(), resourceType, name, st.Details())
}

func (w *world) accessLog(t *testing.T, number, outcome string) int {
	t.Helper()
	var n int
	if err := w.svc.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM access_log_entries WHERE object_type = 'allocation' AND object_id = $1 AND outcome = $2`, number, outcome).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAllocateAndReportStart(t *testing.T) {
	t.Parallel()
	w := start(t)
	ctx := svctest.Ctx(t)
	req := allocateRequest()
	al := w.allocate(t, req)
	if !regexp.MustCompile(`^TW[0-9]{10}$`).MatchString(al.GetNumber()) || al.GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_ISSUED ||
		al.GetProviderAgb() != providerAGB || al.GetCaseId() != req.GetCaseId() || al.GetStartDate() != req.GetStartDate() ||
		al.GetEndDate() != req.GetEndDate() || al.GetVolume().GetAmount() != 4 || al.GetStartedOn() != "" {
		t.Fatalf("allocation: %v", al)
	}
	number := al.GetNumber()

	var status string
	if err := w.svc.Pool.QueryRow(ctx, `SELECT status FROM allocations WHERE number = $1`, number).Scan(&status); err != nil || status != "ISSUED" {
		t.Fatalf("row: %q %v", status, err)
	}
	ev, msg := w.events.WaitFor(t, func(e cloudevents.Envelope, m proto.Message) bool {
		_, ok := m.(*pmv1.AllocationIssued)
		return ok && e.Subject == number
	})
	issued := msg.(*pmv1.AllocationIssued)
	if ev.NATSSubject != "wijkbrug.providermonitoring.GM0363.allocation.issued" || issued.GetCaseId() != req.GetCaseId() ||
		issued.GetProviderAgb() != providerAGB || issued.GetProductCode() != productCode || issued.GetMunicipalityCode() != municipality ||
		issued.GetStartDate() != req.GetStartDate() {
		t.Fatalf("event %s: %v", ev.NATSSubject, issued)
	}
	if w.accessLog(t, number, "GRANTED") != 1 {
		t.Fatal("allocating must write an access-log entry")
	}

	// The provider reads its own allocation; a service reads any.
	if got, err := w.asProvider.GetAllocation(ctx, &pmv1.GetAllocationRequest{AllocationNumber: number}); err != nil || got.GetAllocation().GetNumber() != number {
		t.Fatalf("provider reads own allocation: %v", err)
	}
	if _, err := w.asService.GetAllocation(ctx, &pmv1.GetAllocationRequest{AllocationNumber: number}); err != nil {
		t.Fatalf("service reads allocation: %v", err)
	}

	// Another provider neither reads nor reports on it, and is not told it exists.
	_, err := w.asOther.GetAllocation(ctx, &pmv1.GetAllocationRequest{AllocationNumber: number})
	wantCode(t, err, codes.NotFound)
	report := &pmv1.ReportDeliveryStartedRequest{IdempotencyKey: uuid.NewString(), AllocationNumber: number, StartedOn: date(today())}
	_, err = w.asOther.ReportDeliveryStarted(ctx, report)
	wantCode(t, err, codes.NotFound)
	if n := w.accessLog(t, number, "DENIED"); n != 2 {
		t.Fatalf("both refusals must be logged as DENIED, got %d", n)
	}

	// The provider reports the start.
	resp, err := w.asProvider.ReportDeliveryStarted(ctx, report)
	if err != nil {
		t.Fatalf("report start: %v", err)
	}
	started := resp.GetAllocation()
	if started.GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_STARTED || started.GetStartedOn() != report.GetStartedOn() || !started.GetStartReportedOnTime() {
		t.Fatalf("started: %v", started)
	}
	var onTime bool
	if err := w.svc.Pool.QueryRow(ctx, `SELECT on_time FROM deliveries WHERE allocation_number = $1`, number).Scan(&onTime); err != nil || !onTime {
		t.Fatalf("delivery row: %v %v", onTime, err)
	}
	ev, msg = w.events.WaitFor(t, func(e cloudevents.Envelope, m proto.Message) bool {
		_, ok := m.(*pmv1.AllocationDeliveryStarted)
		return ok && e.Subject == number
	})
	ds := msg.(*pmv1.AllocationDeliveryStarted)
	if ev.NATSSubject != "wijkbrug.providermonitoring.GM0363.allocation.delivery_started" || !ds.GetReportedOnTime() ||
		ds.GetStartedOn() != report.GetStartedOn() || ds.GetProviderAgb() != providerAGB || ds.GetCaseId() != req.GetCaseId() ||
		// The first start, and whether it came by the start date (outcome reporting).
		ds.GetStartDate() != req.GetStartDate() || !ds.GetFirstStart() || ds.GetStartedOnTime() != (ds.GetStartedOn() <= ds.GetStartDate()) {
		t.Fatalf("event %s: %v", ev.NATSSubject, ds)
	}

	// A retry with the same key gets the same answer; a second start is a forbidden transition.
	again, err := w.asProvider.ReportDeliveryStarted(ctx, report)
	if err != nil || !proto.Equal(again, resp) {
		t.Fatalf("retry with the same key: %v\n%v\n%v", err, again, resp)
	}
	report2 := proto.Clone(report).(*pmv1.ReportDeliveryStartedRequest)
	report2.IdempotencyKey = uuid.NewString()
	_, err = w.asProvider.ReportDeliveryStarted(ctx, report2)
	if st := wantCode(t, err, codes.FailedPrecondition); !regexp.MustCompile(`STARTED to STARTED`).MatchString(st.Message()) {
		t.Fatalf("message must name the transition: %q", st.Message())
	}
	var deliveries int
	if err := w.svc.Pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE allocation_number = $1`, number).Scan(&deliveries); err != nil || deliveries != 1 {
		t.Fatalf("deliveries: %d %v", deliveries, err)
	}

	// The same allocate request with its key gives the same allocation, not a second one.
	if again := w.allocate(t, req); again.GetNumber() != number {
		t.Fatalf("allocate retry made %s, want %s", again.GetNumber(), number)
	}
}

func TestAllocateRefused(t *testing.T) {
	t.Parallel()
	w := start(t)
	ctx := svctest.Ctx(t)

	// The other provider's contract ended.
	if _, err := w.svc.Pool.Exec(ctx, `UPDATE contracts SET valid_to = valid_from + 365 WHERE provider_agb = $1`, otherAGB); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*pmv1.AllocateRequest){
		"wrong product":      func(r *pmv1.AllocateRequest) { r.ProductCode = "45A49" },
		"other district":     func(r *pmv1.AllocateRequest) { r.DistrictCode = "WK036309" },
		"expired contract":   func(r *pmv1.AllocateRequest) { r.ProviderAgb = otherAGB },
		"other municipality": func(r *pmv1.AllocateRequest) { r.MunicipalityCode, r.DistrictCode = "GM0599", "WK059901" },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			req := allocateRequest()
			mod(req)
			_, err := w.asService.Allocate(ctx, req)
			st := wantCode(t, err, codes.FailedPrecondition)
			if !regexp.MustCompile(`^provider [0-9]{8} has no valid contract for product 45/45A4[89] in WK[0-9]{6} on [0-9-]{10}$`).MatchString(st.Message()) {
				t.Fatalf("message: %q", st.Message())
			}
		})
	}
	t.Run("unknown provider", func(t *testing.T) {
		req := allocateRequest()
		req.ProviderAgb = "11112222"
		_, err := w.asService.Allocate(ctx, req)
		wantCode(t, err, codes.NotFound)
	})
	t.Run("provider may not allocate", func(t *testing.T) {
		_, err := w.asProvider.Allocate(ctx, allocateRequest())
		wantCode(t, err, codes.PermissionDenied)
	})
	t.Run("a GP may not read allocations", func(t *testing.T) {
		gp := pmv1.NewProviderMonitoringServiceClient(w.env.Client(t, w.svc.Addr, svctest.Org(identity.OrgGP, "Huisartsenpraktijk Centrum")))
		number := w.allocate(t, allocateRequest()).GetNumber()
		_, err := gp.GetAllocation(ctx, &pmv1.GetAllocationRequest{AllocationNumber: number})
		wantCode(t, err, codes.PermissionDenied)
	})
	var n int
	if err := w.svc.Pool.QueryRow(ctx, `SELECT count(*) FROM allocations`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("only the GP test's allocation may exist, got %d (%v)", n, err)
	}
}

func TestInvalidArgument(t *testing.T) {
	t.Parallel()
	w := start(t)
	ctx := svctest.Ctx(t)

	bad := &pmv1.AllocateRequest{
		IdempotencyKey: uuid.NewString(), CaseId: "case-1", MunicipalityCode: "0363", DistrictCode: "WK059901",
		ProviderAgb: "1234", ProductCategory: "", ProductCode: "45 A48", StartDate: "2025-06-01", EndDate: "2025-05-31",
		Volume: &commonv1.Volume{Amount: 0, Frequency: commonv1.VolumeFrequency(99)},
	}
	_, err := w.asService.Allocate(ctx, bad)
	got := violatedFields(t, err)
	for _, f := range []string{"case_id", "municipality_code", "provider_agb", "product_category", "product_code", "end_date",
		"volume.amount", "volume.unit", "volume.frequency"} {
		if !slices.Contains(got, f) {
			t.Errorf("allocate: %s not reported; got %v", f, got)
		}
	}
	bad = allocateRequest()
	bad.DistrictCode, bad.Volume, bad.StartDate = "WK059901", nil, "1 June"
	got = violatedFields(t, func() error { _, err := w.asService.Allocate(ctx, bad); return err }())
	for _, f := range []string{"district_code", "volume", "start_date"} {
		if !slices.Contains(got, f) {
			t.Errorf("allocate: %s not reported; got %v", f, got)
		}
	}
	// More hours than a day has.
	bad = allocateRequest()
	bad.Volume = &commonv1.Volume{Amount: 25, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_DAY}
	if got = violatedFields(t, func() error { _, err := w.asService.Allocate(ctx, bad); return err }()); !slices.Equal(got, []string{"volume.amount"}) {
		t.Errorf("allocate 25 hours a day: violations %v, want volume.amount", got)
	}
	noKey := allocateRequest()
	noKey.IdempotencyKey = ""
	if got := violatedFields(t, func() error { _, err := w.asService.Allocate(ctx, noKey); return err }()); !slices.Equal(got, []string{"idempotency_key"}) {
		t.Errorf("missing key: %v", got)
	}

	_, err = w.asProvider.GetAllocation(ctx, &pmv1.GetAllocationRequest{AllocationNumber: "42"})
	if got := violatedFields(t, err); !slices.Equal(got, []string{"allocation_number"}) {
		t.Errorf("get: %v", got)
	}

	number := w.allocate(t, allocateRequest()).GetNumber() // starts three days ago
	for name, startedOn := range map[string]string{
		"not a date":            "03-03-2025",
		"before the allocation": date(today().AddDate(0, 0, -4)),
		"in the future":         date(today().AddDate(0, 0, 1)),
		"missing":               "",
	} {
		_, err := w.asProvider.ReportDeliveryStarted(ctx, &pmv1.ReportDeliveryStartedRequest{
			IdempotencyKey: uuid.NewString(), AllocationNumber: number, StartedOn: startedOn})
		if got := violatedFields(t, err); !slices.Equal(got, []string{"started_on"}) {
			t.Errorf("report start %s: %v", name, got)
		}
	}
	got2, err := w.asProvider.GetAllocation(ctx, &pmv1.GetAllocationRequest{AllocationNumber: number})
	if err != nil || got2.GetAllocation().GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_ISSUED {
		t.Fatalf("refused reports must not change the allocation: %v %v", got2, err)
	}
}
