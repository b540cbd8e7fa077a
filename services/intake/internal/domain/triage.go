package domain

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

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

var outcomes = []Outcome{OutcomeAdvice, OutcomeCommunityReferral, OutcomeCustomProvision, OutcomeCaseDirection}

// Positioning is how a municipality positions its neighbourhood team (DESIGN §1).
type Positioning string

// Positionings.
const (
	// FirstAccess: the team is the front door for everyone and may reach every outcome.
	FirstAccess Positioning = "FIRST_ACCESS"
	// ComplexOnly: the team directs complex cases; custom provisions are decided elsewhere
	// (the municipality's Wmo/youth desk), so the team never decides CUSTOM_PROVISION.
	ComplexOnly Positioning = "COMPLEX_ONLY"
)

// Allows reports whether a team with this positioning may decide outcome o.
func (p Positioning) Allows(o Outcome) bool {
	return p != ComplexOnly || o != OutcomeCustomProvision
}

// Condition is what a rule tests.
type Condition string

// Conditions.
const (
	CondCrisis              Condition = "CRISIS"
	CondSafetySignal        Condition = "SAFETY_SIGNAL"
	CondSourceType          Condition = "SOURCE_TYPE"
	CondLifeDomainsAtLeast  Condition = "LIFE_DOMAINS_AT_LEAST"
	CondDomainsScoredAtMost Condition = "DOMAINS_SCORED_AT_MOST"
	CondAlways              Condition = "ALWAYS"
)

// ScoreNotDiscussed is the ZRM code for a domain that was not discussed.
const ScoreNotDiscussed = 99

// Facts are the inputs of triage.
type Facts struct {
	Urgency       Urgency
	LifeDomains   []string
	SafetyConcern bool
	// SourceType is the partner type of the signal behind the intake, if any.
	SourceType string
	// Scores are the latest ZRM assessment's scores per domain (nil when there is none).
	Scores map[string]int
}

// Rule is one named triage rule: data, so a municipality's policy is a list of them and a
// decision can always name the rule that made it.
type Rule struct {
	Name      string
	Condition Condition
	// MinCount is the number of life domains (LIFE_DOMAINS_AT_LEAST) or of low-scoring
	// domains (DOMAINS_SCORED_AT_MOST) needed.
	MinCount int
	// MaxScore is the highest score that counts as low (DOMAINS_SCORED_AT_MOST).
	MaxScore int
	// SourceType is the signal source (SOURCE_TYPE), a referral SourceType code.
	SourceType string
	Outcome    Outcome
}

// Applies reports whether the rule applies to f.
func (r Rule) Applies(f Facts) bool {
	switch r.Condition {
	case CondCrisis:
		return f.Urgency == UrgencyCrisis
	case CondSafetySignal:
		return f.SafetyConcern || f.SourceType == SourceVeiligThuis
	case CondSourceType:
		return f.SourceType != "" && f.SourceType == r.SourceType
	case CondLifeDomainsAtLeast:
		return len(f.LifeDomains) >= r.MinCount
	case CondDomainsScoredAtMost:
		n := 0
		for _, s := range f.Scores {
			if s >= 1 && s <= r.MaxScore {
				n++
			}
		}
		return n >= r.MinCount
	case CondAlways:
		return true
	default:
		return false
	}
}

// Policy is a municipality's triage policy in one version. Versions are immutable once
// adopted; an intake keeps the version that was in force when it was received.
type Policy struct {
	Municipality string
	// Version 0 is the built-in default; adopted versions count from 1.
	Version     int
	Positioning Positioning
	Rules       []Rule
	// ContactAttempts unsuccessful attempts make an intake NOT_REACHED.
	ContactAttempts int
	// TriageDays is the time triage has, in calendar days.
	TriageDays int
	AdoptedAt  time.Time
	AdoptedBy  string
}

// Limits of a policy.
const (
	MaxRules           = 50
	MaxContactAttempts = 10
	MaxTriageDays      = 60
)

// DefaultPolicy is the policy of a municipality that has adopted none: the team is the first
// access point, and it opens case direction for a crisis, a safety signal, a request naming
// three or more life domains, or an assessment showing a complex household (DESIGN §4: any
// domain acute, or three or more domains not self-sufficient). Anything else a professional
// decides.
func DefaultPolicy(municipality string) Policy {
	return Policy{
		Municipality: municipality, Version: 0, Positioning: FirstAccess, ContactAttempts: 3, TriageDays: TriageDays,
		Rules: []Rule{
			{Name: "crisis", Condition: CondCrisis, Outcome: OutcomeCaseDirection},
			{Name: "safety-signal", Condition: CondSafetySignal, Outcome: OutcomeCaseDirection},
			{Name: "three-or-more-domains", Condition: CondLifeDomainsAtLeast, MinCount: 3, Outcome: OutcomeCaseDirection},
			{Name: "any-domain-acute", Condition: CondDomainsScoredAtMost, MinCount: 1, MaxScore: 1, Outcome: OutcomeCaseDirection},
			{Name: "three-domains-not-self-sufficient", Condition: CondDomainsScoredAtMost, MinCount: 3, MaxScore: 2, Outcome: OutcomeCaseDirection},
		},
	}
}

