package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestMutatedRequestsNeverFailInternally is a robustness probe of every RPC against the
// running suite (real PostgreSQL, NATS, TLS): from a valid request of each method (the BOLA
// table's owners' requests, and mutation_variants_test.go's for the methods that table
// exempts or that only Wijkbrug services call) it derives requests with one field changed to
// an awkward value (mutation_mutate_test.go), deterministically from a seed, and calls them
// as the valid request's first owner. Bad input must get a clear answer: never INTERNAL,
// UNKNOWN, DATA_LOSS or UNIMPLEMENTED, never a dropped connection, a hang or an answer too
// big to receive; INVALID_ARGUMENT must carry a google.rpc.BadRequest naming a field; and the
// services must log no ERROR line while the probe runs.
//
// Knobs (flag, or environment variable when the flag is not given):
//
//	-mutation.seed   WIJKBRUG_MUTATION_SEED    seed (default 1; "random" picks one, printed)
//	-mutation.n      WIJKBRUG_MUTATION_N       mutated requests per variant (default 30)
//	-mutation.budget WIJKBRUG_MUTATION_BUDGET  wall time for the calls (default 60s; 0 = none)
//	-mutation.only   WIJKBRUG_MUTATION_ONLY    regexp on the call keys: replays one mutation
//	-mutation.stack  WIJKBRUG_MUTATION_STACK   mutations per request (default 1)
//	-mutation.failon WIJKBRUG_MUTATION_FAIL_ON extra codes that count as failures (e.g. InvalidArgument, to see the test fail)
//	-mutation.out    WIJKBRUG_MUTATION_OUT     append every failing call as a JSON line to this file
//	-mutation.v      WIJKBRUG_MUTATION_VERBOSE log every call
//	-mutation.strict WIJKBRUG_MUTATION_STRICT  an OK to a value that is never valid fails too (else it is listed as a note)
//	-mutation.evolve WIJKBRUG_MUTATION_EVOLVE  a third of the mutations build on a mutated request that was answered OK
//
// After the first pass the reads run again (keys "#rb<i>"), so that what the changes stored is
// read back through every read path.
//
// A long run: WIJKBRUG_MUTATION_N=200 WIJKBRUG_MUTATION_BUDGET=0 WIJKBRUG_MUTATION_SEED=7 \
// go test -count=1 -run TestMutatedRequestsNeverFailInternally -timeout 60m ./cmd/wijkbrug
func TestMutatedRequestsNeverFailInternally(t *testing.T) {
	t.Parallel()
	cfg := mutationConfig(t)
	t.Logf("mutation seed %d (replay with WIJKBRUG_MUTATION_SEED=%d), %d per variant, %d mutation(s) per request, budget %s",
		cfg.seed, cfg.seed, cfg.n, cfg.stack, budgetString(cfg.budget))

	// The plan: every method of every service gets its valid requests, or the test fails.
	table, extra, policy := bolaTable(), mutationExtraVariants(), bolaPolicy()
	methods, endpointsOf := unaryMethods(t, "the mutation test")
	for m := range extra {
		if _, ok := endpointsOf[m]; !ok {
			t.Errorf("mutation variant for %s, which no service descriptor has (renamed or removed?)", m)
		}
	}
	roleFor := func(method string, a actor) actor {
		if r := policy[method]; len(r.Roles) > 0 {
			a.role = r.Roles[0]
		}
		return a
	}
	var jobs []mutJob
	var notMutated []string
	nMethods, nVariants := 0, 0
	for _, method := range methods {
		var vs []mutVariant
		e := table[method]
		for _, v := range e.variants {
			if len(v.owners) == 0 {
				also := ""
				if len(extra[method]) > 0 {
					also = "; the method is mutated from mutation_variants_test.go's request"
				}
				notMutated = append(notMutated, fmt.Sprintf("%s BOLA variant %q: no owner (a foreign-only shape)%s", short(method), v.name, also))
				continue
			}
			req := v.req
			vs = append(vs, mutVariant{name: v.name, who: v.owners[0], source: "bolaTable",
				req: func(f *bolaFixture, _ *mutFixture) proto.Message { return req(f) }})
		}
		vs = append(vs, extra[method]...)
		if len(vs) == 0 {
			reason := e.exempt
			if reason == "" {
				reason = "no variant with an owner"
			}
			t.Errorf("%s: no valid request to mutate (BOLA: %s): add one to mutationExtraVariants", method, reason)
			continue
		}
		nMethods++
		nVariants += len(vs)
		for _, v := range vs {
			v.who = roleFor(method, v.who)
			if v.name == "" {
				v.name = "default"
			}
			for _, ep := range endpointsOf[method] {
				jobs = append(jobs, mutJob{method: method, endpoint: ep, v: v, phase: phaseOf(method)})
			}
		}
	}
	// Reads first, then changes, then the changes that end an object's life (so that the
	// others still find the fixture's objects in their states).
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].phase < jobs[j].phase })
	t.Logf("plan: %d of %d methods mutated, %d variants, %d (method, variant, endpoint) jobs", nMethods, len(methods), nVariants, len(jobs))
	for _, s := range notMutated {
		t.Logf("not mutated: %s", s)
	}

	p := startProbeSuite(t)
	env, f, mf, logs := p.env, p.base, p.mf, p.logs
	ids := fixtureIDs(f)
	t.Logf("suite up in %s, fixture in %s", p.s.StartedIn.Round(time.Millisecond), p.setup.Round(time.Millisecond))
	logMark := len(logs.Bytes())

	r := &mutRun{t: t, env: env, cfg: cfg, failures: map[string]*mutFailure{}, codes: map[string]int{}, perMethod: map[string]int{}}
	callsStart := time.Now()
	if cfg.budget > 0 {
		r.deadline = callsStart.Add(cfg.budget)
	}
	for _, j := range jobs {
		r.runJob(j, cfg.n, "", f, mf, ids)
	}
	// Read back: the reads again, after the changes stored what they accepted (odd text, edge
	// numbers and dates, long lists) in the fixture's objects and in new ones, so that every
	// read path and the figures over them meet the stored values.
	nBack := max(1, cfg.n/4)
	for _, j := range jobs {
		if j.phase == 0 {
			r.runJob(j, nBack, "rb", f, mf, ids)
		}
	}
	elapsed := time.Since(callsStart)
	t.Logf("%d calls (%d controls, %d mutated, %d page-token look-ups) in %s, %.1f calls/s; %d mutated requests not sendable, %d not sent for being over the 4 MiB message limit",
		r.calls, r.controls, r.calls-r.controls-r.tokenCalls, r.tokenCalls, elapsed.Round(time.Millisecond), float64(r.calls)/elapsed.Seconds(), r.unsendable, r.oversized)
	if len(r.unreached) > 0 {
		t.Logf("BUDGET: the budget of %s ran out; %d planned calls not made, from %s on (raise WIJKBRUG_MUTATION_BUDGET or lower WIJKBRUG_MUTATION_N)",
			cfg.budget, len(r.unreached), r.unreached[0])
	}
	if len(r.noFields) > 0 {
		t.Logf("methods whose request has no field to mutate (control call only): %s", strings.Join(slices.Compact(r.noFields), ", "))
	}
	r.summary()

	// The services' logs: give event consumers a moment to process what the calls published;
	// then no ERROR line may have been written since the fixture was set up.
	time.Sleep(cfg.settle)
	r.scanLogs(logs.Bytes(), logMark)
	r.report()
}

