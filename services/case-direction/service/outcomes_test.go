package service_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	outcomesv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/outcomes/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/pkg/testkit/chromium"
	"github.com/wijkbrug/wijkbrug/services/case-direction/service"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The generated region: one municipality, three districts, five teams, one of them small.
const regionMunicipality = "GM0363"

var (
	municipalityOrg = svctest.Org(identity.OrgMunicipality, "Gemeente Regio")
	otherMunicipal  = svctest.Org(identity.OrgMunicipality, "Gemeente Elders")
	regionTeams     = []struct {
		org      devca.Org
		district string
		intakes  int
	}{
		{svctest.Org(identity.OrgTeam, "Wijkteam Centrum"), "WK036301", 130},
		{svctest.Org(identity.OrgTeam, "Wijkteam Oost"), "WK036301", 110},
		{svctest.Org(identity.OrgTeam, "Wijkteam West"), "WK036302", 120},
		{svctest.Org(identity.OrgTeam, "Wijkteam Zuidrand"), "WK036303", 100},
		// A team with a handful of intakes: its cells are small and must be suppressed.
		{svctest.Org(identity.OrgTeam, "Wijkteam Klein"), "WK036303", 9},
	}
	regionStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// regionEvent is one event the producers would publish.
type regionEvent struct {
	producer, aggregate string
	msg                 proto.Message
	id                  string
}

// expected is the direct computation: per table, period, group and column the counted facts
// (count tables) or the measured values (statistics and means).
type expected map[string]map[[3]string][]float64

func (e expected) add(table, period, group, column string, v float64) {
	if e[table] == nil {
		e[table] = map[[3]string][]float64{}
	}
	k := [3]string{period, group, column}
	e[table][k] = append(e[table][k], v)
}

// quarter is the quarter of t's Dutch calendar day (a day given as midnight UTC is its own).
func quarter(t time.Time) string {
	t = t.In(amsterdam)
	return fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
}

var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	return loc
}()