// Decision is the outcome of triage, the rule that decided it and the policy version.
type Decision struct {
	Outcome       Outcome
	Rule          string
	PolicyVersion int
}

// RuleProfessional is the rule recorded for a professional's own decision.
const RuleProfessional = "professional"

// Triage applies the policy's rules in order; the first that applies decides, so the most
// specific reason is the one recorded. It reports false when no rule applies: then a
// professional decides. A crisis skips triage (DESIGN §4): it always goes to case direction,
// under the policy's rule when one sends it there, else under the built-in rule "crisis".
func (p Policy) Triage(f Facts) (Decision, bool) {
	for _, r := range p.Rules {
		if r.Applies(f) {
			if f.Urgency == UrgencyCrisis && r.Outcome != OutcomeCaseDirection {
				break
			}
			return Decision{Outcome: r.Outcome, Rule: r.Name, PolicyVersion: p.Version}, true
		}
	}
	if f.Urgency == UrgencyCrisis {
		return Decision{Outcome: OutcomeCaseDirection, Rule: RuleCrisis, PolicyVersion: p.Version}, true
	}
	return Decision{}, false
}

// RuleCrisis is the built-in rule for a crisis that no rule of the policy sends to case
// direction.
const RuleCrisis = "crisis"

// FieldError is one invalid part of a policy, named as the API field.
type FieldError struct{ Field, Problem string }

var ruleNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Validate reports every problem with a proposed policy at once.
func (p Policy) Validate(knownSourceType func(string) bool) []FieldError {
	var errs []FieldError
	add := func(field, problem string) { errs = append(errs, FieldError{field, problem}) }
	if p.Positioning != FirstAccess && p.Positioning != ComplexOnly {
		add("positioning", "required: FIRST_ACCESS or COMPLEX_ONLY")
	}
	if p.ContactAttempts < 1 || p.ContactAttempts > MaxContactAttempts {
		add("contact_attempts", fmt.Sprintf("must be 1-%d", MaxContactAttempts))
	}
	if p.TriageDays < 1 || p.TriageDays > MaxTriageDays {
		add("triage_days", fmt.Sprintf("must be 1-%d", MaxTriageDays))
	}
	if len(p.Rules) == 0 || len(p.Rules) > MaxRules {
		add("rules", fmt.Sprintf("must have 1-%d rules", MaxRules))
	}
	seen := map[string]bool{}
	for i, r := range p.Rules {
		f := fmt.Sprintf("rules[%d].", i)
		switch {
		case !ruleNameRe.MatchString(r.Name):
			add(f+"name", "must be 1-64 lower-case letters, digits or '-'")
		case r.Name == RuleProfessional || (r.Name == RuleCrisis && r.Condition != CondCrisis):
			add(f+"name", "is reserved for professional decisions")
		case seen[r.Name]:
			add(f+"name", "must be unique within the policy")
		}
		seen[r.Name] = true
		if !slices.Contains(outcomes, r.Outcome) {
			add(f+"outcome", "required: one of the defined values")
		} else if p.Positioning == ComplexOnly && !p.Positioning.Allows(r.Outcome) {
			add(f+"outcome", "a COMPLEX_ONLY team does not decide custom provisions")
		}
		switch r.Condition {
		case CondCrisis:
			if r.Outcome != OutcomeCaseDirection {
				add(f+"outcome", "a crisis skips triage: its rule must lead to CASE_DIRECTION")
			}
		case CondSafetySignal, CondAlways:
		case CondSourceType:
			if !knownSourceType(r.SourceType) {
				add(f+"source_type", "required for SOURCE_TYPE")
			}
		case CondLifeDomainsAtLeast:
			if r.MinCount < 1 || r.MinCount > 13 {
				add(f+"min_count", "must be 1-13")
			}
		case CondDomainsScoredAtMost:
			if r.MinCount < 1 || r.MinCount > 13 {
				add(f+"min_count", "must be 1-13")
			}
			if r.MaxScore < 1 || r.MaxScore > 5 {
				add(f+"max_score", "must be 1-5")
			}
		default:
			add(f+"condition", "required: one of the defined values")
		}
	}
	return errs
}

// StatusFor is the status an intake ends in after triage decided outcome o.
func StatusFor(o Outcome) Status {
	switch o {
	case OutcomeAdvice:
		return StatusAdvised
	case OutcomeCommunityReferral, OutcomeCustomProvision:
		return StatusReferred
	case OutcomeCaseDirection:
		return StatusCaseOpened
	default:
		return ""
	}
}