// mutJob is one method, valid request and endpoint.
type mutJob struct {
	method, endpoint string
	v                mutVariant
	phase            int
}

func (j mutJob) key(i int) string { return j.keyTag(i, "") }

// keyTag names call i of the job in a phase: "" the first pass, "rb" the read-back.
func (j mutJob) keyTag(i int, tag string) string {
	k := short(j.method) + "/" + keySafe.ReplaceAllString(j.v.name, "_") + "@" + j.endpoint
	if i >= 0 {
		k += "#" + tag + strconv.Itoa(i)
	}
	return k
}

// runJob makes the job's control call and n mutated calls. With WIJKBRUG_MUTATION_EVOLVE a
// third of the mutations start from a mutated request of the job that was answered OK (its
// mutations listed first), so that accepted odd values are combined.
func (r *mutRun) runJob(j mutJob, n int, tag string, f *bolaFixture, mf *mutFixture, ids []namedValue) {
	t, cfg := r.t, r.cfg
	if !r.deadline.IsZero() && time.Now().After(r.deadline) {
		r.unreached = append(r.unreached, j.keyTag(-1, tag)+" ("+strconv.Itoa(n)+" calls)")
		return
	}
	base := j.v.req(f, mf)
	r.prepare(j, base)
	// The control: the valid request itself (its answer tells whether the fixture's object
	// is still in a state the method works on).
	if cfg.only == nil {
		r.call(j, -1, base, nil, j.keyTag(-1, tag)+"#"+tag+"control")
	}
	var tokens []string
	if tag == "" {
		tokens = r.pageTokens(j, base)
	}
	type accepted struct {
		req  proto.Message
		muts []applied
	}
	var pool []accepted
	for i := 0; i < n; i++ {
		key := j.keyTag(i, tag)
		if cfg.only != nil && !cfg.only.MatchString(key) {
			continue
		}
		if !r.deadline.IsZero() && time.Now().After(r.deadline) {
			r.unreached = append(r.unreached, key)
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(key))
		mu := &mutator{r: rand.New(rand.NewPCG(cfg.seed, h.Sum64())), ids: ids, tokens: tokens}
		req := proto.Clone(base)
		var muts []applied
		if cfg.evolve && len(pool) > 0 && mu.r.IntN(3) == 0 {
			from := pool[mu.r.IntN(len(pool))]
			req = proto.Clone(from.req)
			muts = append(muts, from.muts...)
		}
		r.freshKey(req) // before the mutation, which may change the key itself
		fresh := 0
		for k := 0; k < cfg.stack; k++ {
			if a, ok := mu.mutate(req.ProtoReflect()); ok {
				muts = append(muts, a)
				fresh++
			}
		}
		if fresh == 0 {
			r.noFields = append(r.noFields, short(j.method))
			break // a request without fields has nothing to mutate
		}
		if _, err := proto.Marshal(req); err != nil {
			r.unsendable++
			t.Logf("%s: not sendable (%v): %v", key, err, muts)
			continue
		}
		if size := proto.Size(req); size > grpcx.MaxMessageBytes {
			// The client would not send it (and the server would refuse it as
			// RESOURCE_EXHAUSTED before any handler): nothing of the service to probe.
			r.oversized++
			continue
		}
		c := r.call(j, i, req, muts, key)
		if cfg.evolve && c.code == codes.OK && len(pool) < 8 && len(muts) < 6 {
			pool = append(pool, accepted{req, muts})
		}
	}
}

var keySafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func short(method string) string {
	svc, m, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	if i := strings.LastIndex(svc, "."); i >= 0 {
		svc = svc[i+1:]
	}
	return svc + "/" + m
}

// terminal changes end an object's life or move it on for good; they run last, CloseCase last
// of all (the fixture's case A is what most case-direction methods work on).
var terminalOrder = []string{"RemoveHouseholdMember", "EndInvolvement", "DeleteSubscription", "WithdrawConsent", "DecideTriage", "WithdrawIntake",
	"MergeIntake", "MergeResidents", "DeclineReferral", "FailReferral", "CompleteReferral", "CancelReferral", "ReportDeliveryStopped",
	"WithdrawDecision", "WithdrawAllocation", "HandOver", "CloseCase"}

func phaseOf(method string) int {
	name := method[strings.LastIndex(method, "/")+1:]
	if i := slices.Index(terminalOrder, name); i >= 0 {
		return 10 + i
	}
	for _, p := range []string{"Get", "List", "Search", "Export", "Describe", "Check", "Compare", "Find", "Render"} {
		if strings.HasPrefix(name, p) {
			return 0
		}
	}
	return 1
}

type mutCfg struct {
	seed     uint64
	n, stack int
	budget   time.Duration
	timeout  time.Duration
	settle   time.Duration
	only     *regexp.Regexp
	failOn   []codes.Code
	out      string
	verbose  bool
	strict   bool
	evolve   bool
}

var (
	mutSeedFlag    = flag.String("mutation.seed", "", "seed of TestMutatedRequestsNeverFailInternally (default 1; \"random\": from the clock)")
	mutNFlag       = flag.Int("mutation.n", 0, "mutated requests per variant (default 30)")
	mutBudgetFlag  = flag.String("mutation.budget", "", "wall time for the mutation calls (default 60s; 0: no limit)")
	mutOnlyFlag    = flag.String("mutation.only", "", "regexp on the call keys (Service/Method/variant@endpoint#i): replay")
	mutStackFlag   = flag.Int("mutation.stack", 0, "mutations per request (default 1)")
	mutFailOnFlag  = flag.String("mutation.failon", "", "comma-separated extra codes that count as failures (e.g. InvalidArgument)")
	mutOutFlag     = flag.String("mutation.out", "", "append every failing call as a JSON line to this file")
	mutVerboseFlag = flag.Bool("mutation.v", false, "log every call")
	mutEvolveFlag  = flag.Bool("mutation.evolve", false, "a third of the mutations start from a mutated request the job got OK for")
	mutStrictFlag  = flag.Bool("mutation.strict", false, "an OK answer to a value that is never valid (invalid timestamp, unknown enum number, impossible date, NUL, a non-id as an id) is a failure too")
)

