package service_test

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	subscriptionsv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// hook is one request a webhook receiver got.
type hook struct {
	header http.Header
	body   []byte
	env    cloudevents.Envelope
	status int
}

// receiver is a partner's HTTPS endpoint (a real TLS server on loopback) that answers 204, or
// the status set with fail.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []hook
	code int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{code: http.StatusNoContent}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		env, _ := cloudevents.FromHTTP(req.Header, body)
		r.mu.Lock()
		code := r.code
		r.got = append(r.got, hook{header: req.Header.Clone(), body: body, env: env, status: code})
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) fail(code int) { r.mu.Lock(); r.code = code; r.mu.Unlock() }

func (r *receiver) all() []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// acceptedEvents returns the events the receiver acknowledged, each once (the first
// acknowledged copy), in the order they arrived.
func (r *receiver) acceptedEvents() []cloudevents.Envelope {
	seen := map[string]bool{}
	var out []cloudevents.Envelope
	for _, h := range r.all() {
		if h.status/100 == 2 && !seen[h.env.ID] {
			seen[h.env.ID] = true
			out = append(out, h.env)
		}
	}
	return out
}

// accepted is acceptedEvents by aggregate (ce-subject).
func (r *receiver) accepted() []string {
	var out []string
	for _, e := range r.acceptedEvents() {
		out = append(out, e.Subject)
	}
	return out
}

