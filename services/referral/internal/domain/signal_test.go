package domain

import (
	"errors"
	"testing"
	"time"
)

func TestTransitions(t *testing.T) {
	allowed := []struct{ from, to Status }{
		{StatusReceived, StatusUnderAssessment}, {StatusReceived, StatusLinkedToIntake}, {StatusReceived, StatusLinkedToCase},
		{StatusReceived, StatusNotTakenUp}, {StatusUnderAssessment, StatusLinkedToIntake}, {StatusUnderAssessment, StatusLinkedToCase},
		{StatusUnderAssessment, StatusNotTakenUp}, {StatusLinkedToIntake, StatusLinkedToCase}, {StatusLinkedToIntake, StatusNotTakenUp},
		{StatusLinkedToIntake, StatusFedBack}, {StatusLinkedToCase, StatusFedBack}, {StatusNotTakenUp, StatusFedBack},
	}
	for _, tc := range allowed {
		if !CanTransition(tc.from, tc.to) {
			t.Errorf("%s → %s should be allowed", tc.from, tc.to)
		}
	}
	forbidden := []struct{ from, to Status }{
		{StatusFedBack, StatusReceived}, {StatusFedBack, StatusLinkedToCase}, {StatusLinkedToCase, StatusLinkedToIntake},
		{StatusReceived, StatusFedBack}, {StatusNotTakenUp, StatusLinkedToCase},
	}
	for _, tc := range forbidden {
		if CanTransition(tc.from, tc.to) {
			t.Errorf("%s → %s should be forbidden", tc.from, tc.to)
		}
	}
}

func TestSignalLifecycle(t *testing.T) {
	s := Signal{Status: StatusReceived}
	changed, err := s.LinkToIntake("i1")
	if err != nil || !changed || s.Status != StatusLinkedToIntake {
		t.Fatalf("link to intake: changed=%v err=%v status=%s", changed, err, s.Status)
	}
	if changed, _ := s.LinkToIntake("i1"); changed {
		t.Fatal("repeated link must be a no-op")
	}
	if err := s.FeedBack(FeedbackIntakeRegistered, time.Now()); err != nil || s.Status != StatusLinkedToIntake {
		t.Fatalf("interim feedback must keep status: %v %s", err, s.Status)
	}
	if changed, err := s.LinkToCase("i1", "c1"); err != nil || !changed {
		t.Fatalf("link to case: %v", err)
	}
	if err := s.FeedBack(FeedbackTakenIntoCaseDirection, time.Now()); err != nil || s.Status != StatusFedBack || s.FedBackAt == nil {
		t.Fatalf("final feedback: %v %s", err, s.Status)
	}
	if changed, err := s.LinkToIntake("i1"); changed || err != nil {
		t.Fatalf("late intake link after feedback must be ignored: %v %v", changed, err)
	}
	if _, err := s.LinkToCase("i1", "c2"); !errors.Is(err, ErrTransition) {
		t.Fatalf("relinking a fed-back signal to another case must fail, got %v", err)
	}
}

