// Package outcomes is outcome reporting (issue 17): the facts of the read model (one row per
// intake, case, goal, referral or allocation; pseudonymous aggregate ids, codes and times,
// never a resident), the figure tables computed from them per group and period, and the
// suppression of small cells. Pure: no database, no transport.
package outcomes

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// Granularity is the length of a period.
type Granularity int

// Granularities.
const (
	Quarter Granularity = iota
	Month
)

// GroupBy is what the rows of a table are.
type GroupBy int

// Groupings.
const (
	ByTeam GroupBy = iota
	ByDistrict
	ByMunicipality
)

// Scope is where a fact belongs: the municipality, district and team.
type Scope struct {
	Municipality, District, Team string
}

// Signal is one signal a partner submitted (no team: signals reach a team through an intake).
type Signal struct {
	ID string
	Scope
	Source     string
	ReceivedAt time.Time
}

// Intake is one intake: its channel, the source of its signal, and when it was received,
// first reached and triaged.
type Intake struct {
	ID string
	Scope
	Channel, Source, TriageOutcome string
	ReceivedAt                     time.Time
	FirstContactAt, TriagedAt      *time.Time
}

// DomainChange is the ZRM score of one life domain at the baseline and at closing (0 = not
// assessed).
type DomainChange struct {
	LifeDomain        string
	Baseline, Closing int
}

// Case is one case: opened, closed with a result or handed over, scaled down, re-escalated
// from the pilot light.
type Case struct {
	ID string
	Scope
	OpenedAt time.Time
	// ClosedAt is when it was closed or handed over.
	ClosedAt     *time.Time
	HandedOver   bool
	Result       string
	ScaledDownAt *time.Time
	// Reescalations are the times the case left the pilot light (WATCH) for active work.
	Reescalations []time.Time
	Domains       []DomainChange
}

// Goal is a goal of a case that reached a final status.
type Goal struct {
	ID string
	Scope
	Status string
	At     time.Time
}

// Referral is one referral of a team: sent, then accepted or declined, completed or failed.
type Referral struct {
	ID string
	Scope
	SentAt                                time.Time
	Accepted, Declined, Completed, Failed bool
	DeclineReason                         string
}

// Allocation is one allocation of a case and the first start of care.
type Allocation struct {
	Number string
	Scope
	IssuedAt time.Time
	// StartDate and FirstStartedOn are calendar days (UTC midnight); FirstStartedOn is nil
	// until care started.
	StartDate      time.Time
	FirstStartedOn *time.Time
	StartedOnTime  bool
}

// Query selects the figures: one municipality, optionally one district or team, periods
// From..To inclusive ("2026-Q1" or "2026-03", the form of Granularity).
type Query struct {
	Scope
	From, To     string
	Granularity  Granularity
	GroupBy      GroupBy
	MinGroupSize int64
}

// Cell is one figure; a suppressed cell's Count and Value are meaningless and are not shown.
type Cell struct {
	Count      int64
	Value      float64
	Suppressed bool
}

// Row is one group in one period.
type Row struct {
	Period, Group string
	Cells         []Cell
	Total         Cell
}

// Table is one figure.
type Table struct {
	Name     string
	Columns  []string
	Unit     string
	Additive bool
	Rows     []Row
	// Totals are the column totals per period (additive tables only).
	Totals []Row
}