func (r *receiver) waitAccepted(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.accepted(); len(got) >= n {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the receiver acknowledged %v, want %d events", r.accepted(), n)
	return nil
}

// TestWebhookSubscriptions: a webhook subscription gets its partner's feed as signed
// CloudEvents over HTTPS; a receiver that is down is retried with back-off and then paused
// (visible in the API); resuming delivers the backlog in order; another partner never gets
// the first's events; a bad endpoint is refused naming the field.
func TestWebhookSubscriptions(t *testing.T) {
	mine, theirs := newReceiver(t), newReceiver(t)
	caFile := filepath.Join(t.TempDir(), "receivers.pem")
	var bundle []byte
	for _, r := range []*receiver{mine, theirs} {
		bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})...)
	}
	if err := os.WriteFile(caFile, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WIJKBRUG_WEBHOOK_CA", caFile)
	t.Setenv("WIJKBRUG_WEBHOOK_ALLOW_LOOPBACK", "true") // the receivers run on 127.0.0.1
	t.Setenv("WIJKBRUG_WEBHOOK_MAX_FAILURES", "3")
	t.Setenv("WIJKBRUG_WEBHOOK_RETRY_BASE", "100ms")
	t.Setenv("WIJKBRUG_WEBHOOK_RETRY_MAX", "400ms")
	h := start(t)
	h.env.NATS.AddPartner(t, housing)
	h.env.NATS.AddPartner(t, otherHousing)
	subs := subscriptionsv1.NewSubscriptionServiceClient(h.env.Client(t, h.s.Addr, housing))
	otherSubs := subscriptionsv1.NewSubscriptionServiceClient(h.env.Client(t, h.s.Addr, otherHousing))

	create := &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "hook-1", StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL,
		Webhook: &subscriptionsv1.Webhook{Url: mine.srv.URL + "/wijkbrug/events"}}
	created, err := subs.CreateSubscription(h.ctx, create)
	if err != nil {
		t.Fatalf("create webhook subscription: %v", err)
	}
	secret := created.GetWebhookSecret()
	if !strings.HasPrefix(secret, "whsec_") || created.GetConnection() != nil ||
		created.GetSubscription().GetWebhook().GetStatus() != subscriptionsv1.WebhookStatus_WEBHOOK_STATUS_ACTIVE {
		t.Fatalf("create answered %v", created)
	}
	again, err := subs.CreateSubscription(h.ctx, create)
	if err != nil || again.GetWebhookSecret() != secret || again.GetSubscription().GetSubscriptionId() != created.GetSubscription().GetSubscriptionId() {
		t.Fatalf("a retried create must give the same subscription and secret: %v %v", again, err)
	}
	if n := h.count(t, `SELECT count(*) FROM feed_webhooks WHERE position($1::bytea IN secret) > 0`, []byte(secret)); n != 0 {
		t.Fatal("the signing secret is stored in the clear")
	}
	// The same partner also holds a NATS subscription to its feed, from the start: the webhook
	// must get exactly the events it gets, in the same order.
	natsSub, err := subs.CreateSubscription(h.ctx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "nats-1",
		StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL})
	if err != nil || natsSub.GetConnection() == nil {
		t.Fatalf("create NATS subscription: %v %v", natsSub, err)
	}
	if _, err := otherSubs.CreateSubscription(h.ctx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "hook-2",
		Webhook: &subscriptionsv1.Webhook{Url: theirs.srv.URL}}); err != nil {
		t.Fatalf("the other partner's webhook subscription: %v", err)
	}
	signal := func(c referralv1.ReferralServiceClient) string {
		t.Helper()
		s, err := c.SubmitSignal(h.ctx, arrearsSignal(h.key()))
		if err != nil {
			t.Fatalf("submit signal: %v", err)
		}
		return s.GetSignalId()
	}
	hc, other := h.client(t, housing), h.client(t, otherHousing)

	t.Run("delivered as a signed CloudEvent", func(t *testing.T) {
		first := signal(hc)
		if got := mine.waitAccepted(t, 1); got[0] != first {
			t.Fatalf("first delivery is about %v, want signal %s", got, first)
		}
		d := mine.all()[0]
		verifier, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifier.Verify(d.body, d.header); err != nil {
			t.Fatalf("signature does not verify with the reference implementation: %v", err)
		}
		tampered := append(slices.Clone(d.body), 0)
		if verifier.Verify(tampered, d.header) == nil {
			t.Fatal("a tampered body verifies")
		}
		if d.header.Get("webhook-id") != d.env.ID || d.header.Get("Content-Type") != cloudevents.ContentType ||
			d.env.Type != cloudevents.TypeOf(&referralv1.SignalReceived{}) || d.env.Source != "urn:wijkbrug:referral" {
			t.Fatalf("headers %v", d.header)
		}
		var ev referralv1.SignalReceived
		if err := proto.Unmarshal(d.body, &ev); err != nil || ev.GetSignalId() != first {
			t.Fatalf("payload %v %v", &ev, err)
		}
	})

	t.Run("another partner never gets the first's events", func(t *testing.T) {
		theirsSignal := signal(other)
		got := theirs.waitAccepted(t, 1)
		if len(got) != 1 || got[0] != theirsSignal {
			t.Fatalf("the other partner got %v, want only its signal %s", got, theirsSignal)
		}
		time.Sleep(300 * time.Millisecond)
		if slices.Contains(mine.accepted(), theirsSignal) {
			t.Fatal("the first partner got the other's event")
		}
	})

	var backlog []string
	t.Run("receiver down: retried with back-off, then paused", func(t *testing.T) {
		mine.fail(http.StatusServiceUnavailable)
		before := len(mine.all())
		backlog = append(backlog, signal(hc), signal(hc))
		var w *subscriptionsv1.WebhookDelivery
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			hookSub := webhookOf(t, subs, h.ctx)
			w = hookSub.GetWebhook()
			if w.GetStatus() == subscriptionsv1.WebhookStatus_WEBHOOK_STATUS_PAUSED_FAILING {
				if !hookSub.GetPaused() {
					t.Fatal("a subscription paused for failures must show paused")
				}
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if w.GetStatus() != subscriptionsv1.WebhookStatus_WEBHOOK_STATUS_PAUSED_FAILING || w.GetConsecutiveFailures() != 3 ||
			!strings.Contains(w.GetLastError(), "503") || w.GetNextAttemptAt() != nil || w.GetMaxFailures() != 3 {
			t.Fatalf("webhook state %v", w)
		}
		attempts := mine.all()[before:]
		if len(attempts) != 3 {
			t.Fatalf("%d attempts while failing, want 3", len(attempts))
		}
		for _, a := range attempts {
			if a.env.Subject != backlog[0] || a.env.ID != attempts[0].env.ID {
				t.Fatalf("a retry must repeat the first undelivered event (same ce-id): %v", a.env)
			}
		}
		if gap := attempts[2].header.Get("webhook-timestamp"); gap == "" {
			t.Fatal("no timestamp")
		}
		time.Sleep(500 * time.Millisecond)
		if n := len(mine.all()) - before; n != 3 {
			t.Fatalf("a paused subscription was tried again (%d attempts)", n)
		}
		backlog = append(backlog, signal(hc)) // the feed keeps filling while paused
	})

	t.Run("resumed: the backlog arrives in order", func(t *testing.T) {
		mine.fail(http.StatusOK)
		resumed, err := subs.PauseSubscription(h.ctx, &subscriptionsv1.PauseSubscriptionRequest{IdempotencyKey: "resume-1",
			SubscriptionId: created.GetSubscription().GetSubscriptionId(), Paused: false})
		if err != nil || resumed.GetSubscription().GetWebhook().GetStatus() != subscriptionsv1.WebhookStatus_WEBHOOK_STATUS_ACTIVE {
			t.Fatalf("resume: %v %v", resumed, err)
		}
		got := mine.waitAccepted(t, 1+len(backlog))
		if !slices.Equal(got[1:], backlog) {
			t.Fatalf("after resuming the receiver got %v, want %v in that order", got[1:], backlog)
		}
		// The deliverer records a delivery just after the endpoint answered.
		var sub *subscriptionsv1.Subscription
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if sub = webhookOf(t, subs, h.ctx); sub.GetWebhook().GetDelivered() >= uint64(1+len(backlog)) {
				break
			}
		}
		w := sub.GetWebhook()
		if w.GetConsecutiveFailures() != 0 || w.GetLastError() != "" || w.GetDelivered() < uint64(1+len(backlog)) || sub.GetPaused() ||
			w.GetLastDeliveredAt() == nil {
			t.Fatalf("after the backlog: %v", sub)
		}
	})

	t.Run("the webhook got exactly what the NATS subscription holds", func(t *testing.T) {
		conn := natsSub.GetConnection()
		nc := h.env.NATS.Connect(t, housing, strings.TrimPrefix(conn.GetInboxPrefix(), natsx.InboxPrefix("")))
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		cons, err := js.Consumer(h.ctx, conn.GetStream(), conn.GetConsumer())
		if err != nil {
			t.Fatalf("open the NATS subscription: %v", err)
		}
		var viaNATS []string
		for {
			batch, err := cons.Fetch(100, jetstream.FetchMaxWait(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for m := range batch.Messages() {
				n++
				env, err := cloudevents.FromMsg(m.Subject(), m.Headers(), m.Data())
				if err != nil {
					t.Fatal(err)
				}
				viaNATS = append(viaNATS, env.ID)
				if err := m.Ack(); err != nil {
					t.Fatal(err)
				}
			}
			if n == 0 {
				break
			}
		}
		var viaHook []string
		for _, e := range mine.acceptedEvents() {
			viaHook = append(viaHook, e.ID)
		}
		if len(viaNATS) < 4 || !slices.Equal(viaHook, viaNATS) {
			t.Fatalf("webhook got %v\nNATS subscription holds %v", viaHook, viaNATS)
		}
	})

	t.Run("a bad endpoint is refused naming the field", func(t *testing.T) {
		for _, u := range []string{"http://partner.example.nl/hook", "https://10.1.2.3/hook", "https://169.254.169.254/latest", "ftp://x", "https://user:pw@partner.example.nl/", ""} {
			_, err := subs.CreateSubscription(h.ctx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "bad-" + u, Webhook: &subscriptionsv1.Webhook{Url: u}})
			if v := violations(t, err); !v["webhook.url"] {
				t.Errorf("%q: violations %v", u, v)
			}
		}
	})

	// After its retention a key's stored answer is gone: the same request again gets the
	// subscription it made (a create whose answer was lost), another request with the key is
	// refused naming it, not answered with the old subscription (probe C, thirty-fourth session).
	t.Run("a key whose stored answer is gone", func(t *testing.T) {
		forget := func(key string) {
			t.Helper()
			if _, err := h.s.Pool.Exec(h.ctx, `DELETE FROM idempotency_keys WHERE method LIKE '%/CreateSubscription' AND key = $1`, key); err != nil {
				t.Fatal(err)
			}
		}
		natsReq := &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "nats-1", StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL}
		hookReq := create
		for _, c := range []struct {
			name  string
			same  *subscriptionsv1.CreateSubscriptionRequest
			other *subscriptionsv1.CreateSubscriptionRequest
			id    string
		}{
			{"NATS", natsReq, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "nats-1", StartPoint: subscriptionsv1.StartPoint_START_POINT_NEW},
				natsSub.GetSubscription().GetSubscriptionId()},
			{"NATS, other event types", natsReq, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "nats-1", StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL,
				EventTypes: []string{"wijkbrug.referral.v1.SignalFedBack"}}, natsSub.GetSubscription().GetSubscriptionId()},
			{"webhook, other endpoint", hookReq, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "hook-1", StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL,
				Webhook: &subscriptionsv1.Webhook{Url: theirs.srv.URL + "/elsewhere"}}, created.GetSubscription().GetSubscriptionId()},
		} {
			forget(c.same.GetIdempotencyKey())
			_, err := subs.CreateSubscription(h.ctx, c.other)
			if v := violations(t, err); !v["idempotency_key"] || !strings.Contains(fmt.Sprint(status.Convert(err).Details()), c.id) {
				t.Errorf("%s: another request with a forgotten key: %v, want idempotency_key refused naming %s", c.name, err, c.id)
			}
			again, err := subs.CreateSubscription(h.ctx, c.same)
			if err != nil || again.GetSubscription().GetSubscriptionId() != c.id {
				t.Errorf("%s: the same request with a forgotten key: %v %v, want subscription %s", c.name, again, err, c.id)
			}
		}
	})
}

