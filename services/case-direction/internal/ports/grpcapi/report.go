package grpcapi

import (
	"context"
	"fmt"
	"html"
	"math"
	"strings"

	outcomesv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/outcomes/v1"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain/outcomes"
	"google.golang.org/genproto/googleapis/api/httpbody"
)

// GetReport renders the municipality's outcome report (HTML with inline SVG charts).
func (s *OutcomeServer) GetReport(ctx context.Context, req *outcomesv1.GetReportRequest) (*httpbody.HttpBody, error) {
	q := outcomes.Query{Scope: outcomes.Scope{Municipality: req.GetMunicipalityCode()}, From: req.GetFromPeriod(), To: req.GetToPeriod(),
		Granularity: outcomes.Quarter}
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	periods, err := q.Periods()
	if err != nil {
		return nil, err
	}
	tables, err := s.reports.Report(ctx, req.GetMunicipalityCode(), req.GetFromPeriod(), req.GetToPeriod())
	if err != nil {
		return nil, err
	}
	page := renderReport(req.GetMunicipalityCode(), periods, tables, s.reports.MinGroup())
	return &httpbody.HttpBody{ContentType: "text/html; charset=utf-8", Data: []byte(page)}, nil
}

// figure is one number of the report, where it comes from in the figure RPCs (table, period,
// column; "TOTAL" for a row total) and what it is.
type figure struct {
	table, period, column string
	cell                  outcomes.Cell
	found, isValue        bool
}

// lookup finds a cell of the municipality's row of table in period.
func lookup(tables map[string]outcomes.Table, table, period, column string) figure {
	f := figure{table: table, period: period, column: column}
	t, ok := tables[table]
	if !ok {
		return f
	}
	f.isValue = t.Unit != "count"
	for _, r := range t.Rows {
		if r.Period != period {
			continue
		}
		if column == "TOTAL" {
			f.cell, f.found = r.Total, true
			return f
		}
		for i, c := range t.Columns {
			if c == column {
				f.cell, f.found = r.Cells[i], true
				return f
			}
		}
	}
	return f
}

// number is the figure's value for a chart (0 when suppressed or absent).
func (f figure) number() float64 {
	switch {
	case !f.found || f.cell.Suppressed:
		return 0
	case f.isValue:
		return f.cell.Value
	}
	return float64(f.cell.Count)
}

// text is how the report shows the figure: "x" (CBS's sign for a figure kept secret) when
// suppressed, "–" when there is nothing; its data attributes say where it comes from, so a
// reader (or a test) can check it against the figure RPCs.
func (f figure) text() string {
	attrs := fmt.Sprintf(` data-table="%s" data-period="%s" data-column="%s"`, html.EscapeString(f.table), html.EscapeString(f.period), html.EscapeString(f.column))
	switch {
	case !f.found:
		return `<span` + attrs + ` data-absent="true">–</span>`
	case f.cell.Suppressed:
		return `<span` + attrs + ` data-suppressed="true" title="suppressed: fewer units than the minimum group size, or protecting such a figure">x</span>`
	case f.isValue && f.cell.Count == 0:
		// A mean, median or share of no units at all is not 0: there is nothing to show.
		return `<span` + attrs + ` data-kind="none">–</span>`
	case f.isValue:
		return fmt.Sprintf(`<span%s data-kind="value">%.2f</span>`, attrs, f.cell.Value)
	}
	return fmt.Sprintf(`<span%s data-kind="count">%d</span>`, attrs, f.cell.Count)
}

type series struct {
	label, table, column string
}

