package feed

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestCheckWebhookURL(t *testing.T) {
	ok := []string{"https://partner.example.nl/wijkbrug/events", "https://partner.example.nl:8443/h?x=1", "https://partner.example.nl:443/h",
		"https://8.8.8.8/hook", "https://[2a00:1450:4001::1]/h", "https://[2a00:1450:4001::1]:8443/h"}
	for _, u := range ok {
		if _, err := CheckWebhookURL(u, false); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	bad := []string{"", "http://partner.example.nl/", "ftp://partner.example.nl/", "https://user:pw@partner.example.nl/",
		"https://partner.example.nl/#frag", "https:///nohost", "partner.example.nl/hook", "https://intranet/hook",
		"https://localhost/hook", "https://127.0.0.1/hook", "https://[::1]/hook", "https://10.0.0.1/", "https://192.168.1.1/",
		"https://172.16.0.1/", "https://169.254.169.254/latest/meta-data", "https://100.64.0.1/", "https://0.0.0.0/",
		"https://[fd00::1]/", "https://[fe80::1]/", "https://[::ffff:10.0.0.1]/", "https://[64:ff9b::a00:1]/",
		"https://[::7f00:1]/", "https://[::ffff:0:a9fe:a9fe]/",
		"https://partner.example.nl:0/", "https://partner.example.nl:99999/", "https://" + strings.Repeat("a", 2050) + ".nl/"}
	for _, u := range bad {
		_, err := CheckWebhookURL(u, false)
		e, isApp := apperr.As(err)
		if !isApp || e.Kind != apperr.KindInvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "webhook.url" {
			t.Errorf("%q: %v", u, err)
		}
	}
	// Ports other than 443 and 8443: the deployment's NetworkPolicy lets referral reach no
	// other, so every delivery would fail and the subscription end paused.
	for _, u := range []string{"https://partner.example.nl:9443/wijkbrug/events", "https://8.8.8.8:80/h", "https://[2a00:1450:4001::1]:4443/h"} {
		_, err := CheckWebhookURL(u, false)
		e, isApp := apperr.As(err)
		if !isApp || e.Kind != apperr.KindInvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "webhook.url" ||
			!strings.Contains(e.Violations[0].Description, "443 or 8443") {
			t.Errorf("%q: %v", u, err)
		}
	}
	// Development and tests: loopback only, never other internal addresses; a loopback
	// endpoint on any port, a public one on the production ports only (integrators.md).
	for _, u := range []string{"https://127.0.0.1:8443/h", "https://localhost:8443/h", "https://[::1]:8443/h", "https://127.0.0.1:40123/h",
		"https://localhost:40123/h", "https://partner.example.nl:8443/h"} {
		if _, err := CheckWebhookURL(u, true); err != nil {
			t.Errorf("%s refused with loopback allowed: %v", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1/h", "https://10.0.0.1/h", "https://169.254.169.254/", "https://partner.example.nl:9443/h"} {
		if _, err := CheckWebhookURL(u, true); err == nil {
			t.Errorf("%s accepted with loopback allowed", u)
		}
	}
}

func TestAddressAllowed(t *testing.T) {
	for _, s := range []string{"8.8.8.8", "145.21.1.1", "2a00:1450:4001::1"} {
		if !AddressAllowed(netip.MustParseAddr(s), false) {
			t.Errorf("%s refused", s)
		}
	}
	for _, s := range []string{"127.0.0.1", "::1", "10.1.1.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.100.100.200",
		"0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "fc00::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:192.168.1.1", "64:ff9b::7f00:1",
		"2002:7f00:1::", "198.18.0.1",
		// IPv4 inside IPv6 in the forms Unmap does not turn back into IPv4: IPv4-compatible
		// (::/96, deprecated) and IPv4-translated (SIIT, ::ffff:0:0:0/96).
		"::7f00:1", "::a9fe:a9fe", "::ffff:0:7f00:1", "::ffff:0:a9fe:a9fe"} {
		if AddressAllowed(netip.MustParseAddr(s), false) {
			t.Errorf("%s allowed", s)
		}
	}
	if !AddressAllowed(netip.MustParseAddr("127.0.0.1"), true) || AddressAllowed(netip.MustParseAddr("10.0.0.1"), true) {
		t.Error("allowLoopback admits loopback only")
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := Backoff(i+1, time.Second, 10*time.Second); got != w {
			t.Errorf("failure %d: %s, want %s", i+1, got, w)
		}
	}
	if Backoff(200, time.Second, time.Minute) != time.Minute {
		t.Error("no cap for many failures")
	}
}

// TestClientRefusesInternalAddresses: the check at dial time holds whatever the URL's host
// name resolves to (a registered name re-pointed at an internal address, DNS rebinding).
func TestClientRefusesInternalAddresses(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	call := func(allowLoopback bool) error {
		c := newWebhookClient(WebhookConfig{AllowLoopback: allowLoopback, RootCAs: roots}.withDefaults())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
		resp, err := c.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
	if err := call(false); err == nil || !strings.Contains(err.Error(), "refused to connect to internal address") {
		t.Fatalf("production client reached a loopback address: %v", err)
	}
	if err := call(true); err != nil {
		t.Fatalf("development client: %v", err)
	}
	if p := deliveryProblem(call(false)); p != "refused: the endpoint's host name resolves to an internal address" {
		t.Fatalf("the partner reads %q", p)
	}
}

// What a partner reads of a failed delivery names its endpoint's problem, never the
// platform's network (a probe read the internal DNS resolver's address off its subscription).
func TestDeliveryProblemKeepsThePlatformsNetworkOut(t *testing.T) {
	refused := func() error {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		_, err = net.Dial("tcp", addr)
		return err
	}()
	for err, want := range map[error]string{
		fmt.Errorf("delivery failed: %w", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "localhost.", Server: "10.255.255.53:53", IsNotFound: true}}): "the endpoint's host name localhost. does not resolve",
		fmt.Errorf("delivery failed: %w", refused):                  "the endpoint refused the connection",
		fmt.Errorf("delivery failed: %w", context.DeadlineExceeded): "the endpoint did not answer in time",
		errors.New("endpoint answered HTTP 500"):                    "endpoint answered HTTP 500",
	} {
		got := deliveryProblem(err)
		if got != want || strings.Contains(got, "10.255") || strings.Contains(got, "127.0.0.1") {
			t.Errorf("%v: partner reads %q, want %q", err, got, want)
		}
	}
}

// webhookMigration is the migration of the feed manager's service (referral) that makes the
// feed_webhooks table: the test runs its Up part, so the table cannot drift from it.
const webhookMigration = "../../services/referral/migrations/00003_feed_webhooks.sql"

func webhookTable() (string, error) {
	b, err := os.ReadFile(webhookMigration)
	if err != nil {
		return "", err
	}
	up, _, _ := strings.Cut(string(b), "-- +goose Down")
	return strings.TrimPrefix(up, "-- +goose Up"), nil
}

// deliveryHarness is the feed manager's delivery on real infrastructure: a PostgreSQL database
// with the feed_webhooks table, an embedded NATS server with the production permissions (the
// manager connects as the referral service), and partners' HTTPS endpoints on loopback.
type deliveryHarness struct {
	t    *testing.T
	ctx  context.Context
	db   *pgxdb.DB
	js   jetstream.JetStream
	seal *bsn.Protector
	m    *Manager
	orgs []string
	seq  int
}

func newDeliveryHarness(t *testing.T) *deliveryHarness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	dsn := testkit.NewDatabase(t, "feed_webhooks", func(ctx context.Context, dsn string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		table, err := webhookTable()
		if err != nil {
			return err
		}
		_, err = conn.Exec(ctx, table)
		return err
	})
	db, err := pgxdb.Open(ctx, dsn, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	n := testkit.NewNATS(t)
	var orgs []string
	for _, name := range []string{"Woonstede slow", "Huisartsen healthy"} {
		org := testkit.Org(identity.OrgHousingCorporation, name)
		n.AddPartner(t, org)
		orgs = append(orgs, org.OIN)
	}
	js, err := jetstream.New(n.ConnectService(t, natsauth.FeedManager))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.EnsureFeedStream(ctx, js, 1, nil); err != nil {
		t.Fatal(err)
	}
	key := func(b byte) []byte { return []byte(strings.Repeat(string(rune('a'+b)), 32)) }
	seal, err := bsn.NewProtector(bsn.Keys{Encryption: key(0), Index: key(1), Pseudonym: key(2)})
	if err != nil {
		t.Fatal(err)
	}
	return &deliveryHarness{t: t, ctx: ctx, db: db, js: js, seal: seal, m: NewManager(js, 1, nil), orgs: orgs}
}

// deliverer starts one replica's deliverer (Run) with cfg for endpoints; it is stopped, and
// must have returned, when the test ends.
func (h *deliveryHarness) deliverer(cfg WebhookConfig, endpoints ...*endpoint) *Webhooks {
	h.t.Helper()
	roots := x509.NewCertPool()
	for _, e := range endpoints {
		roots.AddCert(e.srv.Certificate())
	}
	cfg.AllowLoopback, cfg.RootCAs, cfg.Poll = true, roots, 100*time.Millisecond
	w := NewWebhooks(h.db, h.js, h.seal, cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			h.t.Error("the deliverer did not stop")
		}
	})
	return w
}