func mutationConfig(t *testing.T) mutCfg {
	t.Helper()
	get := func(flagVal, env string) string {
		if flagVal != "" {
			return flagVal
		}
		return os.Getenv(env)
	}
	cfg := mutCfg{seed: 1, n: 30, stack: 1, budget: 60 * time.Second, timeout: 20 * time.Second, settle: 3 * time.Second}
	switch s := get(*mutSeedFlag, "WIJKBRUG_MUTATION_SEED"); s {
	case "":
	case "random":
		cfg.seed = uint64(time.Now().UnixNano())
	default:
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("mutation seed %q: %v", s, err)
		}
		cfg.seed = v
	}
	atoi := func(flagVal int, env string, def int) int {
		if flagVal > 0 {
			return flagVal
		}
		if s := os.Getenv(env); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 1 {
				t.Fatalf("%s=%q: want a positive number", env, s)
			}
			return v
		}
		return def
	}
	cfg.n = atoi(*mutNFlag, "WIJKBRUG_MUTATION_N", cfg.n)
	cfg.stack = atoi(*mutStackFlag, "WIJKBRUG_MUTATION_STACK", cfg.stack)
	if s := get(*mutBudgetFlag, "WIJKBRUG_MUTATION_BUDGET"); s != "" {
		if s == "0" {
			cfg.budget = 0
		} else {
			d, err := time.ParseDuration(s)
			if err != nil {
				t.Fatalf("mutation budget %q: %v", s, err)
			}
			cfg.budget = d
		}
	}
	if s := get(*mutOnlyFlag, "WIJKBRUG_MUTATION_ONLY"); s != "" {
		cfg.only = regexp.MustCompile(s)
	}
	if s := get(*mutFailOnFlag, "WIJKBRUG_MUTATION_FAIL_ON"); s != "" {
		for _, name := range strings.Split(s, ",") {
			c, ok := codeByName(strings.TrimSpace(name))
			if !ok {
				t.Fatalf("mutation fail-on: unknown code %q", name)
			}
			cfg.failOn = append(cfg.failOn, c)
		}
	}
	cfg.out = get(*mutOutFlag, "WIJKBRUG_MUTATION_OUT")
	cfg.verbose = *mutVerboseFlag || os.Getenv("WIJKBRUG_MUTATION_VERBOSE") != ""
	cfg.strict = *mutStrictFlag || os.Getenv("WIJKBRUG_MUTATION_STRICT") != ""
	cfg.evolve = *mutEvolveFlag || os.Getenv("WIJKBRUG_MUTATION_EVOLVE") != ""
	return cfg
}

func codeByName(name string) (codes.Code, bool) {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if strings.EqualFold(c.String(), name) || strings.EqualFold(strings.ReplaceAll(name, "_", ""), c.String()) {
			return c, true
		}
	}
	return 0, false
}

func budgetString(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return d.String()
}

// mutRun is the state of one run: counts and what failed.
type mutRun struct {
	t   *testing.T
	env *bolaEnv
	cfg mutCfg

	calls, controls, tokenCalls, unsendable int
	oversized                               int
	deadline                                time.Time
	unreached                               []string
	noFields                                []string
	codes                                   map[string]int // code → calls (mutated only)
	perMethod                               map[string]int
	controlCodes                            []string
	records                                 []*mutCall // by call number (user mut-<n>)
	failures                                map[string]*mutFailure
	failureOrder                            []string
	unnamed                                 map[string]*mutCall // INVALID_ARGUMENT not naming the mutated field, by method
	accepted                                map[string]*mutCall // OK for a value that is never valid, by method, field and why
	acceptedOrder                           []string
	slowest                                 []*mutCall
	exhausted                               []*mutCall
}

// mutCall is one call made.
type mutCall struct {
	n        int
	key      string
	method   string
	endpoint string
	who      string
	muts     []applied
	request  string // rendered lazily for failures
	req      proto.Message
	err      error
	code     codes.Code
	took     time.Duration
	problem  string
	logLines []string
}

type mutFailure struct {
	method, code, shape, problem string
	count                        int
	first                        *mutCall
	keys                         []string
}

// prepare fills in the caller's OIN for "{caller}" and a fresh idempotency key.
func (r *mutRun) prepare(j mutJob, req proto.Message) {
	m := req.ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Kind() == protoreflect.StringKind && !fd.IsList() && m.Get(fd).String() == "{caller}" {
			m.Set(fd, protoreflect.ValueOfString(r.env.orgs[j.v.who.org].OIN))
		}
	}
	r.freshKey(req)
}

// freshKey sets a new idempotency key (when the request has one).
func (r *mutRun) freshKey(req proto.Message) {
	m := req.ProtoReflect()
	if fd := m.Descriptor().Fields().ByName("idempotency_key"); fd != nil {
		m.Set(fd, protoreflect.ValueOfString(fmt.Sprintf("mut-%d-%d-%d", r.cfg.seed, time.Now().UnixNano(), r.env.seq.Add(1))))
	}
}

// pageTokens asks for the first page of a paged list (page size 1) and returns its
// next_page_token, so that mutations can forge real tokens.
func (r *mutRun) pageTokens(j mutJob, base proto.Message) []string {
	m := base.ProtoReflect()
	tokFD := m.Descriptor().Fields().ByName("page_token")
	sizeFD := m.Descriptor().Fields().ByName("page_size")
	if tokFD == nil || sizeFD == nil || r.cfg.only != nil {
		return nil
	}
	req := proto.Clone(base)
	req.ProtoReflect().Set(sizeFD, protoreflect.ValueOfInt32(1))
	r.freshKey(req)
	c := r.call(j, -2, req, nil, j.key(-1)+"#page-token")
	if c == nil || c.err != nil {
		return nil
	}
	resp := c.resp
	if resp == nil {
		return nil
	}
	if fd := resp.ProtoReflect().Descriptor().Fields().ByName("next_page_token"); fd != nil {
		if tok := resp.ProtoReflect().Get(fd).String(); tok != "" {
			return []string{tok}
		}
	}
	return nil
}

