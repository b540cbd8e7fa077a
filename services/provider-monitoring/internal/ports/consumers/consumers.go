// Package consumers reacts to other services' events: case-direction tells which residents a
// case concerns, so access to the case's allocations is logged under each of them.
package consumers

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"google.golang.org/protobuf/proto"
)

// CaseResidents reads a case's residents from case-direction.
type CaseResidents interface {
	CaseResidents(ctx context.Context, caseID string) ([]string, error)
}

// ResidentStore keeps them.
type ResidentStore interface {
	SetCaseResidents(ctx context.Context, caseID string, pseudonyms []string) error
}

// CaseEvents keeps the residents of every case current: on case.opened and
// case.residents_changed it asks case-direction (the events carry ids only).
func CaseEvents(peer CaseResidents, store ResidentStore, caller identity.Caller) consumer.Spec {
	return consumer.Spec{
		Durable:  "providermonitoring-case-residents",
		Stream:   natsx.StreamName("casedirection"),
		Subjects: eventsubject.Filters(&casedirectionv1.CaseOpened{}, &casedirectionv1.CaseResidentsChanged{}),
		Caller:   caller,
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			var caseID string
			switch m := msg.(type) {
			case *casedirectionv1.CaseOpened:
				caseID = m.GetCaseId()
			case *casedirectionv1.CaseResidentsChanged:
				caseID = m.GetCaseId()
			default:
				return nil
			}
			if uuid.Validate(caseID) != nil {
				return consumer.Permanent(fmt.Errorf("case event without a valid case id (event %s)", ev.ID))
			}
			pseudonyms, err := peer.CaseResidents(ctx, caseID)
			if err != nil {
				return err
			}
			return store.SetCaseResidents(ctx, caseID, pseudonyms)
		},
	}
}