func TestValidate(t *testing.T) {
	wgs := &Arrears{AmountCents: 120000, Months: 3, Creditor: Creditor{Name: "Woonstichting", OIN: "00000001234567890000"}}
	cases := []struct {
		name    string
		orgType string
		s       Signal
		field   string
	}{
		{"gp as gp", "GP", Signal{SourceType: SourceGP, LegalBasis: BasisWMO}, ""},
		{"housing corp posing as gp", "HOUSING_CORPORATION", Signal{SourceType: SourceGP, LegalBasis: BasisWMO}, "source_type"},
		{"wgs with arrears", "HOUSING_CORPORATION", Signal{SourceType: SourceHousingCorporation, LegalBasis: BasisWGS, Arrears: wgs}, ""},
		{"wgs without a creditor", "HOUSING_CORPORATION", Signal{SourceType: SourceHousingCorporation, LegalBasis: BasisWGS, Arrears: &Arrears{AmountCents: 1, Months: 1}}, "arrears.creditor"},
		{"wgs without arrears", "HOUSING_CORPORATION", Signal{SourceType: SourceHousingCorporation, LegalBasis: BasisWGS}, "arrears"},
		{"wgs from a gp", "GP", Signal{SourceType: SourceGP, LegalBasis: BasisWGS, Arrears: wgs}, "legal_basis"},
		{"veilig thuis meldcode", "VEILIG_THUIS", Signal{SourceType: SourceVeiligThuis, LegalBasis: BasisMeldcode}, ""},
		{"vir basis not from vir", "GP", Signal{SourceType: SourceGP, LegalBasis: BasisVIR}, "legal_basis"},
		{"negative arrears", "GP", Signal{SourceType: SourceGP, LegalBasis: BasisWMO, Arrears: &Arrears{AmountCents: -1}}, "arrears"},
		{"unknown org type", "INTEGRATOR", Signal{SourceType: SourceOther, LegalBasis: BasisWMO}, "source_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate(tc.orgType)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var rv RuleViolation
			if !errors.As(err, &rv) || rv.Field != tc.field {
				t.Fatalf("want violation of %s, got %v", tc.field, err)
			}
		})
	}
}

func TestIntakeClosedFeedback(t *testing.T) {
	at := time.Now()
	cases := []struct {
		intakeStatus string
		from         Status
		changed      bool
		status       Status
		feedback     Feedback
	}{
		{"ADVISED", StatusLinkedToIntake, true, StatusFedBack, FeedbackAdvised},
		{"REFERRED", StatusLinkedToIntake, true, StatusFedBack, FeedbackReferred},
		{"NOT_REACHED", StatusLinkedToIntake, true, StatusFedBack, FeedbackNotTakenUp},
		{"WITHDRAWN", StatusReceived, true, StatusFedBack, FeedbackNotTakenUp},
		{"ADVISED", StatusReceived, true, StatusFedBack, FeedbackAdvised},
		{"MERGED", StatusLinkedToIntake, false, StatusLinkedToIntake, FeedbackNone},
		{"ADVISED", StatusLinkedToCase, false, StatusLinkedToCase, FeedbackNone},
		{"ADVISED", StatusFedBack, false, StatusFedBack, FeedbackNone},
	}
	for _, tc := range cases {
		s := Signal{Status: tc.from}
		changed, err := s.IntakeClosed("i1", tc.intakeStatus, at)
		if err != nil || changed != tc.changed || s.Status != tc.status || s.Feedback != tc.feedback {
			t.Errorf("%s from %s: changed=%v status=%s feedback=%s err=%v", tc.intakeStatus, tc.from, changed, s.Status, s.Feedback, err)
		}
		if tc.changed && (s.FedBackAt == nil || s.IntakeID != "i1") {
			t.Errorf("%s from %s: fed_back_at and intake id must be set", tc.intakeStatus, tc.from)
		}
	}
}

func TestCaseClosedFeedback(t *testing.T) {
	s := Signal{Status: StatusLinkedToIntake}
	if _, err := s.LinkToCase("i1", "c1"); err != nil {
		t.Fatal(err)
	}
	_ = s.FeedBack(FeedbackTakenIntoCaseDirection, time.Now())
	if changed, _ := s.CaseClosed("c2", false, time.Now()); changed {
		t.Fatal("another case's closing must not touch the signal")
	}
	changed, err := s.CaseClosed("c1", false, time.Now())
	if err != nil || !changed || s.Status != StatusFedBack || s.Feedback != FeedbackCaseClosed {
		t.Fatalf("case closed: %v %v %s %s", changed, err, s.Status, s.Feedback)
	}
	if changed, _ := s.CaseClosed("c1", false, time.Now()); changed {
		t.Fatal("a repeated closing must not feed back twice")
	}
}
