package events

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"google.golang.org/protobuf/proto"
)

// FeedRecipients routes a signal's events to the organisation that sent it, and a referral's
// to its referrer and its recipient.
func FeedRecipients(db *pgxdb.DB) outbox.FeedRouter {
	return func(ctx context.Context, subject, aggregateID string, msg proto.Message) ([]string, error) {
		// A signal's events name its source: no round trip inside the transaction that
		// changes the signal (SubmitSignal, or the consumer that links it and feeds back).
		var source string
		switch m := msg.(type) {
		case *referralv1.SignalReceived:
			source = m.GetSourceOin()
		case *referralv1.SignalStatusChanged:
			source = m.GetSourceOin()
		}
		if source != "" {
			return []string{source}, nil
		}
		t := strings.Split(subject, ".")
		// wijkbrug.referral.feedback.<oin>.<aggregate>.<event>: feedback subjects repeat events
		// already routed from their municipal subject, except signal.fed_back, which exists
		// only there and belongs to the signal's source.
		if len(t) == 6 && t[2] == "feedback" {
			if t[4] == "signal" {
				return []string{t[3]}, nil
			}
			return nil, nil
		}
		if len(t) != 5 {
			return nil, nil
		}
		var q string
		switch t[3] {
		case "signal":
			q = `SELECT source_oin, '' FROM signals WHERE id = $1`
		case "referral":
			q = `SELECT referrer_oin, recipient_oin FROM referrals WHERE id = $1`
		default:
			return nil, nil
		}
		id, err := uuid.Parse(aggregateID)
		if err != nil {
			return nil, nil // not one of ours
		}
		var a, b string
		err = db.Q(ctx).QueryRow(ctx, q, id).Scan(&a, &b)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []string{a, b}, nil
	}
}
