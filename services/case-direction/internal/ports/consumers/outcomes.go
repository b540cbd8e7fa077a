package consumers

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	appoutcomes "github.com/wijkbrug/wijkbrug/services/case-direction/internal/app/outcomes"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain/outcomes"
	"google.golang.org/protobuf/proto"
)

// The outcome read model's durable consumers, one per producing stream (natsauth lists them).
// Each handles the events its table lists; a new figure from another event is one more entry
// in that stream's table and one more Store method (as decision.decided and decision.overdue
// were for "decisions within the statutory term").
const (
	OutcomeIntakeConsumer             = "casedirection-outcomes-intake"
	OutcomeCaseDirectionConsumer      = "casedirection-outcomes-casedirection"
	OutcomeProviderMonitoringConsumer = "casedirection-outcomes-providermonitoring"
	OutcomeReferralConsumer           = "casedirection-outcomes-referral"
)

// outcomeHandler applies one event to the read model.
type outcomeHandler func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error

// OutcomeEvents are the read model's consumers: intake, case-direction's own stream,
// provider-monitoring and referral. Nothing but events feeds the read model, so resetting it
// and replaying the streams from the start rebuilds it (docs/services/outcomes.md).
func OutcomeEvents(store appoutcomes.Store, caller identity.Caller) []consumer.Spec {
	return []consumer.Spec{
		outcomeSpec(OutcomeIntakeConsumer, "intake", store, caller, intakeOutcomes),
		outcomeSpec(OutcomeCaseDirectionConsumer, "casedirection", store, caller, caseOutcomes),
		outcomeSpec(OutcomeProviderMonitoringConsumer, "providermonitoring", store, caller, allocationOutcomes),
		outcomeSpec(OutcomeReferralConsumer, "referral", store, caller, referralOutcomes),
	}
}

func outcomeSpec(durable, producer string, store appoutcomes.Store, caller identity.Caller, handlers map[proto.Message]outcomeHandler) consumer.Spec {
	msgs := make([]proto.Message, 0, len(handlers))
	byType := make(map[string]outcomeHandler, len(handlers))
	for m, h := range handlers {
		msgs = append(msgs, m)
		byType[string(m.ProtoReflect().Descriptor().FullName())] = h
	}
	return consumer.Spec{
		Durable:  durable,
		Stream:   natsx.StreamName(producer),
		Subjects: eventsubject.Filters(msgs...),
		Caller:   caller,
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			h, ok := byType[string(msg.ProtoReflect().Descriptor().FullName())]
			if !ok {
				return nil
			}
			return h(ctx, store, ev, msg)
		},
	}
}

// ids checks that the aggregate ids an event names are UUIDs (a malformed event is parked).
func ids(ev cloudevents.Envelope, values ...string) error {
	for _, v := range values {
		if uuid.Validate(v) != nil {
			return consumer.Permanent(fmt.Errorf("%s without a valid id (event %s)", ev.Type, ev.ID))
		}
	}
	return nil
}

var intakeOutcomes = map[proto.Message]outcomeHandler{
	&intakev1.IntakeReceived{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*intakev1.IntakeReceived)
		if err := ids(ev, m.GetIntakeId()); err != nil {
			return err
		}
		return s.IntakeReceived(ctx, m.GetIntakeId(), outcomes.Scope{Municipality: m.GetMunicipalityCode(), District: m.GetDistrictCode(), Team: m.GetTeamOin()},
			protoenum.Code(m.GetChannel()), protoenum.Code(m.GetSourceType()), when(m.GetReceivedAt(), ev))
	},
	&intakev1.IntakeContactAttempted{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*intakev1.IntakeContactAttempted)
		if err := ids(ev, m.GetIntakeId()); err != nil || !m.GetReached() {
			return err
		}
		return s.IntakeContacted(ctx, m.GetIntakeId(), when(m.GetAt(), ev))
	},
	&intakev1.IntakeTriaged{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*intakev1.IntakeTriaged)
		if err := ids(ev, m.GetIntakeId()); err != nil {
			return err
		}
		return s.IntakeTriaged(ctx, m.GetIntakeId(), m.GetMunicipalityCode(), protoenum.Code(m.GetOutcome()), when(m.GetAt(), ev))
	},
}

