package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ghzload "github.com/bojand/ghz/load"
	"github.com/bojand/ghz/runner"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jhump/protoreflect/desc"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// bench holds what every measurement needs: the running suite, the partners' certificates,
// the protoset ghz resolves methods with, and the baseline database.
type bench struct {
	s        *suite.Suite
	o        options
	out      io.Writer
	protoset []byte
	raw      *pgxpool.Pool
	run      string // distinguishes this run's idempotency keys
	bsns     bsnGen
	ev       *eventWatch
	quiet    *suite.QuietCheck
	// referrable are intakes of the demo team with their residents' BSNs, registered once for
	// CreateReferral (a referral names a resident of its intake's household); referrableCases
	// the same for CreateReferral from a case (crisis intakes, whose cases triage opened).
	referrable, referrableCases []intakeRef
	// generated is how many cases the scale generator loaded so far.
	generated int64
	sample    struct{ enc, idx []byte }
}

func newBench(ctx context.Context, s *suite.Suite, o options, out io.Writer) (*bench, error) {
	ps, err := protoset(referralv1.File_wijkbrug_referral_v1_referral_proto, intakev1.File_wijkbrug_intake_v1_intake_proto,
		casedirectionv1.File_wijkbrug_casedirection_v1_casedirection_proto, providermonitoringv1.File_wijkbrug_providermonitoring_v1_providermonitoring_proto)
	if err != nil {
		return nil, err
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	b := &bench{s: s, o: o, out: out, protoset: ps, run: hex.EncodeToString(r[:])}
	b.bsns.next.Store(int64(10_000_000 + int(r[0])<<16 + int(r[1])<<8))
	if b.raw, err = openBaseline(ctx, s); err != nil {
		return nil, fmt.Errorf("baseline database: %w", err)
	}
	if b.ev, err = watchEvents(ctx, s); err != nil {
		return nil, fmt.Errorf("event subscriber: %w", err)
	}
	if b.quiet, err = s.NewQuietCheck(ctx, b.ev.nc); err != nil {
		b.ev.close()
		b.raw.Close()
		return nil, fmt.Errorf("quiet check: %w", err)
	}
	if err := b.enableStatements(ctx); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *bench) close() {
	b.quiet.Close()
	b.ev.close()
	b.raw.Close()
}

// protoset is the FileDescriptorSet of the given files and their imports, so ghz resolves
// methods without server reflection round trips.
func protoset(files ...protoreflect.FileDescriptor) ([]byte, error) {
	seen := map[string]bool{}
	set := &descriptorpb.FileDescriptorSet{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imps := fd.Imports()
		for i := 0; i < imps.Len(); i++ {
			add(imps.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	for _, f := range files {
		add(f)
	}
	return proto.Marshal(set)
}

// caller is who a load acts as: a demo partner's certificate and an acting user per ghz
// worker (16 callers are 16 professionals of the organisation, as in real use).
type caller struct {
	partner, role, purpose string
}

var (
	asGP       = caller{"gp", "gp", "signal"}
	asTeam     = caller{"team", "case_director", "case-direction"}
	asProvider = caller{"provider", "care_coordinator", "care-delivery"}
)

// load is one RPC driven by ghz.
type load struct {
	name    string
	service string // endpoint name in the suite
	method  string // full method, e.g. /wijkbrug.referral.v1.ReferralService/SubmitSignal
	as      caller
	msg     func(n int64) proto.Message
}

// measurement is one row of the results.
type measurement struct {
	Name       string
	Conc       int
	Rate       float64 // requested rate (open loop), 0 = closed loop
	Count      int
	Errors     int
	ErrSample  string
	RPS        float64
	P50, P90   time.Duration
	P99, Max   time.Duration
	Ratio      float64 // throughput / baseline throughput at the same concurrency (0 = none)
	Baseline   float64
	Elapsed    time.Duration
	LoadAvg    string
	StatusDist map[string]int
	// Waits is what PostgreSQL's active backends waited on during the run (mean count each).
	Waits string
	// Quiet is the wait for a quiet suite (outboxes published, access logs sealed, consumers idle)
	// before the run.
	Quiet quietWait
	// CPU is the whole machine's busy CPU time per successful call (the baseline's runs: during
	// the run; the open loop: from its start until the suite was quiet again, so its chain
	// included); 0 = not measured.
	CPU time.Duration
}

// shape is how a load is offered: for a duration or a number of calls, closed loop (each
// caller sends its next call when the previous one answered) or open loop at a fixed rate.
type shape struct {
	d     time.Duration // stop after this long (0 = after total calls)
	total uint          // stop after this many calls (0 = no limit but d)
	rps   uint          // open loop: calls per second whatever the answers do (0 = closed loop)
}

// timedPacer ends a run after d, counted from the first call. (ghz's own run duration starts
// its clock before the connections are made and races with its worker ticker on short runs.)
type timedPacer struct {
	inner ghzload.Pacer
	d     time.Duration
}

func (p timedPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.d > 0 && elapsed >= p.d {
		return 0, true
	}
	return p.inner.Pace(elapsed, hits)
}

func (p timedPacer) Rate(elapsed time.Duration) float64 { return p.inner.Rate(elapsed) }

func (b *bench) ghz(l load, conc int, sh shape) (measurement, error) {
	p := b.s.Partners[l.as.partner]
	call := strings.ReplaceAll(strings.TrimPrefix(l.method, "/"), "/", ".")
	opts := []runner.Option{
		runner.WithProtosetBinary(b.protoset),
		runner.WithRootCertificate(b.s.CAFile),
		runner.WithCertificate(p.CertFile, p.KeyFile),
		runner.WithConcurrency(uint(conc)),
		runner.WithConnections(uint(min(conc, 4))),
		runner.WithTimeout(30 * time.Second),
		runner.WithDefaultCallOptions([]grpc.CallOption{typedAnswers()}),
		// The requests are ours (WithBinaryDataFunc): no templates to expand. ghz otherwise
		// builds its template function map for every call (7 % of a list run's CPU).
		runner.WithDisableTemplateFuncs(true),
		runner.WithBinaryDataFunc(func(_ *desc.MethodDescriptor, cd *runner.CallData) []byte {
			m, err := proto.Marshal(l.msg(cd.RequestNumber))
			if err != nil {
				panic(err) // our own messages: cannot happen
			}
			return m
		}),
		runner.WithMetadataProvider(func(cd *runner.CallData) (*metadata.MD, error) {
			md := metadata.Pairs(identity.HeaderUser, "bench-"+l.as.partner+"-"+cd.WorkerID, identity.HeaderRole, l.as.role, identity.HeaderPurpose, l.as.purpose)
			return &md, nil
		}),
	}
	total := sh.total
	if total == 0 {
		total = 100_000
	}
	opts = append(opts, runner.WithTotalRequests(total), runner.WithAsync(sh.rps > 0),
		runner.WithPacer(timedPacer{inner: &ghzload.ConstantPacer{Freq: uint64(sh.rps), Max: uint64(total)}, d: sh.d}))
	start := time.Now()
	waits := b.sampleWaits(context.Background())
	rep, err := runner.Run(call, b.s.Endpoint(l.service).Addr, opts...)
	listenForInterrupts() // drop the handler ghz left behind
	sampled := waits.end()
	if err != nil {
		return measurement{}, fmt.Errorf("%s: %w", l.name, err)
	}
	m := measurement{Name: l.name, Conc: conc, Elapsed: time.Since(start), LoadAvg: loadAverage(), StatusDist: rep.StatusCodeDist, Waits: sampled}
	var lat []time.Duration
	for _, d := range rep.Details {
		if d.Error != "" {
			m.Errors++
			if m.ErrSample == "" {
				m.ErrSample = d.Error
			}
			continue
		}
		lat = append(lat, d.Latency)
	}
	m.Count = len(rep.Details)
	fill(&m, lat, rep.Total)
	if m.Errors > 0 {
		fmt.Fprintf(b.out, "  (%s c=%d: %d of %d calls failed, e.g. %s)\n", l.name, conc, m.Errors, m.Count, m.ErrSample)
	}
	return m, nil
}

func fill(m *measurement, lat []time.Duration, total time.Duration) {
	if total > 0 {
		m.RPS = float64(len(lat)) / total.Seconds()
	}
	p := percentilesOf(lat)
	m.P50, m.P90, m.P99, m.Max = p.P50, p.P90, p.P99, p.Max
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// bsnGen hands out distinct BSNs that pass the 11-proef.
type bsnGen struct{ next atomic.Int64 }

func (g *bsnGen) get() string {
	for {
		n := g.next.Add(1) % 100_000_000
		d := fmt.Sprintf("%08d", n)
		sum := 0
		for i := 0; i < 8; i++ {
			sum += int(d[i]-'0') * (9 - i)
		}
		check := sum % 11
		if check == 10 || (d == "00000000") {
			continue
		}
		return d + string(rune('0'+check))
	}
}

func (b *bench) key(kind string, n int64) string {
	return fmt.Sprintf("bench-%s-%s-%d-%s", b.run, kind, n, uuid.NewString()[:8])
}

func today() string { return time.Now().Format("2006-01-02") }

// loads returns the mutating RPCs in the order they run (each feeds the next: intakes →
// cases → allocations → starts).
func (b *bench) signalMsg(n int64) proto.Message {
	return &referralv1.SubmitSignalRequest{IdempotencyKey: b.key("sig", n), SourceType: referralv1.SourceType_SOURCE_TYPE_GP,
		LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WMO, ResidentBsn: b.bsns.get(), MunicipalityCode: suite.DemoMunicipality,
		DistrictCode: suite.DemoDistrict, LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES},
		Category: "payment arrears", Description: "bench: rent two months in arrears"}
}

func (b *bench) submitSignal() load {
	return load{name: "SubmitSignal", service: "referral", method: referralv1.ReferralService_SubmitSignal_FullMethodName, as: asGP, msg: b.signalMsg}
}

func (b *bench) registerIntake() load {
	return load{name: "RegisterIntake", service: "intake", method: intakev1.IntakeService_RegisterIntake_FullMethodName, as: asTeam,
		msg: func(n int64) proto.Message {
			return &intakev1.RegisterIntakeRequest{IdempotencyKey: b.key("intake", n), Channel: intakev1.Channel_CHANNEL_DESK,
				ResidentBsn: b.bsns.get(), MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
				Question: "bench: help with administration", LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES},
				Urgency: intakev1.Urgency_URGENCY_NORMAL}
		}}
}

// openCaseViaTriage registers crisis intakes: triage sends them to case direction at once,
// so each call includes intake's synchronous OpenCase call to case-direction.
func (b *bench) openCaseViaTriage() load {
	return load{name: "OpenCase via triage", service: "intake", method: intakev1.IntakeService_RegisterIntake_FullMethodName, as: asTeam,
		msg: func(n int64) proto.Message {
			return &intakev1.RegisterIntakeRequest{IdempotencyKey: b.key("crisis", n), Channel: intakev1.Channel_CHANNEL_PHONE,
				ResidentBsn: b.bsns.get(), MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
				Question: "bench: crisis", LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_HOUSING},
				Urgency: intakev1.Urgency_URGENCY_CRISIS}
		}}
}

func (b *bench) requestAllocation(cases []string) load {
	return load{name: "RequestAllocation", service: "casedirection", method: casedirectionv1.CaseDirectionService_RequestAllocation_FullMethodName, as: asTeam,
		msg: func(n int64) proto.Message {
			return &casedirectionv1.RequestAllocationRequest{IdempotencyKey: b.key("alloc", n), CaseId: cases[int(n)%len(cases)],
				ProviderAgb: suite.DemoProviderAGB, ProductCategory: suite.DemoProductCategory, ProductCode: suite.DemoProductCode,
				StartDate: today(), EndDate: time.Now().AddDate(0, 3, 0).Format("2006-01-02"), Volume: &commonv1.Volume{Amount: 4, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}}
		}}
}

func (b *bench) deliveryStarted(numbers []string, next *atomic.Int64) load {
	return load{name: "ReportDeliveryStarted", service: "providermonitoring", method: providermonitoringv1.ProviderMonitoringService_ReportDeliveryStarted_FullMethodName, as: asProvider,
		msg: func(n int64) proto.Message {
			i := next.Add(1) - 1
			return &providermonitoringv1.ReportDeliveryStartedRequest{IdempotencyKey: b.key("start", n), AllocationNumber: numbers[int(i)%len(numbers)], StartedOn: today()}
		}}
}

// createReferral refers residents of the intakes, or with fromCase of the cases, in refs: referral
// asks intake, or case-direction, whether the caller may and what the intake or case holds.
func (b *bench) createReferral(refs []intakeRef, fromCase bool) load {
	name, kind := "CreateReferral", "ref"
	if fromCase {
		name, kind = "CreateReferral from a case", "case-ref"
	}
	return load{name: name, service: "referral", method: referralv1.ReferralService_CreateReferral_FullMethodName, as: asTeam,
		msg: func(n int64) proto.Message {
			r := refs[int(n)%len(refs)]
			req := &referralv1.CreateReferralRequest{IdempotencyKey: b.key(kind, n), ProvisionId: demoProvision(),
				IntakeId: r.id, ResidentBsn: r.bsn, MunicipalityCode: suite.DemoMunicipality,
				DistrictCode: suite.DemoDistrict, Question: "bench: would a buddy help?",
				SharedDataCategories: []referralv1.DataCategory{referralv1.DataCategory_DATA_CATEGORY_CONTACT},
				LegalBasis:           referralv1.LegalBasis_LEGAL_BASIS_WMO}
			if fromCase {
				req.IntakeId, req.CaseId = "", r.id
			}
			return req
		}}
}

// writes measures every mutating RPC at each concurrency, each between two baseline runs.
// Every run, baseline or RPC, starts on a quiet suite (quiesce), so none measures the
// background work (relays, consumers) of the run before it.
func (b *bench) writes(ctx context.Context, res *results) error {
	for _, c := range b.o.conc {
		base1, err := b.quietBaseline(ctx, c)
		if err != nil {
			return err
		}
		b.progress(base1)
		var row []measurement
		q, err := b.quiesce(ctx, fmt.Sprintf("SubmitSignal c=%d", c), quietLimit)
		if err != nil {
			return err
		}
		b.ev.reset()
		relayBefore, err := b.readRelay(ctx, "referral")
		if err != nil {
			return err
		}
		stopProfile, err := b.profile(fmt.Sprintf("submitsignal-c%d.pprof", c))
		if err != nil {
			return err
		}
		sig, err := b.ghz(b.submitSignal(), c, shape{d: b.o.duration})
		stopProfile()
		if err != nil {
			return err
		}
		sig.Quiet = q
		if err := b.lagWithRelay(ctx, res, fmt.Sprintf("SubmitSignal c=%d", c), sig.Count-sig.Errors, relayBefore); err != nil {
			return err
		}
		row = append(row, sig)
		for _, l := range []load{b.registerIntake(), b.openCaseViaTriage()} {
			m, err := b.quietGhz(ctx, l, c, shape{d: b.o.duration})
			if err != nil {
				return err
			}
			row = append(row, m)
		}
		cases, err := b.readyCases(ctx, 64)
		if err != nil {
			return err
		}
		m, err := b.quietGhz(ctx, b.requestAllocation(cases), c, shape{d: b.o.duration})
		if err != nil {
			return err
		}
		row = append(row, m)
		// The allocations are read once the suite is quiet: then every allocation the
		// requests led to is there.
		q, err = b.quiesce(ctx, fmt.Sprintf("ReportDeliveryStarted c=%d", c), quietLimit)
		if err != nil {
			return err
		}
		numbers, err := b.issuedAllocations(ctx)
		if err != nil {
			return err
		}
		if len(numbers) > 0 {
			var next atomic.Int64
			m, err = b.ghz(b.deliveryStarted(numbers, &next), c, shape{d: b.o.duration, total: uint(len(numbers))})
			if err != nil {
				return err
			}
			m.Quiet = q
			row = append(row, m)
		}
		intakes, err := b.referralIntakes(ctx, 64)
		if err != nil {
			return err
		}
		m, err = b.quietGhz(ctx, b.createReferral(intakes, false), c, shape{d: b.o.duration})
		if err != nil {
			return err
		}
		row = append(row, m)
		refCases, err := b.referralCases(ctx, 64)
		if err != nil {
			return err
		}
		m, err = b.quietGhz(ctx, b.createReferral(refCases, true), c, shape{d: b.o.duration})
		if err != nil {
			return err
		}
		row = append(row, m)
		base2, err := b.quietBaseline(ctx, c)
		if err != nil {
			return err
		}
		b.progress(base2)
		baseRPS := (base1.RPS + base2.RPS) / 2
		res.Baselines = append(res.Baselines, base1, base2)
		for i := range row {
			row[i].Baseline = baseRPS
			if baseRPS > 0 {
				row[i].Ratio = row[i].RPS / baseRPS
			}
			b.progress(row[i])
		}
		res.Writes = append(res.Writes, row...)
	}
	return nil
}

// quietGhz waits for a quiet suite, then runs l.
func (b *bench) quietGhz(ctx context.Context, l load, conc int, sh shape) (measurement, error) {
	q, err := b.quiesce(ctx, fmt.Sprintf("%s c=%d", l.name, conc), quietLimit)
	if err != nil {
		return measurement{}, err
	}
	m, err := b.ghz(l, conc, sh)
	m.Quiet = q
	return m, err
}

// quietBaseline waits for a quiet suite, then runs the baseline: the same rule as the RPCs.
func (b *bench) quietBaseline(ctx context.Context, conc int) (measurement, error) {
	q, err := b.quiesce(ctx, fmt.Sprintf("baseline c=%d", conc), quietLimit)
	if err != nil {
		return measurement{}, err
	}
	cpu := startCPU()
	m, err := b.baseline(ctx, conc, b.o.duration)
	m.Quiet, m.CPU = q, cpu.per(m.Count-m.Errors)
	return m, err
}

// openLoop sends SubmitSignal at half of the highest closed-loop rate measured, at a fixed
// rate whatever the answers do (ghz async mode), and reports the latency distribution.
func (b *bench) openLoop(ctx context.Context, res *results) error {
	maxRPS := 0.0
	for _, m := range res.Writes {
		if m.Name == "SubmitSignal" && m.RPS > maxRPS {
			maxRPS = m.RPS
		}
	}
	rate := max(1, int(maxRPS/2))
	q, err := b.quiesce(ctx, "SubmitSignal open loop", quietLimit)
	if err != nil {
		return err
	}
	b.ev.reset()
	relayBefore, err := b.readRelay(ctx, "referral")
	if err != nil {
		return err
	}
	cpu := startCPU()
	m, err := b.ghz(b.submitSignal(), 16, shape{d: b.o.duration, rps: uint(rate)})
	if err != nil {
		return err
	}
	m.Name, m.Rate, m.Quiet = "SubmitSignal open loop", float64(rate), q
	if err := b.lagWithRelay(ctx, res, fmt.Sprintf("SubmitSignal open loop %d/s", rate), m.Count-m.Errors, relayBefore); err != nil {
		return err
	}
	// The CPU a signal costs the machine, front door and chain: until every consumer is idle
	// again (intake registered, referral fed back, the read models updated).
	if _, err := b.quiesce(ctx, "the open loop's CPU per signal", quietLimit); err != nil {
		return err
	}
	m.CPU = cpu.per(m.Count - m.Errors)
	res.OpenLoop = m
	b.progress(m)
	return nil
}

// lagWithRelay waits for a SubmitSignal run's events (eventWatch.lag) and adds their lag to
// res with what referral's relay did from before the run until they had all arrived.
func (b *bench) lagWithRelay(ctx context.Context, res *results, name string, expect int, before relayRounds) error {
	l := b.ev.lag(name, expect)
	after, err := b.readRelay(ctx, "referral")
	if err != nil {
		return err
	}
	l.Relay = relayLine("referral", before, after)
	res.Lag = append(res.Lag, l)
	return nil
}

// chain submits signals at the front door's maximum rate for a while and follows each one to
// its feedback (signal → intake consumer → intake registered → referral consumer → feedback).
func (b *bench) chain(ctx context.Context, res *results) error {
	front := 0.0
	for _, m := range res.Writes {
		if m.Name == "SubmitSignal" && m.RPS > front {
			front = m.RPS
		}
	}
	rate := max(1, int(front))
	quiet, err := b.quiesce(ctx, "the chain", quietLimit)
	if err != nil {
		return err
	}
	if err := b.resetStatements(ctx); err != nil {
		return err
	}
	batchesBefore, err := b.consumerBatches(ctx)
	if err != nil {
		return err
	}
	b.ev.reset()
	started := time.Now()
	var samples []backlogSample
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				in, done := b.ev.chainCounts()
				at := time.Since(started)
				// Where the backlog sits: unpublished outbox rows per service and what each
				// service consumer has not yet handled (the same reads as the quiet check).
				where, err := b.quiet.Busy(ctx)
				if err != nil {
					where = []string{"(not read: " + err.Error() + ")"}
				}
				samples = append(samples, backlogSample{At: at, In: in, Done: done, Where: where})
			}
		}
	}()
	m, err := b.ghz(b.submitSignal(), 16, shape{d: b.o.chainFor, rps: uint(rate)})
	loadEnd := time.Since(started)
	inEnd, doneEnd := b.ev.chainCounts()
	if err != nil {
		close(stop)
		wg.Wait()
		return err
	}
	// Drain: how long until every signal got its feedback (bounded wait). With -profile-dir
	// the drain is profiled: only the chain's own work runs then.
	stopProfile, err := b.profile("chain-drain.pprof")
	if err != nil {
		close(stop)
		wg.Wait()
		return err
	}
	drainStart := time.Now()
	deadline := time.Now().Add(max(30*time.Second, 2*b.o.chainFor))
	for time.Now().Before(deadline) {
		in, done := b.ev.chainCounts()
		if done >= in && in >= m.Count-m.Errors {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopProfile()
	close(stop)
	wg.Wait()
	inAll, doneAll := b.ev.chainCounts()
	// With -statements: what PostgreSQL executed for the whole chain run, load and drain.
	top, wal, err := b.sinceReset(ctx, 15)
	if err != nil {
		return err
	}
	batchesAfter, err := b.consumerBatches(ctx)
	if err != nil {
		return err
	}
	res.Chain = chainResult{Batches: batchLines(batchesBefore, batchesAfter), Statements: top, WAL: wal, Quiet: quiet, FrontDoorMax: front, Offered: float64(rate), Submitted: m.Count - m.Errors, Errors: m.Errors,
		LoadFor: loadEnd, InAtEnd: inEnd, DoneAtEnd: doneEnd, Drain: time.Since(drainStart), InAll: inAll, DoneAll: doneAll, Samples: samples,
		ChainRate: float64(doneEnd) / loadEnd.Seconds(), InRate: float64(inEnd) / loadEnd.Seconds()}
	fmt.Fprintf(b.out, "  chain: offered %d/s for %s: %d signals in, %d fed back by the end of the load (%.1f/s); %s later %d of %d fed back (quiet wait %s before)\n",
		rate, loadEnd.Round(time.Millisecond), inEnd, doneEnd, res.Chain.ChainRate, res.Chain.Drain.Round(time.Millisecond), doneAll, inAll, quiet)
	for _, l := range res.Chain.Batches {
		fmt.Fprintf(b.out, "      %s\n", l)
	}
	if wal != "" {
		fmt.Fprintf(b.out, "      %s\n", wal)
	}
	for _, st := range top {
		fmt.Fprintf(b.out, "      %s\n", st)
	}
	return nil
}

type backlogSample struct {
	At       time.Duration
	In, Done int
	Where    []string // the quiet check's findings at that second: outboxes, access logs, consumers
}

type chainResult struct {
	FrontDoorMax, Offered, ChainRate, InRate float64
	Submitted, Errors                        int
	LoadFor, Drain                           time.Duration
	InAtEnd, DoneAtEnd, InAll, DoneAll       int
	Samples                                  []backlogSample
	Quiet                                    quietWait
	Statements                               []statementTime // with -statements
	WAL                                      string
	Batches                                  []string // per consumer: events handled in batches during the run
}

func (b *bench) progress(m measurement) {
	extra := ""
	if m.Ratio > 0 {
		extra = fmt.Sprintf(" ratio %.2f", m.Ratio)
	}
	if m.Quiet != (quietWait{}) {
		extra += fmt.Sprintf(" (quiet wait before: %s)", m.Quiet)
	}
	if m.Errors > 0 {
		extra += fmt.Sprintf(" errors %d (%s)", m.Errors, m.ErrSample)
	}
	fmt.Fprintf(b.out, "  %-26s c=%-3d %7.1f/s p50 %-8s p99 %-8s max %-8s%s\n", m.Name, m.Conc, m.RPS, ms(m.P50), ms(m.P99), ms(m.Max), extra)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/1e6) }

// msPrec is ms with two decimals, for CPU times of a fraction of a millisecond.
func msPrec(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

// profile starts a CPU profile into -profile-dir (when set) and returns its stop.
func (b *bench) profile(name string) (func(), error) {
	if b.o.profileDir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(b.o.profileDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(b.o.profileDir, name))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
