package feed

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// A refusal by the broker's permissions is "no access to the event plane yet" only for the
// organisation whose feed it names. The referral service's connection (and so its last error)
// is shared by every organisation's calls: after an organisation without access was refused,
// another organisation's failure for any other reason is UNAVAILABLE, not that answer (the
// hostile-integrator probe, thirty-seventh session).
func TestOnlyTheRefusedOrganisationHasNoAccess(t *testing.T) {
	n := testkit.NewNATS(t)
	configured, unconfigured := testkit.Org(identity.OrgHousingCorporation, "Woonstichting"), testkit.Org(identity.OrgHousingCorporation, "Woonbedrijf")
	n.AddPartner(t, configured)
	js, err := jetstream.New(n.ConnectService(t, "referral"))
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager(js, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The service may not create the feed of an organisation the operator has not configured.
	_, err = m.Create(ctx, unconfigured.OIN, "sub-1", Spec{})
	if !apperr.IsKind(err, apperr.KindFailedPrecondition) {
		t.Fatalf("a subscription of an organisation without access: want FAILED_PRECONDITION (no access yet), got %v", err)
	}
	if got := m.classify(errors.New("nats: timeout"), configured.OIN, "the subscription"); !apperr.IsKind(got, apperr.KindUnavailable) {
		t.Fatalf("another organisation's timeout after that refusal: want UNAVAILABLE, got %v", got)
	}
}
