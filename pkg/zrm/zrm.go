// Package zrm is the Zelfredzaamheid-Matrix as data: the 2017 instrument (13 life domains), the
// 2013 one (11) and their Dutch labels. Source: GGD Amsterdam, Zelfredzaamheid-Matrix 2017 and
// 2013 (zrm.json is a copy of shared/reference/zrm.json). Intake validates and compares
// assessments by it, provider-monitoring's letters name life domains by it: one copy, so a
// newer release of the instrument replaces one file.
package zrm

import (
	_ "embed"
	"encoding/json"
)

//go:embed zrm.json
var zrmJSON []byte

// Instrument is one version of the ZRM.
type Instrument struct {
	Version string
	// Domains in the instrument's order.
	Domains []string
	// Labels are the domains' names in the instrument (Dutch). A domain code two versions
	// share under another name was redefined between them (2013's "Dagbesteding" included
	// work, 2017's "Tijdsbesteding" does not).
	Labels map[string]string
}

// Instruments are the known ZRM versions by version name.
var Instruments, labels = mustLoad()

func mustLoad() (map[string]Instrument, map[string]string) {
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
	instruments, labels := map[string]Instrument{}, map[string]string{}
	for _, in := range data.Instruments {
		ins := Instrument{Version: in.Version, Labels: map[string]string{}}
		for _, d := range in.Domains {
			ins.Domains = append(ins.Domains, d.Code)
			ins.Labels[d.Code] = d.Label
			// The instruments in the file's order, the current one first: a domain both
			// share keeps the current label; one only an older instrument has (ADL) that
			// instrument's.
			if _, ok := labels[d.Code]; !ok && d.Label != "" {
				labels[d.Code] = d.Label
			}
		}
		instruments[in.Version] = ins
	}
	return instruments, labels
}

// Label is the Dutch label of a life domain by its code ("FINANCES" → "Financiën", "ADL" →
// "Activiteiten dagelijks leven"); "" when the code is unknown.
func Label(code string) string { return labels[code] }
