package domain

import "sort"

// DefaultMinGroupSize is the smallest number of residents behind a published theme count.
const DefaultMinGroupSize = 5

// Theme kinds.
const (
	ThemeSignalCategory     = "SIGNAL_CATEGORY"
	ThemeSignalLifeDomain   = "SIGNAL_LIFE_DOMAIN"
	ThemeReferralLifeDomain = "REFERRAL_LIFE_DOMAIN"
	ThemeDeclineReason      = "DECLINE_REASON"
)

// ThemeCount is a count of records in one district for one theme key, with the number of
// distinct residents behind it.
type ThemeCount struct {
	Kind, District, Key string
	Count, Residents    int
	Suppressed          bool
}

// Suppress hides every count with fewer than minGroup distinct residents behind it (count set
// to 0, Suppressed set), so no household can be singled out, and sorts the largest first. A
// signal category is the sender's free text: one below the minimum is left out altogether, as
// its text alone may single someone out (a name, a diagnosis, a number); a code (a life domain,
// a decline reason) is shown suppressed. The resident numbers are cleared: only the decision
// to publish uses them.
func Suppress(counts []ThemeCount, minGroup int) []ThemeCount {
	out := make([]ThemeCount, 0, len(counts))
	for _, c := range counts {
		if c.Residents < minGroup {
			if c.Kind == ThemeSignalCategory {
				continue
			}
			c.Count, c.Suppressed = 0, true
		}
		c.Residents = 0
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		if out[i].District != out[j].District {
			return out[i].District < out[j].District
		}
		return out[i].Key < out[j].Key
	})
	return out
}
