// Package consumers reacts to other services' events: a partner signal received by referral
// becomes an intake for the neighbourhood team.
package consumers

import (
	"context"
	"fmt"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/app"
	"google.golang.org/protobuf/proto"
)

// Signals registers an intake for every signal referral receives.
func Signals(a *app.App, caller identity.Caller) consumer.Spec {
	return consumer.Spec{
		Durable:  "intake-signals",
		Stream:   natsx.StreamName("referral"),
		Subjects: eventsubject.Filters(&referralv1.SignalReceived{}),
		Caller:   caller,
		// A batch's signals are read from referral in one call (one transaction and one
		// access-log statement there), not one call per event.
		Prepare: func(ctx context.Context, events []proto.Message) (context.Context, error) {
			ids := make([]string, 0, len(events))
			for _, e := range events {
				if m, ok := e.(*referralv1.SignalReceived); ok && m.GetSignalId() != "" {
					ids = append(ids, m.GetSignalId())
				}
			}
			return a.ReadSignalsAhead(ctx, ids)
		},
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			m, ok := msg.(*referralv1.SignalReceived)
			if !ok {
				return consumer.Permanent(fmt.Errorf("unexpected event type %s", ev.Type))
			}
			if m.GetSignalId() == "" {
				return consumer.Permanent(fmt.Errorf("event %s has no signal id", ev.ID))
			}
			_, err := a.RegisterFromSignal(ctx, m.GetSignalId())
			// A signal referral does not know, or one whose content breaks our rules, will not
			// get better by retrying; anything else (a peer away, a database hiccup) may.
			if apperr.IsKind(err, apperr.KindNotFound) || apperr.IsKind(err, apperr.KindInvalidArgument) ||
				apperr.IsKind(err, apperr.KindFailedPrecondition) {
				return consumer.Permanent(fmt.Errorf("signal %s: %w", m.GetSignalId(), err))
			}
			return err
		},
	}
}