// subscribe makes a webhook subscription of partner org (an index of h.orgs) to e.
func (h *deliveryHarness) subscribe(w *Webhooks, org int, e *endpoint) {
	h.t.Helper()
	h.seq++
	id := SubscriptionID(h.orgs[org], fmt.Sprint("hook-", h.seq))
	url := e.srv.URL + "/wijkbrug/events"
	if _, err := h.m.WithWebhooks(w).Create(h.ctx, h.orgs[org], id, Spec{Start: StartAll, WebhookURL: url}); err != nil {
		h.t.Fatalf("create subscription: %v", err)
	}
	if err := w.insert(h.ctx, id, h.orgs[org], url, NewWebhookSecret()); err != nil {
		h.t.Fatal(err)
	}
}

// publish puts an event with ce-id id on the feed of partner org, as the outbox relay does.
func (h *deliveryHarness) publish(org int, id string) {
	h.t.Helper()
	env := cloudevents.Envelope{ID: id, Source: "urn:wijkbrug:referral", Type: "wijkbrug.referral.v1.SignalReceived",
		Time: time.Now(), Subject: id, NATSSubject: natsx.FeedSubject(h.orgs[org], "wijkbrug.referral.v1.SignalReceived"), Data: []byte(id)}
	if _, err := h.js.PublishMsg(h.ctx, env.ToMsg()); err != nil {
		h.t.Fatalf("publish: %v", err)
	}
}