// call makes one call as the job's caller (each call with its own acting user mut-<n>, so
// that a log line names the call that caused it) and judges the answer. i is the mutation
// number, -1 for the control and -2 for a page-token look-up.
func (r *mutRun) call(j mutJob, i int, req proto.Message, muts []applied, key string) *mutCallResult {
	t := r.t
	n := len(r.records)
	c := &mutCall{n: n, key: key, method: j.method, endpoint: j.endpoint, who: j.v.who.label, muts: muts, req: req}
	r.records = append(r.records, c)
	resp, err := newResponse(j.method)
	if err != nil {
		t.Fatal(err)
	}
	role := j.v.who.role
	if role == "" {
		role = authz.RoleProfessional
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.timeout)
	defer cancel()
	ctx = grpcx.ActingUser(ctx, fmt.Sprintf("mut-%d", n), role, purposeFor(r.env.orgs[j.v.who.org].Type))
	if j.v.onBehalf != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, identity.HeaderOnBehalfOf, j.v.onBehalf)
	}
	began := time.Now()
	err = r.env.conn(t, j.v.who.org, j.endpoint).Invoke(ctx, j.method, req, resp)
	c.took = time.Since(began)
	c.err = err
	c.code = status.Code(err)
	r.calls++
	switch i {
	case -1:
		r.controls++
		if c.code != codes.OK {
			r.controlCodes = append(r.controlCodes, fmt.Sprintf("%s: %s", key, c.code))
		}
	case -2:
		r.tokenCalls++
	default:
		r.codes[c.code.String()]++
		r.perMethod[short(j.method)]++
	}
	c.problem = r.judge(err)
	if i >= 0 && c.problem == "" && c.code == codes.InvalidArgument && !namesMutatedField(err, muts) {
		if r.unnamed == nil {
			r.unnamed = map[string]*mutCall{}
		}
		if _, seen := r.unnamed[short(j.method)]; !seen {
			r.unnamed[short(j.method)] = c
		}
	}
	if i >= 0 && c.code == codes.OK {
		for _, a := range lastPerField(muts) {
			why := neverValid(a)
			if strings.HasPrefix(why, "not a UUID") && slices.ContainsFunc(muts, func(b applied) bool { return b.path == a.path && b.what != a.what }) {
				why = "" // an earlier mutation of the request put the UUID there
			}
			if why != "" {
				k := short(j.method) + " " + withoutIndex(a.path) + " (" + why + ")"
				if r.accepted == nil {
					r.accepted = map[string]*mutCall{}
				}
				if _, seen := r.accepted[k]; !seen {
					r.accepted[k] = c
					r.acceptedOrder = append(r.acceptedOrder, k)
					if r.cfg.strict {
						c.problem = "OK for a value that is never valid: " + why
					}
				}
			}
		}
	}
	if c.code == codes.ResourceExhausted {
		r.exhausted = append(r.exhausted, c)
	}
	r.slowest = append(r.slowest, c)
	sort.Slice(r.slowest, func(a, b int) bool { return r.slowest[a].took > r.slowest[b].took })
	if len(r.slowest) > 5 {
		r.slowest = r.slowest[:5]
	}
	if r.cfg.verbose || c.problem != "" {
		t.Logf("call %d %s as %s %v: %s (%s)%s", n, key, j.v.who.label, muts, describe(err), c.took.Round(time.Millisecond), problemSuffix(c.problem))
	}
	if c.problem != "" {
		r.fail(c)
	} else {
		c.req = nil // long runs make 100k calls, some with megabytes of request
	}
	return &mutCallResult{mutCall: c, resp: resp}
}

type mutCallResult struct {
	*mutCall
	resp proto.Message
}

func problemSuffix(p string) string {
	if p == "" {
		return ""
	}
	return " ← " + p
}

// judge says what is wrong with an answer ("" when it is a clear answer).
func (r *mutRun) judge(err error) string {
	if err == nil {
		return ""
	}
	st, ok := status.FromError(err)
	if !ok {
		return "a client-side error, not a status: " + err.Error()
	}
	if slices.Contains(r.cfg.failOn, st.Code()) {
		return "code listed in WIJKBRUG_MUTATION_FAIL_ON"
	}
	switch st.Code() {
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return "the server failed (" + st.Code().String() + ")"
	case codes.Unimplemented:
		return "UNIMPLEMENTED for a method the service declares"
	case codes.Unavailable:
		return "UNAVAILABLE: the connection dropped or the server could not serve bad input"
	case codes.DeadlineExceeded:
		return fmt.Sprintf("no answer within %s", r.cfg.timeout)
	case codes.Canceled:
		return "CANCELED by the server"
	case codes.ResourceExhausted:
		if strings.Contains(st.Message(), "larger than max") {
			return "the answer is larger than a client may receive"
		}
	case codes.InvalidArgument:
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					if v.GetField() != "" {
						return ""
					}
				}
				return "INVALID_ARGUMENT whose google.rpc.BadRequest names no field"
			}
		}
		return "INVALID_ARGUMENT without a google.rpc.BadRequest"
	}
	return ""
}

