package app_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	pmv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/scheduler"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/app"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"google.golang.org/protobuf/proto"
)

var (
	serviceCtx  = as(identity.OrgService, "00000009999999900000")
	providerCtx = as(identity.OrgProvider, providerOIN)
	teamCtx     = as(identity.OrgTeam, teamOIN)
	// otherTeamCtx acts for no municipality in this database.
	otherTeamCtx = as(identity.OrgTeam, "00000001000000000999")
	product      = domain.Product{Category: "45", Code: "45A48"}
)

func allocation(start time.Time) domain.Allocation {
	return domain.Allocation{ProviderAGB: "12345678", CaseID: uuid.NewString(), Municipality: "GM0363", District: "WK036301",
		Product: product, Start: start, Volume: domain.Volume{Amount: 2, Unit: "04", Frequency: "2"}}
}

// outboxEvents decodes the events of an aggregate on subjects ending in suffix, oldest first.
func outboxEvents[M proto.Message](t *testing.T, db *pgxdb.DB, aggregate, suffix string, newM func() M) []M {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT subject, payload FROM outbox WHERE recipient = '' AND aggregate_id = $1 AND subject LIKE '%.' || $2 ORDER BY id`, aggregate, suffix)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []M
	for rows.Next() {
		var (
			subject string
			payload []byte
		)
		if err := rows.Scan(&subject, &payload); err != nil {
			t.Fatal(err)
		}
		m := newM()
		if err := proto.Unmarshal(payload, m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// The delivery flow of the issue: allocation → start on time → temporary stop (20) → restart →
// stop as planned (31), each report judged on time or late; and a late start flagged.
func TestDeliveryFlowPauseRestartEnd(t *testing.T) {
	a, db, now := newApp(t)
	ctx := context.Background()
	*now = amsterdam(2025, 3, 3, 9, 0)
	al, err := a.Allocate(serviceCtx, allocation(domain.Date(2025, 3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	n := al.Number

	// Start on Monday 3 March, reported the same day: on time.
	*now = amsterdam(2025, 3, 3, 15, 0)
	got, err := a.ReportDeliveryStarted(providerCtx, n, domain.Date(2025, 3, 3))
	if err != nil || got.Status != domain.StatusStarted || !*got.StartReportedOnTime {
		t.Fatalf("start: %v %+v", err, got)
	}
	// Temporarily stopped (20) on Friday 14 March, reported Monday 24 March (6th working day): late.
	*now = amsterdam(2025, 3, 24, 10, 0)
	got, err = a.ReportDeliveryStopped(providerCtx, n, domain.Date(2025, 3, 14), "20")
	if err != nil || got.Status != domain.StatusPaused || *got.StopReportedOnTime || got.StopReason != "20" {
		t.Fatalf("pause: %v %+v", err, got)
	}
	// A second start while paused: a restart on 31 March, reported 1 April.
	*now = amsterdam(2025, 4, 1, 10, 0)
	got, err = a.ReportDeliveryStarted(providerCtx, n, domain.Date(2025, 3, 31))
	if err != nil || got.Status != domain.StatusStarted || !got.FirstStartedOn.Equal(domain.Date(2025, 3, 3)) {
		t.Fatalf("restart: %v %+v", err, got)
	}
	// Running again, it shows no stop (the pause stays in deliveries, checked below), also
	// when read back.
	read, err := a.GetAllocation(providerCtx, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, al := range []domain.Allocation{got, read} {
		if al.StoppedOn != nil || al.StopReason != "" || al.StopReportedAt != nil || al.StopReportedOnTime != nil {
			t.Fatalf("a restarted allocation still carries its pause: %v %q %v %v", al.StoppedOn, al.StopReason, al.StopReportedAt, al.StopReportedOnTime)
		}
	}
	// Stopped as planned (31) on Friday 25 April 2025; King's Day is on Saturday 26 April, so
	// Friday 2 May is the 5th working day: reported then, on time.
	*now = amsterdam(2025, 5, 2, 16, 0)
	got, err = a.ReportDeliveryStopped(providerCtx, n, domain.Date(2025, 4, 25), "31")
	if err != nil || got.Status != domain.StatusEnded || !*got.StopReportedOnTime {
		t.Fatalf("end: %v %+v", err, got)
	}
	// Nothing can follow an end.
	if _, err := a.ReportDeliveryStarted(providerCtx, n, domain.Date(2025, 5, 2)); !apperr.IsKind(err, apperr.KindFailedPrecondition) ||
		!strings.Contains(err.Error(), "ENDED to STARTED") {
		t.Fatalf("start after the end: %v", err)
	}

	// Two periods of care, each with its start and stop.
	rows, err := db.Pool.Query(ctx, `SELECT started_on, stopped_on, stop_reason, on_time, stop_on_time FROM deliveries WHERE allocation_number = $1 ORDER BY started_on`, n)
	if err != nil {
		t.Fatal(err)
	}
	var periods []string
	for rows.Next() {
		var (
			started, stopped time.Time
			reason           string
			onTime, stopOn   bool
		)
		if err := rows.Scan(&started, &stopped, &reason, &onTime, &stopOn); err != nil {
			t.Fatal(err)
		}
		periods = append(periods, fmt.Sprintf("%s..%s %s %v/%v", started.Format("01-02"), stopped.Format("01-02"), reason, onTime, stopOn))
	}
	rows.Close()
	if want := []string{"03-03..03-14 20 true/false", "03-31..04-25 31 true/true"}; fmt.Sprint(periods) != fmt.Sprint(want) {
		t.Fatalf("periods %v, want %v", periods, want)
	}
	stops := outboxEvents(t, db, n, "delivery_stopped", func() *pmv1.AllocationDeliveryStopped { return new(pmv1.AllocationDeliveryStopped) })
	if len(stops) != 2 || stops[0].GetReasonCode() != "20" || stops[0].GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_PAUSED ||
		stops[0].GetReportedOnTime() || stops[1].GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_ENDED || !stops[1].GetReportedOnTime() ||
		stops[1].GetStoppedOn() != "2025-04-25" || stops[1].GetCaseId() != al.CaseID {
		t.Fatalf("stop events: %v", stops)
	}
	if starts := outboxEvents(t, db, n, "delivery_started", func() *pmv1.AllocationDeliveryStarted { return new(pmv1.AllocationDeliveryStarted) }); len(starts) != 2 {
		t.Fatalf("start events: %v", starts)
	}

	// A late start is flagged: started 3 March, reported 12 March (7th working day).
	*now = amsterdam(2025, 3, 3, 9, 0)
	late, err := a.Allocate(serviceCtx, allocation(domain.Date(2025, 3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	*now = amsterdam(2025, 3, 12, 9, 0)
	got, err = a.ReportDeliveryStarted(providerCtx, late.Number, domain.Date(2025, 3, 3))
	if err != nil || *got.StartReportedOnTime {
		t.Fatalf("late start must be flagged: %v %+v", err, got)
	}

	// The provider's figures: 3 start reports (1 late), 2 stop reports (1 late), waiting 0 days.
	*now = amsterdam(2025, 5, 2, 17, 0)
	f, err := a.ProviderOverview(teamCtx, "12345678", "GM0363")
	if err != nil {
		t.Fatal(err)
	}
	if f.StartReports != (domain.ReportCount{Reported: 3, OnTime: 2}) || f.StopReports != (domain.ReportCount{Reported: 2, OnTime: 1}) ||
		f.Ended != 1 || f.Started != 1 || f.MaxWaitingDays != 0 {
		t.Fatalf("figures: %+v", f)
	}
	// The provider sees its own figures; another team does not see GM0363's.
	if _, err := a.ProviderOverview(providerCtx, "12345678", "GM0363"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ProviderOverview(otherTeamCtx, "12345678", "GM0363"); !apperr.IsKind(err, apperr.KindPermissionDenied) {
		t.Fatalf("another team: %v", err)
	}
	if _, err := a.ProviderOverview(as(identity.OrgProvider, "00000007777777700000"), "12345678", "GM0363"); !apperr.IsKind(err, apperr.KindNotFound) {
		t.Fatalf("another provider: %v", err)
	}
}

func TestStopRefusals(t *testing.T) {
	a, db, now := newApp(t)
	*now = amsterdam(2025, 3, 3, 9, 0)
	al, err := a.Allocate(serviceCtx, allocation(domain.Date(2025, 3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ReportDeliveryStopped(providerCtx, al.Number, domain.Date(2025, 3, 3), "31"); !apperr.IsKind(err, apperr.KindFailedPrecondition) ||
		!strings.Contains(err.Error(), "ISSUED to ENDED") {
		t.Fatalf("stop before any start: %v", err)
	}
	other := as(identity.OrgProvider, "00000007777777700000")
	if _, err := a.ReportDeliveryStopped(other, al.Number, domain.Date(2025, 3, 3), "31"); !apperr.IsKind(err, apperr.KindNotFound) {
		t.Fatalf("another provider: %v", err)
	}
	var denied int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM access_log_entries WHERE object_id = $1 AND outcome = 'DENIED' AND action = 'providermonitoring.allocation.report_stop'`,
		al.Number).Scan(&denied); err != nil || denied != 1 {
		t.Fatalf("denied entries: %d %v", denied, err)
	}
}

