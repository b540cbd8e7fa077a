package domain

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
)

// ijwCodes is the iJw/iWmo code list data from the shared reference (a partial copy of the
// iStandaarden information model). It is data rather than constants so that a newer release of
// the standard replaces the file, not the code.
//
//go:embed ijw-codes.json
var ijwCodes []byte

// productCategories is the national list of iJw/iWmo product categories (source in the file).
//
//go:embed product-categories.json
var productCategories []byte

// ReferrerHasAGB reports whether a COD327 referrer type is a care provider that an iJw 315
// names by its AGB code (ZorgverlenerCode): a GP (02), a youth doctor (03) or a medical
// specialist (05). The others (municipality, certified institution, self-referral, court)
// have none, and a code sent with them would name nobody.
func ReferrerHasAGB(referrerType string) bool {
	return referrerType == "02" || referrerType == "03" || referrerType == "05"
}

// Codes holds the parts of the iJw/iWmo code lists the service uses.
type Codes struct {
	// StopReasons is JZ588, reason for ending care, by code.
	StopReasons map[string]string `json:"JZ588_reason_ending"`
	// ReferrerTypes is COD327, who referred the resident to the provider, by code.
	ReferrerTypes map[string]string `json:"COD327_referrer_type"`
	// Units is WJ756 (unit of a volume) and Frequencies WJ757 (its frequency), by code: the
	// name is the API's VolumeUnit/VolumeFrequency value without prefix. This is the one
	// mapping between the API's enums and the iJw/iWmo code lists; the service stores codes.
	Units       map[string]CodeName `json:"WJ756_unit"`
	Frequencies map[string]CodeName `json:"WJ757_frequency"`
	// Answers is WJ760, the municipality's answer to a request that is not a grant.
	Answers map[string]string `json:"WJ760_answer"`
	// Deadlines are the statutory reporting periods in working days.
	Deadlines struct {
		StartReport int `json:"start_report_after_actual_start"`
		StopReport  int `json:"stop_report_after_actual_end"`
		Answer      int `json:"answer_to_request"`
		// FinalDecisionWeeks is counted in calendar weeks after receipt.
		FinalDecisionWeeks int `json:"final_decision_when_under_investigation_weeks"`
	} `json:"deadlines_working_days"`
	// ProductCategories is the national list of product categories (Wmo and Jeugdwet).
	ProductCategories map[string]string `json:"-"`
	// WmoCategories and JeugdwetCategories split it by law.
	WmoCategories, JeugdwetCategories map[string]string `json:"-"`
}

// CodeName is an entry of a code list that the API shows as an enum.
type CodeName struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

// code returns the code of the entry called name in list ("" when there is none).
func code(list map[string]CodeName, name string) string {
	if name == "" {
		return ""
	}
	for c, e := range list {
		if e.Name == name {
			return c
		}
	}
	return ""
}

// volumeCodes is the embedded code list data (LoadCodes checks it when the service starts).
var volumeCodes, _ = LoadCodes()

// UnitCode is the WJ756 code of the API's VolumeUnit name (HOUR → "04"), "" when unknown.
func UnitCode(name string) string { return code(volumeCodes.Units, name) }

// FrequencyCode is the WJ757 code of the API's VolumeFrequency name (WEEK → "2").
func FrequencyCode(name string) string { return code(volumeCodes.Frequencies, name) }

// UnitName is the API's name of a WJ756 code ("" when the list lacks it).
func UnitName(code string) string { return volumeCodes.Units[code].Name }

// FrequencyName is the API's name of a WJ757 code.
func FrequencyName(code string) string { return volumeCodes.Frequencies[code].Name }

// TemporarilyStopped is the JZ588 reason that pauses care; a new start follows.
const TemporarilyStopped = "20"

// WJ760 answer codes.
const (
	AnswerRefused            = "1"
	AnswerUnderInvestigation = "2"
)

// LoadCodes parses the embedded code lists.
func LoadCodes() (Codes, error) {
	var c Codes
	if err := json.Unmarshal(ijwCodes, &c); err != nil {
		return c, fmt.Errorf("ijw codes: %w", err)
	}
	d := c.Deadlines
	if d.StartReport <= 0 || d.StopReport <= 0 || d.Answer <= 0 || d.FinalDecisionWeeks <= 0 {
		return c, fmt.Errorf("ijw codes: deadlines_working_days must be positive")
	}
	if len(c.Units) == 0 || len(c.Frequencies) == 0 {
		return c, fmt.Errorf("ijw codes: WJ756 units and WJ757 frequencies are required")
	}
	if c.StopReasons[TemporarilyStopped] == "" || c.Answers[AnswerRefused] == "" || c.Answers[AnswerUnderInvestigation] == "" || len(c.ReferrerTypes) == 0 {
		return c, fmt.Errorf("ijw codes: JZ588 code 20, WJ760 codes 1 and 2 and COD327 are required")
	}
	var pc struct {
		Wmo      map[string]string `json:"wmo"`
		Jeugdwet map[string]string `json:"jeugdwet"`
	}
	if err := json.Unmarshal(productCategories, &pc); err != nil {
		return c, fmt.Errorf("product categories: %w", err)
	}
	c.WmoCategories, c.JeugdwetCategories = pc.Wmo, pc.Jeugdwet
	c.ProductCategories = maps.Clone(pc.Wmo)
	maps.Copy(c.ProductCategories, pc.Jeugdwet)
	if len(c.ProductCategories) == 0 {
		return c, fmt.Errorf("product categories: empty list")
	}
	return c, nil
}