// Column codes.
var (
	Channels       = []string{"DESK", "PHONE", "DIGITAL", "SIGNAL"}
	Sources        = []string{"GP", "PRACTICE_NURSE", "VEILIG_THUIS", "HOUSING_CORPORATION", "ENERGY", "WATER", "HEALTH_INSURER", "POLICE", "CREDIT_BANK", "VIR_MATCH", "OTHER"}
	TriageOutcomes = []string{"ADVICE", "COMMUNITY_REFERRAL", "CUSTOM_PROVISION", "CASE_DIRECTION"}
	CaseResults    = []string{"GOALS_REACHED", "PARTLY_REACHED", "NOT_REACHED", "MOVED", "STOPPED_BY_RESIDENT"}
	CaseFlow       = []string{"OPENED", "CLOSED", "HANDED_OVER", "SCALED_DOWN", "REESCALATED"}
	GoalResults    = []string{"REACHED", "PARTLY", "NOT_REACHED"}
	LifeDomains    = []string{"FINANCES", "WORK_EDUCATION", "DAYTIME_ACTIVITIES", "HOUSING", "DOMESTIC_RELATIONS", "MENTAL_HEALTH",
		"PHYSICAL_HEALTH", "SUBSTANCE_USE", "BASIC_ADL", "INSTRUMENTAL_ADL", "SOCIAL_NETWORK", "COMMUNITY_PARTICIPATION", "JUSTICE", "ADL"}
	ReferralFlow    = []string{"SENT", "ACCEPTED", "DECLINED", "COMPLETED", "FAILED"}
	DeclineReasons  = []string{"CAPACITY", "OUT_OF_AREA", "NOT_ELIGIBLE", "INCOMPLETE", "RESIDENT_REFUSED", "OTHER_PROVISION", "OTHER"}
	AllocationStart = []string{"ON_TIME", "LATE", "NOT_STARTED"}
	Statistics      = []string{"MEDIAN", "P90"}
)

// PeriodOf is the period t falls in: by its Dutch calendar day (Europe/Amsterdam), as the
// services count days — an intake at 00:30 on 1 January in Amsterdam (23:30 UTC on 31
// December) is in the first quarter. A calendar day given as midnight UTC (a decision's
// decided day, a due date) is its own day: Amsterdam is ahead of UTC.
func PeriodOf(t time.Time, g Granularity) string {
	t = t.In(domain.Amsterdam)
	if g == Month {
		return fmt.Sprintf("%04d-%02d", t.Year(), int(t.Month()))
	}
	return fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
}

// First and last year a period may be in: the years any record of Wijkbrug can have (the
// schema's bounds of its timestamps).
const minPeriodYear, maxPeriodYear = 1900, 2199

// errNotAPeriod names the form a period must have; like every message it does not repeat what
// was sent, which may be anything.
var errNotAPeriod = errors.New("must be a period YYYY-Qn or YYYY-MM")

// parsePeriod returns the first day of a period and its granularity.
func parsePeriod(p string) (time.Time, Granularity, error) {
	var t time.Time
	g := Month
	if len(p) == 7 && p[4] == '-' && p[5] == 'Q' {
		y, err := strconv.Atoi(p[:4])
		q := int(p[6] - '0')
		if err != nil || p[0] < '0' || p[0] > '9' || q < 1 || q > 4 {
			return time.Time{}, 0, errNotAPeriod
		}
		t, g = time.Date(y, time.Month(3*(q-1)+1), 1, 0, 0, 0, 0, time.UTC), Quarter
	} else {
		var err error
		if t, err = time.Parse("2006-01", p); err != nil {
			return time.Time{}, 0, errNotAPeriod
		}
	}
	if t.Year() < minPeriodYear || t.Year() > maxPeriodYear {
		return time.Time{}, 0, fmt.Errorf("must be a period in the years %d-%d", minPeriodYear, maxPeriodYear)
	}
	return t, g, nil
}

// MaxPeriods is the most periods one query may span.
const MaxPeriods = 60

// PeriodError is a query period that is malformed, of another granularity than the query's,
// or out of order; Field names the request field at fault (from_period or to_period).
type PeriodError struct {
	Field string
	Msg   string
}

func (e *PeriodError) Error() string { return e.Field + ": " + e.Msg }

// RuleViolation makes it INVALID_ARGUMENT on Field (apperr's vocabulary).
func (e *PeriodError) RuleViolation() (field, reason string) { return e.Field, e.Msg }

// PeriodProblems are the violations of the form of both of q's periods (malformed, or not
// in the form of the granularity), from_period first: the same mistake reads the same on
// either field, and both are named at once. Empty when both are well-formed.
func (q Query) PeriodProblems() []PeriodError {
	form := map[Granularity]string{Quarter: "YYYY-Qn", Month: "YYYY-MM"}[q.Granularity]
	var out []PeriodError
	for _, f := range []struct{ field, period string }{{"from_period", q.From}, {"to_period", q.To}} {
		_, g, err := parsePeriod(f.period)
		switch {
		case err != nil:
			out = append(out, PeriodError{Field: f.field, Msg: err.Error()})
		case g != q.Granularity:
			out = append(out, PeriodError{Field: f.field, Msg: "must be in the form of the granularity (" + form + ")"})
		}
	}
	return out
}

