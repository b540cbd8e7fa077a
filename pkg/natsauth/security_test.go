package natsauth_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestConnectionsWithoutAValidCertificateAreRefused(t *testing.T) {
	n := testkit.NewNATS(t)
	url := n.ClientURL()
	noRetry := []nats.Option{nats.NoReconnect(), nats.Timeout(3 * time.Second)}

	t.Run("anonymous", func(t *testing.T) {
		// TLS towards a server we trust, but no client certificate.
		_, err := nats.Connect(url, append(noRetry, nats.Secure(&tls.Config{MinVersion: tls.VersionTLS13, RootCAs: n.CA.Pool()}))...)
		if err == nil {
			t.Fatal("a connection without a client certificate was accepted")
		}
	})
	t.Run("other CA", func(t *testing.T) {
		other := testkit.NewCA(t)
		cert, _, _, err := other.IssueService(testkit.ServiceOrg("referral"), nil, nil) // a known DN, the wrong issuer
		if err != nil {
			t.Fatal(err)
		}
		_, err = nats.Connect(url, append(noRetry, nats.Secure(&tls.Config{MinVersion: tls.VersionTLS13,
			Certificates: []tls.Certificate{cert}, RootCAs: n.CA.Pool()}))...)
		if err == nil {
			t.Fatal("a certificate from another CA was accepted")
		}
	})
	t.Run("unknown organisation", func(t *testing.T) {
		// The right CA, but an organisation that was never given event-plane access.
		_, err := nats.Connect(url, append(noRetry, nats.Secure(n.ClientTLS(t, testkit.Org(identity.OrgGP, "Unknown practice"))))...)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Fatalf("an unknown organisation got in: %v", err)
		}
	})
	t.Run("plaintext", func(t *testing.T) {
		// Speak the NATS protocol without TLS, as an old client would.
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "tls://"), 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(conn)
		info, err := r.ReadString('\n')
		if err != nil || !strings.Contains(info, `"tls_required":true`) {
			t.Fatalf("INFO %q, %v: the server must announce that TLS is required", info, err)
		}
		_, _ = conn.Write([]byte("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n"))
		line, _ := r.ReadString('\n')
		if strings.HasPrefix(line, "PONG") {
			t.Fatal("a plaintext client was answered")
		}
		if _, err := r.ReadString('\n'); err == nil && !strings.HasPrefix(line, "-ERR") {
			t.Fatalf("plaintext connection still open after %q", line)
		}
	})
	t.Run("a service with its own certificate", func(t *testing.T) {
		if nc := n.ConnectService(t, "referral"); !nc.IsConnected() {
			t.Fatal("the referral service cannot connect")
		}
	})
}

// probe is a connection that records the permission violations the server reports to it.
type probe struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	mu   sync.Mutex
	errs []string
	wake chan struct{}
}

func connectProbe(t *testing.T, n *testkit.NATS, org devca.Org, inbox string, opts ...nats.Option) *probe {
	t.Helper()
	p := &probe{wake: make(chan struct{}, 1)}
	p.nc = n.Connect(t, org, inbox, append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		p.mu.Lock()
		p.errs = append(p.errs, err.Error())
		p.mu.Unlock()
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}))...)
	var err error
	if p.js, err = jetstream.New(p.nc); err != nil {
		t.Fatal(err)
	}
	return p
}

// request is op for denied: a raw request on subject with body.
func (p *probe) request(subject string, body []byte) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := p.nc.RequestWithContext(ctx, subject, body)
		return err
	}
}

// denied runs op, which must fail, and waits for the server's permission violation naming
// subject: the refusal comes from NATS, not from a timeout or a client-side check.
func (p *probe) denied(t *testing.T, subject string, op func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if err := op(ctx); err == nil {
		t.Fatalf("allowed: %s", subject)
	}
	deadline := time.After(3 * time.Second)
	for {
		p.mu.Lock()
		for _, e := range p.errs {
			if strings.Contains(e, "Permissions Violation") && strings.Contains(e, `"`+subject+`"`) {
				p.mu.Unlock()
				return
			}
		}
		seen := strings.Join(p.errs, "; ")
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no permission violation for %s reported by the server (saw: %s)", subject, seen)
		}
	}
}