// Requests for allocation (315): answered on time, late (flagged), overdue while open, under
// investigation with the 8-week decision; a grant issues the allocation.
func TestRequestAnsweredLateIsFlagged(t *testing.T) {
	a, db, now := newApp(t)
	submit := func(at time.Time) domain.Request {
		t.Helper()
		*now = at
		q, err := a.SubmitRequest(providerCtx, domain.Request{Kind: domain.RequestAllocation, ProviderAGB: "12345678",
			Municipality: "GM0363", District: "WK036301", Product: product, Start: domain.Date(2025, 3, 10),
			Volume: domain.Volume{Amount: 3, Unit: "04", Frequency: "2"}, ReferrerType: "02", ReferrerCode: "01234567"})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	// Received Monday 3 March: answer due Monday 10 March.
	onTime := submit(amsterdam(2025, 3, 3, 9, 0))
	if onTime.AnswerDue.Format(domain.DateLayout) != "2025-03-10" || onTime.Status != domain.RequestReceived {
		t.Fatalf("received: %+v", onTime)
	}
	late := submit(amsterdam(2025, 3, 3, 9, 5))
	open := submit(amsterdam(2025, 3, 3, 9, 10))
	inv := submit(amsterdam(2025, 3, 3, 9, 15))

	*now = amsterdam(2025, 3, 10, 16, 0)
	caseID := uuid.NewString()
	storeCase(caseID, "IN_PROGRESS")
	q, al, err := a.AnswerRequest(teamCtx, onTime.ID, app.Answer{Decision: domain.RequestGranted, CaseID: caseID, BudgetCents: 250000, Form: domain.FormPGB})
	if err != nil || q.Status != domain.RequestGranted || !*q.AnsweredOnTime || al == nil || al.RequestID != onTime.ID ||
		al.CaseID != caseID || al.Form != domain.FormPGB || q.ResultingAllocation != al.Number || al.ContractID == "" {
		t.Fatalf("grant on the due day: %v %+v %+v", err, q, al)
	}
	if _, _, err := a.AnswerRequest(teamCtx, inv.ID, app.Answer{Decision: domain.RequestUnderInvestigation}); err != nil {
		t.Fatal(err)
	}

	*now = amsterdam(2025, 3, 11, 9, 0)
	q, al, err = a.AnswerRequest(teamCtx, late.ID, app.Answer{Decision: domain.RequestRefused, RefusalReason: "no indication for ambulant care"})
	if err != nil || q.Status != domain.RequestRefused || *q.AnsweredOnTime || *q.DecidedOnTime || al != nil || q.RefusalReason == "" {
		t.Fatalf("a request answered late must be flagged: %v %+v", err, q)
	}
	stored, err := a.GetRequest(providerCtx, late.ID)
	if err != nil || stored.AnsweredOnTime == nil || *stored.AnsweredOnTime {
		t.Fatalf("stored late answer: %v %+v", err, stored)
	}
	answered := outboxEvents(t, db, late.ID, "answered", func() *pmv1.AllocationRequestAnswered { return new(pmv1.AllocationRequestAnswered) })
	if len(answered) != 1 || answered[0].GetOnTime() || answered[0].GetStatus() != pmv1.AllocationRequestStatus_ALLOCATION_REQUEST_STATUS_REFUSED {
		t.Fatalf("answered event: %v", answered)
	}
	// Answering twice is a forbidden transition.
	if _, _, err := a.AnswerRequest(teamCtx, late.ID, app.Answer{Decision: domain.RequestGranted}); !apperr.IsKind(err, apperr.KindFailedPrecondition) ||
		!strings.Contains(err.Error(), "REFUSED to GRANTED") {
		t.Fatalf("second answer: %v", err)
	}
	// The open request is overdue from 11 March; the one under investigation is not.
	openNow, _ := a.GetRequest(teamCtx, open.ID)
	invNow, _ := a.GetRequest(teamCtx, inv.ID)
	if !a.Overdue(openNow) || a.Overdue(invNow) || invNow.DecisionDue.Format(domain.DateLayout) != "2025-04-28" {
		t.Fatalf("overdue: open %v, under investigation %v (%v)", a.Overdue(openNow), a.Overdue(invNow), invNow.DecisionDue)
	}
	f, err := a.ProviderOverview(teamCtx, "12345678", "GM0363")
	if err != nil || f.RequestsReceived != 4 || f.RequestsAnsweredLate != 1 || f.RequestsOverdue != 1 || f.Issued != 1 {
		t.Fatalf("figures: %v %+v", err, f)
	}
	// After 28 April the final decision is overdue too.
	*now = amsterdam(2025, 4, 29, 9, 0)
	if f, _ := a.ProviderOverview(teamCtx, "12345678", "GM0363"); f.RequestsOverdue != 2 {
		t.Fatalf("overdue after the decision due day: %+v", f)
	}
	// Another team neither answers nor reads; the refusals are logged.
	if _, _, err := a.AnswerRequest(otherTeamCtx, open.ID, app.Answer{Decision: domain.RequestGranted}); !apperr.IsKind(err, apperr.KindNotFound) {
		t.Fatalf("another team answers: %v", err)
	}
	if _, err := a.GetRequest(otherTeamCtx, open.ID); !apperr.IsKind(err, apperr.KindNotFound) {
		t.Fatalf("another team reads: %v", err)
	}
	var denied int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM access_log_entries WHERE object_id = $1 AND outcome = 'DENIED'`, open.ID).Scan(&denied); err != nil || denied != 2 {
		t.Fatalf("denied entries: %d %v", denied, err)
	}
}

func TestRequestRefusedWithoutContract(t *testing.T) {
	a, _, now := newApp(t)
	*now = amsterdam(2025, 3, 3, 9, 0)
	_, err := a.SubmitRequest(providerCtx, domain.Request{Kind: domain.RequestAllocation, ProviderAGB: "12345678",
		Municipality: "GM0363", Product: domain.Product{Category: "43", Code: "43A01"}, Start: domain.Date(2025, 3, 10),
		Volume: domain.Volume{Amount: 3, Unit: "04", Frequency: "2"}, ReferrerType: "02"})
	if !apperr.IsKind(err, apperr.KindFailedPrecondition) || !strings.Contains(err.Error(), "no valid contract") {
		t.Fatalf("a provider without a valid contract: %v", err)
	}
	if _, err := a.SubmitRequest(as(identity.OrgProvider, "00000007777777700000"), domain.Request{Kind: domain.RequestAllocation, ProviderAGB: "12345678",
		Municipality: "GM0363", Product: product, Start: domain.Date(2025, 3, 10)}); !apperr.IsKind(err, apperr.KindPermissionDenied) {
		t.Fatalf("a request in another provider's name: %v", err)
	}
}

// Requests for change (317), changes with a reason and withdrawal: every version is kept.
func TestChangesVersionsAndWithdrawal(t *testing.T) {
	a, db, now := newApp(t)
	*now = amsterdam(2025, 3, 3, 9, 0)
	end := domain.Date(2025, 12, 31)
	base := allocation(domain.Date(2025, 3, 3))
	base.End = &end
	al, err := a.Allocate(serviceCtx, base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ReportDeliveryStarted(providerCtx, al.Number, domain.Date(2025, 3, 3)); err != nil {
		t.Fatal(err)
	}
	// The provider asks for more hours (317); the team grants it.
	q, err := a.SubmitRequest(providerCtx, domain.Request{Kind: domain.RequestChange, ProviderAGB: "12345678", AllocationNumber: al.Number,
		Start: domain.Date(2025, 3, 3), End: &end, Volume: domain.Volume{Amount: 4, Unit: "04", Frequency: "2"}, ChangeReasonText: "more support needed"})
	if err != nil || q.Product != product || q.Municipality != "GM0363" {
		t.Fatalf("request for change: %v %+v", err, q)
	}
	*now = amsterdam(2025, 3, 4, 9, 0)
	q, changed, err := a.AnswerRequest(teamCtx, q.ID, app.Answer{Decision: domain.RequestGranted})
	if err != nil || changed.Version != 2 || changed.Volume.Amount != 4 || q.ResultingAllocation != al.Number {
		t.Fatalf("grant change: %v %+v", err, changed)
	}
	// The director extends it.
	newEnd := domain.Date(2026, 6, 30)
	extended, err := a.ChangeAllocation(serviceCtx, al.Number, domain.Change{Reason: domain.ChangeExtension, End: &newEnd})
	if err != nil || extended.Version != 3 || !extended.End.Equal(newEnd) {
		t.Fatalf("extend: %v %+v", err, extended)
	}
	versions, err := a.ListAllocationVersions(providerCtx, al.Number)
	if err != nil || len(versions) != 3 || versions[0].Volume.Amount != 2 || versions[1].ChangeReason != domain.ChangeRequest ||
		versions[1].Volume.Amount != 4 || versions[2].ChangeReason != domain.ChangeExtension || !versions[1].End.Equal(end) ||
		versions[1].ChangedByOIN != teamOIN {
		t.Fatalf("versions: %v %+v", err, versions)
	}
	changes := outboxEvents(t, db, al.Number, "changed", func() *pmv1.AllocationChanged { return new(pmv1.AllocationChanged) })
	if len(changes) != 2 || changes[1].GetVersion() != 3 || changes[1].GetEndDate() != "2026-06-30" ||
		changes[0].GetChangeReason() != pmv1.AllocationChangeReason_ALLOCATION_CHANGE_REASON_CHANGE_REQUEST {
		t.Fatalf("changed events: %v", changes)
	}
	// Another team cannot change or withdraw it.
	if _, err := a.WithdrawAllocation(otherTeamCtx, al.Number, "NO_LONGER_NEEDED"); !apperr.IsKind(err, apperr.KindNotFound) {
		t.Fatalf("another team withdraws: %v", err)
	}
	// The team withdraws it.
	w, err := a.WithdrawAllocation(teamCtx, al.Number, "NO_LONGER_NEEDED")
	if err != nil || w.Status != domain.StatusWithdrawn {
		t.Fatalf("withdraw: %v %+v", err, w)
	}
	ws := outboxEvents(t, db, al.Number, "withdrawn", func() *pmv1.AllocationWithdrawn { return new(pmv1.AllocationWithdrawn) })
	if len(ws) != 1 || ws[0].GetReason() != pmv1.WithdrawalReason_WITHDRAWAL_REASON_NO_LONGER_NEEDED || ws[0].GetCaseId() != al.CaseID {
		t.Fatalf("withdrawn events: %v", ws)
	}
	if _, err := a.ChangeAllocation(serviceCtx, al.Number, domain.Change{Reason: domain.ChangeExtension, End: &end}); !apperr.IsKind(err, apperr.KindFailedPrecondition) {
		t.Fatalf("change after withdrawal: %v", err)
	}
	// The case's allocations: all for the service, none for another team.
	list, err := a.ListCaseAllocations(serviceCtx, al.CaseID)
	if err != nil || len(list) != 1 || list[0].Status != domain.StatusWithdrawn {
		t.Fatalf("case allocations: %v %+v", err, list)
	}
	if list, err := a.ListCaseAllocations(otherTeamCtx, al.CaseID); err != nil || len(list) != 0 {
		t.Fatalf("another team's view of the case: %v %+v", err, list)
	}
}

func TestProgressAndScaleDownAdvice(t *testing.T) {
	a, db, now := newApp(t)
	*now = amsterdam(2025, 3, 3, 9, 0)
	al, err := a.Allocate(serviceCtx, allocation(domain.Date(2025, 3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	goals := []string{uuid.NewString(), uuid.NewString()}
	caseGoals.Store(al.CaseID, append(goals, uuid.NewString()))
	if _, err := a.ReportProgress(providerCtx, al.Number, goals, domain.OnTrack); !apperr.IsKind(err, apperr.KindFailedPrecondition) {
		t.Fatalf("progress before care started: %v", err)
	}
	if _, err := a.ReportDeliveryStarted(providerCtx, al.Number, domain.Date(2025, 3, 3)); err != nil {
		t.Fatal(err)
	}
	// A goal that is not one of the case's is a bad field, and nothing is reported.
	if _, err := a.ReportProgress(providerCtx, al.Number, []string{goals[0], uuid.NewString()}, domain.Reached); !apperr.IsKind(err, apperr.KindInvalidArgument) {
		t.Fatalf("a goal of no case: %v", err)
	}
	if r, err := a.ReportProgress(providerCtx, al.Number, goals, domain.OnTrack); err != nil || r.ScaleDownAdvised {
		t.Fatalf("on track: %v %+v", err, r)
	}
	*now = amsterdam(2025, 6, 3, 9, 0)
	r, err := a.ReportProgress(providerCtx, al.Number, goals, domain.Reached)
	if err != nil || !r.ScaleDownAdvised {
		t.Fatalf("reached: %v %+v", err, r)
	}
	reported := outboxEvents(t, db, al.Number, "progress_reported", func() *pmv1.AllocationProgressReported { return new(pmv1.AllocationProgressReported) })
	advised := outboxEvents(t, db, al.Number, "scale_down_advised", func() *pmv1.AllocationScaleDownAdvised { return new(pmv1.AllocationScaleDownAdvised) })
	if len(reported) != 2 || reported[1].GetJudgement() != pmv1.ProgressJudgement_PROGRESS_JUDGEMENT_REACHED || len(reported[1].GetGoalIds()) != 2 {
		t.Fatalf("progress events: %v", reported)
	}
	if len(advised) != 1 || advised[0].GetCaseId() != al.CaseID || advised[0].GetGoalIds()[0] != goals[0] {
		t.Fatalf("scale-down advice: %v", advised)
	}
	if _, err := a.ReportProgress(as(identity.OrgProvider, "00000007777777700000"), al.Number, goals, domain.Reached); !apperr.IsKind(err, apperr.KindNotFound) {
		t.Fatalf("another provider: %v", err)
	}
}

// The not-started scheduler raises each alert once, also with two replicas on one database.
func TestNotStartedAlertsTwoReplicas(t *testing.T) {
	a1, db, now := newApp(t)
	*now = amsterdam(2025, 3, 1, 9, 0)
	// 230 allocations starting 1 March (due on 11 March with N = 10), 20 starting 2 March
	// (due on 12 March), and 5 that start on time.
	var due, later []string
	for i := range 255 {
		start := domain.Date(2025, 3, 1)
		if i >= 230 && i < 250 {
			start = domain.Date(2025, 3, 2)
		}
		al, err := a1.Allocate(serviceCtx, allocation(start))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case i >= 250:
			if _, err := a1.ReportDeliveryStarted(providerCtx, al.Number, start); err != nil {
				t.Fatal(err)
			}
		case i >= 230:
			later = append(later, al.Number)
		default:
			due = append(due, al.Number)
		}
	}
	a2, _ := appOn(t, db.Pool.Config().ConnString(), now)
	job := func(a *app.App) scheduler.Job {
		return scheduler.Job{Name: "not-started-alerts", BatchSize: 100, Batch: a.AlertNotStarted,
			Caller: identity.System(identity.Organisation{OIN: "00000099000000000003", Name: "providermonitoring", Type: identity.OrgService}, "care-monitoring")}
	}

	run := func() int {
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			raised int
		)
		for _, a := range []*app.App{a1, a2, a1, a2} {
			wg.Go(func() {
				n, err := scheduler.Drain(context.Background(), job(a))
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				raised += n
				mu.Unlock()
			})
		}
		wg.Wait()
		return raised
	}
	*now = amsterdam(2025, 3, 10, 23, 0) // day 9: nothing due
	if n := run(); n != 0 {
		t.Fatalf("day 9: %d alerts", n)
	}
	*now = amsterdam(2025, 3, 11, 6, 0)
	if n := run(); n != len(due) {
		t.Fatalf("day 10: %d alerts, want %d", n, len(due))
	}
	if n := run(); n != 0 {
		t.Fatalf("a second round raised %d", n)
	}
	*now = amsterdam(2025, 3, 12, 6, 0)
	if n := run(); n != len(later) {
		t.Fatalf("next day: %d alerts, want %d", n, len(later))
	}
	var events, distinct int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT aggregate_id) FROM outbox WHERE recipient = '' AND subject = 'wijkbrug.providermonitoring.GM0363.allocation.not_started'`).Scan(&events, &distinct); err != nil {
		t.Fatal(err)
	}
	if events != len(due)+len(later) || distinct != events {
		t.Fatalf("events %d (distinct %d), want %d each", events, distinct, len(due)+len(later))
	}
	ev := outboxEvents(t, db, due[0], "not_started", func() *pmv1.AllocationNotStarted { return new(pmv1.AllocationNotStarted) })
	if len(ev) != 1 || ev[0].GetDaysAfterStart() != 10 || ev[0].GetStartDate() != "2025-03-01" {
		t.Fatalf("event: %v", ev)
	}
	got, err := a1.GetAllocation(serviceCtx, due[0])
	if err != nil || got.NotStartedAlertedAt == nil {
		t.Fatalf("alerted allocation: %v %+v", err, got)
	}
	f, err := a1.ProviderOverview(teamCtx, "12345678", "GM0363")
	if err != nil || f.NotStarted != int32(len(due)+len(later)) || f.Issued != int32(len(due)+len(later)) {
		t.Fatalf("figures: %v %+v", err, f)
	}
}
