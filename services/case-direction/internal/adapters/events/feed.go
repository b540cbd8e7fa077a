package events

import (
	"context"
	"strings"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"google.golang.org/protobuf/proto"
)

// Involvements answers who is involved in a case at a moment.
type Involvements interface {
	InvolvedOrganisations(ctx context.Context, caseID string, t time.Time) ([]string, error)
}

// FeedRecipients routes a case's events to the feeds of the organisations actively involved
// in it when the event happens: nothing before an involvement starts, nothing after it ends.
func FeedRecipients(inv Involvements, now func() time.Time) outbox.FeedRouter {
	return func(ctx context.Context, subject, aggregateID string, _ proto.Message) ([]string, error) {
		// wijkbrug.casedirection.<municipality>.case.<event>, aggregate = case id
		if t := strings.Split(subject, "."); len(t) != 5 || t[3] != "case" {
			return nil, nil
		}
		return inv.InvolvedOrganisations(ctx, aggregateID, now())
	}
}