// namesMutatedField: one of the INVALID_ARGUMENT's field violations names the mutated field,
// an enclosing or an enclosed one (indexes ignored), or the request as a whole.
var uuidLoose = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func namesMutatedField(err error, muts []applied) bool {
	for _, a := range muts {
		if a.path == "(request)" {
			return true
		}
	}
	st := status.Convert(err)
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, withoutIndex(v.GetField()))
			}
		}
	}
	for _, a := range muts {
		p := withoutIndex(a.path)
		for _, f := range fields {
			if f == "request" || f == p || strings.HasPrefix(p, f+".") || strings.HasPrefix(f, p+".") || strings.HasPrefix(f, p+"[") {
				return true
			}
			// A violation of the enclosing object, e.g. "goals" for goals[3].target_score, or a
			// cross-field rule naming a sibling: accepted when it names the same message.
			if i := strings.LastIndex(p, "."); i >= 0 && strings.HasPrefix(f, p[:i+1]) {
				return true
			}
		}
	}
	return false
}

var indexRE = regexp.MustCompile(`\[[^\]]*\]`)

func withoutIndex(s string) string { return indexRE.ReplaceAllString(s, "") }

var (
	shapeUUID  = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	shapeHex   = regexp.MustCompile(`\b[0-9a-f]{16,}\b`)
	shapeNum   = regexp.MustCompile(`[0-9]+`)
	shapeQuote = regexp.MustCompile(`"[^"]*"|'[^']*'`)
)

// shape is a message with its ids, numbers and quoted values taken out, so that one bug
// with many values is one failure.
func shape(msg string) string {
	s := shapeUUID.ReplaceAllString(msg, "<uuid>")
	s = shapeHex.ReplaceAllString(s, "<hex>")
	s = shapeQuote.ReplaceAllString(s, "<q>")
	s = shapeNum.ReplaceAllString(s, "<n>")
	return truncate(s, 160)
}

func (r *mutRun) fail(c *mutCall) {
	st := status.Convert(c.err)
	k := short(c.method) + "|" + c.code.String() + "|" + c.problem + "|" + shape(st.Message())
	f, ok := r.failures[k]
	if !ok {
		f = &mutFailure{method: short(c.method), code: c.code.String(), shape: shape(st.Message()), problem: c.problem, first: c}
		r.failures[k] = f
		r.failureOrder = append(r.failureOrder, k)
	}
	f.count++
	if len(f.keys) < 6 {
		f.keys = append(f.keys, c.key)
	}
	if r.cfg.out != "" {
		rendered := "(not kept)"
		if c.req != nil {
			rendered = renderRequest(c.req)
		}
		line, _ := json.Marshal(map[string]any{"seed": r.cfg.seed, "stack": r.cfg.stack, "key": c.key, "method": c.method, "endpoint": c.endpoint, "as": c.who,
			"mutations": fmt.Sprint(c.muts), "request": rendered, "status": describe(c.err), "problem": c.problem, "took_ms": c.took.Milliseconds()})
		if fh, err := os.OpenFile(r.cfg.out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			_, _ = fh.Write(append(line, '\n'))
			_ = fh.Close()
		}
	}
}