// endpoint is a partner's HTTPS endpoint on loopback that answers 204 after delay.
type endpoint struct {
	srv                   *httptest.Server
	delay                 time.Duration
	started               chan string // the ce-id of each request as it arrives
	mu                    sync.Mutex
	got                   []string    // ce-ids answered 204, in order
	answered              []time.Time // when each was answered
	inFlight, maxInFlight int
}

func newEndpoint(t *testing.T, delay time.Duration) *endpoint {
	e := &endpoint{delay: delay, started: make(chan string, 100)}
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		e.mu.Lock()
		e.inFlight++
		e.maxInFlight = max(e.maxInFlight, e.inFlight)
		e.mu.Unlock()
		e.started <- id
		select {
		case <-time.After(e.delay):
		case <-r.Context().Done(): // the deliverer stopped
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		e.inFlight--
		if r.Context().Err() != nil {
			return
		}
		e.got, e.answered = append(e.got, id), append(e.answered, time.Now())
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// wait returns the ce-ids answered and when, once there are n, failing the test after limit.
func (e *endpoint) wait(t *testing.T, n int, limit time.Duration) ([]string, []time.Time) {
	t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(10 * time.Millisecond) {
		e.mu.Lock()
		got, at := slices.Clone(e.got), slices.Clone(e.answered)
		e.mu.Unlock()
		if len(got) >= n {
			return got, at
		}
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint answered %v within %s, want %d events", got, limit, n)
		}
	}
}

func (e *endpoint) waitStarted(t *testing.T, id string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case got := <-e.started:
			if got == id {
				return
			}
		case <-timeout:
			t.Fatalf("no request for %s", id)
		}
	}
}

