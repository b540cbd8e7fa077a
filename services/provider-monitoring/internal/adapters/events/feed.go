package events

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"google.golang.org/protobuf/proto"
)

// FeedRecipients routes allocation and allocation-request events to the feed of the provider
// they are addressed to. An allocation's events name its provider's OIN (read with the
// allocation), so routing them reads nothing; for a request's events, and an allocation event
// of a provider with no OIN, the statement that writes the copies reads the provider
// (outbox.Recipients.Query), in the transaction of the change: no round trip of its own.
func FeedRecipients() outbox.FeedRouter {
	return func(_ context.Context, subject, aggregateID string, event proto.Message) (outbox.Recipients, error) {
		// wijkbrug.providermonitoring.<municipality>.<aggregate>.<event>
		t := strings.Split(subject, ".")
		if len(t) != 5 {
			return outbox.Recipients{}, nil
		}
		if e, ok := event.(interface{ GetProviderOin() string }); ok && t[3] == "allocation" && e.GetProviderOin() != "" {
			return outbox.Recipients{OINs: []string{e.GetProviderOin()}}, nil
		}
		switch t[3] {
		case "allocation":
			return outbox.Recipients{Query: `SELECT p.oin FROM allocations a JOIN providers p ON p.agb = a.provider_agb WHERE a.number = $1`,
				Args: []any{aggregateID}}, nil
		case "allocation_request":
			id, err := uuid.Parse(aggregateID)
			if err != nil {
				return outbox.Recipients{}, nil
			}
			return outbox.Recipients{Query: `SELECT p.oin FROM allocation_requests r JOIN providers p ON p.agb = r.provider_agb WHERE r.id = $1`,
				Args: []any{id}}, nil
		}
		return outbox.Recipients{}, nil
	}
}
