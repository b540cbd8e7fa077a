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
// distinct residents behind the records of organisations other than the one asking
// (Residents): only those decide whether the count is published.
type ThemeCount struct {
	Kind, District, Key string
	Count, Residents    int
	// Suppressed is never set: a group below the minimum is left out (see Suppress). The
	// field stays for the API's sake.
	Suppressed bool
}

// Suppress keeps the counts with at least minGroup distinct residents behind them, so no
// household can be singled out, and sorts the largest first. Residents counts only what other
// organisations recorded: the asker's own signals and referrals cannot lift a group of one
// other resident over the minimum. A group below the minimum is left out altogether, a code as
// much as a signal category (the sender's free text, which alone may single someone out): a
// group shown as suppressed would still say that someone is behind it. The resident numbers
// are cleared: only the decision to publish uses them.
func Suppress(counts []ThemeCount, minGroup int) []ThemeCount {
	out := make([]ThemeCount, 0, len(counts))
	for _, c := range counts {
		if c.Residents < minGroup {
			continue
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