func (p *probe) deniedSubscribe(t *testing.T, subject string) {
	t.Helper()
	p.denied(t, subject, func(ctx context.Context) error {
		sub, err := p.nc.SubscribeSync(subject)
		if err != nil {
			return err
		}
		defer sub.Unsubscribe()
		if err := p.nc.FlushWithContext(ctx); err != nil {
			return err
		}
		_, err = sub.NextMsgWithContext(ctx)
		return err
	})
}

func feedEvent(oin, id string) *nats.Msg {
	m := cloudevents.Envelope{ID: id, Source: "urn:wijkbrug:referral", Type: "wijkbrug.referral.v1.SignalFedBack",
		Time: time.Now(), Subject: id, NATSSubject: natsx.FeedSubject(oin, "wijkbrug.referral.v1.SignalFedBack")}.ToMsg()
	m.Header.Set(nats.MsgIdHdr, id+":"+oin)
	return m
}

// eventPlane has the referral service's stream, the feed stream and two partners' feeds, each
// holding one event.
func eventPlane(t *testing.T) (n *testkit.NATS, a, b devca.Org) {
	t.Helper()
	n = testkit.NewNATS(t)
	a, b = testkit.Org(identity.OrgGP, "Practice A"), testkit.Org(identity.OrgGP, "Practice B")
	n.AddPartner(t, a)
	n.AddPartner(t, b)
	js, err := jetstream.New(n.ConnectService(t, "referral"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := natsx.EnsureStream(ctx, js, "referral", 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.EnsureFeedStream(ctx, js, 1, nil); err != nil {
		t.Fatal(err)
	}
	for i, org := range []devca.Org{a, b} {
		if _, err := natsx.EnsurePartnerStream(ctx, js, org.OIN, 1, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, feedEvent(org.OIN, []string{"ev-a", "ev-b"}[i])); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.Publish(ctx, "wijkbrug.referral.GM0363.signal.received", []byte("x")); err != nil {
		t.Fatal(err)
	}
	return n, a, b
}

// subscription makes the durable pull consumer of a subscription on oin's feed as the feed
// manager does (pkg/feed): partners no longer create consumers themselves.
func subscription(t *testing.T, n *testkit.NATS, oin, name, filter string) {
	t.Helper()
	svc, err := jetstream.New(n.ConnectService(t, "referral"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := svc.CreateConsumer(ctx, natsx.PartnerStream(oin), jetstream.ConsumerConfig{Durable: name, FilterSubject: filter,
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxAckPending: 256, DeliverPolicy: jetstream.DeliverAllPolicy}); err != nil {
		t.Fatal(err)
	}
}

// fetchOneAcked fetches one event of the subscription sub on stream through js, acknowledges it
// (waiting for the broker's confirmation) and checks that it is the event with id want; it
// returns the subscription's consumer for more.
func fetchOneAcked(t *testing.T, ctx context.Context, js jetstream.JetStream, stream, sub, want string) jetstream.Consumer {
	t.Helper()
	cons, err := js.Consumer(ctx, stream, sub)
	if err != nil {
		t.Fatalf("the partner cannot use its subscription: %v", err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, m.Headers().Get(cloudevents.HeaderID))
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	if err := batch.Error(); err != nil || len(got) != 1 || got[0] != want {
		t.Fatalf("the partner fetched %v (%v), want [%s]", got, err, want)
	}
	return cons
}

// waitForMsgs waits until stream holds at least want messages (a partner's feed stream takes
// its events over from the shared feed stream asynchronously).
func waitForMsgs(t *testing.T, js jetstream.JetStream, stream string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := js.Stream(ctx, stream)
		cancel()
		if err == nil && st.CachedInfo().State.Msgs >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s did not reach %d messages: %v", stream, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPartnerReadsOnlyItsOwnFeed(t *testing.T) {
	n, a, b := eventPlane(t)
	const sub = "sub-00000000000000a1"
	subscription(t, n, a.OIN, sub, "")
	p := connectProbe(t, n, a, a.OIN)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ownStream := natsx.PartnerStream(a.OIN)

	// What it may do: see its own feed stream, read it through its subscription's consumer
	// (pull, acknowledge), and get single messages of it by sequence.
	own, err := p.js.Stream(ctx, ownStream)
	if err != nil {
		t.Fatalf("partner cannot see its own feed: %v", err)
	}
	cons, err := p.js.Consumer(ctx, ownStream, sub)
	if err != nil {
		t.Fatalf("partner cannot see its subscription: %v", err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatalf("partner cannot read its own feed: %v", err)
	}
	if msg.Headers().Get(cloudevents.HeaderID) != "ev-a" {
		t.Fatalf("partner A read %q", msg.Headers().Get(cloudevents.HeaderID))
	}
	if err := msg.DoubleAck(ctx); err != nil {
		t.Fatalf("partner cannot acknowledge: %v", err)
	}
	raw, err := own.GetMsg(ctx, 1)
	if err != nil || raw.Header.Get(cloudevents.HeaderID) != "ev-a" {
		t.Fatalf("partner cannot get a message of its own feed: %v", err)
	}

	// A consumer named, with several filters, in the request only (the API subject without a
	// name: nats.js's form for filter_subjects), as nats.js sends it.
	createBody := func(stream, name string) []byte {
		b, _ := json.Marshal(map[string]any{"stream_name": stream, "config": map[string]any{
			"name": name, "ack_policy": "none", "deliver_policy": "all", "inactive_threshold": int64(time.Minute),
			"filter_subjects": []string{natsx.FeedSubject(a.OIN, "wijkbrug.referral.v1.SignalFedBack"), natsx.FeedSubject(a.OIN, "wijkbrug.referral.v1.ReferralStatusChanged")}}})
		return b
	}

	bStream, referral := natsx.PartnerStream(b.OIN), natsx.StreamName("referral")
	createConsumer := func(stream, name, filter string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := p.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Name: name, FilterSubject: filter})
			return err
		}
	}
	// Creating a consumer, even on its own feed: a consumer's configuration can name a deliver
	// subject, where the broker would publish in the WIJKBRUG account. Subscriptions are made
	// through the Subscriptions API.
	t.Run("cannot create a consumer on its own feed", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.CONSUMER.CREATE."+ownStream+".mine", createConsumer(ownStream, "mine", ""))
	})
	t.Run("cannot create a consumer on its own feed named in the request only", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.CONSUMER.CREATE."+ownStream, p.request("$JS.API.CONSUMER.CREATE."+ownStream, createBody(ownStream, "two-filters")))
	})
	t.Run("cannot create a push consumer delivering into the account", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.CONSUMER.CREATE."+ownStream+".pusher", func(ctx context.Context) error {
			_, err := p.js.CreateOrUpdateConsumer(ctx, ownStream, jetstream.ConsumerConfig{Name: "pusher",
				DeliverSubject: "wijkbrug.referral.GM0363.signal.received"})
			return err
		})
	})
	t.Run("cannot pause its subscription behind the API's back", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.CONSUMER.PAUSE."+ownStream+"."+sub, func(ctx context.Context) error {
			_, err := p.js.PauseConsumer(ctx, ownStream, sub, time.Now().Add(time.Hour))
			return err
		})
	})
	t.Run("cannot get a message from B's feed", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.STREAM.MSG.GET."+bStream, p.request("$JS.API.STREAM.MSG.GET."+bStream, []byte(`{"seq":1}`)))
	})
	t.Run("cannot read B's feed stream", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.STREAM.INFO."+bStream, func(ctx context.Context) error { _, err := p.js.Stream(ctx, bStream); return err })
	})
	t.Run("cannot consume B's feed", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.CONSUMER.CREATE."+bStream+".peek", createConsumer(bStream, "peek", ""))
	})
	t.Run("cannot consume B's feed with a consumer named in the request only", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.CONSUMER.CREATE."+bStream, p.request("$JS.API.CONSUMER.CREATE."+bStream, createBody(bStream, "peek-b")))
	})
	t.Run("cannot fetch from B's subscriptions", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.CONSUMER.MSG.NEXT."+bStream+".sub-1", p.request("$JS.API.CONSUMER.MSG.NEXT."+bStream+".sub-1", []byte(`{"batch":1}`)))
	})
	t.Run("cannot subscribe to B's feed subjects", func(t *testing.T) {
		t.Parallel()
		p.deniedSubscribe(t, natsx.FeedRoot+"."+b.OIN+".>")
	})
	t.Run("cannot listen on another identity's inbox", func(t *testing.T) {
		t.Parallel()
		p.deniedSubscribe(t, natsx.InboxPrefix(b.OIN)+".>")
	})
	t.Run("cannot read a service stream", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.CONSUMER.CREATE."+referral+".peek", createConsumer(referral, "peek", ""))
	})
	t.Run("cannot get a message from a service stream", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.STREAM.MSG.GET."+referral, p.request("$JS.API.STREAM.MSG.GET."+referral, []byte(`{"seq":1}`)))
	})
	t.Run("cannot subscribe to service subjects", func(t *testing.T) {
		t.Parallel()
		p.deniedSubscribe(t, "wijkbrug.referral.>")
	})
	t.Run("cannot publish on a service subject", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "wijkbrug.referral.GM0363.signal.received", func(ctx context.Context) error {
			_, err := p.js.Publish(ctx, "wijkbrug.referral.GM0363.signal.received", []byte("forged"))
			return err
		})
	})
	t.Run("cannot publish into a feed", func(t *testing.T) {
		t.Parallel()
		subject := natsx.FeedSubject(a.OIN, "wijkbrug.referral.v1.SignalFedBack")
		p.denied(t, subject, func(ctx context.Context) error { _, err := p.js.Publish(ctx, subject, []byte("forged")); return err })
	})
	t.Run("cannot create a stream", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.STREAM.CREATE.MINE", func(ctx context.Context) error {
			_, err := p.js.CreateStream(ctx, jetstream.StreamConfig{Name: "MINE", Subjects: []string{"mine.>"}})
			return err
		})
	})
	t.Run("cannot purge a stream", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.STREAM.PURGE."+natsx.PartnerStream(a.OIN), p.request("$JS.API.STREAM.PURGE."+natsx.PartnerStream(a.OIN), nil))
	})
	t.Run("cannot delete a stream", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.STREAM.DELETE."+referral, func(ctx context.Context) error { return p.js.DeleteStream(ctx, referral) })
	})
	t.Run("cannot create a consumer outside its feed", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.CONSUMER.CREATE."+natsx.FeedStream+".wide."+natsx.FeedRoot+".>",
			createConsumer(natsx.FeedStream, "wide", natsx.FeedRoot+".>"))
	})
	t.Run("cannot delete a consumer", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.CONSUMER.DELETE."+natsx.PartnerStream(a.OIN)+"."+sub, func(ctx context.Context) error {
			return p.js.DeleteConsumer(ctx, natsx.PartnerStream(a.OIN), sub)
		})
	})
	t.Run("cannot read account information", func(t *testing.T) {
		t.Parallel()
		p.denied(t, "$JS.API.INFO", func(ctx context.Context) error { _, err := p.js.AccountInfo(ctx); return err })
	})
}