var caseOutcomes = map[proto.Message]outcomeHandler{
	&casedirectionv1.CaseOpened{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*casedirectionv1.CaseOpened)
		if err := ids(ev, m.GetCaseId()); err != nil {
			return err
		}
		intake := m.GetIntakeId()
		if uuid.Validate(intake) != nil {
			intake = ""
		}
		return s.CaseOpened(ctx, m.GetCaseId(), intake, outcomes.Scope{Municipality: m.GetMunicipalityCode(), District: m.GetDistrictCode(), Team: m.GetTeamOin()},
			when(m.GetOpenedAt(), ev))
	},
	&casedirectionv1.CaseStatusChanged{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*casedirectionv1.CaseStatusChanged)
		if err := ids(ev, m.GetCaseId()); err != nil {
			return err
		}
		from, to := m.GetFrom(), m.GetTo()
		switch {
		case to == casedirectionv1.CaseStatus_CASE_STATUS_SCALED_DOWN:
			return s.CaseScaledDown(ctx, m.GetCaseId(), m.GetMunicipalityCode(), when(m.GetAt(), ev))
		case from == casedirectionv1.CaseStatus_CASE_STATUS_WATCH && to != casedirectionv1.CaseStatus_CASE_STATUS_CLOSED &&
			to != casedirectionv1.CaseStatus_CASE_STATUS_HANDED_OVER:
			// Back from the pilot light (waakvlam) to active work: a re-escalation.
			return s.CaseReescalated(ctx, m.GetCaseId(), m.GetMunicipalityCode(), when(m.GetAt(), ev))
		}
		return nil
	},
	&casedirectionv1.CaseClosed{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*casedirectionv1.CaseClosed)
		if err := ids(ev, m.GetCaseId()); err != nil {
			return err
		}
		handedOver := m.GetStatus() == casedirectionv1.CaseStatus_CASE_STATUS_HANDED_OVER
		var domains []outcomes.DomainChange
		for _, d := range m.GetDomainOutcomes() {
			domains = append(domains, outcomes.DomainChange{LifeDomain: protoenum.Code(d.GetLifeDomain()), Baseline: int(d.GetBaselineScore()), Closing: int(d.GetClosingScore())})
		}
		return s.CaseEnded(ctx, m.GetCaseId(), m.GetMunicipalityCode(), handedOver, protoenum.Code(m.GetResult()), when(m.GetAt(), ev), domains)
	},
	&casedirectionv1.CaseGoalStatusChanged{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*casedirectionv1.CaseGoalStatusChanged)
		if err := ids(ev, m.GetCaseId(), m.GetGoalId()); err != nil {
			return err
		}
		switch m.GetTo() {
		case casedirectionv1.GoalStatus_GOAL_STATUS_REACHED, casedirectionv1.GoalStatus_GOAL_STATUS_PARTLY, casedirectionv1.GoalStatus_GOAL_STATUS_NOT_REACHED:
			return s.GoalSettled(ctx, m.GetGoalId(), m.GetCaseId(), protoenum.Code(m.GetLifeDomain()), protoenum.Code(m.GetTo()), when(m.GetAt(), ev))
		}
		return nil
	},
}

