package domain

import (
	"fmt"
	"slices"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/zrm"
)

// Instrument is one version of the ZRM (pkg/zrm: the reference data, one copy for every
// service).
type Instrument = zrm.Instrument

// Instruments are the known ZRM versions by version name.
var Instruments = zrm.Instruments

// Context is why an assessment was made.
type Context string

// Contexts.
const (
	ContextIntake     Context = "INTAKE"
	ContextEvaluation Context = "EVALUATION"
	ContextClosing    Context = "CLOSING"
)

// Score is one domain's score.
type Score struct {
	Domain string
	Score  int
}

// Assessment is a ZRM assessment of a resident or a household (exactly one is set).
type Assessment struct {
	ID          string
	ResidentID  string
	HouseholdID string
	Instrument  string
	Context     Context
	Scores      []Score
	IntakeID    string
	AssessedBy  string
	TeamOIN     string
	// Municipality is the subject's municipality (for the event subject).
	Municipality string
	AssessedAt   time.Time
}

// ValidScore reports whether s is on the ZRM scale: 1-5, or 99 (not discussed).
func ValidScore(s int) bool { return (s >= 1 && s <= 5) || s == ScoreNotDiscussed }

// ValidateScores reports every problem with the scores for an instrument version, as
// FieldErrors on "scores[i]...". The instrument itself must exist.
func ValidateScores(version string, scores []Score) []FieldError {
	ins, ok := Instruments[version]
	if !ok {
		return []FieldError{{"instrument_version", "unknown ZRM instrument version"}}
	}
	var errs []FieldError
	if len(scores) == 0 {
		errs = append(errs, FieldError{"scores", "at least one domain score is required"})
	}
	seen := map[string]bool{}
	for i, s := range scores {
		f := fmt.Sprintf("scores[%d].", i)
		switch {
		case !slices.Contains(ins.Domains, s.Domain):
			errs = append(errs, FieldError{f + "life_domain", "not a life domain of " + version})
		case seen[s.Domain]:
			errs = append(errs, FieldError{f + "life_domain", "scored twice"})
		}
		seen[s.Domain] = true
		if !ValidScore(s.Score) {
			errs = append(errs, FieldError{f + "score", "must be 1-5 or 99 (not discussed)"})
		}
	}
	return errs
}

// ScoreMap returns the scores by domain.
func (a Assessment) ScoreMap() map[string]int {
	m := make(map[string]int, len(a.Scores))
	for _, s := range a.Scores {
		m[s.Domain] = s.Score
	}
	return m
}

// Change kinds between two assessments.
const (
	ChangeImproved      = "IMPROVED"
	ChangeUnchanged     = "UNCHANGED"
	ChangeWorsened      = "WORSENED"
	ChangeNotComparable = "NOT_COMPARABLE"
)

// DomainChange is how one domain changed.
type DomainChange struct {
	Domain   string
	From, To int // 0 when not scored
	Delta    int
	Change   string
}

// Compare returns the change per domain from a to b: the domains of b's instrument in its
// order, then those only a's instrument has. A domain missing from either, not discussed (99)
// in either, or redefined between the two instruments (the same code under another name:
// 2013's Dagbesteding and 2017's Tijdsbesteding, Verslaving and Middelengebruik) is
// NOT_COMPARABLE.
func Compare(a, b Assessment) []DomainChange {
	from, to := a.ScoreMap(), b.ScoreMap()
	order := slices.Clone(Instruments[b.Instrument].Domains)
	for _, d := range Instruments[a.Instrument].Domains {
		if !slices.Contains(order, d) {
			order = append(order, d)
		}
	}
	var out []DomainChange
	for _, d := range order {
		f, okF := from[d]
		t, okT := to[d]
		if !okF && !okT {
			continue
		}
		c := DomainChange{Domain: d, From: f, To: t, Change: ChangeNotComparable}
		redefined := Instruments[a.Instrument].Labels[d] != Instruments[b.Instrument].Labels[d]
		if okF && okT && f != ScoreNotDiscussed && t != ScoreNotDiscussed && !redefined {
			c.Delta = t - f
			switch {
			case c.Delta > 0:
				c.Change = ChangeImproved
			case c.Delta < 0:
				c.Change = ChangeWorsened
			default:
				c.Change = ChangeUnchanged
			}
		}
		out = append(out, c)
	}
	return out
}
