package events

import (
	"context"
	"strings"
	"time"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"google.golang.org/protobuf/proto"
)

// Involvements gives the query of who is involved in a case at a moment.
type Involvements interface {
	InvolvedOrganisationsQuery(caseID string, t time.Time) (query string, args []any)
}

// FeedRecipients routes a case's events to the feeds of the organisations actively involved
// in it when the event happens: nothing before an involvement starts, nothing after it ends.
// Who that is, the statement that writes the copies reads (outbox.Recipients.Query), in the
// transaction of the change, where the event is added: no round trip of its own (issue 12).
//
// A case opens with no organisation involved in it: involvements are added to a case that
// exists (AddInvolvement), and OpenCase, the only source of CaseOpened, adds none. So a
// case's opening has no feed copy, and no statement is written for it.
func FeedRecipients(inv Involvements, now func() time.Time) outbox.FeedRouter {
	return func(_ context.Context, subject, aggregateID string, event proto.Message) (outbox.Recipients, error) {
		// wijkbrug.casedirection.<municipality>.case.<event>, aggregate = case id
		if t := strings.Split(subject, "."); len(t) != 5 || t[3] != "case" {
			return outbox.Recipients{}, nil
		}
		if _, opened := event.(*casedirectionv1.CaseOpened); opened {
			return outbox.Recipients{}, nil
		}
		q, args := inv.InvolvedOrganisationsQuery(aggregateID, now())
		return outbox.Recipients{Query: q, Args: args}, nil
	}
}
