package domain

import (
	"slices"
	"testing"
)

func TestDefaultPolicy(t *testing.T) {
	three := []string{"FINANCES", "HOUSING", "MENTAL_HEALTH"}
	cases := []struct {
		name    string
		facts   Facts
		decided bool
		want    Decision
	}{
		{"crisis", Facts{Urgency: UrgencyCrisis}, true, Decision{OutcomeCaseDirection, "crisis", 0}},
		{"crisis wins over the other rules", Facts{Urgency: UrgencyCrisis, SafetyConcern: true, LifeDomains: three}, true, Decision{OutcomeCaseDirection, "crisis", 0}},
		{"safety concern", Facts{Urgency: UrgencyNormal, SafetyConcern: true}, true, Decision{OutcomeCaseDirection, "safety-signal", 0}},
		{"Veilig Thuis signal", Facts{Urgency: UrgencyHigh, SourceType: SourceVeiligThuis}, true, Decision{OutcomeCaseDirection, "safety-signal", 0}},
		{"safety wins over domains", Facts{Urgency: UrgencyNormal, SafetyConcern: true, LifeDomains: three}, true, Decision{OutcomeCaseDirection, "safety-signal", 0}},
		{"three domains", Facts{Urgency: UrgencyNormal, LifeDomains: three}, true, Decision{OutcomeCaseDirection, "three-or-more-domains", 0}},
		{"four domains", Facts{Urgency: UrgencyHigh, LifeDomains: append(slices.Clone(three), "JUSTICE")}, true, Decision{OutcomeCaseDirection, "three-or-more-domains", 0}},
		{"a domain scored 1", Facts{Urgency: UrgencyNormal, Scores: map[string]int{"HOUSING": 1, "FINANCES": 4}}, true, Decision{OutcomeCaseDirection, "any-domain-acute", 0}},
		{"three domains scored ≤ 2", Facts{Urgency: UrgencyNormal, Scores: map[string]int{"HOUSING": 2, "FINANCES": 2, "JUSTICE": 2, "ADL": 5}}, true, Decision{OutcomeCaseDirection, "three-domains-not-self-sufficient", 0}},
		{"two domains scored ≤ 2 and one 99", Facts{Urgency: UrgencyNormal, Scores: map[string]int{"HOUSING": 2, "FINANCES": 2, "JUSTICE": 99}}, false, Decision{}},
		{"two domains: a professional decides", Facts{Urgency: UrgencyHigh, LifeDomains: three[:2]}, false, Decision{}},
		{"other source: a professional decides", Facts{Urgency: UrgencyNormal, SourceType: "GP"}, false, Decision{}},
		{"nothing", Facts{Urgency: UrgencyNormal}, false, Decision{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, decided := DefaultPolicy("GM0363").Triage(tc.facts)
			if decided != tc.decided || got != tc.want {
				t.Fatalf("got %+v (decided %v), want %+v (decided %v)", got, decided, tc.want, tc.decided)
			}
		})
	}
}

