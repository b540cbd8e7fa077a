package domain

import "testing"

func TestValidContract(t *testing.T) {
	product := Product{Category: "45", Code: "45A48"}
	until := day("2025-12-31")
	contracts := []Contract{
		{ProviderAGB: "12345678", Municipality: "GM0363", Products: []Product{product}, Districts: []string{"WK036301", "WK036302"},
			ValidFrom: day("2025-01-01"), ValidTo: &until},
		{ProviderAGB: "12345678", Municipality: "GM0363", Products: []Product{{Category: "43", Code: "43A01"}},
			ValidFrom: day("2024-01-01")},
	}
	alloc := func(m, d string, p Product, start string) Allocation {
		return Allocation{ProviderAGB: "12345678", Municipality: m, District: d, Product: p, Start: day(start)}
	}
	cases := []struct {
		name string
		a    Allocation
		want bool
	}{
		{"listed district", alloc("GM0363", "WK036302", product, "2025-06-01"), true},
		{"first day of validity", alloc("GM0363", "WK036301", product, "2025-01-01"), true},
		{"last day of validity", alloc("GM0363", "WK036301", product, "2025-12-31"), true},
		{"expired", alloc("GM0363", "WK036301", product, "2026-01-01"), false},
		{"not yet valid", alloc("GM0363", "WK036301", product, "2024-12-31"), false},
		{"other district", alloc("GM0363", "WK036309", product, "2025-06-01"), false},
		{"no district against a district list", alloc("GM0363", "", product, "2025-06-01"), false},
		{"other product code", alloc("GM0363", "WK036301", Product{Category: "45", Code: "45A49"}, "2025-06-01"), false},
		{"other municipality", alloc("GM0599", "WK059901", product, "2025-06-01"), false},
		{"whole municipality, open-ended", alloc("GM0363", "WK036377", Product{Category: "43", Code: "43A01"}, "2030-01-01"), true},
		{"whole municipality, no district", alloc("GM0363", "", Product{Category: "43", Code: "43A01"}, "2030-01-01"), true},
	}
	for _, tc := range cases {
		if _, got := ValidContract(contracts, tc.a); got != tc.want {
			t.Errorf("%s: valid = %v, want %v", tc.name, got, tc.want)
		}
	}
	other := alloc("GM0363", "WK036301", product, "2025-06-01")
	other.ProviderAGB = "87654321"
	if _, ok := ValidContract(contracts, other); ok {
		t.Error("another provider's contract must not count")
	}
}
