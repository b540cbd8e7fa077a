package outcomes

import "time"

// Decision is one decision (beschikking) on an application: its legal basis, its due date,
// whether it was signalled overdue, and the day it was decided and whether that was within
// the statutory term (Wmo 2015: two weeks, Jeugdwet: eight weeks).
type Decision struct {
	ID string
	Scope
	// LegalBasis is the provider-monitoring code: WMO_2_3_5 or JEUGDWET_2_3.
	LegalBasis string
	Granted    bool
	// DueDate and DecidedOn are calendar days (UTC midnight); DecidedOn is nil until decided.
	DueDate    *time.Time
	DecidedOn  *time.Time
	WithinTerm bool
	Overdue    bool
}

// Laws are the legal bases the decision figures distinguish.
var Laws = []string{"WMO", "JEUGDWET"}

// law is the column prefix of a legal basis code ("" for one the figures do not know).
func law(basis string) string {
	switch basis {
	case "WMO_2_3_5":
		return "WMO"
	case "JEUGDWET_2_3":
		return "JEUGDWET"
	}
	return ""
}

// Column codes of the decision figures.
var (
	DecisionTerm  = []string{"WMO_WITHIN_TERM", "WMO_PAST_TERM", "JEUGDWET_WITHIN_TERM", "JEUGDWET_PAST_TERM"}
	DecisionShare = []string{"WMO", "JEUGDWET", "ALL"}
)

// DecisionFigures: decisions decided within and past the statutory term per legal basis (an
// additive table: its row total is the number decided; by the period of the decided day),
// the share decided within the term (percent; derived from the unsuppressed cells of the first
// table only, so it reveals no suppressed cell), and the decisions signalled overdue (by the
// period of their due date).
func DecisionFigures(q Query, decisions []Decision) ([]Table, error) {
	periods, err := q.Periods()
	if err != nil {
		return nil, err
	}
	term, overdue := newCollector(q, periods), newCollector(q, periods)
	for _, d := range decisions {
		l := law(d.LegalBasis)
		if l == "" {
			continue
		}
		if d.DecidedOn != nil {
			col := l + "_PAST_TERM"
			if d.WithinTerm {
				col = l + "_WITHIN_TERM"
			}
			term.add(d.Scope, *d.DecidedOn, col, 0)
		}
		if d.Overdue && d.DueDate != nil {
			overdue.add(d.Scope, *d.DueDate, l, 0)
		}
	}
	tables := publish(q.MinGroupSize, []Table{
		countTable("decisions_by_term", DecisionTerm, true, periods, term),
		countTable("decisions_overdue", Laws, false, periods, overdue),
	})
	return []Table{tables[0], shareTable("decisions_within_term_share", tables[0]), tables[1]}, nil
}

// shareTable gives per row of the decisions_by_term table the share decided within the term
// per law and for all: Count is the number decided, Value the percentage within the term. A
// share is suppressed when a cell it rests on is: a shown share and count would give the
// suppressed cell back.
func shareTable(name string, byTerm Table) Table {
	t := Table{Name: name, Columns: DecisionShare, Unit: "percent"}
	for _, r := range byTerm.Rows {
		row := Row{Period: r.Period, Group: r.Group}
		all := Cell{}
		var allWithin int64
		for i := range Laws {
			within, past := r.Cells[2*i], r.Cells[2*i+1]
			if within.Suppressed || past.Suppressed {
				row.Cells = append(row.Cells, Cell{Suppressed: true})
				all.Suppressed = true
				continue
			}
			row.Cells = append(row.Cells, share(within.Count, within.Count+past.Count))
			all.Count += within.Count + past.Count
			allWithin += within.Count
		}
		if !all.Suppressed {
			all = share(allWithin, all.Count)
		}
		row.Cells = append(row.Cells, all)
		t.Rows = append(t.Rows, row)
	}
	return t
}

func share(within, decided int64) Cell {
	if decided == 0 {
		return Cell{}
	}
	return Cell{Count: decided, Value: round2(100 * float64(within) / float64(decided))}
}