// Periods lists the periods From..To of q, or a *PeriodError naming the field at fault.
func (q Query) Periods() ([]string, error) {
	from, gf, err := parsePeriod(q.From)
	if err != nil {
		return nil, &PeriodError{Field: "from_period", Msg: err.Error()}
	}
	to, gt, err := parsePeriod(q.To)
	if err != nil {
		return nil, &PeriodError{Field: "to_period", Msg: err.Error()}
	}
	form := map[Granularity]string{Quarter: "YYYY-Qn", Month: "YYYY-MM"}[q.Granularity]
	if gf != q.Granularity {
		return nil, &PeriodError{Field: "from_period", Msg: "must be in the form of the granularity (" + form + ")"}
	}
	if gt != q.Granularity {
		return nil, &PeriodError{Field: "to_period", Msg: "must be in the form of the granularity (" + form + ")"}
	}
	if to.Before(from) {
		return nil, &PeriodError{Field: "to_period", Msg: fmt.Sprintf("%s is before from_period %s", q.To, q.From)}
	}
	step := 3
	if q.Granularity == Month {
		step = 1
	}
	var out []string
	for t := from; !t.After(to); t = t.AddDate(0, step, 0) {
		out = append(out, PeriodOf(t, q.Granularity))
		if len(out) > MaxPeriods {
			return nil, &PeriodError{Field: "to_period", Msg: fmt.Sprintf("at most %d periods per query", MaxPeriods)}
		}
	}
	return out, nil
}

// Bounds are the first instant of From and the first instant after To (Dutch time).
func (q Query) Bounds() (time.Time, time.Time, error) {
	ps, err := q.Periods()
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	from, _, _ := parsePeriod(ps[0])
	last, _, _ := parsePeriod(ps[len(ps)-1])
	step := 3
	if q.Granularity == Month {
		step = 1
	}
	end := last.AddDate(0, step, 0)
	dutch := func(t time.Time) time.Time {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, domain.Amsterdam)
	}
	return dutch(from), dutch(end), nil
}

// in reports whether s is inside the query's scope.
func (q Query) in(s Scope) bool {
	return s.Municipality == q.Municipality && (q.District == "" || s.District == q.District) && (q.Team == "" || s.Team == q.Team)
}

func (q Query) group(s Scope) string {
	switch q.GroupBy {
	case ByDistrict:
		return s.District
	case ByMunicipality:
		return s.Municipality
	}
	return s.Team
}

// observation is one fact counted (column) or measured (value) in a group and period.
type observation struct {
	period, group, column string
	value                 float64
}

type collector struct {
	q       Query
	periods map[string]bool
	obs     []observation
}

func newCollector(q Query, periods []string) *collector {
	c := &collector{q: q, periods: map[string]bool{}}
	for _, p := range periods {
		c.periods[p] = true
	}
	return c
}

// add records an observation when its time falls in a queried period and its scope in the
// query's.
func (c *collector) add(s Scope, at time.Time, column string, value float64) {
	p := PeriodOf(at, c.q.Granularity)
	if !c.periods[p] || !c.q.in(s) {
		return
	}
	c.obs = append(c.obs, observation{period: p, group: c.q.group(s), column: column, value: value})
}

// groups are the groups observed per period, sorted.
func groupsByPeriod(obs []observation) map[string][]string {
	seen := map[string]map[string]bool{}
	for _, o := range obs {
		if seen[o.period] == nil {
			seen[o.period] = map[string]bool{}
		}
		seen[o.period][o.group] = true
	}
	out := map[string][]string{}
	for p, gs := range seen {
		for g := range gs {
			out[p] = append(out[p], g)
		}
		sort.Strings(out[p])
	}
	return out
}

