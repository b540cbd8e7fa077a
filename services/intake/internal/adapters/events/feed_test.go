package events

import (
	"context"
	"slices"
	"testing"

	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"google.golang.org/protobuf/proto"
)

// A match reaches each team's feed from its own feedback subject; intake's events about
// intakes and households reach no partner's feed.
func TestOnlyFeedbackGoesToATeamsFeed(t *testing.T) {
	route := FeedRecipients()
	const team = "00000001000000000100"
	for _, c := range []struct {
		subject string
		event   proto.Message
		want    []string
	}{
		{"wijkbrug.intake.feedback." + team + ".resident.matched", &intakev1.ResidentMatched{}, []string{team}},
		{"wijkbrug.intake.GM0363.intake.received", &intakev1.IntakeReceived{TeamOin: team}, nil},
		{"wijkbrug.intake.GM0363.household.created", &intakev1.HouseholdCreated{}, nil},
	} {
		got, err := route(context.Background(), c.subject, "7c0e7a4e-4f5b-4a39-9a4a-3f0b1c9d2e11", c.event)
		if err != nil || !slices.Equal(got.OINs, c.want) || got.Query != "" {
			t.Errorf("%s: %+v %v, want %v", c.subject, got, err, c.want)
		}
	}
}