var (
	trendSeries = []series{
		{"Signals", "signals_by_source", "TOTAL"}, {"Intakes", "intakes_by_channel", "TOTAL"},
		{"Cases opened", "case_flow", "OPENED"}, {"Cases closed", "case_flow", "CLOSED"},
	}
	// The funnel is two steps, each a whole and a part of it: the intakes received in
	// the quarter and those of them triaged to case direction; the cases closed in the
	// quarter (the same figure as in the trends) and those of them with their goals reached.
	// Signals are not a stage: an intake may come from a desk or a phone call as well, so
	// intakes are no part of the signals (the trends show both).
	funnelStages = []series{
		{"Intakes received", "intakes_by_channel", "TOTAL"},
		{"… triaged to case direction", "triage_outcomes", "CASE_DIRECTION"},
		{"Cases closed", "case_flow", "CLOSED"},
		{"… with goals reached", "case_results", "GOALS_REACHED"},
	}
	decisionSeries = []series{
		{"Share within term, Wmo (%)", "decisions_within_term_share", "WMO"},
		{"Share within term, Jeugdwet (%)", "decisions_within_term_share", "JEUGDWET"},
		{"Share within term, all (%)", "decisions_within_term_share", "ALL"},
	}
	decisionRows = append([]series{
		{"Decisions decided", "decisions_by_term", "TOTAL"},
		{"Wmo within term", "decisions_by_term", "WMO_WITHIN_TERM"}, {"Wmo past term", "decisions_by_term", "WMO_PAST_TERM"},
		{"Jeugdwet within term", "decisions_by_term", "JEUGDWET_WITHIN_TERM"}, {"Jeugdwet past term", "decisions_by_term", "JEUGDWET_PAST_TERM"},
	}, decisionSeries...)
	// The series' colours, each at least 3:1 against the white page (WCAG 1.4.11: the bars are
	// the chart); the orange was #e07b39, 2.97:1.
	palette = []string{"#1f6fb2", "#c0601f", "#3a9d5d", "#8e5ea2", "#c44e52"}
)

// reportCSS lays the report out for a screen of any width and for print. The charts scale
// down to the width of the page (their numbers are in the tables, which do not scale) and a
// wide table scrolls in its own region: at 320 CSS px (a phone, or 400 % zoom) the page does
// not scroll sideways (WCAG 1.4.10). Text is #222 on white (15.9:1), header cells #222 on
// #f3f3f3 (14.3:1).
const reportCSS = `body{font-family:system-ui,sans-serif;margin:2em auto;padding:0 1em;max-width:60em;color:#222;background:#fff}
table{border-collapse:collapse;margin:1em 0}.table-scroll{overflow-x:auto;max-width:100%}
td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}th{background:#f3f3f3}th[scope=row],thead th:first-child{text-align:left}
caption{text-align:left;font-weight:bold}svg{display:block;max-width:100%;height:auto}svg text{font-size:11px}
@media (max-width:30em){body{margin:1em auto;padding:0 .5em}}
@media print{body{max-width:none;margin:0;padding:0}h2{break-after:avoid}svg,tr{break-inside:avoid}.table-scroll{overflow:visible}}`

