package events

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"google.golang.org/protobuf/proto"
)

// FeedRecipients routes allocation and allocation-request events to the feed of the provider
// they are addressed to. An allocation's events name its provider's OIN (read with the
// allocation), so routing them asks the database nothing inside the transaction that writes
// them; a request's events, and an allocation event of a provider with no OIN, are looked up.
func FeedRecipients(db *pgxdb.DB) outbox.FeedRouter {
	return func(ctx context.Context, subject, aggregateID string, event proto.Message) ([]string, error) {
		// wijkbrug.providermonitoring.<municipality>.<aggregate>.<event>
		t := strings.Split(subject, ".")
		if len(t) != 5 {
			return nil, nil
		}
		if e, ok := event.(interface{ GetProviderOin() string }); ok && t[3] == "allocation" && e.GetProviderOin() != "" {
			return []string{e.GetProviderOin()}, nil
		}
		var q string
		var key any = aggregateID
		switch t[3] {
		case "allocation":
			q = `SELECT p.oin FROM allocations a JOIN providers p ON p.agb = a.provider_agb WHERE a.number = $1`
		case "allocation_request":
			id, err := uuid.Parse(aggregateID)
			if err != nil {
				return nil, nil
			}
			key = id
			q = `SELECT p.oin FROM allocation_requests r JOIN providers p ON p.agb = r.provider_agb WHERE r.id = $1`
		default:
			return nil, nil
		}
		var oin string
		err := db.Q(ctx).QueryRow(ctx, q, key).Scan(&oin)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []string{oin}, nil
	}
}
