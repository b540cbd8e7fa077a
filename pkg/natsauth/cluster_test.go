package natsauth_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// TestAPartnerAddedByAReloadReadsItsFeedOnTheCluster: production runs the event plane as a
// 3-node JetStream cluster with streams of three replicas. A partner added there by a rolling
// reload (each node in turn) reads its feed through whichever node it reaches: the stream's
// information on every node, an event pulled and acknowledged on one, and after a reconnect to
// another node the next event — while the stream's and the subscription's leaders may sit on
// a third. (nats-server issue 8560 reports route interest lost for an account a reload
// introduced on a node that learnt of it after its peers; docs/decisions.md, "Partners in
// accounts of their own".)
func TestAPartnerAddedByAReloadReadsItsFeedOnTheCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a 3-node JetStream cluster")
	}
	c := testkit.NewNATSCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	svc, err := jetstream.New(c.Nodes[0].ConnectService(t, "referral"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.EnsureStream(ctx, svc, "referral", 3, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.EnsureFeedStream(ctx, svc, 3, nil); err != nil {
		t.Fatal(err)
	}

	a := testkit.Org(identity.OrgGP, "Practice added to the cluster")
	c.AddPartner(t, a)
	own := natsx.PartnerStream(a.OIN)
	if _, err := natsx.EnsurePartnerStream(ctx, svc, a.OIN, 3, nil); err != nil {
		t.Fatal(err)
	}
	const sub = "sub-00000000000000c1"
	if _, err := svc.CreateConsumer(ctx, own, jetstream.ConsumerConfig{Durable: sub, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 30 * time.Second, MaxAckPending: 256, DeliverPolicy: jetstream.DeliverAllPolicy, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ev-1", "ev-2"} {
		if _, err := svc.PublishMsg(ctx, feedEvent(a.OIN, id)); err != nil {
			t.Fatal(err)
		}
	}
	waitForMsgs(t, svc, own, 2)

	// Each connection stays on the node it was made to: without this a client refused by one
	// node moves on to the others the cluster told it about.
	pinned := nats.IgnoreDiscoveredServers()

	// The stream's information through every node.
	for i, n := range c.Nodes {
		nc := n.Connect(t, a, a.OIN, pinned)
		if got := nc.ConnectedServerName(); got != n.NATSServer().Name() {
			t.Fatalf("connected to %s, want %s", got, n.NATSServer().Name())
		}
		p, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := p.Stream(sctx, own)
		scancel()
		if err != nil {
			t.Fatalf("node n%d: the partner cannot see its feed: %v", i+1, err)
		}
		if got := st.CachedInfo().State.Msgs; got != 2 {
			t.Errorf("node n%d: the partner's feed holds %d events, want 2", i+1, got)
		}
	}

	// One event through n2, acknowledged; the next through n3 on a new connection.
	fetchOne := func(node int, want string) {
		t.Helper()
		nc := c.Nodes[node].Connect(t, a, a.OIN, pinned)
		defer nc.Close()
		if got := nc.ConnectedServerName(); got != c.Nodes[node].NATSServer().Name() {
			t.Fatalf("connected to %s, want %s", got, c.Nodes[node].NATSServer().Name())
		}
		p, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		fetchOneAcked(t, ctx, p, own, sub, want)
	}
	fetchOne(1, "ev-1")
	fetchOne(2, "ev-2")
	info, err := svc.Consumer(ctx, own, sub)
	if err != nil {
		t.Fatal(err)
	}
	if f := info.CachedInfo().AckFloor.Consumer; f != 2 {
		t.Errorf("ack floor %d after both acks, want 2", f)
	}

	// Still confined on the cluster: another partner's feed is refused on every node.
	b := testkit.Org(identity.OrgGP, "Practice B on the cluster")
	c.AddPartner(t, b)
	if _, err := natsx.EnsurePartnerStream(ctx, svc, b.OIN, 3, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		p := connectProbe(t, n, a, a.OIN, pinned)
		subject := "$JS.API.STREAM.INFO." + natsx.PartnerStream(b.OIN)
		p.denied(t, subject, p.request(subject, nil))
	}
}