func renderReport(municipality string, periods []string, tables map[string]outcomes.Table, minGroup int64) string {
	var b strings.Builder
	m := html.EscapeString(municipality)
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Outcome report %s %s–%s</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>%s</style></head><body><main>
<h1>Outcome report for municipality <span id="municipality">%s</span></h1>
<p>Quarters %s to %s. Built from events only; no personal data. Figures resting on fewer than
<strong id="minimum-group-size">%d</strong> units are shown as <strong>x</strong> (suppressed), and so are the figures
that would let a suppressed one be computed from the totals; <strong>–</strong> means there is nothing to show
(no such events, or a share or mean of no units). Each chart's numbers are in the table below it.</p>
`, m, periods[0], periods[len(periods)-1], reportCSS, m, periods[0], periods[len(periods)-1], minGroup)

	// Trends per quarter: grouped bars.
	b.WriteString("<h2>Trends per quarter</h2>\n")
	var max float64
	for _, p := range periods {
		for _, s := range trendSeries {
			max = math.Max(max, lookup(tables, s.table, p, s.column).number())
		}
	}
	writeBars(&b, "trends", "Trends per quarter", periods, trendSeries, tables, max)
	writeTable(&b, "trend-table", "Trends per quarter", "Figure", periods, trendSeries, tables)

	// ZRM change per life domain: mean change per quarter, bars around zero.
	b.WriteString("<h2>ZRM change per life domain (mean closing − baseline score)</h2>\n")
	var domains []series
	for _, d := range outcomes.LifeDomains {
		for _, p := range periods {
			if f := lookup(tables, "zrm_change_mean", p, d); f.found && (f.cell.Count > 0 || f.cell.Suppressed) {
				domains = append(domains, series{strings.ReplaceAll(strings.ToLower(d), "_", " "), "zrm_change_mean", d})
				break
			}
		}
	}
	writeDiverging(&b, periods, domains, tables)
	writeTable(&b, "zrm-table", "Mean ZRM change per life domain", "Life domain", periods, domains, tables)

	// From intake to result, per quarter: two steps, not one flow.
	b.WriteString(`<h2>From intake to result</h2>
<p id="funnel-note">Two steps per quarter, each a whole and a part of it (…): the intakes received and those of
them triaged to case direction; the cases closed and those of them closed with their goals reached. The cases
closed in a quarter mostly began with intakes of earlier quarters, so the two steps are not one flow; signals
are not a stage (intakes also come from the desk and by phone).</p>
`)
	for _, p := range periods {
		writeFunnel(&b, p, tables)
	}
	writeTable(&b, "funnel-table", "From intake to result per quarter", "Step", periods, funnelStages, tables)

	// Decisions within the statutory term (Wmo 2015: two weeks, Jeugdwet: eight weeks): the
	// share per quarter as bars on a 0–100 scale.
	b.WriteString("<h2>Decisions within the statutory term</h2>\n")
	writeBars(&b, "decisions", "Decisions within the statutory term", periods, decisionSeries, tables, 100)
	writeTable(&b, "decision-table", "Decisions within the statutory term per quarter", "Figure", periods, decisionRows, tables)
	b.WriteString("</main></body></html>\n")
	return b.String()
}

// chartName is a chart's accessible name: the chart is one image (role="img") to assistive
// technology, and its numbers are in the table that follows it (WCAG 1.1.1).
func chartName(title string) string {
	return html.EscapeString(title) + " (bar chart; its numbers are in the table below)"
}

// writeBars draws one group of bars per period, one bar per series.
func writeBars(b *strings.Builder, id, title string, periods []string, ss []series, tables map[string]outcomes.Table, max float64) {
	const h, top, groupW, barW = 200.0, 20.0, 130.0, 24.0
	w := 60 + groupW*float64(len(periods))
	// One legend line per series, so that long labels never overlap.
	height := h + 44 + 16*float64(len(ss))
	fmt.Fprintf(b, `<svg id="%s" role="img" aria-label="%s" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`+"\n", id, chartName(title), w, height, w, height)
	fmt.Fprintf(b, `<line x1="50" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#444"/>`+"\n", top+h, w, top+h)
	for i, p := range periods {
		x0 := 60 + groupW*float64(i)
		for j, s := range ss {
			f := lookup(tables, s.table, p, s.column)
			bh := 0.0
			if max > 0 {
				bh = f.number() / max * h
			}
			x := x0 + barW*float64(j)
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.0f" height="%.1f" fill="%s"><title>%s %s</title></rect>`+"\n",
				x, top+h-bh, barW-4, bh, palette[j%len(palette)], html.EscapeString(s.label), p)
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x+(barW-4)/2, top+h-bh-4, svgText(f))
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", x0+barW*float64(len(ss))/2, top+h+16, p)
	}
	for j, s := range ss {
		fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			60.0, top+h+30+16*float64(j), palette[j%len(palette)], 74.0, top+h+39+16*float64(j), html.EscapeString(s.label))
	}
	b.WriteString("</svg>\n")
}

// svgText is a figure inside a chart: the number, or x when suppressed (as an SVG tspan with
// the same data attributes as in the tables).
func svgText(f figure) string {
	t := f.text()
	return strings.Replace(strings.Replace(t, "<span", "<tspan", 1), "</span>", "</tspan>", 1)
}

