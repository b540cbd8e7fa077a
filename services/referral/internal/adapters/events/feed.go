package events

import (
	"context"
	"strings"

	"github.com/google/uuid"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"google.golang.org/protobuf/proto"
)

// FeedRecipients routes a signal's events to the organisation that sent it, and a referral's
// to its referrer and, once the referral was sent, its recipient (never a draft's, nor a draft
// cancelled unsent: those the recipient cannot read either).
//
// Where it must read who they are (a signal event that does not name its source, a referral's
// parties), the statement that writes the copies reads them (outbox.Recipients.Query), in the
// transaction of the change: no round trip of its own.
func FeedRecipients() outbox.FeedRouter {
	return func(_ context.Context, subject, aggregateID string, msg proto.Message) (outbox.Recipients, error) {
		// A signal's events name its source.
		var source string
		switch m := msg.(type) {
		case *referralv1.SignalReceived:
			source = m.GetSourceOin()
		case *referralv1.SignalStatusChanged:
			source = m.GetSourceOin()
		}
		if source != "" {
			return outbox.Recipients{OINs: []string{source}}, nil
		}
		t := strings.Split(subject, ".")
		// wijkbrug.referral.feedback.<oin>.<aggregate>.<event>: feedback subjects repeat events
		// already routed from their municipal subject, except signal.fed_back, which exists
		// only there and belongs to the signal's source.
		if len(t) == 6 && t[2] == "feedback" {
			if t[4] == "signal" {
				return outbox.Recipients{OINs: []string{t[3]}}, nil
			}
			return outbox.Recipients{}, nil
		}
		if len(t) != 5 {
			return outbox.Recipients{}, nil
		}
		id, err := uuid.Parse(aggregateID)
		if err != nil {
			return outbox.Recipients{}, nil // not one of ours
		}
		switch t[3] {
		case "signal":
			return outbox.Recipients{Query: `SELECT source_oin FROM signals WHERE id = $1`, Args: []any{id}}, nil
		case "referral":
			return outbox.Recipients{Query: `SELECT unnest(CASE WHEN sent THEN ARRAY[referrer_oin, recipient_oin] ELSE ARRAY[referrer_oin] END) FROM referrals WHERE id = $1`,
				Args: []any{id}}, nil
		}
		return outbox.Recipients{}, nil
	}
}