// generateRegion makes the events of a region's intakes, cases, goals, referrals and
// allocations, and the figures a direct computation gives per team and per district.
func generateRegion(seed uint64) ([]regionEvent, map[outcomesv1.GroupBy]expected, int) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	var events []regionEvent
	emit := func(producer, aggregate string, msg proto.Message) {
		events = append(events, regionEvent{producer: producer, aggregate: aggregate, msg: msg, id: uuid.NewString()})
	}
	exp := map[outcomesv1.GroupBy]expected{outcomesv1.GroupBy_GROUP_BY_TEAM: {}, outcomesv1.GroupBy_GROUP_BY_DISTRICT: {}}
	add := func(team, district, table string, at time.Time, column string, v float64) {
		exp[outcomesv1.GroupBy_GROUP_BY_TEAM].add(table, quarter(at), team, column, v)
		exp[outcomesv1.GroupBy_GROUP_BY_DISTRICT].add(table, quarter(at), district, column, v)
	}
	days := func(from, to time.Time) float64 { return to.Sub(from).Hours() / 24 }
	pick := func(n int) int { return rng.IntN(n) }
	channels := []intakev1.Channel{intakev1.Channel_CHANNEL_DESK, intakev1.Channel_CHANNEL_PHONE, intakev1.Channel_CHANNEL_DIGITAL, intakev1.Channel_CHANNEL_SIGNAL}
	sources := []referralv1.SourceType{referralv1.SourceType_SOURCE_TYPE_GP, referralv1.SourceType_SOURCE_TYPE_HOUSING_CORPORATION, referralv1.SourceType_SOURCE_TYPE_ENERGY, referralv1.SourceType_SOURCE_TYPE_POLICE}
	results := []commonv1.CaseResult{commonv1.CaseResult_CASE_RESULT_GOALS_REACHED, commonv1.CaseResult_CASE_RESULT_GOALS_REACHED,
		commonv1.CaseResult_CASE_RESULT_PARTLY_REACHED, commonv1.CaseResult_CASE_RESULT_NOT_REACHED, commonv1.CaseResult_CASE_RESULT_MOVED}
	goalStatuses := []casedirectionv1.GoalStatus{casedirectionv1.GoalStatus_GOAL_STATUS_REACHED, casedirectionv1.GoalStatus_GOAL_STATUS_PARTLY, casedirectionv1.GoalStatus_GOAL_STATUS_NOT_REACHED}
	declines := []referralv1.DeclineReason{referralv1.DeclineReason_DECLINE_REASON_CAPACITY, referralv1.DeclineReason_DECLINE_REASON_NOT_ELIGIBLE, referralv1.DeclineReason_DECLINE_REASON_OUT_OF_AREA}
	closedCases := 0
	for _, tm := range regionTeams {
		team, district := tm.org.OIN, tm.district
		for range tm.intakes {
			intakeID := uuid.NewString()
			received := regionStart.Add(time.Duration(rng.Int64N(int64(240 * 24 * time.Hour))))
			ch := channels[pick(len(channels))]
			in := &intakev1.IntakeReceived{IntakeId: intakeID, Channel: ch, HouseholdId: uuid.NewString(), MunicipalityCode: regionMunicipality,
				DistrictCode: district, TeamOin: team, ReceivedAt: timestamppb.New(received)}
			add(team, district, "intakes_by_channel", received, protoenum.Code(ch), 0)
			if ch == intakev1.Channel_CHANNEL_SIGNAL {
				in.SourceType = sources[pick(len(sources))]
				add(team, district, "intakes_by_source", received, protoenum.Code(in.SourceType), 0)
				// The partner's signal came first; it belongs to no team yet (group "").
				signalID, at := uuid.NewString(), received.Add(-2*time.Hour)
				in.SignalIds = []string{signalID}
				emit("referral", signalID, &referralv1.SignalReceived{SignalId: signalID, SourceType: in.SourceType, MunicipalityCode: regionMunicipality,
					DistrictCode: district, ReceivedAt: timestamppb.New(at)})
				exp[outcomesv1.GroupBy_GROUP_BY_TEAM].add("signals_by_source", quarter(at), "", protoenum.Code(in.SourceType), 0)
				exp[outcomesv1.GroupBy_GROUP_BY_DISTRICT].add("signals_by_source", quarter(at), district, protoenum.Code(in.SourceType), 0)
			}
			emit("intake", intakeID, in)
			if pick(10) < 8 {
				// A failed attempt first, sometimes; the first reached one is the first contact.
				at := received.Add(time.Duration(1+pick(72)) * time.Hour)
				if pick(3) == 0 {
					emit("intake", intakeID, &intakev1.IntakeContactAttempted{IntakeId: intakeID, Reached: false, MunicipalityCode: regionMunicipality, At: timestamppb.New(at)})
					at = at.Add(time.Duration(1+pick(48)) * time.Hour)
				}
				emit("intake", intakeID, &intakev1.IntakeContactAttempted{IntakeId: intakeID, Reached: true, MunicipalityCode: regionMunicipality, At: timestamppb.New(at)})
				add(team, district, "days_to_first_contact", received, "", days(received, at))
			}
			triaged := received.Add(time.Duration(2+pick(14*24)) * time.Hour)
			outcome := intakev1.TriageOutcome(1 + pick(4))
			if pick(2) == 0 {
				outcome = intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION
			}
			emit("intake", intakeID, &intakev1.IntakeTriaged{IntakeId: intakeID, Outcome: outcome, MunicipalityCode: regionMunicipality, At: timestamppb.New(triaged)})
			add(team, district, "triage_outcomes", received, protoenum.Code(outcome), 0)
			add(team, district, "days_to_triage", received, "", days(received, triaged))
			// A decision (beschikking) on an application made at triage: Wmo or Jeugdwet,
			// decided within the statutory term or past it, some signalled overdue first, a few
			// overdue and not decided yet. The event names the case or only the intake (a
			// custom provision straight from triage), and sometimes no district: the read model
			// finds the team and district through them.
			decide := func(caseID string) {
				decisionID := uuid.NewString()
				applied := triaged.Truncate(24 * time.Hour)
				basis, law, term := providermonitoringv1.LegalBasis_LEGAL_BASIS_WMO_2_3_5, "WMO", 14
				if pick(5) < 2 {
					basis, law, term = providermonitoringv1.LegalBasis_LEGAL_BASIS_JEUGDWET_2_3, "JEUGDWET", 56
				}
				due := applied.AddDate(0, 0, term)
				decided := applied.AddDate(0, 0, 1+pick(term*13/10))
				within := !decided.After(due)
				eventDistrict := district
				if caseID == "" && pick(2) == 0 {
					eventDistrict = ""
				}
				neverDecided := !within && pick(6) == 0
				if !within && (neverDecided || pick(4) != 0) {
					emit("providermonitoring", decisionID, &providermonitoringv1.DecisionOverdue{DecisionId: decisionID, MunicipalityCode: regionMunicipality,
						LegalBasis: basis, Status: providermonitoringv1.DecisionStatus_DECISION_STATUS_PROPOSED, ApplicationDate: applied.Format(time.DateOnly),
						DueDate: due.Format(time.DateOnly), DetectedAt: timestamppb.New(due.AddDate(0, 0, 1)),
						DistrictCode: eventDistrict, CaseId: caseID, IntakeId: intakeID})
					add(team, district, "decisions_overdue", due, law, 0)
				}
				if neverDecided {
					return
				}
				emit("providermonitoring", decisionID, &providermonitoringv1.DecisionDecided{DecisionId: decisionID, DecisionNumber: fmt.Sprintf("B%08d", rng.IntN(1e8)),
					MunicipalityCode: regionMunicipality, DistrictCode: eventDistrict, CaseId: caseID, IntakeId: intakeID, LegalBasis: basis, Granted: pick(5) != 0,
					WithinStatutoryTerm: within, ApplicationDate: applied.Format(time.DateOnly), DueDate: due.Format(time.DateOnly),
					DecidedDate: decided.Format(time.DateOnly), DecidedAt: timestamppb.New(decided.Add(10 * time.Hour))})
				col := law + "_PAST_TERM"
				if within {
					col = law + "_WITHIN_TERM"
				}
				add(team, district, "decisions_by_term", decided, col, 0)
				add(team, district, "decisions_within_term_share", decided, law, map[bool]float64{true: 1}[within])
				add(team, district, "decisions_within_term_share", decided, "ALL", map[bool]float64{true: 1}[within])
			}
			if outcome == intakev1.TriageOutcome_TRIAGE_OUTCOME_CUSTOM_PROVISION {
				decide("")
			}
			if outcome != intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION {
				continue
			}

			caseID := uuid.NewString()
			opened := triaged.Add(time.Hour)
			emit("casedirection", caseID, &casedirectionv1.CaseOpened{CaseId: caseID, IntakeId: intakeID, HouseholdId: uuid.NewString(),
				MunicipalityCode: regionMunicipality, DistrictCode: district, TeamOin: team, OpenedAt: timestamppb.New(opened)})
			add(team, district, "case_flow", opened, "OPENED", 0)
			status := func(from, to casedirectionv1.CaseStatus, at time.Time) {
				emit("casedirection", caseID, &casedirectionv1.CaseStatusChanged{CaseId: caseID, From: from, To: to, MunicipalityCode: regionMunicipality, At: timestamppb.New(at)})
			}
			status(casedirectionv1.CaseStatus_CASE_STATUS_REGISTERED, casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE, opened.Add(time.Hour))
			if pick(4) == 0 {
				at := opened.Add(time.Duration(20+pick(40)) * 24 * time.Hour)
				status(casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS, casedirectionv1.CaseStatus_CASE_STATUS_SCALED_DOWN, at)
				add(team, district, "case_flow", at, "SCALED_DOWN", 0)
			}
			if pick(6) == 0 {
				at := opened.Add(time.Duration(30+pick(40)) * 24 * time.Hour)
				status(casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS, casedirectionv1.CaseStatus_CASE_STATUS_WATCH, at)
				back := at.Add(time.Duration(5+pick(20)) * 24 * time.Hour)
				status(casedirectionv1.CaseStatus_CASE_STATUS_WATCH, casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS, back)
				add(team, district, "case_flow", back, "REESCALATED", 0)
			}
			if pick(3) == 0 {
				refID := uuid.NewString()
				sent := opened.Add(48 * time.Hour)
				ref := func(st commonv1.ReferralStatus, reason referralv1.DeclineReason, at time.Time) {
					emit("referral", refID, &referralv1.ReferralStatusChanged{ReferralId: refID, CaseId: caseID, Status: st, DeclineReason: reason,
						MunicipalityCode: regionMunicipality, At: timestamppb.New(at)})
				}
				ref(commonv1.ReferralStatus_REFERRAL_STATUS_SENT, 0, sent)
				add(team, district, "referral_flow", sent, "SENT", 0)
				if pick(3) == 0 {
					reason := declines[pick(len(declines))]
					ref(commonv1.ReferralStatus_REFERRAL_STATUS_DECLINED, reason, sent.Add(24*time.Hour))
					add(team, district, "referral_flow", sent, "DECLINED", 0)
					add(team, district, "decline_reasons", sent, protoenum.Code(reason), 0)
				} else {
					ref(commonv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED, 0, sent.Add(24*time.Hour))
					add(team, district, "referral_flow", sent, "ACCEPTED", 0)
					if pick(4) != 0 {
						ref(commonv1.ReferralStatus_REFERRAL_STATUS_COMPLETED, 0, sent.Add(30*24*time.Hour))
						add(team, district, "referral_flow", sent, "COMPLETED", 0)
					}
				}
			}
			if pick(5) < 3 {
				decide(caseID)
			}
			if pick(5) < 2 {
				number := fmt.Sprintf("AL%08d", rng.IntN(1e8))
				issued := opened.Add(72 * time.Hour)
				startDate := time.Date(issued.Year(), issued.Month(), issued.Day()+7, 0, 0, 0, 0, time.UTC)
				emit("providermonitoring", number, &providermonitoringv1.AllocationIssued{AllocationNumber: number, CaseId: caseID,
					ProviderAgb: "12345678", MunicipalityCode: regionMunicipality, IssuedAt: timestamppb.New(issued), StartDate: startDate.Format(time.DateOnly)})
				if pick(8) == 0 {
					add(team, district, "allocation_start", issued, "NOT_STARTED", 0)
				} else {
					started := startDate.AddDate(0, 0, pick(12)-3)
					onTime := !started.After(startDate)
					emit("providermonitoring", number, &providermonitoringv1.AllocationDeliveryStarted{AllocationNumber: number, CaseId: caseID,
						ProviderAgb: "12345678", StartedOn: started.Format(time.DateOnly), MunicipalityCode: regionMunicipality,
						ReportedAt: timestamppb.New(started), StartDate: startDate.Format(time.DateOnly), FirstStart: true, StartedOnTime: onTime})
					col := "LATE"
					if onTime {
						col = "ON_TIME"
					}
					add(team, district, "allocation_start", issued, col, 0)
					add(team, district, "days_from_start_date_to_care", issued, "", days(startDate, started))
				}
			}
			if pick(10) == 0 {
				continue // still open
			}
			closed := opened.Add(time.Duration(10+pick(150)) * 24 * time.Hour)
			closedCases++
			if pick(10) == 0 {
				status(casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS, casedirectionv1.CaseStatus_CASE_STATUS_HANDED_OVER, closed)
				emit("casedirection", caseID, &casedirectionv1.CaseClosed{CaseId: caseID, IntakeId: intakeID, Status: casedirectionv1.CaseStatus_CASE_STATUS_HANDED_OVER,
					Result: commonv1.CaseResult_CASE_RESULT_HANDED_OVER, MunicipalityCode: regionMunicipality, At: timestamppb.New(closed)})
				add(team, district, "case_flow", closed, "HANDED_OVER", 0)
				add(team, district, "case_duration", closed, "", days(opened, closed))
				continue
			}
			result := results[pick(len(results))]
			var domains []*casedirectionv1.DomainOutcome
			for _, d := range rng.Perm(5)[:1+pick(3)] {
				life := commonv1.LifeDomain(1 + d)
				base, end := int32(1+pick(3)), int32(1+pick(5))
				domains = append(domains, &casedirectionv1.DomainOutcome{LifeDomain: life, BaselineScore: base, TargetScore: 4, ClosingScore: end})
				add(team, district, "zrm_baseline_mean", closed, protoenum.Code(life), float64(base))
				add(team, district, "zrm_closing_mean", closed, protoenum.Code(life), float64(end))
				add(team, district, "zrm_change_mean", closed, protoenum.Code(life), float64(end-base))
				goalID := uuid.NewString()
				gs := goalStatuses[pick(len(goalStatuses))]
				emit("casedirection", caseID, &casedirectionv1.CaseGoalStatusChanged{CaseId: caseID, GoalId: goalID, LifeDomain: life,
					From: casedirectionv1.GoalStatus_GOAL_STATUS_IN_PROGRESS, To: gs, MunicipalityCode: regionMunicipality, At: timestamppb.New(closed.Add(-time.Hour))})
				add(team, district, "goal_results", closed.Add(-time.Hour), protoenum.Code(gs), 0)
			}
			status(casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS, casedirectionv1.CaseStatus_CASE_STATUS_CLOSED, closed)
			emit("casedirection", caseID, &casedirectionv1.CaseClosed{CaseId: caseID, IntakeId: intakeID, Status: casedirectionv1.CaseStatus_CASE_STATUS_CLOSED,
				Result: result, MunicipalityCode: regionMunicipality, At: timestamppb.New(closed), DomainOutcomes: domains})
			add(team, district, "case_flow", closed, "CLOSED", 0)
			add(team, district, "case_results", closed, protoenum.Code(result), 0)
			add(team, district, "case_duration", closed, "", days(opened, closed))
		}
	}
	return events, exp, closedCases
}

