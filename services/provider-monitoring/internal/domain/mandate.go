package domain

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// defaultRegister is the mandate register and standard paragraphs of a municipality that has
// adopted none (version 0), like intake's default triage policy.
//
//go:embed mandates-default.json
var defaultRegister []byte

// Mandate is one entry of a municipality's mandate register (Awb art. 10:1–10:8): officials in
// Role may decide in the college's name on decisions in ProductCategories up to MaxVolume
// (in VolumeUnit per VolumeFrequency, by default hours per week) and MaxBudgetCents; above
// FourEyesAboveVolume or FourEyesAboveBudgetCents a second official co-signs. A decision's
// volume is converted to the mandate's unit and frequency before it is compared (see
// CompareVolume); one that cannot be converted is refused under this mandate.
type Mandate struct {
	Name                     string   `json:"name"`
	Role                     string   `json:"role"`
	ProductCategories        []string `json:"product_categories"`
	MaxVolume                int32    `json:"max_volume"`
	MaxBudgetCents           int64    `json:"max_budget_cents"`
	FourEyesAboveVolume      int32    `json:"four_eyes_above_volume"`
	FourEyesAboveBudgetCents int64    `json:"four_eyes_above_budget_cents"`
	// VolumeUnit and VolumeFrequency are the WJ756/WJ757 codes the volume limits are in;
	// empty: hours ("04") per week ("2").
	VolumeUnit      string `json:"volume_unit,omitempty"`
	VolumeFrequency string `json:"volume_frequency,omitempty"`
}

// LimitUnit returns the unit and frequency codes of the mandate's volume limits.
func (m Mandate) LimitUnit() (unit, frequency string) {
	unit, frequency = m.VolumeUnit, m.VolumeFrequency
	if unit == "" {
		unit = "04"
	}
	if frequency == "" {
		frequency = "2"
	}
	return unit, frequency
}

// minutesPerUnit are the WJ756 units of time in minutes (dagdeel: 4 hours); the other units
// (pieces, euros) convert to nothing but themselves.
var minutesPerUnit = map[string]float64{"01": 1, "04": 60, "16": 240, "14": 1440}

// weeksPer are the WJ757 frequencies as weeks (a calendar month as 52/12 weeks); the total
// ("6") is measured over the decision's period.
var weeksPer = map[string]float64{"1": 1.0 / 7, "2": 1, "4": 52.0 / 12}

// CompareVolume expresses the decision's volume in the mandate's unit and frequency, so that
// the limits compare like with like: time units convert to each other (minute, hour,
// dagdeel of 4 hours, etmaal), frequencies to each other (day, week, calendar month) and to a
// total over the decision's period (start to end, inclusive). A volume in another unit (pieces
// against hours, euros against pieces) or a total against a rate without an end date cannot be
// compared: the error says why.
func (m Mandate) CompareVolume(d Decision) (float64, error) {
	unit, freq := m.LimitUnit()
	v := d.Volume
	amount := float64(v.Amount)
	if v.Unit != unit {
		from, ok1 := minutesPerUnit[v.Unit]
		to, ok2 := minutesPerUnit[unit]
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("its volume limits are in %s per %s, the decision's volume is in %s, which cannot be compared",
				unitLabel(unit), frequencyLabel(freq), unitLabel(v.Unit))
		}
		amount = amount * from / to
	}
	if v.Frequency != freq {
		weeks := func(f string) (float64, bool) {
			if w, ok := weeksPer[f]; ok {
				return w, true
			}
			if f != "6" || d.End == nil || d.End.Before(d.Start) {
				return 0, false
			}
			return (d.End.Sub(d.Start).Hours()/24 + 1) / 7, true
		}
		from, ok1 := weeks(v.Frequency)
		to, ok2 := weeks(freq)
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("its volume limits are per %s, the decision's volume per %s, which cannot be compared without an end date",
				frequencyLabel(freq), frequencyLabel(v.Frequency))
		}
		amount = amount / from * to
	}
	return amount, nil
}

func unitLabel(code string) string {
	if n := UnitName(code); n != "" {
		return strings.ToLower(n) + "s (" + code + ")"
	}
	return "unit " + code
}

func frequencyLabel(code string) string {
	if n := FrequencyName(code); n != "" {
		return strings.ToLower(n) + " (" + code + ")"
	}
	return "frequency " + code
}

// Paragraphs are a municipality's standard paragraphs for decisions (B1 Dutch).
type Paragraphs struct {
	ObjectionClause       string `json:"objection_clause"`
	OwnContributionNotice string `json:"own_contribution_notice"`
	PGBNotice             string `json:"pgb_notice"`
	// What the municipality's letters show: its name, the address objections go to, the
	// mandate decision, the function of an official by role, and optional opening, contact
	// and closing paragraphs.
	MunicipalityName string            `json:"municipality_name"`
	PostalAddress    PostalAddress     `json:"postal_address"`
	ObjectionURL     string            `json:"objection_url,omitempty"`
	MandateDecree    string            `json:"mandate_decree"`
	Functions        map[string]string `json:"functions,omitempty"`
	Opening          string            `json:"opening,omitempty"`
	Contact          string            `json:"contact,omitempty"`
	Closing          string            `json:"closing,omitempty"`
}