// TestEveryCondition checks each kind of rule on its own, and that the decision names the
// rule and the policy version.
func TestEveryCondition(t *testing.T) {
	cases := []struct {
		rule       Rule
		applies    []Facts
		notApplies []Facts
	}{
		{Rule{Name: "crisis", Condition: CondCrisis, Outcome: OutcomeCaseDirection},
			[]Facts{{Urgency: UrgencyCrisis}}, []Facts{{Urgency: UrgencyHigh}, {Urgency: UrgencyNormal}}},
		{Rule{Name: "safety", Condition: CondSafetySignal, Outcome: OutcomeCaseDirection},
			[]Facts{{SafetyConcern: true}, {SourceType: SourceVeiligThuis}}, []Facts{{SourceType: "GP"}, {}}},
		{Rule{Name: "from-veilig-thuis", Condition: CondSourceType, SourceType: SourceVeiligThuis, Outcome: OutcomeCaseDirection},
			[]Facts{{SourceType: SourceVeiligThuis}}, []Facts{{SourceType: "GP"}, {SafetyConcern: true}, {}}},
		{Rule{Name: "from-housing", Condition: CondSourceType, SourceType: "HOUSING_CORPORATION", Outcome: OutcomeCommunityReferral},
			[]Facts{{SourceType: "HOUSING_CORPORATION"}}, []Facts{{SourceType: SourceVeiligThuis}}},
		{Rule{Name: "two-domains", Condition: CondLifeDomainsAtLeast, MinCount: 2, Outcome: OutcomeCustomProvision},
			[]Facts{{LifeDomains: []string{"A", "B"}}, {LifeDomains: []string{"A", "B", "C"}}}, []Facts{{LifeDomains: []string{"A"}}, {}}},
		{Rule{Name: "three-low", Condition: CondDomainsScoredAtMost, MinCount: 3, MaxScore: 2, Outcome: OutcomeCaseDirection},
			[]Facts{{Scores: map[string]int{"A": 1, "B": 2, "C": 2}}},
			[]Facts{{Scores: map[string]int{"A": 1, "B": 2, "C": 3}}, {Scores: map[string]int{"A": 1, "B": 2, "C": 99}}, {}}},
		{Rule{Name: "any-acute", Condition: CondDomainsScoredAtMost, MinCount: 1, MaxScore: 1, Outcome: OutcomeCaseDirection},
			[]Facts{{Scores: map[string]int{"A": 1}}}, []Facts{{Scores: map[string]int{"A": 2, "B": 99}}}},
		{Rule{Name: "advice-for-all", Condition: CondAlways, Outcome: OutcomeAdvice},
			[]Facts{{}, {Urgency: UrgencyHigh}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.rule.Name, func(t *testing.T) {
			p := Policy{Version: 7, Positioning: FirstAccess, Rules: []Rule{tc.rule}}
			for _, f := range tc.applies {
				if d, ok := p.Triage(f); !ok || d != (Decision{tc.rule.Outcome, tc.rule.Name, 7}) {
					t.Errorf("%+v: got %+v %v", f, d, ok)
				}
			}
			for _, f := range tc.notApplies {
				if d, ok := p.Triage(f); ok {
					t.Errorf("%+v: should not apply, got %+v", f, d)
				}
			}
		})
	}
}

func TestFirstRuleDecidesAndCrisisAlwaysGoesToCaseDirection(t *testing.T) {
	p := Policy{Version: 2, Rules: []Rule{
		{Name: "advice-for-all", Condition: CondAlways, Outcome: OutcomeAdvice},
		{Name: "three-domains", Condition: CondLifeDomainsAtLeast, MinCount: 3, Outcome: OutcomeCaseDirection},
	}}
	if d, _ := p.Triage(Facts{LifeDomains: []string{"A", "B", "C"}}); d.Rule != "advice-for-all" {
		t.Fatalf("first rule decides: %+v", d)
	}
	if d, ok := p.Triage(Facts{Urgency: UrgencyCrisis}); !ok || d != (Decision{OutcomeCaseDirection, RuleCrisis, 2}) {
		t.Fatalf("a crisis skips triage whatever the policy: %+v", d)
	}
	if _, ok := (Policy{}).Triage(Facts{Urgency: UrgencyNormal}); ok {
		t.Fatal("no rules, no decision")
	}
}

func TestPositioning(t *testing.T) {
	for _, o := range outcomes {
		if !FirstAccess.Allows(o) {
			t.Errorf("FIRST_ACCESS must allow %s", o)
		}
		if got := ComplexOnly.Allows(o); got != (o != OutcomeCustomProvision) {
			t.Errorf("COMPLEX_ONLY allows %s: %v", o, got)
		}
	}
}

func TestValidatePolicy(t *testing.T) {
	known := func(s string) bool { return s == SourceVeiligThuis || s == "GP" }
	if errs := DefaultPolicy("GM0363").Validate(known); len(errs) != 0 {
		t.Fatalf("the default policy must be valid: %v", errs)
	}
	ok := func() Policy {
		return Policy{Positioning: FirstAccess, ContactAttempts: 3, TriageDays: 5,
			Rules: []Rule{{Name: "a", Condition: CondAlways, Outcome: OutcomeAdvice}}}
	}
	cases := []struct {
		field  string
		modify func(*Policy)
	}{
		{"positioning", func(p *Policy) { p.Positioning = "" }},
		{"contact_attempts", func(p *Policy) { p.ContactAttempts = 0 }},
		{"contact_attempts", func(p *Policy) { p.ContactAttempts = 11 }},
		{"triage_days", func(p *Policy) { p.TriageDays = 0 }},
		{"rules", func(p *Policy) { p.Rules = nil }},
		{"rules[0].name", func(p *Policy) { p.Rules[0].Name = "Not Valid" }},
		{"rules[0].name", func(p *Policy) { p.Rules[0].Name = RuleProfessional }},
		{"rules[1].name", func(p *Policy) { p.Rules = append(p.Rules, p.Rules[0]) }},
		{"rules[0].outcome", func(p *Policy) { p.Rules[0].Outcome = "" }},
		{"rules[0].outcome", func(p *Policy) { p.Positioning = ComplexOnly; p.Rules[0].Outcome = OutcomeCustomProvision }},
		{"rules[0].outcome", func(p *Policy) { p.Rules[0].Condition = CondCrisis }},
		{"rules[0].condition", func(p *Policy) { p.Rules[0].Condition = "" }},
		{"rules[0].source_type", func(p *Policy) { p.Rules[0].Condition = CondSourceType; p.Rules[0].SourceType = "NOPE" }},
		{"rules[0].min_count", func(p *Policy) { p.Rules[0].Condition = CondLifeDomainsAtLeast }},
		{"rules[0].max_score", func(p *Policy) {
			p.Rules[0] = Rule{Name: "x", Condition: CondDomainsScoredAtMost, MinCount: 1, MaxScore: 6, Outcome: OutcomeAdvice}
		}},
	}
	for _, tc := range cases {
		p := ok()
		tc.modify(&p)
		errs := p.Validate(known)
		if len(errs) != 1 || errs[0].Field != tc.field {
			t.Errorf("%s: got %v", tc.field, errs)
		}
	}
	p := ok()
	p.Positioning, p.TriageDays = "", 0
	if errs := p.Validate(known); len(errs) != 2 {
		t.Fatalf("all problems at once: %v", errs)
	}
}

func TestStatusFor(t *testing.T) {
	want := map[Outcome]Status{OutcomeAdvice: StatusAdvised, OutcomeCommunityReferral: StatusReferred,
		OutcomeCustomProvision: StatusReferred, OutcomeCaseDirection: StatusCaseOpened, OutcomeNone: ""}
	for o, s := range want {
		if got := StatusFor(o); got != s {
			t.Errorf("%q: %s, want %s", o, got, s)
		}
	}
}
