package outcomes

// Total names a row's total where a ref names a column.
const Total = "TOTAL"

// ref names a number of each row of a table: the count of a column, or the row's total
// (Total). Of a statistics table it is the count its cells rest on.
type ref struct{ table, column string }

// link says that, in every period and group (and in the column totals of a period, where
// both tables have them), the number sum is the sum of the numbers parts: the tables count
// the same facts twice. A link is a line of the answer's lineSystem, so a number suppressed
// in one table is not given away by the other.
type link struct {
	sum   ref
	parts []ref
}

// at is where a number stands in an answer: the table, its period and group (totals: the
// period's column totals) and its column.
type at struct {
	table, period, group string
	totals               bool
	column               string
}

// publish suppresses small numbers of one answer's tables, all at once (answerSystem), and
// returns the tables with every suppressed cell marked and keeping no number.
func publish(min int64, tables []Table, links ...link) []Table {
	s, places := answerSystem(tables, links)
	s.suppress(min)
	for id, p := range places {
		if !s.suppressed[id] {
			continue
		}
		rs := tables[p.t].Rows
		row := p.row
		if row < 0 {
			rs, row = tables[p.t].Totals, -1-row
		}
		if p.col < 0 {
			rs[row].Total = Cell{Suppressed: true}
		} else {
			rs[row].Cells[p.col] = Cell{Suppressed: true}
		}
	}
	return tables
}

// place is where number id of an answerSystem stands: table t, row (-1-k: the k-th totals
// row) and column (-1: the row's total).
type place struct{ t, row, col int }

// answerSystem is one answer's tables as a lineSystem: every number (a count, a total, the
// count a statistic rests on; suppressed where its cell is) and the lines among them: the
// additive tables' rows and columns per period, the two counts of a MEDIAN and P90 (they rest
// on the same values), and the links between tables. places[id] is where number id stands.
func answerSystem(tables []Table, links []link) (*lineSystem, []place) {
	s := &lineSystem{}
	where := map[at]int{}
	var places []place
	number := func(t, row, col int, c Cell, a at) int {
		id := s.add(c.Count, c.Suppressed)
		where[a] = id
		places = append(places, place{t, row, col})
		return id
	}
	for ti, t := range tables {
		rows := func(rs []Row, totals bool, rowID func(int) int) {
			for ri, r := range rs {
				var line []int
				for ci, c := range r.Cells {
					line = append(line, number(ti, rowID(ri), ci, c, at{t.Name, r.Period, r.Group, totals, t.Columns[ci]}))
				}
				if t.Additive {
					line = append(line, number(ti, rowID(ri), -1, r.Total, at{t.Name, r.Period, r.Group, totals, Total}))
					s.lines = append(s.lines, line)
				} else if t.Unit != "count" && len(line) == 2 && t.Columns[0] == "MEDIAN" {
					s.lines = append(s.lines, line) // both rest on the same values
				}
			}
		}
		rows(t.Rows, false, func(ri int) int { return ri })
		rows(t.Totals, true, func(ri int) int { return -1 - ri })
		if !t.Additive {
			continue
		}
		for _, totals := range t.Totals {
			for _, col := range append(append([]string(nil), t.Columns...), Total) {
				var line []int
				for _, r := range t.Rows {
					if r.Period == totals.Period {
						line = append(line, where[at{t.Name, r.Period, r.Group, false, col}])
					}
				}
				s.lines = append(s.lines, append(line, where[at{t.Name, totals.Period, totals.Group, true, col}]))
			}
		}
	}
	for _, l := range links {
		type key struct {
			period, group string
			totals        bool
		}
		var keys []key
		seen := map[key]bool{}
		for _, r := range append([]ref{l.sum}, l.parts...) {
			for _, t := range tables {
				if t.Name != r.table {
					continue
				}
				for _, rs := range []struct {
					rows   []Row
					totals bool
				}{{t.Rows, false}, {t.Totals, true}} {
					for _, row := range rs.rows {
						if k := (key{row.Period, row.Group, rs.totals}); !seen[k] {
							seen[k] = true
							keys = append(keys, k)
						}
					}
				}
			}
		}
		for _, k := range keys {
			// A row a table does not have is a known zero: a group without a statistic row
			// has no started allocation, so its ON_TIME and LATE are 0, hidden or not.
			// Tables without column totals (statistics) take no part in the totals' link.
			id := func(r ref) (int, bool) {
				if n, ok := where[at{r.table, k.period, k.group, k.totals, r.column}]; ok {
					return n, true
				}
				if k.totals && !hasTotals(tables, r.table) {
					return 0, false
				}
				return s.add(0, false), true
			}
			sum, ok := id(l.sum)
			if !ok {
				continue
			}
			var line []int
			for _, p := range l.parts {
				if n, ok := id(p); ok {
					line = append(line, n)
				}
			}
			if len(line) == len(l.parts) {
				s.lines = append(s.lines, append(line, sum))
			}
		}
	}
	return s, places
}

// hasTotals reports whether the named table has column totals (an additive table).
func hasTotals(tables []Table, name string) bool {
	for _, t := range tables {
		if t.Name == name {
			return t.Additive
		}
	}
	return false
}
