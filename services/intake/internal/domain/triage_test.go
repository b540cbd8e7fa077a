package domain

import "testing"

func TestTriage(t *testing.T) {
	three := []string{"FINANCES", "HOUSING", "MENTAL_HEALTH"}
	cases := []struct {
		name    string
		facts   Facts
		decided bool
		want    Decision
	}{
		{"crisis", Facts{Urgency: UrgencyCrisis}, true, Decision{OutcomeCaseDirection, "crisis"}},
		{"crisis wins over the other rules", Facts{Urgency: UrgencyCrisis, SafetyConcern: true, LifeDomains: three}, true, Decision{OutcomeCaseDirection, "crisis"}},
		{"safety concern", Facts{Urgency: UrgencyNormal, SafetyConcern: true}, true, Decision{OutcomeCaseDirection, "safety-signal"}},
		{"Veilig Thuis signal", Facts{Urgency: UrgencyHigh, SourceType: SourceVeiligThuis}, true, Decision{OutcomeCaseDirection, "safety-signal"}},
		{"safety wins over domains", Facts{Urgency: UrgencyNormal, SafetyConcern: true, LifeDomains: three}, true, Decision{OutcomeCaseDirection, "safety-signal"}},
		{"three domains", Facts{Urgency: UrgencyNormal, LifeDomains: three}, true, Decision{OutcomeCaseDirection, "three-or-more-domains"}},
		{"four domains", Facts{Urgency: UrgencyHigh, LifeDomains: append(three, "JUSTICE")}, true, Decision{OutcomeCaseDirection, "three-or-more-domains"}},
		{"two domains: a professional decides", Facts{Urgency: UrgencyHigh, LifeDomains: three[:2]}, false, Decision{}},
		{"other source: a professional decides", Facts{Urgency: UrgencyNormal, SourceType: "GP"}, false, Decision{}},
		{"nothing", Facts{Urgency: UrgencyNormal}, false, Decision{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, decided := Triage(DefaultRules, tc.facts)
			if decided != tc.decided || got != tc.want {
				t.Fatalf("got %+v (decided %v), want %+v (decided %v)", got, decided, tc.want, tc.decided)
			}
		})
	}
}

func TestTriageRulesAreData(t *testing.T) {
	rules := []Rule{{Name: "everything-is-advice", Outcome: OutcomeAdvice, Applies: func(Facts) bool { return true }}}
	if got, ok := Triage(rules, Facts{Urgency: UrgencyCrisis}); !ok || got != (Decision{OutcomeAdvice, "everything-is-advice"}) {
		t.Fatalf("got %+v %v", got, ok)
	}
	if _, ok := Triage(nil, Facts{Urgency: UrgencyCrisis}); ok {
		t.Fatal("no rules, no decision")
	}
	seen := map[string]bool{}
	for _, r := range DefaultRules {
		if r.Name == "" || seen[r.Name] || r.Applies == nil {
			t.Fatalf("rule %q: every rule needs a unique name and a condition", r.Name)
		}
		seen[r.Name] = true
	}
}