// countTable counts observations per column. An additive table's columns partition its rows:
// it gets row totals and column totals per period. Other count tables have no totals (their
// columns overlap). Nothing is suppressed yet: publish does that for the whole answer.
func countTable(name string, columns []string, additive bool, periods []string, c *collector) Table {
	t := Table{Name: name, Columns: columns, Unit: "count", Additive: additive}
	index := map[string]int{}
	for i, col := range columns {
		index[col] = i
	}
	groups := groupsByPeriod(c.obs)
	counts := map[[2]string][]int64{}
	for _, o := range c.obs {
		i, ok := index[o.column]
		if !ok {
			continue
		}
		k := [2]string{o.period, o.group}
		if counts[k] == nil {
			counts[k] = make([]int64, len(columns))
		}
		counts[k][i]++
	}
	for _, p := range periods {
		gs := groups[p]
		if len(gs) == 0 {
			continue
		}
		cells := make([][]int64, len(gs))
		for i, g := range gs {
			cells[i] = counts[[2]string{p, g}]
			if cells[i] == nil {
				cells[i] = make([]int64, len(columns))
			}
		}
		grid := NewGrid(cells)
		cell := func(r, col int) Cell { return Cell{Count: grid.Values[r][col]} }
		for r, g := range gs {
			row := Row{Period: p, Group: g}
			for col := range columns {
				row.Cells = append(row.Cells, cell(r, col))
			}
			if additive {
				row.Total = cell(r, len(columns))
			}
			t.Rows = append(t.Rows, row)
		}
		if additive {
			total := Row{Period: p}
			for col := range columns {
				total.Cells = append(total.Cells, cell(len(gs), col))
			}
			total.Total = cell(len(gs), len(columns))
			t.Totals = append(t.Totals, total)
		}
	}
	return t
}