func TestServicesPublishOnlyTheirOwnEvents(t *testing.T) {
	n, a, _ := eventPlane(t)
	intake := connectProbe(t, n, testkit.ServiceOrg("intake"), "intake")
	observer, err := jetstream.New(n.ConnectObserver(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	referral := natsx.StreamName("referral")
	before, err := observer.Stream(ctx, referral)
	if err != nil {
		t.Fatal(err)
	}
	was := before.CachedInfo().State.Msgs

	t.Run("refused", func(t *testing.T) {
		t.Run("a forged signal.received is refused", func(t *testing.T) {
			t.Parallel()
			intake.denied(t, "wijkbrug.referral.GM0363.signal.received", func(ctx context.Context) error {
				m := cloudevents.Envelope{ID: "forged-1", Source: "urn:wijkbrug:referral", Type: "wijkbrug.referral.v1.SignalReceived",
					Time: time.Now(), Subject: "x", NATSSubject: "wijkbrug.referral.GM0363.signal.received"}.ToMsg()
				_, err := intake.js.PublishMsg(ctx, m)
				return err
			})
		})
		t.Run("a forged feed event in another service's name is refused", func(t *testing.T) {
			t.Parallel()
			subject := natsx.FeedSubject(a.OIN, "wijkbrug.referral.v1.SignalFedBack")
			intake.denied(t, subject, func(ctx context.Context) error { _, err := intake.js.Publish(ctx, subject, nil); return err })
		})
		t.Run("cannot take over another service's durable consumer", func(t *testing.T) {
			t.Parallel()
			intake.denied(t, "$JS.API.CONSUMER.CREATE."+natsx.StreamName("intake")+".referral-intake-events", func(ctx context.Context) error {
				_, err := intake.js.CreateOrUpdateConsumer(ctx, natsx.StreamName("intake"), jetstream.ConsumerConfig{Durable: "referral-intake-events",
					FilterSubjects: []string{"wijkbrug.intake.a.>", "wijkbrug.intake.b.>"}})
				return err
			})
		})
		t.Run("cannot delete another service's stream", func(t *testing.T) {
			t.Parallel()
			intake.denied(t, "$JS.API.STREAM.DELETE."+referral, func(ctx context.Context) error { return intake.js.DeleteStream(ctx, referral) })
		})
		t.Run("cannot source another stream into its own (a stream update)", func(t *testing.T) {
			t.Parallel()
			own := natsx.StreamName("intake")
			if _, err := natsx.EnsureStream(context.Background(), intake.js, "intake", 1, nil); err != nil {
				t.Fatal(err)
			}
			intake.denied(t, "$JS.API.STREAM.UPDATE."+own, func(ctx context.Context) error {
				_, err := intake.js.UpdateStream(ctx, jetstream.StreamConfig{Name: own, Subjects: []string{"wijkbrug.intake.>"},
					Sources: []*jetstream.StreamSource{{Name: natsx.PartnerStream(a.OIN)}}})
				return err
			})
		})
		t.Run("cannot cut or seal the shared checkpoint stream", func(t *testing.T) {
			t.Parallel()
			if _, err := logstore.EnsureCheckpointStream(context.Background(), intake.js, 1, nil); err != nil {
				t.Fatal(err)
			}
			intake.denied(t, "$JS.API.STREAM.UPDATE."+natsauth.CheckpointStream, func(ctx context.Context) error {
				_, err := intake.js.UpdateStream(ctx, jetstream.StreamConfig{Name: natsauth.CheckpointStream,
					Subjects: []string{natsauth.CheckpointSubjectPrefix + ">"}, MaxMsgsPerSubject: 1, Sealed: true, DenyDelete: true, DenyPurge: true})
				return err
			})
		})
		t.Run("cannot read a partner's feed", func(t *testing.T) {
			t.Parallel()
			intake.denied(t, "$JS.API.STREAM.INFO."+natsx.PartnerStream(a.OIN), func(ctx context.Context) error {
				_, err := intake.js.Stream(ctx, natsx.PartnerStream(a.OIN))
				return err
			})
		})
	})
	t.Run("may consume with its own durable", func(t *testing.T) {
		_, err := intake.js.CreateOrUpdateConsumer(ctx, referral, jetstream.ConsumerConfig{Durable: "intake-signals",
			FilterSubjects: []string{"wijkbrug.referral.*.signal.received"}, AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			t.Fatal(err)
		}
	})
	after, err := observer.Stream(ctx, referral)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.CachedInfo().State.Msgs; got != was {
		t.Fatalf("referral stream went from %d to %d messages: something forged got in", was, got)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("timed out")
	}
}

// Operations read the service streams through consumers of their own; the services' durables
// are theirs alone: pulling from one would take events away from the service (acknowledged,
// never handled), creating it anew would change its configuration.
func TestObserversCannotUseTheServicesDurables(t *testing.T) {
	n, _, _ := eventPlane(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	referral := natsx.StreamName("referral")
	intake, err := jetstream.New(n.ConnectService(t, "intake"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := intake.CreateOrUpdateConsumer(ctx, referral, jetstream.ConsumerConfig{Durable: "intake-signals",
		FilterSubjects: []string{"wijkbrug.referral.*.signal.received"}, AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	ops := connectProbe(t, n, testkit.ObserverOrg, natsauth.ObserverInbox)
	t.Run("cannot pull from a service's durable", func(t *testing.T) {
		subject := "$JS.API.CONSUMER.MSG.NEXT." + referral + ".intake-signals"
		ops.denied(t, subject, func(ctx context.Context) error {
			msg, err := ops.nc.RequestWithContext(ctx, subject, []byte(`{"batch":1,"expires":500000000}`))
			if err == nil && msg.Header.Get("Status") == "" && len(msg.Data) > 0 {
				return nil
			}
			return errors.New("no message")
		})
	})
	t.Run("cannot create or update a service's durable", func(t *testing.T) {
		ops.denied(t, "$JS.API.CONSUMER.CREATE."+referral+".intake-signals.wijkbrug.referral.*.signal.received", func(ctx context.Context) error {
			_, err := ops.js.CreateOrUpdateConsumer(ctx, referral, jetstream.ConsumerConfig{Durable: "intake-signals",
				Description: "changed by operations", FilterSubject: "wijkbrug.referral.*.signal.received", AckPolicy: jetstream.AckExplicitPolicy})
			return err
		})
	})
	t.Run("may read a service's durable's state and use a consumer of its own", func(t *testing.T) {
		if _, err := ops.js.Consumer(ctx, referral, "intake-signals"); err != nil {
			t.Fatalf("consumer info: %v", err)
		}
		c, err := ops.js.OrderedConsumer(ctx, referral, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Next(jetstream.FetchMaxWait(5 * time.Second)); err != nil {
			t.Fatalf("read the stream through an ordered consumer: %v", err)
		}
	})
	info, err := intake.Consumer(ctx, referral, "intake-signals")
	if err != nil {
		t.Fatal(err)
	}
	if c := info.CachedInfo(); c.NumPending != 1 || c.Delivered.Consumer != 0 || c.Config.Description != "" {
		t.Fatalf("the service's durable was touched: pending %d, delivered %d, description %q", c.NumPending, c.Delivered.Consumer, c.Config.Description)
	}
}

// TestPartnerRepliesDoNotReachTheJetStreamAPI: NATS checks the subjects a partner publishes
// on, not the reply subject of its request nor a consumer's deliver subject, and JetStream
// answers a pull request, or delivers to a push consumer, from an internal client that no
// permission limits. Up to nats-server 2.15.2 a pull request on the partner's own feed that
// found nothing was answered "404 No Messages" (an empty body) on its reply subject, and a reply
// subject $JS.API.STREAM.DELETE.<stream> made that answer a request of the account to delete
// the stream (the hostile-integrator probe of the thirty-seventh session deleted the referral
// stream, another partner's subscription and the access-log checkpoints so). nats-server 2.15.3
// refuses a JetStream subject as a client's reply subject and as a deliver subject; this test
// fails on 2.15.2.
func TestPartnerRepliesDoNotReachTheJetStreamAPI(t *testing.T) {
	n, a, b := eventPlane(t)
	p := connectProbe(t, n, a, a.OIN)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	own := natsx.PartnerStream(a.OIN)
	// Subscriptions as the feed manager makes them: one of A's that holds nothing, one of B's.
	subscription(t, n, a.OIN, "nothing", natsx.FeedSubject(a.OIN, "wijkbrug.referral.v1.ConsentRecorded"))
	subscription(t, n, b.OIN, "b-reads", "")
	svc, err := jetstream.New(n.ConnectService(t, "referral"))
	if err != nil {
		t.Fatal(err)
	}
	pull := func(reply string) {
		t.Helper()
		m := nats.NewMsg("$JS.API.CONSUMER.MSG.NEXT." + own + ".nothing")
		m.Reply, m.Data = reply, []byte(`{"batch":1,"no_wait":true}`)
		if err := p.nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
		if err := p.nc.FlushWithContext(ctx); err != nil {
			t.Fatal(err)
		}
	}
	targets := []string{natsx.StreamName("referral"), natsx.FeedStream, natsx.PartnerStream(b.OIN)}
	for _, target := range targets {
		pull("$JS.API.STREAM.DELETE." + target)
	}
	pull("$JS.API.CONSUMER.DELETE." + natsx.PartnerStream(b.OIN) + ".b-reads")
	// A push consumer's deliver subject (idle heartbeats, flow control) is refused as well (and
	// since partners have accounts of their own, creating any consumer is).
	cctx, ccancel := context.WithTimeout(ctx, 2*time.Second) // a denied request is not answered
	if _, err := p.js.CreateOrUpdateConsumer(cctx, own, jetstream.ConsumerConfig{Name: "pusher", AckPolicy: jetstream.AckExplicitPolicy,
		DeliverSubject: "$JS.API.STREAM.DELETE." + natsx.StreamName("referral"), InactiveThreshold: time.Minute}); err == nil {
		t.Error("a push consumer delivering into the JetStream API was created")
	}
	ccancel()
	time.Sleep(2 * time.Second) // the answers, had they been requests, are handled by now
	for _, target := range targets {
		if _, err := svc.Stream(ctx, target); err != nil {
			t.Errorf("stream %s after partner A's pull requests: %v", target, err)
		}
	}
	if _, err := svc.Consumer(ctx, natsx.PartnerStream(b.OIN), "b-reads"); err != nil {
		t.Errorf("partner B's consumer after partner A's pull request: %v", err)
	}
}

// TestPartnerRepliesStayInItsOwnAccount: whatever reply subject a partner gives its pull
// request, the broker's answers (an empty "404 No Messages", a "408 Request Timeout", or an
// event) stay in the partner's own account: nothing reaches a service stream, the shared feed or
// another partner's feed. On the one-account model of before the thirty-seventh session a
// no-wait pull whose reply subject was a referral event subject stored the "404" in
// WIJKBRUG_REFERRAL, and one naming another partner's feed subject stored it in WIJKBRUG_FEED and
// that partner's feed stream; with each partner in an account of its own, reaching its feed
// through service imports, the reply is mapped and routed back into the partner's account.
func TestPartnerRepliesStayInItsOwnAccount(t *testing.T) {
	n, a, b := eventPlane(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	svc, err := jetstream.New(n.ConnectService(t, "referral"))
	if err != nil {
		t.Fatal(err)
	}
	own := natsx.PartnerStream(a.OIN)
	// A subscription as the feed manager makes it (pkg/feed): a durable pull consumer on A's feed.
	const sub = "sub-0123456789abcdef"
	subscription(t, n, a.OIN, sub, "")
	p := connectProbe(t, n, a, a.OIN)
	ackFloor := func() uint64 {
		t.Helper()
		c, err := svc.Consumer(ctx, own, sub)
		if err != nil {
			t.Fatal(err)
		}
		return c.CachedInfo().AckFloor.Consumer
	}

	// A reads its event through nats.go and acknowledges it.
	cons := fetchOneAcked(t, ctx, p.js, own, sub, "ev-a")
	if f := ackFloor(); f != 1 {
		t.Fatalf("ack floor %d after A's ack, want 1", f)
	}

	streams := []string{natsx.StreamName("referral"), natsx.FeedStream, natsx.PartnerStream(b.OIN)}
	counts := func() map[string]uint64 {
		t.Helper()
		out := map[string]uint64{}
		for _, s := range streams {
			st, err := svc.Stream(ctx, s)
			if err != nil {
				t.Fatalf("stream %s: %v", s, err)
			}
			out[s] = st.CachedInfo().State.Msgs
		}
		return out
	}
	waitForMsgs(t, svc, natsx.PartnerStream(b.OIN), 1) // B's feed has taken over its event
	before := counts()

	// The hostile pulls: nothing is pending on A's subscription, so the broker answers each with
	// a status message (404 at once, 408 when the request expires) on the reply subject.
	pull := func(reply, body string) {
		t.Helper()
		m := nats.NewMsg("$JS.API.CONSUMER.MSG.NEXT." + own + "." + sub)
		m.Reply, m.Data = reply, []byte(body)
		if err := p.nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
		if err := p.nc.FlushWithContext(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, reply := range []string{
		"wijkbrug.referral.GM0363.signal.received",                     // a service event subject
		natsx.FeedSubject(b.OIN, "wijkbrug.referral.v1.SignalFedBack"), // B's feed subject
		"$JS.API.STREAM.DELETE." + natsx.StreamName("referral"),        // the JetStream API
	} {
		pull(reply, `{"batch":1,"no_wait":true}`)
		pull(reply, `{"batch":1,"expires":200000000}`)
	}
	time.Sleep(1500 * time.Millisecond) // the 408s are sent after 200 ms; stored by now had they gone anywhere
	after := counts()
	for _, s := range streams {
		if after[s] != before[s] {
			t.Errorf("stream %s went from %d to %d messages after partner A's pull requests", s, before[s], after[s])
		}
	}

	// A still receives its own events, and its acknowledgements count.
	js := svc
	if _, err := js.PublishMsg(ctx, feedEvent(a.OIN, "ev-a2")); err != nil {
		t.Fatal(err)
	}
	received := make(chan string, 4)
	it, err := cons.Messages()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	go func() {
		for {
			m, err := it.Next()
			if err != nil {
				return
			}
			if err := m.DoubleAck(ctx); err != nil {
				received <- "ack failed: " + err.Error()
				return
			}
			received <- m.Headers().Get(cloudevents.HeaderID)
		}
	}()
	select {
	case id := <-received:
		if id != "ev-a2" {
			t.Fatalf("partner A received %q, want ev-a2", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("partner A did not receive its next event")
	}
	if f := ackFloor(); f != 2 {
		t.Fatalf("ack floor %d after A's second ack, want 2", f)
	}
}

// TestAPartnerAddedByAReloadReadsItsFeedAtOnce: adding a partner is one entry in the model and a
// configuration reload. nats-server sets up the service imports of an account a reload
// introduces only at the next reload, so the partner's requests had no responders until then;
// embeddednats applies such a reload twice (docs/operations.md has operators do the same).
func TestAPartnerAddedByAReloadReadsItsFeedAtOnce(t *testing.T) {
	n := testkit.NewNATS(t)
	svc, err := jetstream.New(n.ConnectService(t, "referral"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := natsx.EnsureFeedStream(ctx, svc, 1, nil); err != nil {
		t.Fatal(err)
	}
	a := testkit.Org(identity.OrgGP, "Practice added later")
	n.AddPartner(t, a) // the only reload: the one that adds it
	if _, err := natsx.EnsurePartnerStream(ctx, svc, a.OIN, 1, nil); err != nil {
		t.Fatal(err)
	}
	p, err := jetstream.New(n.Connect(t, a, a.OIN))
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
	defer scancel()
	if _, err := p.Stream(sctx, natsx.PartnerStream(a.OIN)); err != nil {
		t.Fatalf("a partner added by a reload cannot see its feed: %v", err)
	}
}
