package domain

import (
	"slices"
	"time"
)

// Provider is a zorgaanbieder, named by its AGB code. OIN is the organisation number in its
// certificate: it is how a calling provider is recognised as the owner of its allocations.
type Provider struct {
	AGB  string
	Name string
	OIN  string
}

// ContractModel is how a municipality contracted a product.
type ContractModel string

// Contract models.
const (
	// ModelChoice: several contracted providers, the client chooses (keuzemodel).
	ModelChoice ContractModel = "CHOICE"
	// ModelConsortium: one lead provider answers for a consortium (consortiummodel).
	ModelConsortium ContractModel = "CONSORTIUM"
)

// Contract allows a provider to deliver one product in a municipality for a period.
type Contract struct {
	ID           string
	ProviderAGB  string
	Model        ContractModel
	Municipality string
	Product      Product
	// Districts limits the contract to these districts; empty means every district of the
	// municipality.
	Districts []string
	// ValidFrom and ValidTo are inclusive calendar dates; ValidTo is nil when open-ended.
	ValidFrom time.Time
	ValidTo   *time.Time
}

// Covers reports whether the contract allows the product in the municipality and district on
// the given day. An allocation without a district is covered only by a contract for the whole
// municipality, since nothing tells which of the listed districts it would be in.
func (c Contract) Covers(municipality, district string, p Product, on time.Time) bool {
	on = DayOf(on)
	switch {
	case c.Municipality != municipality, c.Product != p:
		return false
	case on.Before(DayOf(c.ValidFrom)):
		return false
	case c.ValidTo != nil && on.After(DayOf(*c.ValidTo)):
		return false
	}
	return len(c.Districts) == 0 || (district != "" && slices.Contains(c.Districts, district))
}

// ValidContract returns the first of a provider's contracts that allows the allocation:
// same municipality and product, valid on its start date and covering its district.
func ValidContract(contracts []Contract, a Allocation) (Contract, bool) {
	for _, c := range contracts {
		if c.ProviderAGB == a.ProviderAGB && c.Covers(a.Municipality, a.District, a.Product, a.Start) {
			return c, true
		}
	}
	return Contract{}, false
}