// TestWebhookSlowEndpointDelaysOnlyItself: a partner's endpoint that takes seconds to answer
// holds up its own subscription only. Healthy subscriptions of the same and of another partner
// get their events while it is still answering, and the slow one still gets its events one at
// a time, in order, also with a second replica delivering.
func TestWebhookSlowEndpointDelaysOnlyItself(t *testing.T) {
	const slowFor = 3 * time.Second
	h := newDeliveryHarness(t)
	slow, sameOrg, otherOrg := newEndpoint(t, slowFor), newEndpoint(t, 0), newEndpoint(t, 0)
	w := h.deliverer(WebhookConfig{}, slow, sameOrg, otherOrg)
	h.subscribe(w, 0, slow)
	h.subscribe(w, 0, sameOrg)
	h.subscribe(w, 1, otherOrg)

	h.publish(0, "a1")
	slow.waitStarted(t, "a1") // the slow endpoint is busy with a1 for slowFor
	published := time.Now()
	h.publish(0, "a2")
	h.publish(1, "b1")
	gotSame, atSame := sameOrg.wait(t, 2, 15*time.Second)
	gotOther, atOther := otherOrg.wait(t, 1, 15*time.Second)
	_, atSlow := slow.wait(t, 1, 15*time.Second)
	if !slices.Equal(gotSame, []string{"a1", "a2"}) || !slices.Equal(gotOther, []string{"b1"}) {
		t.Fatalf("healthy endpoints got %v and %v", gotSame, gotOther)
	}
	t.Logf("healthy endpoints got the events %s and %s after publishing; the slow endpoint answered after %s",
		atSame[1].Sub(published), atOther[0].Sub(published), atSlow[0].Sub(published))
	if !atSame[1].Before(atSlow[0]) || !atOther[0].Before(atSlow[0]) {
		t.Fatal("healthy subscriptions waited for the slow endpoint")
	}

	// A second replica: the slow subscription is still delivered once at a time, in order.
	h.deliverer(WebhookConfig{}, slow, sameOrg, otherOrg)
	h.publish(0, "a3")
	gotSlow, _ := slow.wait(t, 3, 3*slowFor+10*time.Second)
	slow.mu.Lock()
	inFlight := slow.maxInFlight
	slow.mu.Unlock()
	if !slices.Equal(gotSlow, []string{"a1", "a2", "a3"}) || inFlight != 1 {
		t.Fatalf("the slow endpoint got %v, %d at once; want a1, a2, a3 one at a time", gotSlow, inFlight)
	}
}

// TestWebhookConcurrencyBound: the deliveries of one replica are bounded. With one slot, a
// healthy subscription waits while the slow endpoint holds it (docs/integrators.md: it takes
// as many slow endpoints as there are slots to delay the others).
func TestWebhookConcurrencyBound(t *testing.T) {
	const slowFor = 2 * time.Second
	h := newDeliveryHarness(t)
	slow, healthy := newEndpoint(t, slowFor), newEndpoint(t, 0)
	w := h.deliverer(WebhookConfig{Concurrency: 1}, slow, healthy)
	h.subscribe(w, 0, slow)
	h.subscribe(w, 1, healthy)
	h.publish(0, "a1")
	slow.waitStarted(t, "a1")
	h.publish(1, "b1")
	_, atHealthy := healthy.wait(t, 1, 15*time.Second)
	_, atSlow := slow.wait(t, 1, 15*time.Second)
	if atHealthy[0].Before(atSlow[0]) {
		t.Fatal("two deliveries ran at once with one slot")
	}
}