// writeDiverging draws, per life domain, one bar per period around a zero line.
func writeDiverging(b *strings.Builder, periods []string, domains []series, tables map[string]outcomes.Table) {
	const rowH, barH, left, half = 14.0, 13.0, 170.0, 150.0
	perDomain := rowH + barH*float64(len(periods))
	h := 60 + perDomain*float64(len(domains))
	fmt.Fprintf(b, `<svg id="zrm" role="img" aria-label="%s" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`+"\n", chartName("Mean ZRM change per life domain"), left+2*half+120, h, left+2*half+120, h)
	fmt.Fprintf(b, `<line x1="%.0f" y1="10" x2="%.0f" y2="%.0f" stroke="#444"/>`+"\n", left+half, left+half, h-40)
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle">−4</text><text x="%.0f" y="%.0f" text-anchor="middle">0</text><text x="%.0f" y="%.0f" text-anchor="middle">+4</text>`+"\n",
		left, h-28, left+half, h-28, left+2*half, h-28)
	for j, p := range periods {
		fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			left+float64(j)*80, h-16, palette[j%len(palette)], left+14+float64(j)*80, h-7, p)
	}
	const scale = half / 4 // a ZRM change lies between −4 and +4
	for i, d := range domains {
		y0 := 20 + perDomain*float64(i)
		fmt.Fprintf(b, `<text x="0" y="%.1f">%s</text>`+"\n", y0+8, html.EscapeString(d.label))
		for j, p := range periods {
			f := lookup(tables, d.table, p, d.column)
			v := f.number()
			x, wd := left+half, v*scale
			if v < 0 {
				x, wd = left+half+v*scale, -v*scale
			}
			y := y0 + barH*float64(j)
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="%s"><title>%s %s</title></rect>`+"\n",
				x, y, wd, barH-1, palette[j%len(palette)], html.EscapeString(d.label), p)
			fmt.Fprintf(b, `<text x="%.0f" y="%.1f">%s %s</text>`+"\n", left+2*half+10, y+barH-3, p, svgText(f))
		}
	}
	b.WriteString("</svg>\n")
}

// writeFunnel draws the stages of one quarter as bars relative to its first stage.
func writeFunnel(b *strings.Builder, period string, tables map[string]outcomes.Table) {
	const barH, left, width = 22.0, 190.0, 360.0
	first := 0.0
	for _, s := range funnelStages {
		first = math.Max(first, lookup(tables, s.table, period, s.column).number())
	}
	h := barH*float64(len(funnelStages)) + 30
	fmt.Fprintf(b, `<svg class="funnel" data-period="%s" role="img" aria-label="%s" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`+"\n",
		period, chartName("From intake to result, "+period), left+width+60, h, left+width+60, h)
	fmt.Fprintf(b, `<text x="0" y="14" font-weight="bold">%s</text>`+"\n", period)
	for i, s := range funnelStages {
		f := lookup(tables, s.table, period, s.column)
		w := 0.0
		if first > 0 {
			w = f.number() / first * width
		}
		y := 22 + barH*float64(i)
		fmt.Fprintf(b, `<text x="0" y="%.0f">%s</text><rect x="%.0f" y="%.0f" width="%.1f" height="%.0f" fill="%s"/><text x="%.1f" y="%.0f">%s</text>`+"\n",
			y+14, html.EscapeString(s.label), left, y, w, barH-4, palette[i%len(palette)], left+w+6, y+14, svgText(f))
	}
	b.WriteString("</svg>\n")
}

// writeTable writes the figures of a chart as a table: a row per series, a column per period,
// with header cells that say so (scope; rows is the header of the first column). A table wider
// than the screen scrolls in its own region, which takes the keyboard focus, so the page itself
// does not scroll sideways (WCAG 1.4.10, 2.1.1).
func writeTable(b *strings.Builder, id, caption, rows string, periods []string, ss []series, tables map[string]outcomes.Table) {
	fmt.Fprintf(b, `<div class="table-scroll" role="region" tabindex="0" aria-labelledby="%s-caption">`+
		`<table id="%s"><caption id="%s-caption">%s</caption><thead><tr><th scope="col">%s</th>`,
		id, id, id, html.EscapeString(caption), html.EscapeString(rows))
	for _, p := range periods {
		fmt.Fprintf(b, `<th scope="col">%s</th>`, p)
	}
	b.WriteString("</tr></thead><tbody>\n")
	for _, s := range ss {
		fmt.Fprintf(b, `<tr><th scope="row">%s</th>`, html.EscapeString(s.label))
		for _, p := range periods {
			fmt.Fprintf(b, "<td>%s</td>", lookup(tables, s.table, p, s.column).text())
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table></div>\n")
}