var allocationOutcomes = map[proto.Message]outcomeHandler{
	&providermonitoringv1.AllocationIssued{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*providermonitoringv1.AllocationIssued)
		if m.GetAllocationNumber() == "" {
			return consumer.Permanent(fmt.Errorf("allocation.issued without a number (event %s)", ev.ID))
		}
		issued := when(m.GetIssuedAt(), ev)
		start, ok := day(m.GetStartDate())
		if !ok {
			start = issued.Truncate(24 * time.Hour)
		}
		return s.AllocationIssued(ctx, m.GetAllocationNumber(), validOrEmpty(m.GetCaseId()), m.GetMunicipalityCode(), issued, start)
	},
	&providermonitoringv1.AllocationDeliveryStarted{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*providermonitoringv1.AllocationDeliveryStarted)
		started, ok := day(m.GetStartedOn())
		if !ok || !m.GetFirstStart() {
			return nil // a restart after a pause, or an event from before first_start existed
		}
		start, ok := day(m.GetStartDate())
		if !ok {
			start = started
		}
		return s.AllocationStarted(ctx, m.GetAllocationNumber(), validOrEmpty(m.GetCaseId()), m.GetMunicipalityCode(), start, started, m.GetStartedOnTime())
	},
	&providermonitoringv1.DecisionDecided{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*providermonitoringv1.DecisionDecided)
		if err := ids(ev, m.GetDecisionId()); err != nil {
			return err
		}
		decided, ok := day(m.GetDecidedDate())
		if !ok {
			decided = when(m.GetDecidedAt(), ev).Truncate(24 * time.Hour)
		}
		due, _ := day(m.GetDueDate())
		return s.DecisionDecided(ctx, appoutcomes.DecisionFact{ID: m.GetDecisionId(), CaseID: validOrEmpty(m.GetCaseId()), IntakeID: validOrEmpty(m.GetIntakeId()),
			Municipality: m.GetMunicipalityCode(), District: m.GetDistrictCode(), LegalBasis: protoenum.Code(m.GetLegalBasis()), Granted: m.GetGranted(),
			WithinTerm: m.GetWithinStatutoryTerm(), DueDate: due, DecidedOn: decided})
	},
	&providermonitoringv1.DecisionOverdue{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*providermonitoringv1.DecisionOverdue)
		if err := ids(ev, m.GetDecisionId()); err != nil {
			return err
		}
		due, ok := day(m.GetDueDate())
		if !ok {
			return consumer.Permanent(fmt.Errorf("decision.overdue without a due date (event %s)", ev.ID))
		}
		return s.DecisionOverdue(ctx, appoutcomes.DecisionFact{ID: m.GetDecisionId(), CaseID: validOrEmpty(m.GetCaseId()), IntakeID: validOrEmpty(m.GetIntakeId()),
			Municipality: m.GetMunicipalityCode(), District: m.GetDistrictCode(), LegalBasis: protoenum.Code(m.GetLegalBasis()), DueDate: due})
	},
}

var referralOutcomes = map[proto.Message]outcomeHandler{
	&referralv1.SignalReceived{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*referralv1.SignalReceived)
		if err := ids(ev, m.GetSignalId()); err != nil {
			return err
		}
		return s.SignalReceived(ctx, m.GetSignalId(), outcomes.Scope{Municipality: m.GetMunicipalityCode(), District: m.GetDistrictCode()},
			protoenum.Code(m.GetSourceType()), when(m.GetReceivedAt(), ev))
	},
	&referralv1.ReferralStatusChanged{}: func(ctx context.Context, s appoutcomes.Store, ev cloudevents.Envelope, msg proto.Message) error {
		m := msg.(*referralv1.ReferralStatusChanged)
		if err := ids(ev, m.GetReferralId()); err != nil {
			return err
		}
		return s.ReferralChanged(ctx, appoutcomes.ReferralChange{ID: m.GetReferralId(), CaseID: validOrEmpty(m.GetCaseId()), IntakeID: validOrEmpty(m.GetIntakeId()),
			Municipality: m.GetMunicipalityCode(), Status: protoenum.Code(m.GetStatus()), DeclineReason: protoenum.Code(m.GetDeclineReason()), At: when(m.GetAt(), ev)})
	},
}

func validOrEmpty(id string) string {
	if uuid.Validate(id) != nil {
		return ""
	}
	return id
}

func day(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}
