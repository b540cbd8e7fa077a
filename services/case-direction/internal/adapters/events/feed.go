package events

import (
	"context"
	"strings"
	"time"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"google.golang.org/protobuf/proto"
)

// Involvements answers who is involved in a case at a moment.
type Involvements interface {
	InvolvedOrganisations(ctx context.Context, caseID string, t time.Time) ([]string, error)
}

// FeedRecipients routes a case's events to the feeds of the organisations actively involved
// in it when the event happens: nothing before an involvement starts, nothing after it ends.
//
// A case opens with no organisation involved in it: involvements are added to a case that
// exists (AddInvolvement), and OpenCase, the only source of CaseOpened, adds none. So a
// case's opening has no feed copy, and routing it asks the database nothing inside the
// transaction that opens the case (issue 12).
func FeedRecipients(inv Involvements, now func() time.Time) outbox.FeedRouter {
	return func(ctx context.Context, subject, aggregateID string, event proto.Message) ([]string, error) {
		// wijkbrug.casedirection.<municipality>.case.<event>, aggregate = case id
		if t := strings.Split(subject, "."); len(t) != 5 || t[3] != "case" {
			return nil, nil
		}
		if _, opened := event.(*casedirectionv1.CaseOpened); opened {
			return nil, nil
		}
		return inv.InvolvedOrganisations(ctx, aggregateID, now())
	}
}
