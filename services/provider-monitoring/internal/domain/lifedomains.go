package domain

import (
	_ "embed"
	"encoding/json"
)

// zrmJSON is the Zelfredzaamheid-Matrix as data: the 2017 instrument (13 life domains), the
// 2013 one (11) and the scale. Source: GGD Amsterdam, Zelfredzaamheid-Matrix 2017 and 2013
// (copied from shared/reference/zrm.json, as intake's copy is). A newer release of the
// instrument replaces the file, not the code.
//
//go:embed zrm.json
var zrmJSON []byte

// lifeDomainLabels are the Dutch labels of the life domains by code.
var lifeDomainLabels = mustLoadLifeDomainLabels()

func mustLoadLifeDomainLabels() map[string]string {
	var data struct {
		Instruments []struct {
			Version string `json:"version"`
			Domains []struct {
				Code  string `json:"code"`
				Label string `json:"label"`
			} `json:"domains"`
		} `json:"instruments"`
	}
	if err := json.Unmarshal(zrmJSON, &data); err != nil {
		panic("zrm.json: " + err.Error()) // embedded at build time; a test loads it
	}
	// The instruments in the file's order, the current one first: a domain both share keeps
	// the current label (DAYTIME_ACTIVITIES is "Tijdsbesteding", not 2013's "Dagbesteding");
	// one only an older instrument has (ADL) gets that instrument's.
	out := map[string]string{}
	for _, in := range data.Instruments {
		for _, d := range in.Domains {
			if _, ok := out[d.Code]; !ok && d.Label != "" {
				out[d.Code] = d.Label
			}
		}
	}
	return out
}

// LifeDomainLabel is the Dutch label of a ZRM life domain by its code ("FINANCES" →
// "Financiën", "ADL" → "Activiteiten dagelijks leven"), from the reference data; "" when
// the code is unknown.
func LifeDomainLabel(code string) string { return lifeDomainLabels[code] }
