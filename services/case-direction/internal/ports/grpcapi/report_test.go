package grpcapi

import (
	"fmt"
	"math"
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
	closed := regexp.MustCompile(`<tr><th scope="row">Cases closed</th><td>(.*?)</td></tr>`).FindAllStringSubmatch(page, -1)
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

// The report's structure for assistive technology (thirty-seventh session, an accessibility
// audit): one main landmark; every table with a caption, its column headers in a thead with
// scope="col" and none empty, its row headers scope="row", in a focusable scrolling region
// named by the caption; every chart an image whose name says what it shows and where its numbers
// are; a viewport; and every series colour at least 3:1 against the white page (WCAG 1.4.11).
func TestReportIsStructuredForAssistiveTechnology(t *testing.T) {
	tables := map[string]outcomes.Table{
		"case_flow": {Name: "case_flow", Columns: outcomes.CaseFlow, Unit: "count",
			Rows: []outcomes.Row{{Period: "2026-Q1", Group: "GM0363", Cells: []outcomes.Cell{{Count: 12}, {Count: 0}, {Count: 0}, {Count: 11}, {Count: 0}}}}},
		"zrm_change_mean": {Name: "zrm_change_mean", Columns: outcomes.LifeDomains, Unit: "mean",
			Rows: []outcomes.Row{{Period: "2026-Q1", Group: "GM0363", Cells: make([]outcomes.Cell, len(outcomes.LifeDomains))}}},
	}
	tables["zrm_change_mean"].Rows[0].Cells[0] = outcomes.Cell{Count: 12, Value: 1.5}
	page := renderReport("GM0363", []string{"2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"}, tables, 10)

	if n := strings.Count(page, "<main>"); n != 1 || !strings.Contains(page, "</main></body>") {
		t.Errorf("want all content in one <main>, found %d", n)
	}
	if !strings.Contains(page, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
		t.Error("no viewport: a phone shows the page at desktop width")
	}
	if strings.Contains(page, "<th></th>") || regexp.MustCompile(`<th(?: [^>]*)?>\s*</th>`).MatchString(page) {
		t.Error("an empty header cell")
	}
	for _, id := range []string{"trend-table", "zrm-table", "funnel-table", "decision-table"} {
		want := `<div class="table-scroll" role="region" tabindex="0" aria-labelledby="` + id + `-caption"><table id="` + id + `"><caption id="` + id + `-caption">`
		if !strings.Contains(page, want) {
			t.Errorf("%s: not in a named, focusable scrolling region with its caption", id)
		}
	}
	for _, th := range regexp.MustCompile(`<th(?: [^>]*)?>`).FindAllString(page, -1) {
		if th != `<th scope="col">` && th != `<th scope="row">` {
			t.Errorf("header cell without scope: %s", th)
		}
	}
	if n, rows := strings.Count(page, "<thead><tr>"), strings.Count(page, `<table `); n != rows || n != 4 {
		t.Errorf("%d tables, %d with a thead", rows, n)
	}
	svgs := regexp.MustCompile(`<svg[^>]*>`).FindAllString(page, -1)
	if len(svgs) != 3+4 {
		t.Fatalf("%d charts", len(svgs))
	}
	for _, svg := range svgs {
		name := regexp.MustCompile(`role="img" aria-label="([^"]+)"`).FindStringSubmatch(svg)
		if name == nil || !strings.HasSuffix(name[1], "(bar chart; its numbers are in the table below)") ||
			strings.HasPrefix(name[1], "bars per quarter") || strings.HasPrefix(name[1], "funnel ") {
			t.Errorf("chart without a telling name: %s", svg)
		}
	}
	for _, c := range palette {
		if r := contrast(c, "#ffffff"); r < 3 {
			t.Errorf("series colour %s has %.2f:1 against white, below 3:1", c, r)
		}
	}
	for _, css := range []string{"svg{display:block;max-width:100%;height:auto}", ".table-scroll{overflow-x:auto", "@media print"} {
		if !strings.Contains(page, css) {
			t.Errorf("style lacks %s", css)
		}
	}
}

// contrast is the WCAG contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	lum := func(hex string) float64 {
		var l float64
		for i, w := range []float64{0.2126, 0.7152, 0.0722} {
			var v int
			fmt.Sscanf(hex[1+2*i:3+2*i], "%02x", &v)
			c := float64(v) / 255
			if c <= 0.03928 {
				c /= 12.92
			} else {
				c = math.Pow((c+0.055)/1.055, 2.4)
			}
			l += w * c
		}
		return l
	}
	la, lb := lum(a), lum(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}
