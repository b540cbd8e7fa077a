// Package consumers reacts to other services' events: intake and case-direction tell referral
// what became of a signal, and referral moves the signal on and feeds back to its source.
package consumers

import (
	"context"
	"fmt"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/app"
	"google.golang.org/protobuf/proto"
)

// IntakeEvents follows intake's events about intakes that came from signals.
func IntakeEvents(a *app.App, caller identity.Caller) consumer.Spec {
	return consumer.Spec{
		Durable:  "referral-intake-events",
		Stream:   natsx.StreamName("intake"),
		Subjects: eventsubject.Filters(&intakev1.IntakeReceived{}, &intakev1.IntakeCaseOpened{}, &intakev1.IntakeClosed{}),
		Caller:   caller,
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			switch m := msg.(type) {
			case *intakev1.IntakeReceived:
				for _, id := range m.GetSignalIds() {
					if err := a.LinkToIntake(ctx, id, m.GetIntakeId()); err != nil {
						return fmt.Errorf("signal %s: %w", id, err)
					}
				}
			case *intakev1.IntakeCaseOpened:
				for _, id := range m.GetSignalIds() {
					if err := a.LinkToCase(ctx, id, m.GetIntakeId(), m.GetCaseId()); err != nil {
						return fmt.Errorf("signal %s: %w", id, err)
					}
				}
			case *intakev1.IntakeClosed:
				status := protoenum.Code(m.GetStatus())
				for _, id := range m.GetSignalIds() {
					if err := a.IntakeClosed(ctx, id, m.GetIntakeId(), status); err != nil {
						return fmt.Errorf("signal %s: %w", id, err)
					}
				}
			}
			return nil
		},
	}
}

// CaseEvents follows case-direction's closing of cases, to tell the sources of the signals
// behind a case that it was closed.
func CaseEvents(a *app.App, caller identity.Caller) consumer.Spec {
	return consumer.Spec{
		Durable:  "referral-case-events",
		Stream:   natsx.StreamName("casedirection"),
		Subjects: eventsubject.Filters(&casedirectionv1.CaseClosed{}),
		Caller:   caller,
		Handle: func(ctx context.Context, _ cloudevents.Envelope, msg proto.Message) error {
			if m, ok := msg.(*casedirectionv1.CaseClosed); ok {
				if err := a.CaseClosed(ctx, m.GetCaseId(), m.GetResult() == commonv1.CaseResult_CASE_RESULT_HANDED_OVER); err != nil {
					return fmt.Errorf("case %s: %w", m.GetCaseId(), err)
				}
			}
			return nil
		},
	}
}