// publishRegion publishes events as their producers do (CloudEvents on the producer's stream
// and subject), the streams in the given order.
func publishRegion(t *testing.T, env *svctest.Env, events []regionEvent, producers []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, producer := range producers {
		js := env.ServiceJetStream(t, producer)
		if _, err := natsx.EnsureStream(ctx, js, producer, 1, nil); err != nil {
			t.Fatalf("stream %s: %v", producer, err)
		}
		for _, ev := range events {
			if ev.producer != producer {
				continue
			}
			subject, err := eventsubject.Subject(ev.msg, regionMunicipality)
			if err != nil {
				t.Fatal(err)
			}
			data, err := proto.Marshal(ev.msg)
			if err != nil {
				t.Fatal(err)
			}
			m := cloudevents.Envelope{ID: ev.id, Source: "urn:wijkbrug:" + producer, Type: cloudevents.TypeOf(ev.msg), Time: time.Now(),
				Subject: ev.aggregate, NATSSubject: subject, Data: data}.ToMsg()
			m.Header.Set(nats.MsgIdHdr, ev.id)
			if _, err := js.PublishMsgAsync(m); err != nil {
				t.Fatalf("publish: %v", err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-ctx.Done():
			t.Fatal("publishing did not complete")
		}
	}
}

// regionPM stands in for provider-monitoring: the region's allocations are for no case it
// knows (case-direction's own allocation consumer then ignores them).
type regionPM struct{ fakePM }

func (f *regionPM) GetAllocation(_ context.Context, req *providermonitoringv1.GetAllocationRequest) (*providermonitoringv1.GetAllocationResponse, error) {
	return &providermonitoringv1.GetAllocationResponse{Allocation: &providermonitoringv1.Allocation{Number: req.GetAllocationNumber()}}, nil
}

// startOutcomes runs case-direction with a minimum group size of 5 and the municipality's
// organisation allowed to see GM0363.
func startOutcomes(t *testing.T, env *svctest.Env) *svctest.Service {
	t.Helper()
	pm, in := &regionPM{}, &fakeIntake{}
	pmAddr := env.ServeFake(t, func(r grpc.ServiceRegistrar) { providermonitoringv1.RegisterProviderMonitoringServiceServer(r, pm) })
	inAddr := env.ServeFake(t, func(r grpc.ServiceRegistrar) { intakev1.RegisterIntakeServiceServer(r, in) })
	peers := func(c *svc.Config) { c.ProviderMonitoringAddr, c.IntakeAddr = pmAddr, inAddr }
	return env.Start(t, service.SpecWith(service.Options{OutcomeMinGroupSize: 5,
		OutcomeMunicipalityOINs: map[string][]string{regionMunicipality: {municipalityOrg.OIN}}}), peers)
}

// waitProcessed waits until the outcome consumers have handled n events.
func waitProcessed(t *testing.T, s *svctest.Service, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var got int
		if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM processed_events WHERE consumer LIKE 'casedirection-outcomes-%'`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outcome consumers handled %d of %d events", got, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type figureCall func(ctx context.Context, c outcomesv1.OutcomeServiceClient, by outcomesv1.GroupBy) (*outcomesv1.Figures, error)

var figureCalls = map[string]figureCall{
	"intakes": func(ctx context.Context, c outcomesv1.OutcomeServiceClient, by outcomesv1.GroupBy) (*outcomesv1.Figures, error) {
		r, err := c.GetIntakeFigures(ctx, &outcomesv1.GetIntakeFiguresRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4", GroupBy: by})
		return r.GetFigures(), err
	},
	"cases": func(ctx context.Context, c outcomesv1.OutcomeServiceClient, by outcomesv1.GroupBy) (*outcomesv1.Figures, error) {
		r, err := c.GetCaseFigures(ctx, &outcomesv1.GetCaseFiguresRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4", GroupBy: by})
		return r.GetFigures(), err
	},
	"zrm": func(ctx context.Context, c outcomesv1.OutcomeServiceClient, by outcomesv1.GroupBy) (*outcomesv1.Figures, error) {
		r, err := c.GetZrmChange(ctx, &outcomesv1.GetZrmChangeRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4", GroupBy: by})
		return r.GetFigures(), err
	},
	"referrals": func(ctx context.Context, c outcomesv1.OutcomeServiceClient, by outcomesv1.GroupBy) (*outcomesv1.Figures, error) {
		r, err := c.GetReferralFigures(ctx, &outcomesv1.GetReferralFiguresRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4", GroupBy: by})
		return r.GetFigures(), err
	},
	"allocations": func(ctx context.Context, c outcomesv1.OutcomeServiceClient, by outcomesv1.GroupBy) (*outcomesv1.Figures, error) {
		r, err := c.GetAllocationFigures(ctx, &outcomesv1.GetAllocationFiguresRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4", GroupBy: by})
		return r.GetFigures(), err
	},
	"decisions": func(ctx context.Context, c outcomesv1.OutcomeServiceClient, by outcomesv1.GroupBy) (*outcomesv1.Figures, error) {
		r, err := c.GetDecisionFigures(ctx, &outcomesv1.GetDecisionFiguresRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4", GroupBy: by})
		return r.GetFigures(), err
	},
}

// allFigures asks every figure set, grouped by by, as the municipality.
func allFigures(t *testing.T, env *svctest.Env, s *svctest.Service, by outcomesv1.GroupBy) map[string]*outcomesv1.FigureTable {
	t.Helper()
	c := outcomesv1.NewOutcomeServiceClient(env.Client(t, s.Addr, municipalityOrg))
	out := map[string]*outcomesv1.FigureTable{}
	for name, call := range figureCalls {
		f, err := call(svctest.Ctx(t), c, by)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.GetMinimumGroupSize() != 5 {
			t.Fatalf("%s: minimum group size %d", name, f.GetMinimumGroupSize())
		}
		for _, tb := range f.GetTables() {
			out[tb.GetName()] = tb
		}
	}
	return out
}

func percentile(vs []float64, p float64) float64 {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

func mean(vs []float64) float64 {
	var sum float64
	for _, v := range vs {
		sum += v
	}
	return sum / float64(len(vs))
}

// checkFigures compares every cell of the answer with the direct computation: shown cells are
// equal, cells resting on fewer than 5 facts are suppressed (never shown as 0), every fact the
// computation counted appears in some cell, and no suppressed cell of an additive table can be
// derived from its row or column.
func checkFigures(t *testing.T, tables map[string]*outcomesv1.FigureTable, exp expected) (suppressed int) {
	t.Helper()
	for name, byKey := range exp {
		tb, ok := tables[name]
		if !ok {
			t.Errorf("table %s missing", name)
			continue
		}
		seen := map[[3]string]bool{}
		for _, row := range tb.GetRows() {
			for i, cell := range row.GetCells() {
				col := tb.GetColumns()[i]
				key := [3]string{row.GetPeriod(), row.GetGroup(), col}
				var want []float64
				switch tb.GetUnit() {
				case "count":
					want = byKey[key]
				case "score", "percent":
					want = byKey[key]
				default: // MEDIAN / P90 of the one measure
					want = byKey[[3]string{row.GetPeriod(), row.GetGroup(), ""}]
				}
				perColumn := tb.GetUnit() == "count" || tb.GetUnit() == "score" || tb.GetUnit() == "percent"
				seen[[3]string{row.GetPeriod(), row.GetGroup(), map[bool]string{true: col, false: ""}[perColumn]}] = true
				n := len(want)
				if n > 0 && n < 5 && !cell.GetSuppressed() {
					t.Errorf("%s %v: %d facts shown (below the minimum)", name, key, n)
				}
				if cell.GetSuppressed() {
					suppressed++
					if cell.GetCount() != 0 || cell.GetValue() != 0 {
						t.Errorf("%s %v: a suppressed cell carries a value", name, key)
					}
					continue
				}
				if int(cell.GetCount()) != n {
					t.Errorf("%s %v: count %d, computed %d", name, key, cell.GetCount(), n)
					continue
				}
				var wantValue float64
				switch {
				case n == 0:
				case tb.GetUnit() == "score":
					wantValue = mean(want)
				case tb.GetUnit() == "percent": // the share of 1s (within the term) among the decisions
					wantValue = 100 * mean(want)
				case col == "MEDIAN":
					wantValue = percentile(want, 50)
				case col == "P90":
					wantValue = percentile(want, 90)
				}
				if tb.GetUnit() != "count" && math.Abs(cell.GetValue()-wantValue) > 0.006 {
					t.Errorf("%s %v: value %v, computed %v", name, key, cell.GetValue(), wantValue)
				}
			}
		}
		for key, vs := range byKey {
			if strings.HasPrefix(key[0], "2026") && len(vs) > 0 && !seen[key] {
				t.Errorf("%s %v: %d facts in no cell", name, key, len(vs))
			}
		}
		if tb.GetAdditive() {
			checkNotDerivable(t, tb)
		}
	}
	checkShareReveals(t, tables)
	checkLinksReveal(t, tables)
	return suppressed
}

// checkLinksReveal: tables of one answer that count the same facts (docs/services/outcomes.md)
// must not show a number where the other hides it, nor all but one of a sum. Each relation is
// a sum (first) and its parts, per period and group, and per period in the column totals
// where both tables have them; column "TOTAL" is a row's total, a statistic's count is that of
// its MEDIAN cell.
func checkLinksReveal(t *testing.T, tables map[string]*outcomesv1.FigureTable) {
	t.Helper()
	type ref struct{ table, column string }
	relations := [][]ref{
		{{"intakes_by_source", "TOTAL"}, {"intakes_by_channel", "SIGNAL"}},
		{{"days_to_triage", "MEDIAN"}, {"triage_outcomes", "TOTAL"}},
		{{"case_results", "TOTAL"}, {"case_flow", "CLOSED"}},
		{{"case_duration", "MEDIAN"}, {"case_flow", "CLOSED"}, {"case_flow", "HANDED_OVER"}},
		{{"decline_reasons", "TOTAL"}, {"referral_flow", "DECLINED"}},
		{{"days_from_start_date_to_care", "MEDIAN"}, {"allocation_start", "ON_TIME"}, {"allocation_start", "LATE"}},
	}
	cellOf := func(r ref, period, group string, totals bool) *outcomesv1.Cell {
		tb := tables[r.table]
		if tb == nil {
			t.Fatalf("table %s missing", r.table)
		}
		rows := tb.GetRows()
		if totals {
			rows = tb.GetTotals()
		}
		for _, row := range rows {
			if row.GetPeriod() != period || row.GetGroup() != group {
				continue
			}
			if r.column == "TOTAL" {
				return row.GetTotal()
			}
			for i, col := range tb.GetColumns() {
				if col == r.column {
					return row.GetCells()[i]
				}
			}
		}
		return nil
	}
	checked := 0
	for _, rel := range relations {
		for _, totals := range []bool{false, true} {
			rows := tables[rel[0].table].GetRows()
			if totals {
				rows = tables[rel[0].table].GetTotals()
			}
			for _, row := range rows {
				hidden, present := 0, 0
				for _, r := range rel {
					if c := cellOf(r, row.GetPeriod(), row.GetGroup(), totals); c != nil {
						present++
						if c.GetSuppressed() {
							hidden++
						}
					}
				}
				if present > 1 {
					checked++
				}
				if present > 1 && hidden == 1 {
					t.Errorf("%v %s %s (totals %v): one number hidden, derivable from the others", rel, row.GetPeriod(), row.GetGroup(), totals)
				}
			}
		}
	}
	if checked == 0 {
		t.Error("no relation between tables was checked")
	}
}

// checkShareReveals: a shown share of decisions within the term, with its count, gives the
// within-term and past-term counts of its law; it may be shown only where decisions_by_term
// shows both (and "ALL" only where it shows all four).
func checkShareReveals(t *testing.T, tables map[string]*outcomesv1.FigureTable) {
	t.Helper()
	byTerm, share := tables["decisions_by_term"], tables["decisions_within_term_share"]
	if byTerm == nil || share == nil {
		t.Fatal("decision tables missing")
	}
	terms := map[[2]string]*outcomesv1.FigureRow{}
	for _, r := range byTerm.GetRows() {
		terms[[2]string{r.GetPeriod(), r.GetGroup()}] = r
	}
	shown := 0
	for _, r := range share.GetRows() {
		tr := terms[[2]string{r.GetPeriod(), r.GetGroup()}]
		if tr == nil {
			t.Fatalf("share row %s %s without its decisions_by_term row", r.GetPeriod(), r.GetGroup())
		}
		hidden := func(cols ...int) bool {
			for _, c := range cols {
				if tr.GetCells()[c].GetSuppressed() {
					return true
				}
			}
			return false
		}
		for i, cols := range [][]int{{0, 1}, {2, 3}, {0, 1, 2, 3}} {
			c := r.GetCells()[i]
			if !c.GetSuppressed() && hidden(cols...) {
				t.Errorf("share %s %s %s is shown over a suppressed count", r.GetPeriod(), r.GetGroup(), share.GetColumns()[i])
			}
			if !c.GetSuppressed() && c.GetCount() > 0 {
				shown++
			}
		}
	}
	if shown == 0 {
		t.Error("no share of decisions within the term is shown")
	}
}

// checkNotDerivable tries to derive suppressed cells of an additive table from what is shown:
// per period, any row or column (totals included) with exactly one suppressed value gives that
// value away.
func checkNotDerivable(t *testing.T, tb *outcomesv1.FigureTable) {
	t.Helper()
	byPeriod := map[string][]*outcomesv1.FigureRow{}
	for _, r := range tb.GetRows() {
		byPeriod[r.GetPeriod()] = append(byPeriod[r.GetPeriod()], r)
	}
	totals := map[string]*outcomesv1.FigureRow{}
	for _, r := range tb.GetTotals() {
		totals[r.GetPeriod()] = r
	}
	for period, rows := range byPeriod {
		grid := append(append([]*outcomesv1.FigureRow(nil), rows...), totals[period])
		if totals[period] == nil {
			t.Fatalf("%s %s: no column totals", tb.GetName(), period)
		}
		line := func(cells []*outcomesv1.Cell, what string) {
			hidden := 0
			for _, c := range cells {
				if c.GetSuppressed() {
					hidden++
				}
			}
			if hidden == 1 {
				t.Errorf("%s %s: %s has exactly one suppressed value, derivable from the others", tb.GetName(), period, what)
			}
		}
		for _, r := range grid {
			line(append(append([]*outcomesv1.Cell(nil), r.GetCells()...), r.GetTotal()), "row "+r.GetGroup())
		}
		for c := range len(tb.GetColumns()) + 1 {
			var cells []*outcomesv1.Cell
			for _, r := range grid {
				if c < len(tb.GetColumns()) {
					cells = append(cells, r.GetCells()[c])
				} else {
					cells = append(cells, r.GetTotal())
				}
			}
			line(cells, fmt.Sprintf("column %d", c))
		}
		// And the figures add up where they are shown: a shown total equals the sum of its
		// row when nothing in the row is hidden.
		for _, r := range grid {
			var sum int64
			hidden := false
			for _, c := range r.GetCells() {
				hidden = hidden || c.GetSuppressed()
				sum += c.GetCount()
			}
			if !hidden && !r.GetTotal().GetSuppressed() && sum != r.GetTotal().GetCount() {
				t.Errorf("%s %s %s: total %d, cells add up to %d", tb.GetName(), period, r.GetGroup(), r.GetTotal().GetCount(), sum)
			}
		}
	}
}

// TestOutcomeFiguresOverAGeneratedRegion drives a generated region (five teams in three
// districts, hundreds of closed cases) through real events on NATS into the read model and
// compares every figure with a direct computation over the generated data; small cells are
// suppressed and cannot be derived from the totals. A second, fresh read model fed the same
// events with the streams in another order gives the same figures (rebuild by replay).
func TestOutcomeFiguresOverAGeneratedRegion(t *testing.T) {
	events, exp, closed := generateRegion(17)
	if closed < 200 {
		t.Fatalf("the region has only %d closed cases", closed)
	}
	env := svctest.New(t)
	s := startOutcomes(t, env)
	publishRegion(t, env, events, []string{"intake", "casedirection", "referral", "providermonitoring"})
	waitProcessed(t, s, len(events))

	byTeam := allFigures(t, env, s, outcomesv1.GroupBy_GROUP_BY_TEAM)
	if n := checkFigures(t, byTeam, exp[outcomesv1.GroupBy_GROUP_BY_TEAM]); n == 0 {
		t.Fatal("the small team's cells should have been suppressed; nothing was")
	}
	byDistrict := allFigures(t, env, s, outcomesv1.GroupBy_GROUP_BY_DISTRICT)
	checkFigures(t, byDistrict, exp[outcomesv1.GroupBy_GROUP_BY_DISTRICT])

	// The small team's intakes are all suppressed in every period, never shown as 0.
	klein := regionTeams[4].org.OIN
	for _, r := range byTeam["intakes_by_channel"].GetRows() {
		if r.GetGroup() == klein && !r.GetTotal().GetSuppressed() && r.GetTotal().GetCount() < 5 {
			t.Errorf("the small team's total %d in %s is shown", r.GetTotal().GetCount(), r.GetPeriod())
		}
	}

	// And its decisions: every count and share of it is suppressed, never shown as a number.
	kleinDecisions := 0
	for _, name := range []string{"decisions_by_term", "decisions_within_term_share"} {
		for _, r := range byTeam[name].GetRows() {
			if r.GetGroup() != klein {
				continue
			}
			for _, c := range append(r.GetCells(), r.GetTotal()) {
				if c.GetCount() > 0 {
					t.Errorf("%s %s: the small team's decisions shown: %v", name, r.GetPeriod(), r)
				}
				if c.GetSuppressed() {
					kleinDecisions++
				}
			}
		}
	}
	if kleinDecisions == 0 {
		t.Error("the small team's decisions were not suppressed (or it has none)")
	}

	checkExportAndReport(t, env, s)

	// Redelivery has no second effect: publish every intake event again with its id.
	var again []regionEvent
	for _, ev := range events {
		if ev.producer == "intake" {
			again = append(again, ev)
		}
	}
	for _, ev := range again[:50] {
		env.PublishWithID(t, ev.producer, mustSubject(t, ev.msg), ev.aggregate, ev.id, ev.msg)
	}
	// Every repeat handled.
	testkit.WaitConsumerSettled(t, env.JetStream(), natsx.StreamName("intake"), "casedirection-outcomes-intake")
	if got := allFigures(t, env, s, outcomesv1.GroupBy_GROUP_BY_TEAM); !proto.Equal(got["intakes_by_channel"], byTeam["intakes_by_channel"]) {
		t.Fatal("a redelivered event changed the figures")
	}

	// Rebuild by replay: a fresh read model (new database, new streams) fed the same events,
	// the other streams before intake's and case-direction's, gives the same figures.
	env2 := svctest.New(t)
	s2 := startOutcomes(t, env2)
	publishRegion(t, env2, events, []string{"providermonitoring", "referral", "casedirection", "intake"})
	waitProcessed(t, s2, len(events))
	rebuilt := allFigures(t, env2, s2, outcomesv1.GroupBy_GROUP_BY_TEAM)
	for name, tb := range byTeam {
		if !proto.Equal(tb, rebuilt[name]) {
			t.Errorf("table %s differs after the rebuild", name)
		}
	}
}

func mustSubject(t *testing.T, msg proto.Message) string {
	t.Helper()
	s, err := eventsubject.Subject(msg, regionMunicipality)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOutcomeFiguresAuthorisation: a municipality sees its own municipality only, a team its
// own figures only, a GP nothing; bad periods are INVALID_ARGUMENT naming the field.
func TestOutcomeFiguresAuthorisation(t *testing.T) {
	env := svctest.New(t)
	s := startOutcomes(t, env)
	team := regionTeams[0].org
	intakeID := uuid.NewString()
	env.Publish(t, "intake", mustSubject(t, &intakev1.IntakeReceived{}), intakeID, &intakev1.IntakeReceived{IntakeId: intakeID, Channel: intakev1.Channel_CHANNEL_DESK,
		HouseholdId: uuid.NewString(), MunicipalityCode: regionMunicipality, DistrictCode: "WK036301", TeamOin: team.OIN, ReceivedAt: timestamppb.New(regionStart)})
	waitProcessed(t, s, 1)
	req := &outcomesv1.GetIntakeFiguresRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-Q1", ToPeriod: "2026-Q1"}
	client := func(org devca.Org) outcomesv1.OutcomeServiceClient {
		return outcomesv1.NewOutcomeServiceClient(env.Client(t, s.Addr, org))
	}
	ctx := svctest.Ctx(t)
	if _, err := client(municipalityOrg).GetIntakeFigures(ctx, req); err != nil {
		t.Fatalf("the municipality's own figures: %v", err)
	}
	if _, err := client(otherMunicipal).GetIntakeFigures(ctx, req); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("another municipality: %v", err)
	}
	// A team's query is narrowed to the team; asking for another team is refused.
	got, err := client(team).GetIntakeFigures(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range got.GetFigures().GetTables() {
		for _, r := range tb.GetRows() {
			if r.GetGroup() != team.OIN {
				t.Fatalf("a team sees group %s", r.GetGroup())
			}
		}
	}
	other := proto.Clone(req).(*outcomesv1.GetIntakeFiguresRequest)
	other.TeamOin = regionTeams[1].org.OIN
	if _, err := client(team).GetIntakeFigures(ctx, other); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a team asking for another team: %v", err)
	}
	if _, err := client(svctest.Org(identity.OrgGP, "Huisarts Regio")).GetIntakeFigures(ctx, req); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a GP: %v", err)
	}
	// Each bad request names exactly the field at fault.
	for _, c := range []struct {
		field string
		bad   *outcomesv1.GetIntakeFiguresRequest
	}{
		{"from_period", &outcomesv1.GetIntakeFiguresRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-Q5", ToPeriod: "2026-Q1"}},
		{"from_period", &outcomesv1.GetIntakeFiguresRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-03", ToPeriod: "2026-Q4"}},
		{"to_period", &outcomesv1.GetIntakeFiguresRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-Q2", ToPeriod: "2026-Q1"}},
		{"to_period", &outcomesv1.GetIntakeFiguresRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-Q1", ToPeriod: "2026-12"}},
		{"municipality_code", &outcomesv1.GetIntakeFiguresRequest{MunicipalityCode: "0363", FromPeriod: "2026-Q1", ToPeriod: "2026-Q1"}},
		// A district of another municipality (probe-B F8).
		{"district_code", &outcomesv1.GetIntakeFiguresRequest{MunicipalityCode: regionMunicipality, DistrictCode: "WK034400", FromPeriod: "2026-Q1", ToPeriod: "2026-Q1"}},
	} {
		_, err := client(municipalityOrg).GetIntakeFigures(ctx, c.bad)
		t.Run(c.field+" "+c.bad.GetFromPeriod()+".."+c.bad.GetToPeriod(), func(t *testing.T) { expectViolations(t, err, c.field) })
	}
	// The same mistake on both periods is named on both, in the same words (probe-B F11).
	_, err = client(municipalityOrg).GetCaseFigures(ctx, &outcomesv1.GetCaseFiguresRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-Q5", ToPeriod: "2027-Q5"})
	expectViolations(t, err, "from_period", "to_period")
	said := map[string]string{}
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				said[v.GetField()] = strings.ReplaceAll(v.GetDescription(), "2027", "2026")
			}
		}
	}
	if said["from_period"] != said["to_period"] || strings.Contains(said["to_period"], "regex") {
		t.Errorf("one mistake, two wordings: %q", said)
	}
	_, err = client(municipalityOrg).ExportFigures(ctx, &outcomesv1.ExportFiguresRequest{MunicipalityCode: regionMunicipality, DistrictCode: "WK034400", FromPeriod: "2026-Q1", ToPeriod: "2026-Q1"})
	expectViolations(t, err, "district_code")
}

// runStoppable runs spec with cfg until stop is called (a restart needs the first run gone).
func runStoppable(t *testing.T, spec svc.Spec, cfg svc.Config) (addr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- svc.Run(ctx, spec, cfg, svc.Hooks{OnServing: func(g, _ string) { ready <- g }}) }()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("stopped before serving: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("not serving within 30 s")
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("did not stop within 30 s")
		}
	}
	t.Cleanup(stop)
	return addr, stop
}

// TestOutcomeRebuildByReplay: after `wijkbrug outcomes-rebuild` (a request row) and a restart,
// case-direction deletes its outcome consumers, empties the read model and replays the streams
// from the start: a read model damaged in between gives the original figures again.
func TestOutcomeRebuildByReplay(t *testing.T) {
	events, _, _ := generateRegion(23)
	var intakeEvents []regionEvent
	for _, ev := range events {
		if ev.producer == "intake" {
			intakeEvents = append(intakeEvents, ev)
		}
	}
	env := svctest.New(t)
	spec := service.SpecWith(service.Options{OutcomeMinGroupSize: 5, OutcomeMunicipalityOINs: map[string][]string{regionMunicipality: {municipalityOrg.OIN}}})
	dsn := testkit.NewDatabase(t, spec.Name, func(ctx context.Context, dsn string) error {
		return svc.MigrateAndGrant(ctx, spec, svc.Config{DatabaseURL: dsn, DatabaseAppRole: embeddedpg.AppRole})
	})
	cfg := env.Config(t, spec, testkit.AppDSN(dsn))
	pm, in := &regionPM{}, &fakeIntake{}
	cfg.ProviderMonitoringAddr = env.ServeFake(t, func(r grpc.ServiceRegistrar) { providermonitoringv1.RegisterProviderMonitoringServiceServer(r, pm) })
	cfg.IntakeAddr = env.ServeFake(t, func(r grpc.ServiceRegistrar) { intakev1.RegisterIntakeServiceServer(r, in) })
	admin, err := pgxpool.New(context.Background(), testkit.AdminDSN(dsn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	processed := func() int {
		var n int
		if err := admin.QueryRow(context.Background(), `SELECT count(*) FROM processed_events WHERE consumer LIKE 'casedirection-outcomes-%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor := func(n int) {
		deadline := time.Now().Add(2 * time.Minute)
		for processed() != n {
			if time.Now().After(deadline) {
				t.Fatalf("processed %d of %d events", processed(), n)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	figures := func(addr string) *outcomesv1.Figures {
		c := outcomesv1.NewOutcomeServiceClient(env.Client(t, addr, municipalityOrg))
		r, err := c.GetIntakeFigures(svctest.Ctx(t), &outcomesv1.GetIntakeFiguresRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-01", ToPeriod: "2026-09",
			Granularity: outcomesv1.Granularity_GRANULARITY_MONTH, GroupBy: outcomesv1.GroupBy_GROUP_BY_DISTRICT})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetFigures()
	}

	addr, stop := runStoppable(t, spec, cfg)
	publishRegion(t, env, intakeEvents, []string{"intake"})
	waitFor(len(intakeEvents))
	want := figures(addr)
	if len(want.GetTables()[1].GetRows()) == 0 || want.GetTables()[1].GetName() != "intakes_by_channel" {
		t.Fatal("no figures to compare")
	}
	stop()

	// The read model is damaged (or its code changed); an operator asks for a rebuild.
	if _, err := admin.Exec(context.Background(), `DELETE FROM outcome_intakes WHERE channel = 'DESK'; INSERT INTO outcome_rebuild_requests (requested_by) VALUES ('test')`); err != nil {
		t.Fatal(err)
	}
	addr, _ = runStoppable(t, spec, cfg)
	waitFor(len(intakeEvents))
	if got := figures(addr); !proto.Equal(got, want) {
		t.Fatal("the rebuilt read model gives other figures")
	}
	var waiting int
	if err := admin.QueryRow(context.Background(), `SELECT count(*) FROM outcome_rebuild_requests WHERE done_at IS NULL`).Scan(&waiting); err != nil || waiting != 0 {
		t.Fatalf("rebuild requests still waiting: %d %v", waiting, err)
	}
}

// restGet fetches path from the service's REST edge as org (mutual TLS, acting user).
func restGet(t *testing.T, env *svctest.Env, s *svctest.Service, org devca.Org, path string) (int, string, []byte) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: env.ClientTLS(t, org)}}
	req, err := http.NewRequest(http.MethodGet, "https://"+s.RESTAddr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Wijkbrug-User", "analist-1")
	req.Header.Set("X-Wijkbrug-Role", "professional")
	req.Header.Set("X-Wijkbrug-Purpose", "monitoring")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// checkExportAndReport: the CSV export over REST has every table and marks suppressed cells
// with no number; the HTML report over REST equals the one over gRPC, renders in headless
// Chromium without console errors, and every number it shows equals the figure RPCs' (for
// the municipality as a whole).
func checkExportAndReport(t *testing.T, env *svctest.Env, s *svctest.Service) {
	t.Helper()
	code, ctype, csvBody := restGet(t, env, s, municipalityOrg, "/v1/outcomes:export?municipality_code="+regionMunicipality+"&from_period=2026-Q1&to_period=2026-Q4&group_by=GROUP_BY_TEAM")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/csv") {
		t.Fatalf("export: %d %s %.200s", code, ctype, csvBody)
	}
	records, err := csv.NewReader(bytes.NewReader(csvBody)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	names, suppressedLines := map[string]bool{}, 0
	for _, r := range records[1:] {
		names[r[0]] = true
		if r[7] == "true" {
			suppressedLines++
			if r[5] != "" || r[6] != "" {
				t.Fatalf("export shows a number for a suppressed cell: %v", r)
			}
		}
	}
	if !names["decisions_by_term"] || !names["decisions_within_term_share"] || !names["decisions_overdue"] {
		t.Fatalf("export without the decision figures: %v", names)
	}
	if len(names) < 15 || suppressedLines == 0 {
		t.Fatalf("export: %d tables, %d suppressed cells", len(names), suppressedLines)
	}
	// Over REST a suppressed cell carries no number either (the probe saw "count":"0").
	code, _, body := restGet(t, env, s, municipalityOrg, "/v1/outcomes/allocations?municipality_code="+regionMunicipality+"&from_period=2026-Q1&to_period=2026-Q4&group_by=GROUP_BY_TEAM")
	var answer struct {
		Figures struct {
			Tables []struct {
				Rows []struct {
					Cells []map[string]any `json:"cells"`
				} `json:"rows"`
			} `json:"tables"`
		} `json:"figures"`
	}
	if err := json.Unmarshal(body, &answer); code != http.StatusOK || err != nil {
		t.Fatalf("allocations over REST: %d %v %.200s", code, err, body)
	}
	hiddenCells := 0
	for _, tb := range answer.Figures.Tables {
		for _, r := range tb.Rows {
			for _, c := range r.Cells {
				if c["suppressed"] == true {
					hiddenCells++
					if _, ok := c["count"]; ok {
						t.Fatalf("a suppressed cell over REST has a count: %v", c)
					}
					if _, ok := c["value"]; ok {
						t.Fatalf("a suppressed cell over REST has a value: %v", c)
					}
				}
			}
		}
	}
	if hiddenCells == 0 {
		t.Fatal("no suppressed allocation cell over REST: the check shows nothing")
	}
	if code, _, _ := restGet(t, env, s, regionTeams[0].org, "/v1/outcomes/report?municipality_code="+regionMunicipality+"&from_period=2026-Q1&to_period=2026-Q4"); code != http.StatusForbidden {
		t.Fatalf("a team asked for the municipality's report: %d", code)
	}

	report, err := outcomesv1.NewOutcomeServiceClient(env.Client(t, s.Addr, municipalityOrg)).GetReport(svctest.Ctx(t),
		&outcomesv1.GetReportRequest{MunicipalityCode: regionMunicipality, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4"})
	if err != nil {
		t.Fatal(err)
	}
	code, ctype, page := restGet(t, env, s, municipalityOrg, "/v1/outcomes/report?municipality_code="+regionMunicipality+"&from_period=2026-Q1&to_period=2026-Q4")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/html") || !bytes.Equal(page, report.GetData()) {
		t.Fatalf("report over REST: %d %s, equal to gRPC's: %v", code, ctype, bytes.Equal(page, report.GetData()))
	}

	// The figures the report must show, for the municipality as a whole.
	figures := allFigures(t, env, s, outcomesv1.GroupBy_GROUP_BY_MUNICIPALITY)

	page = report.GetData()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	}))
	t.Cleanup(srv.Close)
	bctx := chromium.Start(t)
	tctx, cancelTimeout := context.WithTimeout(bctx, 60*time.Second)
	defer cancelTimeout()
	var mu sync.Mutex
	var consoleErrors []string
	messages := chromedp.Console(tctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				mu.Lock()
				consoleErrors = append(consoleErrors, m.String())
				mu.Unlock()
			}
		}
	}()
	type shown struct {
		Table, Period, Column, Kind, Text string
		Suppressed, Absent                bool
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.CSS("#zrm"))); err != nil {
		t.Fatalf("headless chromium: %v", err)
	}
	title, err := chromedp.Run(tctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	svgs, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll("svg").length`))
	if err != nil {
		t.Fatal(err)
	}
	numbers, err := chromedp.Run(tctx, chromedp.Evaluate[[]shown](`Array.from(document.querySelectorAll("[data-table]")).map(e => ({Table: e.dataset.table,
		Period: e.dataset.period, Column: e.dataset.column, Kind: e.dataset.kind || "", Text: e.textContent,
		Suppressed: e.dataset.suppressed === "true", Absent: e.dataset.absent === "true"}))`))
	if err != nil {
		t.Fatal(err)
	}
	// WCAG 1.4.10: at 320 CSS px (a phone, or 400 % zoom) the page does not scroll sideways;
	// the charts scale down and a wide table scrolls in its own region. Then the checks below
	// see the page as rendered at that width.
	type widths struct{ Scroll, Client, Charts, TooWide int }
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(320, 640), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#zrm"))); err != nil {
		t.Fatalf("headless chromium at 320 px: %v", err)
	}
	narrow, err := chromedp.Run(tctx, chromedp.Evaluate[widths](`({Scroll: document.documentElement.scrollWidth,
		Client: document.documentElement.clientWidth, Charts: document.querySelectorAll("svg").length,
		TooWide: Array.from(document.querySelectorAll("svg")).filter(s => s.getBoundingClientRect().right > document.documentElement.clientWidth).length})`))
	if err != nil {
		t.Fatal(err)
	}
	if narrow.Client != 320 || narrow.Scroll > narrow.Client || narrow.Charts != svgs || narrow.TooWide > 0 {
		t.Fatalf("at 320 CSS px: page %d px wide in a viewport of %d, %d of %d charts wider than the viewport", narrow.Scroll, narrow.Client, narrow.TooWide, narrow.Charts)
	}
	time.Sleep(300 * time.Millisecond) // let late console messages arrive
	mu.Lock()
	defer mu.Unlock()
	if len(consoleErrors) > 0 {
		t.Fatalf("console errors: %v", consoleErrors)
	}
	if !strings.Contains(title, regionMunicipality) || svgs < 2+4 || len(numbers) < 50 {
		t.Fatalf("report: title %q, %d charts, %d numbers", title, svgs, len(numbers))
	}
	var compared, suppressed, decisionNumbers int
	for _, n := range numbers {
		tb := figures[n.Table]
		if tb == nil {
			t.Fatalf("the report shows table %s, which no RPC gives", n.Table)
		}
		var cell *outcomesv1.Cell
		for _, r := range tb.GetRows() {
			if r.GetPeriod() != n.Period || r.GetGroup() != regionMunicipality {
				continue
			}
			if n.Column == "TOTAL" {
				cell = r.GetTotal()
			}
			for i, c := range tb.GetColumns() {
				if c == n.Column {
					cell = r.GetCells()[i]
				}
			}
		}
		switch {
		case cell == nil:
			if !n.Absent {
				t.Errorf("%+v: shown, but the RPC has no such cell", n)
			}
		case cell.GetSuppressed():
			suppressed++
			if !n.Suppressed || n.Text != "x" {
				t.Errorf("%+v: suppressed in the RPC", n)
			}
		case n.Kind == "none":
			if cell.GetCount() != 0 || n.Text != "–" {
				t.Errorf("%+v: shown as nothing, but the RPC has %d units", n, cell.GetCount())
			}
			compared++
		case n.Kind == "value":
			if want := fmt.Sprintf("%.2f", cell.GetValue()); n.Text != want {
				t.Errorf("%+v: the RPC says %s", n, want)
			}
			compared++
			if strings.HasPrefix(n.Table, "decisions_") {
				decisionNumbers++
			}
		default:
			if want := fmt.Sprint(cell.GetCount()); n.Text != want || n.Suppressed {
				t.Errorf("%+v: the RPC says %s", n, want)
			}
			compared++
			if strings.HasPrefix(n.Table, "decisions_") {
				decisionNumbers++
			}
		}
	}
	if decisionNumbers < 8 {
		t.Fatalf("the report compared only %d numbers of the decisions within the statutory term", decisionNumbers)
	}
	if compared < 40 {
		t.Fatalf("only %d numbers of the report compared with the RPCs (%d suppressed)", compared, suppressed)
	}
	t.Logf("report: %d charts, %d numbers equal to the RPCs', %d suppressed as in the RPCs", svgs, compared, suppressed)
}