// PostalAddress is a Dutch postal address (Street may be "Postbus 1000").
type PostalAddress struct {
	Street     string `json:"street"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
}

// MandateRegister is a municipality's mandate register and standard paragraphs in one
// version. Versions are immutable once adopted; version 0 is the built-in default.
type MandateRegister struct {
	Municipality string     `json:"-"`
	Version      int        `json:"-"`
	AdoptedAt    time.Time  `json:"-"`
	AdoptedBy    string     `json:"-"`
	Mandates     []Mandate  `json:"mandates"`
	Paragraphs   Paragraphs `json:"paragraphs"`
}

// DefaultMandateRegister returns the built-in register (version 0) for municipality.
func DefaultMandateRegister(municipality string) MandateRegister {
	var r MandateRegister
	if err := json.Unmarshal(defaultRegister, &r); err != nil {
		panic(fmt.Sprintf("embedded mandates-default.json: %v", err)) // caught by the tests
	}
	r.Municipality = municipality
	return r
}

// DecisionRoles are the roles (of organisation type MUNICIPALITY, pkg/authz's catalogue) of
// the officials who decide under a mandate; the service's policy lets only them decide.
var DecisionRoles = []string{"wmo_consultant", "youth_consultant", "department_head"}

// Validate reports every problem with a register, fields named as in the API. A mandate's role
// must be one of DecisionRoles: a mandate for any other role could never be used, and a typo
// would leave the municipality's decisions without a mandate.
func (r MandateRegister) Validate(codes Codes) []RuleViolation {
	roles := DecisionRoles
	var out []RuleViolation
	names := map[string]bool{}
	for i, m := range r.Mandates {
		f := fmt.Sprintf("mandates[%d].", i)
		if m.Name == "" || names[m.Name] {
			out = append(out, RuleViolation{Field: f + "name", Reason: "required and unique"})
		}
		names[m.Name] = true
		if m.Role == "" {
			out = append(out, RuleViolation{Field: f + "role", Reason: "required"})
		} else if !slices.Contains(roles, m.Role) {
			out = append(out, RuleViolation{Field: f + "role", Reason: fmt.Sprintf("%q is not a role of organisation type MUNICIPALITY that decides under a mandate (%s)",
				m.Role, strings.Join(roles, ", "))})
		}
		if len(m.ProductCategories) == 0 {
			out = append(out, RuleViolation{Field: f + "product_categories", Reason: "at least one"})
		}
		for _, c := range m.ProductCategories {
			if _, ok := codes.ProductCategories[c]; !ok {
				out = append(out, RuleViolation{Field: f + "product_categories", Reason: c + " is not a national iJw/iWmo product category"})
			}
		}
		// Each limit is named on its own field: a caller must learn which one is at fault. Both
		// maxima are required (Authorise compares every decision with both, so a missing one
		// would refuse every decision with a volume or a budget); a threshold of 0 means never.
		if m.MaxVolume <= 0 {
			out = append(out, RuleViolation{Field: f + "max_volume", Reason: "required: the most volume the mandate allows, above 0"})
		}
		if m.MaxBudgetCents <= 0 {
			out = append(out, RuleViolation{Field: f + "max_budget_cents", Reason: "required: the most budget the mandate allows in euro cents, above 0"})
		}
		if m.FourEyesAboveVolume < 0 {
			out = append(out, RuleViolation{Field: f + "four_eyes_above_volume", Reason: "cannot be negative (0: no second official)"})
		}
		if m.FourEyesAboveBudgetCents < 0 {
			out = append(out, RuleViolation{Field: f + "four_eyes_above_budget_cents", Reason: "cannot be negative (0: no second official)"})
		}
		if m.FourEyesAboveVolume > m.MaxVolume && m.MaxVolume > 0 {
			out = append(out, RuleViolation{Field: f + "four_eyes_above_volume", Reason: fmt.Sprintf("%d is above max_volume %d, so a second official would never co-sign", m.FourEyesAboveVolume, m.MaxVolume)})
		}
		if m.FourEyesAboveBudgetCents > m.MaxBudgetCents && m.MaxBudgetCents > 0 {
			out = append(out, RuleViolation{Field: f + "four_eyes_above_budget_cents", Reason: fmt.Sprintf("%d is above max_budget_cents %d, so a second official would never co-sign", m.FourEyesAboveBudgetCents, m.MaxBudgetCents)})
		}
		if m.VolumeUnit != "" && UnitName(m.VolumeUnit) == "" {
			out = append(out, RuleViolation{Field: f + "volume_unit", Reason: m.VolumeUnit + " is not a WJ756 volume unit"})
		}
		if m.VolumeFrequency != "" && FrequencyName(m.VolumeFrequency) == "" {
			out = append(out, RuleViolation{Field: f + "volume_frequency", Reason: m.VolumeFrequency + " is not a WJ757 volume frequency"})
		}
	}
	if len(r.Mandates) == 0 {
		out = append(out, RuleViolation{Field: "mandates", Reason: "at least one"})
	}
	if r.Paragraphs.ObjectionClause == "" {
		out = append(out, RuleViolation{Field: "paragraphs.objection_clause", Reason: "required"})
	}
	if r.Paragraphs.OwnContributionNotice == "" {
		out = append(out, RuleViolation{Field: "paragraphs.own_contribution_notice", Reason: "required"})
	}
	// The letters show the municipality's name and the address objections go to; the API has
	// the address as flat fields (postal_street, postal_code, postal_city), so each missing
	// one is named as the caller sent it.
	if r.Paragraphs.MunicipalityName == "" {
		out = append(out, RuleViolation{Field: "paragraphs.municipality_name", Reason: "required: the municipality's name in its letters"})
	}
	for _, p := range []struct{ field, value, what string }{
		{"paragraphs.postal_street", r.Paragraphs.PostalAddress.Street, "street and number or Postbus"},
		{"paragraphs.postal_code", r.Paragraphs.PostalAddress.PostalCode, "postal code"},
		{"paragraphs.postal_city", r.Paragraphs.PostalAddress.City, "city"},
	} {
		if p.value == "" {
			out = append(out, RuleViolation{Field: p.field, Reason: "required: the " + p.what + " of the address objections go to"})
		}
	}
	if r.Paragraphs.MandateDecree == "" {
		out = append(out, RuleViolation{Field: "paragraphs.mandate_decree", Reason: "required"})
	}
	return out
}

// Function is the function of an official deciding in role, as letters show it.
func (r MandateRegister) Function(role string) string {
	if f := r.Paragraphs.Functions[role]; f != "" {
		return f
	}
	return "Ambtenaar sociaal domein"
}

// Mandate returns the register's mandate called name.
func (r MandateRegister) Mandate(name string) (Mandate, bool) {
	for _, m := range r.Mandates {
		if m.Name == name {
			return m, true
		}
	}
	return Mandate{}, false
}

// Authorise finds the mandate under which an official in role may take decision d, and
// whether a second official must co-sign. A refusal is a MandateError naming the mandate that
// is exceeded, or saying that no mandate of the role covers the product category.
func (r MandateRegister) Authorise(role string, d Decision) (Mandate, bool, error) {
	var exceeded []string
	for _, m := range r.Mandates {
		if m.Role != role || !slices.Contains(m.ProductCategories, d.Product.Category) {
			continue
		}
		if !d.Granted {
			return m, false, nil
		}
		volume := 0.0
		if d.Volume.Amount > 0 {
			var err error
			if volume, err = m.CompareVolume(d); err != nil {
				exceeded = append(exceeded, fmt.Sprintf("mandate %q (version %d of %s): %v", m.Name, r.Version, r.Municipality, err))
				continue
			}
		}
		if volume > float64(m.MaxVolume) || d.BudgetCents > m.MaxBudgetCents {
			unit, freq := m.LimitUnit()
			exceeded = append(exceeded, fmt.Sprintf("mandate %q (version %d of %s) allows at most volume %d (%s per %s; the decision's is %s) and budget %s",
				m.Name, r.Version, r.Municipality, m.MaxVolume, unitLabel(unit), frequencyLabel(freq), strconv.FormatFloat(math.Round(volume*100)/100, 'f', -1, 64), euro(m.MaxBudgetCents)))
			continue
		}
		fourEyes := (m.FourEyesAboveVolume > 0 && volume > float64(m.FourEyesAboveVolume)) ||
			(m.FourEyesAboveBudgetCents > 0 && d.BudgetCents > m.FourEyesAboveBudgetCents)
		return m, fourEyes, nil
	}
	if len(exceeded) > 0 {
		return Mandate{}, false, MandateError{Message: fmt.Sprintf("decision exceeds the mandate: %s; the decision asks volume %d and budget %s",
			exceeded[0], d.Volume.Amount, euro(d.BudgetCents))}
	}
	return Mandate{}, false, MandateError{Message: fmt.Sprintf("no mandate in the register (version %d) of %s allows role %s to decide on product category %s",
		r.Version, r.Municipality, role, d.Product.Category)}
}

func euro(cents int64) string { return fmt.Sprintf("€ %d,%02d", cents/100, cents%100) }