// webhookOf is the partner's one webhook subscription, as ListSubscriptions shows it.
func webhookOf(t *testing.T, subs subscriptionsv1.SubscriptionServiceClient, ctx context.Context) *subscriptionsv1.Subscription {
	t.Helper()
	list, err := subs.ListSubscriptions(ctx, &subscriptionsv1.ListSubscriptionsRequest{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var out *subscriptionsv1.Subscription
	for _, s := range list.GetSubscriptions() {
		if s.GetWebhook() != nil {
			if out != nil {
				t.Fatalf("two webhook subscriptions: %v", list)
			}
			out = s
		}
	}
	if out == nil {
		t.Fatalf("no webhook subscription: %v", list)
	}
	return out
}

// TestSubscriptionsAnswerUnavailableWithoutNATS: with the broker gone, every subscription call
// answers UNAVAILABLE with RetryInfo within seconds. List, pause and delete had waited for the
// caller's whole deadline and ended DEADLINE_EXCEEDED (probe B, thirty-fourth session).
func TestSubscriptionsAnswerUnavailableWithoutNATS(t *testing.T) {
	h := start(t)
	h.env.NATS.AddPartner(t, housing)
	subs := subscriptionsv1.NewSubscriptionServiceClient(h.env.Client(t, h.s.Addr, housing))
	made, err := subs.CreateSubscription(h.ctx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "before", StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL})
	if err != nil {
		t.Fatal(err)
	}
	id := made.GetSubscription().GetSubscriptionId()
	h.env.NATS.Stop()
	calls := map[string]func(context.Context) error{
		"ListSubscriptions": func(ctx context.Context) error {
			_, err := subs.ListSubscriptions(ctx, &subscriptionsv1.ListSubscriptionsRequest{})
			return err
		},
		"PauseSubscription": func(ctx context.Context) error {
			_, err := subs.PauseSubscription(ctx, &subscriptionsv1.PauseSubscriptionRequest{IdempotencyKey: "p", SubscriptionId: id, Paused: true})
			return err
		},
		"DeleteSubscription": func(ctx context.Context) error {
			_, err := subs.DeleteSubscription(ctx, &subscriptionsv1.DeleteSubscriptionRequest{IdempotencyKey: "d", SubscriptionId: id})
			return err
		},
		"CreateSubscription": func(ctx context.Context) error {
			_, err := subs.CreateSubscription(ctx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "during", StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL})
			return err
		},
	}
	var wg sync.WaitGroup
	for name, call := range calls { // at once: each waits for the broker's timeout
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			began := time.Now()
			err := call(metadata.NewOutgoingContext(ctx, actingMD(h.ctx)))
			if took := time.Since(began); status.Code(err) != codes.Unavailable || took > 10*time.Second || !hasRetryInfo(err) {
				t.Errorf("%s without NATS: %v after %s, want UNAVAILABLE with RetryInfo within seconds", name, err, took.Round(time.Millisecond))
			}
		})
	}
	wg.Wait()
}

// actingMD is the acting-user metadata of ctx, for a context with a deadline of its own.
func actingMD(ctx context.Context) metadata.MD {
	md, _ := metadata.FromOutgoingContext(ctx)
	return md
}

func hasRetryInfo(err error) bool {
	for _, d := range status.Convert(err).Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			return true
		}
	}
	return false
}
