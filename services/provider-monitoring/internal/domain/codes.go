package domain

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// ijwCodes is the iJw/iWmo code list data from the shared reference (a partial copy of the
// iStandaarden information model). It is data rather than constants so that a newer release of
// the standard replaces the file, not the code.
//
//go:embed ijw-codes.json
var ijwCodes []byte

// Codes holds the parts of the iJw/iWmo code lists the service uses.
type Codes struct {
	// StopReasons is JZ588, reason for ending care, by code.
	StopReasons map[string]string `json:"JZ588_reason_ending"`
	// Deadlines are the statutory reporting periods in working days.
	Deadlines struct {
		StartReport int `json:"start_report_after_actual_start"`
		StopReport  int `json:"stop_report_after_actual_end"`
		Answer      int `json:"answer_to_request"`
	} `json:"deadlines_working_days"`
}

// LoadCodes parses the embedded code lists.
func LoadCodes() (Codes, error) {
	var c Codes
	if err := json.Unmarshal(ijwCodes, &c); err != nil {
		return c, fmt.Errorf("ijw codes: %w", err)
	}
	if c.Deadlines.StartReport <= 0 || c.Deadlines.StopReport <= 0 {
		return c, fmt.Errorf("ijw codes: deadlines_working_days must be positive")
	}
	return c, nil
}