// statTable gives, per group and period, statistics of the observed values per column: with
// columns MEDIAN and P90 of one measure (column ""), or the mean per column (means = true).
// A cell's Count is the number of values it rests on. Nothing is suppressed yet: publish does
// that for the whole answer.
func statTable(name, unit string, columns []string, means bool, periods []string, c *collector) Table {
	t := Table{Name: name, Columns: columns, Unit: unit}
	groups := groupsByPeriod(c.obs)
	values := map[[3]string][]float64{}
	for _, o := range c.obs {
		k := [3]string{o.period, o.group, o.column}
		values[k] = append(values[k], o.value)
	}
	for _, p := range periods {
		for _, g := range groups[p] {
			row := Row{Period: p, Group: g}
			for _, col := range columns {
				key := [3]string{p, g, ""}
				if means {
					key[2] = col
				}
				vs := values[key]
				cell := Cell{Count: int64(len(vs))}
				switch {
				case len(vs) == 0:
				case means:
					cell.Value = round2(Mean(vs))
				case col == "MEDIAN":
					cell.Value = round2(Percentile(vs, 50))
				default:
					cell.Value = round2(Percentile(vs, 90))
				}
				row.Cells = append(row.Cells, cell)
			}
			t.Rows = append(t.Rows, row)
		}
	}
	return t
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// Mean is the arithmetic mean of vs (0 for none).
func Mean(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	var s float64
	for _, v := range vs {
		s += v
	}
	return s / float64(len(vs))
}

// Percentile is the p-th percentile of vs by the nearest-rank method (the median of an even
// number of values is the lower middle one): always a value that occurred.
func Percentile(vs []float64, p float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	if rank < 1 {
		rank = 1
	}
	return s[rank-1]
}

func days(from, to time.Time) float64 { return to.Sub(from).Hours() / 24 }

// IntakeFigures: signals by source (group "" per team: a signal has no team yet), intakes by
// channel and by source (of SIGNAL intakes), triage outcomes, and the days from receipt to
// first contact and to the triage decision; all by the period of receipt.
func IntakeFigures(q Query, signals []Signal, intakes []Intake) ([]Table, error) {
	periods, err := q.Periods()
	if err != nil {
		return nil, err
	}
	signal := newCollector(q, periods)
	for _, s := range signals {
		if q.Team == "" { // a signal belongs to no team: a team's own figures have none
			signal.add(s.Scope, s.ReceivedAt, s.Source, 0)
		}
	}
	channel, source, outcome := newCollector(q, periods), newCollector(q, periods), newCollector(q, periods)
	contact, triage := newCollector(q, periods), newCollector(q, periods)
	for _, in := range intakes {
		channel.add(in.Scope, in.ReceivedAt, in.Channel, 0)
		if in.Channel == "SIGNAL" && in.Source != "" {
			source.add(in.Scope, in.ReceivedAt, in.Source, 0)
		}
		if in.TriageOutcome != "" {
			outcome.add(in.Scope, in.ReceivedAt, in.TriageOutcome, 0)
		}
		if in.FirstContactAt != nil {
			contact.add(in.Scope, in.ReceivedAt, "", days(in.ReceivedAt, *in.FirstContactAt))
		}
		if in.TriagedAt != nil {
			triage.add(in.Scope, in.ReceivedAt, "", days(in.ReceivedAt, *in.TriagedAt))
		}
	}
	return publish(q.MinGroupSize, []Table{
		countTable("signals_by_source", Sources, true, periods, signal),
		countTable("intakes_by_channel", Channels, true, periods, channel),
		countTable("intakes_by_source", Sources, true, periods, source),
		countTable("triage_outcomes", TriageOutcomes, true, periods, outcome),
		statTable("days_to_first_contact", "days", Statistics, false, periods, contact),
		statTable("days_to_triage", "days", Statistics, false, periods, triage),
	},
		// The SIGNAL intakes are counted by channel and again by source.
		link{sum: ref{"intakes_by_source", Total}, parts: []ref{{"intakes_by_channel", "SIGNAL"}}},
		// Every triaged intake has an outcome and a time to triage.
		link{sum: ref{"days_to_triage", "MEDIAN"}, parts: []ref{{"triage_outcomes", Total}}},
	), nil
}

// CaseFigures: cases opened, closed, handed over, scaled down and re-escalated from the pilot
// light (each by the period it happened in), the results of closed cases, and the duration of
// closed and handed-over cases (by the period they ended in).
func CaseFigures(q Query, cases []Case) ([]Table, error) {
	periods, err := q.Periods()
	if err != nil {
		return nil, err
	}
	flow, results, duration := newCollector(q, periods), newCollector(q, periods), newCollector(q, periods)
	for _, c := range cases {
		flow.add(c.Scope, c.OpenedAt, "OPENED", 0)
		if c.ClosedAt != nil {
			if c.HandedOver {
				flow.add(c.Scope, *c.ClosedAt, "HANDED_OVER", 0)
			} else {
				flow.add(c.Scope, *c.ClosedAt, "CLOSED", 0)
				results.add(c.Scope, *c.ClosedAt, c.Result, 0)
			}
			duration.add(c.Scope, *c.ClosedAt, "", days(c.OpenedAt, *c.ClosedAt))
		}
		if c.ScaledDownAt != nil {
			flow.add(c.Scope, *c.ScaledDownAt, "SCALED_DOWN", 0)
		}
		for _, at := range c.Reescalations {
			flow.add(c.Scope, at, "REESCALATED", 0)
		}
	}
	return publish(q.MinGroupSize, []Table{
		countTable("case_flow", CaseFlow, false, periods, flow),
		countTable("case_results", CaseResults, true, periods, results),
		statTable("case_duration", "days", Statistics, false, periods, duration),
	},
		// Every closed case has a result; every closed or handed-over case a duration.
		link{sum: ref{"case_results", Total}, parts: []ref{{"case_flow", "CLOSED"}}},
		link{sum: ref{"case_duration", "MEDIAN"}, parts: []ref{{"case_flow", "CLOSED"}, {"case_flow", "HANDED_OVER"}}},
	), nil
}

// ZrmChange: per life domain, the mean ZRM score at the baseline and at closing and the mean
// change, over the closed cases (not handed over) that had a goal on the domain and were
// scored at both moments, by the period they closed in; and the goals reached, partly reached
// and not reached, by the period they were settled in.
func ZrmChange(q Query, cases []Case, goals []Goal) ([]Table, error) {
	periods, err := q.Periods()
	if err != nil {
		return nil, err
	}
	baseline, closing, change, goalResults := newCollector(q, periods), newCollector(q, periods), newCollector(q, periods), newCollector(q, periods)
	for _, c := range cases {
		if c.ClosedAt == nil || c.HandedOver {
			continue
		}
		for _, d := range c.Domains {
			if d.Baseline <= 0 || d.Closing <= 0 || d.Baseline > 5 || d.Closing > 5 {
				continue // not scored (0) or "unknown" (99)
			}
			baseline.add(c.Scope, *c.ClosedAt, d.LifeDomain, float64(d.Baseline))
			closing.add(c.Scope, *c.ClosedAt, d.LifeDomain, float64(d.Closing))
			change.add(c.Scope, *c.ClosedAt, d.LifeDomain, float64(d.Closing-d.Baseline))
		}
	}
	for _, g := range goals {
		goalResults.add(g.Scope, g.At, g.Status, 0)
	}
	// The three means of a life domain rest on the same cases: they are suppressed alike
	// without a link, as their counts are equal.
	return publish(q.MinGroupSize, []Table{
		statTable("zrm_baseline_mean", "score", LifeDomains, true, periods, baseline),
		statTable("zrm_closing_mean", "score", LifeDomains, true, periods, closing),
		statTable("zrm_change_mean", "score", LifeDomains, true, periods, change),
		countTable("goal_results", GoalResults, true, periods, goalResults),
	}), nil
}

// ReferralFigures: referrals sent and what became of them (by the period they were sent in),
// and the reasons of declines.
func ReferralFigures(q Query, referrals []Referral) ([]Table, error) {
	periods, err := q.Periods()
	if err != nil {
		return nil, err
	}
	flow, reasons := newCollector(q, periods), newCollector(q, periods)
	for _, r := range referrals {
		flow.add(r.Scope, r.SentAt, "SENT", 0)
		for col, ok := range map[string]bool{"ACCEPTED": r.Accepted, "DECLINED": r.Declined, "COMPLETED": r.Completed, "FAILED": r.Failed} {
			if ok {
				flow.add(r.Scope, r.SentAt, col, 0)
			}
		}
		if r.Declined && r.DeclineReason != "" {
			reasons.add(r.Scope, r.SentAt, r.DeclineReason, 0)
		}
	}
	return publish(q.MinGroupSize, []Table{
		countTable("referral_flow", ReferralFlow, false, periods, flow),
		countTable("decline_reasons", DeclineReasons, true, periods, reasons),
	},
		// A decline's reason is counted by reason and as a decline.
		link{sum: ref{"decline_reasons", Total}, parts: []ref{{"referral_flow", "DECLINED"}}},
	), nil
}

// AllocationFigures: allocations by whether care started by the start date (by the period
// they were issued in), and the days from the start date to the first start of care.
func AllocationFigures(q Query, allocations []Allocation) ([]Table, error) {
	periods, err := q.Periods()
	if err != nil {
		return nil, err
	}
	start, wait := newCollector(q, periods), newCollector(q, periods)
	for _, a := range allocations {
		switch {
		case a.FirstStartedOn == nil:
			start.add(a.Scope, a.IssuedAt, "NOT_STARTED", 0)
		case a.StartedOnTime:
			start.add(a.Scope, a.IssuedAt, "ON_TIME", 0)
		default:
			start.add(a.Scope, a.IssuedAt, "LATE", 0)
		}
		if a.FirstStartedOn != nil {
			wait.add(a.Scope, a.IssuedAt, "", days(a.StartDate, *a.FirstStartedOn))
		}
	}
	return publish(q.MinGroupSize, []Table{
		countTable("allocation_start", AllocationStart, true, periods, start),
		statTable("days_from_start_date_to_care", "days", Statistics, false, periods, wait),
	},
		// Every allocation whose care started, on time or late, has a wait.
		link{sum: ref{"days_from_start_date_to_care", "MEDIAN"}, parts: []ref{{"allocation_start", "ON_TIME"}, {"allocation_start", "LATE"}}},
	), nil
}
