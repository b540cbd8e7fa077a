package domain

// Outcome is what triage decided.
type Outcome string

// Outcomes.
const (
	OutcomeNone              Outcome = ""
	OutcomeAdvice            Outcome = "ADVICE"
	OutcomeCommunityReferral Outcome = "COMMUNITY_REFERRAL"
	OutcomeCustomProvision   Outcome = "CUSTOM_PROVISION"
	OutcomeCaseDirection     Outcome = "CASE_DIRECTION"
)

// Facts are the inputs of triage. Later issues add ZRM scores and the municipality's
// positioning (FIRST_ACCESS or COMPLEX_ONLY).
type Facts struct {
	Urgency       Urgency
	LifeDomains   []string
	SafetyConcern bool
	// SourceType is the partner type of the signal behind the intake, if any.
	SourceType string
}

// Rule is one named triage rule. Rules are data rather than code paths so that a
// municipality's triage policy can become a list of them (issue #3), and so a decision can
// always name the rule that made it.
type Rule struct {
	Name    string
	Outcome Outcome
	Applies func(Facts) bool
}

// Decision is the outcome of triage and the rule that decided it.
type Decision struct {
	Outcome Outcome
	Rule    string
}

// DefaultRules is the triage policy until policies per municipality exist. Order matters:
// the first rule that applies decides, so the most specific reason is the one recorded.
var DefaultRules = []Rule{
	{Name: "crisis", Outcome: OutcomeCaseDirection, Applies: func(f Facts) bool { return f.Urgency == UrgencyCrisis }},
	{Name: "safety-signal", Outcome: OutcomeCaseDirection, Applies: func(f Facts) bool {
		return f.SafetyConcern || f.SourceType == SourceVeiligThuis
	}},
	{Name: "three-or-more-domains", Outcome: OutcomeCaseDirection, Applies: func(f Facts) bool { return len(f.LifeDomains) >= 3 }},
}

// Triage applies rules in order. It reports false when no rule applies: then a professional
// decides.
func Triage(rules []Rule, f Facts) (Decision, bool) {
	for _, r := range rules {
		if r.Applies(f) {
			return Decision{Outcome: r.Outcome, Rule: r.Name}, true
		}
	}
	return Decision{}, false
}
