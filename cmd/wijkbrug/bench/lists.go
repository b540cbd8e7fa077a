package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"google.golang.org/protobuf/proto"
)

// listLoads are the list and search RPCs professionals and partners call all day.
func listLoads() []load {
	cases := func(name string, req *casedirectionv1.ListCasesRequest) load {
		return load{name: name, service: "casedirection", method: casedirectionv1.CaseDirectionService_ListCases_FullMethodName, as: asTeam,
			msg: func(int64) proto.Message { return req }}
	}
	return []load{
		cases("ListCases team", &casedirectionv1.ListCasesRequest{PageSize: 50}),
		cases("ListCases status", &casedirectionv1.ListCasesRequest{PageSize: 50, Statuses: []casedirectionv1.CaseStatus{casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE}}),
		cases("ListCases director", &casedirectionv1.ListCasesRequest{PageSize: 50, DirectorProfessionalId: benchDirector}),
		{name: "ListTeamQueue", service: "intake", method: intakev1.IntakeService_ListTeamQueue_FullMethodName, as: asTeam,
			msg: func(int64) proto.Message { return &intakev1.ListTeamQueueRequest{PageSize: 50} }},
		{name: "SearchProvisions", service: "referral", method: referralv1.ReferralService_SearchProvisions_FullMethodName, as: asTeam,
			msg: func(int64) proto.Message {
				return &referralv1.SearchProvisionsRequest{MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
					LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK}, Limit: 20}
			}},
		{name: "ListMySignals", service: "referral", method: referralv1.ReferralService_ListMySignals_FullMethodName, as: asGP,
			msg: func(int64) proto.Message { return &referralv1.ListMySignalsRequest{PageSize: 50} }},
	}
}

// benchDirector is the professional the bench (and the scale generator) makes director.
const benchDirector = "bench-regisseur"

// lists measures the list/search RPCs at the current data size: at every concurrency for the
// demo data set, at 16 callers at scale.
func (b *bench) lists(ctx context.Context, res *results, size string) error {
	conc := []int{16}
	if size == "demo" {
		conc = b.o.conc
	}
	fmt.Fprintf(b.out, "List and search RPCs (%s cases):\n", size)
	for _, c := range conc {
		for _, l := range listLoads() {
			// Each list run starts quiet too: the access-log entries of the run before are
			// sealed in the background and would be measured with this one.
			q, err := b.quiesce(ctx, fmt.Sprintf("%s (%s cases) c=%d", l.name, size, c), quietLimit)
			if err != nil {
				return err
			}
			if err := b.resetStatements(ctx); err != nil {
				return err
			}
			stopProfile, err := b.profile(fmt.Sprintf("%s-%s-c%d.pprof", strings.ReplaceAll(strings.ToLower(l.name), " ", "-"), size, c))
			if err != nil {
				return err
			}
			m, err := b.ghz(l, c, shape{total: uint(b.o.listCalls)})
			stopProfile()
			if err != nil {
				return err
			}
			m.Name, m.Quiet = l.name, q
			top, wal, err := b.sinceReset(ctx, 8)
			if err != nil {
				return err
			}
			res.Lists = append(res.Lists, listRow{Size: size, M: m, Statements: top, WAL: wal})
			b.progress(m)
			if wal != "" {
				fmt.Fprintf(b.out, "      %s\n", wal)
			}
			for _, st := range top {
				fmt.Fprintf(b.out, "      %s\n", st)
			}
		}
	}
	return ctx.Err()
}

type listRow struct {
	Size       string
	M          measurement
	Statements []statementTime
	WAL        string
}
