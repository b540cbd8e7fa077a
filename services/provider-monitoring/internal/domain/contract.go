package domain

import (
	"fmt"
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

// ProviderCorrection is a correction of a provider's registration: what it was, what it
// became, who corrected it and why.
type ProviderCorrection struct {
	AGB              string
	At               time.Time
	ByOIN, ByUser    string
	OldName, NewName string
	OldOIN, NewOIN   string
	Reason           string
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

// Contract allows a provider to deliver products in a municipality for a period.
type Contract struct {
	ID           string
	ProviderAGB  string
	Model        ContractModel
	Municipality string
	Products     []Product
	// Capacity is the number of residents the provider can serve at once; 0 = not agreed.
	Capacity int32
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
	case c.Municipality != municipality, !slices.Contains(c.Products, p):
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

// ValidateContract checks a new contract against the code lists: a known model, at least one
// product, every category on the national list, no duplicate product, a validity period that
// does not end before it starts and a capacity that is not negative.
func ValidateContract(c Contract, codes Codes) []RuleViolation {
	var out []RuleViolation
	if c.Model != ModelChoice && c.Model != ModelConsortium {
		out = append(out, RuleViolation{"model", "must be CHOICE or CONSORTIUM"})
	}
	if len(c.Products) == 0 {
		out = append(out, RuleViolation{"products", "at least one product is required"})
	}
	seen := map[Product]bool{}
	for i, p := range c.Products {
		if _, ok := codes.ProductCategories[p.Category]; !ok {
			out = append(out, RuleViolation{fmt.Sprintf("products[%d].category", i), "must be a product category of the national iJw/iWmo list"})
		}
		if seen[p] {
			out = append(out, RuleViolation{fmt.Sprintf("products[%d]", i), "listed twice"})
		}
		seen[p] = true
	}
	if c.ValidTo != nil && c.ValidTo.Before(c.ValidFrom) {
		out = append(out, RuleViolation{"valid_to", "cannot be before valid_from"})
	}
	if c.Capacity < 0 {
		out = append(out, RuleViolation{"capacity", "cannot be negative"})
	}
	return out
}
