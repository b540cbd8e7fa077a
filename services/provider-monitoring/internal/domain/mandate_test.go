package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The mandate's volume limits compare like with like: a decision's volume is converted to the
// mandate's unit and frequency (by default hours per week), and one that cannot be converted
// is refused naming the mandate and why.
func TestMandateVolumeLimitsCompareLikeWithLike(t *testing.T) {
	reg := DefaultMandateRegister("GM0363") // jeugd-consulent: at most 40, four eyes above 10 (hours per week)
	start := Date(2026, time.March, 2)
	end := Date(2026, time.May, 24) // 84 days inclusive: 12 weeks
	decision := func(amount int32, unit, freq string, end *time.Time) Decision {
		return Decision{Granted: true, Product: Product{Category: "45", Code: "45A01"}, Start: start, End: end,
			Volume: Volume{Amount: amount, Unit: unit, Frequency: freq}}
	}
	for name, tc := range map[string]struct {
		d        Decision
		want     float64
		fourEyes bool
	}{
		"hours per week as such":           {decision(12, "04", "2", &end), 12, true},
		"minutes per week to hours":        {decision(540, "01", "2", &end), 9, false},
		"dagdelen per week (4 hours each)": {decision(3, "16", "2", &end), 12, true},
		"hours per day to per week":        {decision(1, "04", "1", &end), 7, false},
		"hours per month to per week":      {decision(26, "04", "4", &end), 6, false},
		"a total over twelve weeks":        {decision(96, "04", "6", &end), 8, false},
	} {
		m, _ := reg.Mandate("jeugd-consulent")
		got, err := m.CompareVolume(tc.d)
		if err != nil || got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("%s: got %v %v, want %v hours per week", name, got, err, tc.want)
			continue
		}
		if _, fourEyes, err := reg.Authorise("youth_consultant", tc.d); err != nil || fourEyes != tc.fourEyes {
			t.Errorf("%s: authorise: four eyes %v, %v; want %v", name, fourEyes, err, tc.fourEyes)
		}
	}

	// Above the maximum after conversion: 2 etmalen a week are 48 hours > 40.
	var me MandateError
	if _, _, err := reg.Authorise("youth_consultant", decision(2, "14", "2", &end)); !errors.As(err, &me) ||
		!strings.Contains(me.Message, `mandate "jeugd-consulent"`) || !strings.Contains(me.Message, "the decision's is 48") {
		t.Fatalf("48 hours a week as etmalen: %v", err)
	}
	// 30 pieces is not 30 hours: refused, naming the mandate and the units.
	_, _, err := reg.Authorise("youth_consultant", decision(30, "82", "2", &end))
	if !errors.As(err, &me) || !strings.Contains(me.Message, `mandate "jeugd-consulent"`) ||
		!strings.Contains(me.Message, "hours (04)") || !strings.Contains(me.Message, "pieces (82)") || !strings.Contains(me.Message, "cannot be compared") {
		t.Fatalf("pieces against hours: %v", err)
	}
	// A total without an end date has no rate per week.
	if _, _, err := reg.Authorise("youth_consultant", decision(96, "04", "6", nil)); !errors.As(err, &me) || !strings.Contains(me.Message, "without an end date") {
		t.Fatalf("a total without an end date: %v", err)
	}

	// A mandate in pieces per month compares pieces, converting the frequency only.
	pieces := Mandate{Name: "hulpmiddelen", Role: "wmo_consultant", ProductCategories: []string{"45"}, MaxVolume: 10, MaxBudgetCents: 1,
		VolumeUnit: "82", VolumeFrequency: "4"}
	if got, err := pieces.CompareVolume(decision(3, "82", "2", &end)); err != nil || got < 13 || got > 13.01 {
		t.Fatalf("3 pieces a week as pieces a month: %v %v", got, err)
	}
	if _, err := pieces.CompareVolume(decision(3, "04", "2", &end)); err == nil || !strings.Contains(err.Error(), "pieces (82)") {
		t.Fatalf("hours against pieces: %v", err)
	}

	// The register refuses units and frequencies that are not on the code lists.
	bad := reg
	bad.Mandates = append([]Mandate{}, reg.Mandates...)
	bad.Mandates[0].VolumeUnit, bad.Mandates[0].VolumeFrequency = "99", "9"
	fields := map[string]bool{}
	for _, v := range bad.Validate(testCodes(t)) {
		fields[v.Field] = true
	}
	if !fields["mandates[0].volume_unit"] || !fields["mandates[0].volume_frequency"] {
		t.Fatalf("violations: %v", fields)
	}
}

// Each limit of a mandate and each part of the address for objections is named on the field
// the caller sent: a budget of -5 (or none) with a valid max_volume is max_budget_cents'
// fault, not max_volume's, and the address is the flat postal_* fields of the API (there is
// no postal_address field to name).
func TestRegisterNamesTheFieldAtFault(t *testing.T) {
	codes := testCodes(t)
	violations := func(r MandateRegister) map[string]string {
		out := map[string]string{}
		for _, v := range r.Validate(codes) {
			out[v.Field] = v.Reason
		}
		return out
	}
	base := DefaultMandateRegister("GM0363")
	for name, tc := range map[string]struct {
		change func(*Mandate)
		want   []string
	}{
		"negative budget":    {func(m *Mandate) { m.MaxVolume, m.MaxBudgetCents = 40, -5 }, []string{"mandates[0].max_budget_cents"}},
		"no budget":          {func(m *Mandate) { m.MaxVolume, m.MaxBudgetCents, m.FourEyesAboveBudgetCents = 40, 0, 0 }, []string{"mandates[0].max_budget_cents"}},
		"no volume":          {func(m *Mandate) { m.MaxVolume, m.FourEyesAboveVolume = 0, 0 }, []string{"mandates[0].max_volume"}},
		"negative threshold": {func(m *Mandate) { m.FourEyesAboveVolume, m.FourEyesAboveBudgetCents = -1, -1 }, []string{"mandates[0].four_eyes_above_volume", "mandates[0].four_eyes_above_budget_cents"}},
		"every limit": {func(m *Mandate) {
			*m = Mandate{Name: m.Name, Role: m.Role, ProductCategories: m.ProductCategories, MaxBudgetCents: -5, FourEyesAboveVolume: -1}
		}, []string{"mandates[0].max_volume", "mandates[0].max_budget_cents", "mandates[0].four_eyes_above_volume"}},
	} {
		r := base
		r.Mandates = append([]Mandate{}, base.Mandates...)
		tc.change(&r.Mandates[0])
		got := violations(r)
		if len(got) != len(tc.want) {
			t.Errorf("%s: violations %v, want %v", name, got, tc.want)
		}
		for _, f := range tc.want {
			if got[f] == "" {
				t.Errorf("%s: %s not named: %v", name, f, got)
			}
		}
	}

	r := base
	r.Paragraphs.MunicipalityName, r.Paragraphs.PostalAddress = "", PostalAddress{Street: "Postbus 1000"}
	got := violations(r)
	want := []string{"paragraphs.municipality_name", "paragraphs.postal_code", "paragraphs.postal_city"}
	if len(got) != len(want) {
		t.Fatalf("paragraphs: violations %v, want %v", got, want)
	}
	for _, f := range want {
		if got[f] == "" {
			t.Errorf("%s not named: %v", f, got)
		}
	}
	r.Paragraphs.PostalAddress = PostalAddress{PostalCode: "1000 AA", City: "Demo"}
	if got := violations(r); got["paragraphs.postal_street"] == "" {
		t.Errorf("postal_street not named: %v", got)
	}
}
