package events

import (
	"context"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"google.golang.org/protobuf/proto"
)

// FeedRecipients routes what intake tells a team on the team's own feedback subject
// (wijkbrug.intake.feedback.<OIN>.<aggregate>.<event>) to that team's feed: ResidentMatched,
// which goes to the team that registered the intake and to each team that works with the
// resident or household. Intake's other events name residents' intakes and households, and go
// to no partner's feed.
func FeedRecipients() outbox.FeedRouter {
	return func(_ context.Context, subject, _ string, _ proto.Message) (outbox.Recipients, error) {
		if t := strings.Split(subject, "."); len(t) == 6 && t[2] == "feedback" {
			return outbox.Recipients{OINs: []string{t[3]}}, nil
		}
		return outbox.Recipients{}, nil
	}
}
