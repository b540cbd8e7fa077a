package zrm

import "testing"

func TestInstrumentsAndLabelsFromData(t *testing.T) {
	if n := len(Instruments["ZRM-2017"].Domains); n != 13 {
		t.Errorf("ZRM-2017 has %d domains, want 13", n)
	}
	if n := len(Instruments["ZRM-2013"].Domains); n != 11 {
		t.Errorf("ZRM-2013 has %d domains, want 11", n)
	}
	for code, want := range map[string]string{"DAYTIME_ACTIVITIES": "Tijdsbesteding", "ADL": "Activiteiten dagelijks leven", "FINANCES": "Financiën", "NOPE": ""} {
		if got := Label(code); got != want {
			t.Errorf("Label(%s) = %q, want %q", code, got, want)
		}
	}
	if got := Instruments["ZRM-2013"].Labels["DAYTIME_ACTIVITIES"]; got != "Dagbesteding" {
		t.Errorf("ZRM-2013's DAYTIME_ACTIVITIES is %q, want Dagbesteding", got)
	}
}