func (r *mutRun) summary() {
	t := r.t
	var cs []string
	for c, n := range r.codes {
		cs = append(cs, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(cs)
	t.Logf("answers to mutated requests: %s", strings.Join(cs, ", "))
	var ms []string
	for m, n := range r.perMethod {
		ms = append(ms, fmt.Sprintf("%s %d", m, n))
	}
	sort.Strings(ms)
	t.Logf("mutated calls per method (%d methods): %s", len(ms), strings.Join(ms, ", "))
	t.Logf("controls (the valid requests): %d, all OK but %d: %s", r.controls, len(r.controlCodes), strings.Join(r.controlCodes, "; "))
	for _, c := range r.slowest {
		t.Logf("slow: %s %v took %s (%s)", c.key, c.muts, c.took.Round(time.Millisecond), c.code)
	}
	for _, c := range r.exhausted {
		t.Logf("RESOURCE_EXHAUSTED (accepted): %s %v: %s", c.key, c.muts, describe(c.err))
	}
	for _, k := range r.acceptedOrder {
		c := r.accepted[k]
		t.Logf("note: OK for a value that is never valid: %s: %s %v", k, c.key, c.muts)
	}
	var ms2 []string
	for m := range r.unnamed {
		ms2 = append(ms2, m)
	}
	sort.Strings(ms2)
	for _, m := range ms2 {
		c := r.unnamed[m]
		t.Logf("note: INVALID_ARGUMENT not naming the mutated field: %s %v: %s", c.key, c.muts, describe(c.err))
	}
}

// logLine is a service log line (JSON).
type logLine struct {
	raw   string
	level string
	msg   string
	user  string
	trace string
}

// scanLogs reads the services' log lines written since mark: every ERROR line is a failure,
// attributed to the call it came from when it names the call's acting user or shares its
// trace id; the server-side detail of an INTERNAL answer is added to that failure.
func (r *mutRun) scanLogs(all []byte, mark int) {
	t := r.t
	before := 0
	for _, l := range parseLogLines(all[:mark]) {
		if l.level == "ERROR" {
			before++
		}
	}
	unattributed, stats := r.attributeLogLines(parseLogLines(all[mark:]))
	t.Logf("service logs: %d ERROR lines before the probe (start-up, fixture); during it %d lines, %d access lines (\"rpc\") naming a probe call, %d ERROR lines (%d not attributable to a call); WARN lines by message: %v",
		before, stats.lines, stats.rpcLines, stats.errors, len(unattributed), stats.warns)
	// The log check is only worth something when the capture works: every call the probe
	// made has its access line (INFO).
	if r.calls > 0 && stats.rpcLines < r.calls*9/10 {
		t.Errorf("the captured service logs hold access lines of %d of the %d calls made: the log capture does not work, so the ERROR check proves nothing", stats.rpcLines, r.calls)
	}
	seen := map[string]bool{}
	for _, l := range unattributed {
		k := shape(l.msg)
		if seen[k] {
			continue
		}
		seen[k] = true
		t.Errorf("the services logged an ERROR line during the probe that names no call (an event consumer? background work on stored mutated data?): %s", truncate(l.raw, 2000))
	}
}

type logStats struct {
	lines, rpcLines, errors int
	warns                   map[string]int
}

// attributeLogLines attaches the WARN and ERROR lines to the calls they name (by acting user
// mut-<n>, or by the trace id of that call's access line), makes every call with an ERROR line
// a failure and returns the ERROR lines that name no call.
func (r *mutRun) attributeLogLines(lines []logLine) ([]logLine, logStats) {
	stats := logStats{lines: len(lines), warns: map[string]int{}}
	traceCall := map[string]int{}
	for _, l := range lines {
		if n, ok := mutUser(l.user); ok {
			if l.trace != "" {
				traceCall[l.trace] = n
			}
			if l.msg == "rpc" {
				stats.rpcLines++
			}
		}
	}
	var unattributed []logLine
	for _, l := range lines {
		n, ok := mutUser(l.user)
		if !ok && l.trace != "" {
			n, ok = traceCall[l.trace]
		}
		ok = ok && n < len(r.records)
		if ok && l.level != "INFO" && l.level != "DEBUG" {
			r.records[n].logLines = append(r.records[n].logLines, l.level+" "+truncate(l.raw, 1500))
		}
		switch l.level {
		case "ERROR":
			stats.errors++
			if !ok {
				unattributed = append(unattributed, l)
				continue
			}
			if c := r.records[n]; c.problem == "" {
				c.problem = "the service logged an ERROR line for it"
				r.fail(c)
			}
		case "WARN":
			stats.warns[l.msg]++
		}
	}
	return unattributed, stats
}

func mutUser(u string) (int, bool) {
	rest, ok := strings.CutPrefix(u, "mut-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

func parseLogLines(b []byte) []logLine {
	var out []logLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		raw := sc.Text()
		var m map[string]any
		if json.Unmarshal([]byte(raw), &m) != nil {
			if strings.Contains(raw, "ERROR") || strings.Contains(raw, "panic") {
				out = append(out, logLine{raw: raw, level: "ERROR", msg: raw})
			}
			continue
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		out = append(out, logLine{raw: raw, level: str("level"), msg: str("msg"), user: str("user"), trace: str("trace_id")})
	}
	return out
}

// report: one t.Errorf per distinct (method, code, message shape), with the first example.
func (r *mutRun) report() {
	t := r.t
	for _, k := range r.failureOrder {
		f := r.failures[k]
		c := f.first
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %s — %s (%d calls", f.method, f.code, f.problem, f.count)
		fmt.Fprintf(&b, "; e.g. %s)\n", strings.Join(f.keys, ", "))
		fmt.Fprintf(&b, "    as:       %s at %s\n", c.who, c.endpoint)
		fmt.Fprintf(&b, "    mutation: %v\n", c.muts)
		if c.req != nil {
			fmt.Fprintf(&b, "    request:  %s\n", renderRequest(c.req))
		} else {
			fmt.Fprintf(&b, "    request:  (not kept: the answer was clear, the service's log was not; replay the key to see it)\n")
		}
		fmt.Fprintf(&b, "    answer:   %s (after %s)\n", describe(c.err), c.took.Round(time.Millisecond))
		for _, l := range c.logLines {
			fmt.Fprintf(&b, "    log:      %s\n", l)
		}
		fmt.Fprintf(&b, "    replay:   %s go test -count=1 -run TestMutatedRequestsNeverFailInternally ./cmd/wijkbrug%s", r.replayEnv(c.key), replayNote(c.key))
		t.Errorf("%s", b.String())
	}
	if len(r.failures) == 0 {
		t.Logf("no failures: every mutated request got a clear answer")
	} else {
		t.Logf("%d distinct failures", len(r.failures))
	}
}

var (
	impossibleDates   = []string{"2026-02-30", "2026-13-01", "2026-00-10", " 2026-01-01", "2026-01-01 ", "2026-1-1", "20260101", "2026-01-01T00:00:00Z", "-2026-01-01", "+2026-01-01", "0000-01-01", "10000-01-01"}
	impossiblePeriods = []string{"2026-Q0", "2026-Q5", "0000-Q1", "2026-Q1 ", "2026Q1", "2026-q1", "2026-Q01", "-2026-Q1", "2026-Q4-Q1"}
)

// neverValid says why a mutation's value can never be valid input ("" when it may be).
func neverValid(a applied) string {
	leaf := withoutIndex(a.path)
	if i := strings.LastIndex(leaf, "."); i >= 0 {
		leaf = leaf[i+1:]
	}
	w := a.what
	if i := strings.Index(w, " (appended "); i >= 0 {
		w = w[:i] // what was appended first was then changed
	}
	switch {
	case strings.HasPrefix(w, "timestamp:") && strings.Contains(w, "(invalid)"):
		return "an invalid google.protobuf.Timestamp"
	case strings.HasPrefix(w, "duration:") && strings.Contains(w, "(invalid)"):
		return "an invalid google.protobuf.Duration"
	case strings.HasPrefix(w, "enum ") && (strings.Contains(w, "(unknown)") || strings.Contains(w, "(one past the last)")):
		return "an enum number the proto does not define"
	case strings.HasPrefix(w, "string ") && strings.Contains(w, `\x00`):
		return "a NUL character"
	}
	class := fieldClass(leaf)
	quoted := func(list []string) bool {
		for _, v := range list {
			if strings.Contains(w, strconv.QuoteToASCII(v)) {
				return true
			}
		}
		return false
	}
	switch class {
	case "date":
		if quoted(impossibleDates) {
			return "not a date"
		}
	case "period":
		if quoted(impossiblePeriods) {
			return "not a period"
		}
	}
	// A field whose valid value is a UUID given something that is not a UUID in any spelling.
	if strings.HasSuffix(w, uuidFieldMarker) && strings.HasPrefix(w, "string ") {
		v := strings.TrimSuffix(strings.TrimPrefix(w, "string "), " "+uuidFieldMarker)
		if uq, err := strconv.Unquote(v); err == nil && uq != "" && !uuidLoose.MatchString(uq) {
			return "not a UUID where the valid value is one"
		}
		if strings.Contains(w, "less its last character") || strings.Contains(w, "valid value + space") || strings.Contains(w, "NBSP") ||
			strings.Contains(w, "BOM +") || strings.Contains(w, "space +") {
			return "not a UUID where the valid value is one"
		}
	}
	return ""
}

// lastPerField drops the mutations a later one overwrote (the same field, or a field that
// encloses it).
func lastPerField(muts []applied) []applied {
	var out []applied
	for i, a := range muts {
		overwritten := false
		for _, b := range muts[i+1:] {
			if b.path == a.path || b.path == "(request)" || strings.HasPrefix(a.path, b.path+".") || strings.HasPrefix(a.path, b.path+"[") {
				overwritten = true
			}
		}
		if !overwritten {
			out = append(out, a)
		}
	}
	return out
}

// replayEnv is the environment that makes call key again, alone: the seed and the knobs that
// change what a key's mutation is (with -evolve the whole job, whose accepted requests the
// mutation may build on).
func (r *mutRun) replayEnv(key string) string {
	env := fmt.Sprintf("WIJKBRUG_MUTATION_SEED=%d", r.cfg.seed)
	if r.cfg.stack != 1 {
		env += fmt.Sprintf(" WIJKBRUG_MUTATION_STACK=%d", r.cfg.stack)
	}
	only := "^" + regexp.QuoteMeta(key) + "$"
	if r.cfg.evolve {
		env += fmt.Sprintf(" WIJKBRUG_MUTATION_EVOLVE=1 WIJKBRUG_MUTATION_N=%d", r.cfg.n)
		if i := strings.LastIndex(key, "#"); i >= 0 {
			only = "^" + regexp.QuoteMeta(key[:i+1])
		}
	}
	return env + " WIJKBRUG_MUTATION_ONLY='" + only + "'"
}

func replayNote(key string) string {
	if strings.Contains(key, "#rb") {
		return " (a read-back call: it may need the first pass's changes; without ONLY it runs after them)"
	}
	return ""
}
