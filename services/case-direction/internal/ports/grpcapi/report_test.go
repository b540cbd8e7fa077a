package grpcapi

import (
	"regexp"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain/outcomes"
)

// The probe's case (thirty-sixth session): a quarter without closed cases read "Cases closed
// | 0" in the trends (case_flow CLOSED) and "Cases closed | –" in the funnel (case_results,
// which has no row then); and the funnel ran Signals 15 → Intakes 28 → case direction 12,
// though intakes are no part of the signals.
func TestReportShowsOneFactOneWay(t *testing.T) {
	row := func(cells ...int64) outcomes.Row {
		r := outcomes.Row{Period: "2026-Q1", Group: "GM0363"}
		for _, c := range cells {
			r.Cells = append(r.Cells, outcomes.Cell{Count: c})
			r.Total.Count += c
		}
		return r
	}
	tables := map[string]outcomes.Table{
		"signals_by_source":  {Name: "signals_by_source", Columns: outcomes.Sources, Unit: "count", Additive: true, Rows: []outcomes.Row{row(12, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0)}},
		"intakes_by_channel": {Name: "intakes_by_channel", Columns: outcomes.Channels, Unit: "count", Additive: true, Rows: []outcomes.Row{row(11, 2, 0, 15)}},
		"triage_outcomes":    {Name: "triage_outcomes", Columns: outcomes.TriageOutcomes, Unit: "count", Additive: true, Rows: []outcomes.Row{row(10, 0, 0, 12)}},
		"case_flow":          {Name: "case_flow", Columns: outcomes.CaseFlow, Unit: "count", Rows: []outcomes.Row{row(12, 0, 0, 0, 0)}},
	}
	page := renderReport("GM0363", []string{"2026-Q1"}, tables, 10)
	closed := regexp.MustCompile(`<tr><th>Cases closed</th><td>(.*?)</td></tr>`).FindAllStringSubmatch(page, -1)
	if len(closed) != 2 {
		t.Fatalf("want Cases closed in the trends and the funnel table, found %d", len(closed))
	}
	if closed[0][1] != closed[1][1] {
		t.Fatalf("Cases closed reads %s in the trends and %s in the funnel", closed[0][1], closed[1][1])
	}
	funnel := page[strings.Index(page, `id="funnel-table"`):]
	funnel = funnel[:strings.Index(funnel, "</table>")]
	if strings.Contains(funnel, "Signals") || strings.Contains(funnel, `data-table="signals_by_source"`) {
		t.Fatalf("the funnel still runs from the signals to the intakes: %s", funnel)
	}
}
