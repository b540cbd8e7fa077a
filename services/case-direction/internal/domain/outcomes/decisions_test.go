package outcomes

import (
	"testing"
	"time"
)

// A share within the term is shown only where both counts it rests on are: WMO has 2 decisions
// past the term (suppressed, and its within-term count with it), so its share and the share of
// all are suppressed; Jeugdwet's 7 of 13 is shown. Overdue decisions count by their due date;
// a decision with an unknown legal basis counts nowhere.
func TestDecisionFiguresSuppressSharesOverSuppressedCounts(t *testing.T) {
	q := Query{Scope: Scope{Municipality: "GM0363"}, From: "2026-Q1", To: "2026-Q1", GroupBy: ByTeam, MinGroupSize: 5}
	day := func(d int) *time.Time { t := time.Date(2026, 2, d, 0, 0, 0, 0, time.UTC); return &t }
	var ds []Decision
	add := func(n int, basis string, within, overdue bool) {
		for range n {
			ds = append(ds, Decision{Scope: Scope{Municipality: "GM0363", Team: "T1"}, LegalBasis: basis, DecidedOn: day(10),
				DueDate: day(3), WithinTerm: within, Overdue: overdue})
		}
	}
	add(6, "WMO_2_3_5", true, false)
	add(2, "WMO_2_3_5", false, true)
	add(7, "JEUGDWET_2_3", true, false)
	add(6, "JEUGDWET_2_3", false, true)
	add(3, "", true, false)
	tables, err := DecisionFigures(q, ds)
	if err != nil {
		t.Fatal(err)
	}
	byTerm, share, overdue := tables[0], tables[1], tables[2]
	if byTerm.Name != "decisions_by_term" || share.Name != "decisions_within_term_share" || overdue.Name != "decisions_overdue" {
		t.Fatalf("tables %s %s %s", byTerm.Name, share.Name, overdue.Name)
	}
	r := byTerm.Rows[0]
	if !r.Cells[0].Suppressed || !r.Cells[1].Suppressed || r.Cells[2].Count != 7 || r.Cells[3].Count != 6 || r.Total.Count != 21 {
		t.Fatalf("decisions_by_term row %+v", r)
	}
	s := share.Rows[0].Cells
	if !s[0].Suppressed || !s[2].Suppressed || s[1].Suppressed || s[1].Count != 13 || s[1].Value != 53.85 {
		t.Fatalf("shares %+v", s)
	}
	o := overdue.Rows[0].Cells
	if !o[0].Suppressed || o[1].Count != 6 {
		t.Fatalf("overdue %+v", o)
	}
}
