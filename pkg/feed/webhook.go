package feed

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/encrypted"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// Webhook delivery: a subscription may push its events to an HTTPS endpoint of the partner
// instead of being pulled over NATS. The delivery position is the subscription's durable
// JetStream consumer (MaxAckPending 1, so one event is in flight and the order is the feed's);
// an event is acknowledged on the stream only after the endpoint answered 2xx, so nothing is
// lost across restarts, and a repeat carries the same ce-id / webhook-id. The endpoint, the
// sealed signing secret and the delivery state are kept in the feed_webhooks table of the
// feed manager's database.

// Webhook statuses (feed_webhooks.status).
const (
	WebhookActive        = "ACTIVE"
	WebhookPausedFailing = "PAUSED_FAILING"
	WebhookPaused        = "PAUSED"
)

// MaxWebhookURLLength bounds an endpoint URL.
const MaxWebhookURLLength = 2048

// DefaultWebhookConcurrency is how many webhook subscriptions one replica delivers at once
// unless WebhookConfig.Concurrency says otherwise.
const DefaultWebhookConcurrency = 8

// webhookAckWait is the ack deadline of a webhook subscription's consumer: longer than one
// delivery attempt, so an event is redelivered only when its deliverer died.
const webhookAckWait = time.Minute

// leaseFor is how long one deliverer holds a subscription; a pass ends well before it.
const leaseFor = time.Minute

// passFor bounds one delivery pass over a subscription (then others get their turn).
const passFor = 15 * time.Second

// WebhookConfig is the delivery configuration.
type WebhookConfig struct {
	// AllowLoopback lets endpoints on loopback addresses (127.0.0.0/8, ::1, localhost) be
	// used: development and tests only. Private, link-local and other internal addresses are
	// refused always.
	AllowLoopback bool
	// MaxFailures consecutive failures pause a subscription (PAUSED_FAILING).
	MaxFailures int
	// RetryBase is the first back-off after a failure; it doubles up to RetryMax.
	RetryBase, RetryMax time.Duration
	// Timeout of one delivery (connect, TLS, request and response).
	Timeout time.Duration
	// RootCAs verify the endpoints' server certificates (nil = the system roots).
	RootCAs *x509.CertPool
	// ClientCertificates are offered to endpoints that ask for a client certificate (the
	// feed manager's own service certificate: mutual TLS for partners who want it).
	ClientCertificates []tls.Certificate
	// Poll is how often an idle subscription is looked at for new events.
	Poll time.Duration
	// Concurrency bounds the delivery passes this replica runs at once (one per subscription,
	// each with at most one request in flight); a free slot takes the next due subscription.
	Concurrency int
}

func (c WebhookConfig) withDefaults() WebhookConfig {
	if c.MaxFailures <= 0 {
		c.MaxFailures = 8
	}
	if c.RetryBase <= 0 {
		c.RetryBase = time.Second
	}
	if c.RetryMax < c.RetryBase {
		c.RetryMax = max(c.RetryBase, 10*time.Minute)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultWebhookConcurrency
	}
	return c
}

// Backoff is the wait before the next attempt after n consecutive failures (n ≥ 1):
// base, 2·base, 4·base … capped at max.
func Backoff(n int, base, maxWait time.Duration) time.Duration {
	if n < 1 {
		n = 1
	}
	f := float64(base) * math.Pow(2, float64(n-1))
	if f > float64(maxWait) {
		return maxWait
	}
	return time.Duration(f)
}

// WebhookPorts are the ports a webhook endpoint may use: the deployment's NetworkPolicy
// (deploy/base/networkpolicy.yaml, wijkbrug-webhooks) lets referral reach only these, so a
// subscription to any other port would fail every delivery and end paused. deploy/validate
// checks that the policy's egress ports include them.
var WebhookPorts = []int{443, 8443}

var webhookPortRule = func() string {
	ports := make([]string, len(WebhookPorts))
	for i, p := range WebhookPorts {
		ports[i] = strconv.Itoa(p)
	}
	return "port must be " + strings.Join(ports, " or ") + " (none given = 443): Wijkbrug's network reaches partners' endpoints on these ports only"
}()

// CheckWebhookURL validates an endpoint URL (the field is webhook.url) and returns it
// normalised. The rule: https only; a host name or a public IP address; port 443 (none
// given) or 8443 (WebhookPorts); no user info, no fragment; at most MaxWebhookURLLength
// characters. Loopback hosts, on any port, only when allowLoopback (development and tests,
// whose receivers listen on ports of their own); a public host keeps the port rule then too.
// A host name is checked again when it is dialled (every resolved address must be public),
// so DNS cannot point a registered name at an internal address later.
func CheckWebhookURL(raw string, allowLoopback bool) (string, error) {
	const field = "webhook.url"
	if raw == "" {
		return "", apperr.Invalid(field, "required for a webhook subscription")
	}
	if len(raw) > MaxWebhookURLLength {
		return "", apperr.Invalid(field, "at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return "", apperr.Invalid(field, "an absolute URL such as https://partner.example.nl/wijkbrug/events")
	}
	if u.Scheme != "https" {
		return "", apperr.Invalid(field, "must be https (events are never pushed over plaintext)")
	}
	if u.User != nil {
		return "", apperr.Invalid(field, "must not contain user info (the deliveries are signed instead)")
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return "", apperr.Invalid(field, "must not contain a fragment")
	}
	host := u.Hostname()
	if host == "" {
		return "", apperr.Invalid(field, "must name a host")
	}
	lowerHost := strings.ToLower(strings.TrimSuffix(host, "."))
	ip, ipErr := netip.ParseAddr(host)
	// Only a loopback endpoint (development and tests) may use another port: a public host in
	// development is what it will be in production, where only WebhookPorts get out.
	loopbackHost := allowLoopback && ((ipErr == nil && ip.Unmap().IsLoopback()) || lowerHost == "localhost" || strings.HasSuffix(lowerHost, ".localhost"))
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", apperr.Invalid(field, "port must be 1-65535")
		}
		if !loopbackHost && !slices.Contains(WebhookPorts, n) {
			return "", apperr.Invalid(field, webhookPortRule)
		}
	}
	if ipErr == nil {
		if !AddressAllowed(ip, allowLoopback) {
			return "", apperr.Invalid(field, "must be a public address (no loopback, private, link-local or other internal address)")
		}
	} else {
		lower := lowerHost
		if lower == "localhost" || strings.HasSuffix(lower, ".localhost") {
			if !allowLoopback {
				return "", apperr.Invalid(field, "must be a public address (no loopback, private, link-local or other internal address)")
			}
		} else if !strings.Contains(lower, ".") {
			return "", apperr.Invalid(field, "must be a fully qualified host name")
		}
	}
	return u.String(), nil
}

// internal address ranges beyond what netip's predicates cover.
var internalPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // carrier-grade NAT
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved, broadcast
		"::/96",           // IPv4-compatible (deprecated; ::7f00:1 is 127.0.0.1), :: and ::1 included
		"::ffff:0:0:0/96", // IPv4-translated (SIIT, RFC 2765): an IPv4 address behind a translator
		"64:ff9b::/96",    // NAT64 (reaches IPv4 addresses through a translator)
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard
		"2001::/23",       // IETF protocol assignments (Teredo, ORCHID …)
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4 (embeds IPv4 addresses)
		"fec0::/10",       // site-local (deprecated)
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// AddressAllowed reports whether a webhook may be delivered to ip: a public unicast address,
// or a loopback address when allowLoopback (development and tests).
func AddressAllowed(ip netip.Addr, allowLoopback bool) bool {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return false
	}
	if ip.IsLoopback() {
		return allowLoopback
	}
	if ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsUnspecified() || !ip.IsGlobalUnicast() {
		return false
	}
	for _, p := range internalPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// NewWebhookSecret returns a fresh signing secret in the Standard Webhooks form whsec_<base64>.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// Webhook is a webhook subscription's row.
type Webhook struct {
	SubscriptionID, OIN, URL, Status, LastError string
	Failures                                    int
	LastAttemptAt, NextAttemptAt, LastDelivered time.Time
	Delivered                                   uint64
	sealed                                      []byte
}

// Webhooks stores webhook subscriptions and delivers them.
type Webhooks struct {
	db      *pgxdb.DB
	js      jetstream.JetStream
	seal    *bsn.Protector
	cfg     WebhookConfig
	client  *http.Client
	log     *slog.Logger
	metrics *webhookMetrics
}

// NewWebhooks returns the webhook store and deliverer of the feed manager. reg may be nil.
func NewWebhooks(db *pgxdb.DB, js jetstream.JetStream, seal *bsn.Protector, cfg WebhookConfig, reg prometheus.Registerer, log *slog.Logger) *Webhooks {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.Default()
	}
	return &Webhooks{db: db, js: js, seal: seal, cfg: cfg, client: newWebhookClient(cfg), log: log, metrics: newWebhookMetrics(reg)}
}

// MaxFailures is the configured number of consecutive failures that pauses a subscription.
func (w *Webhooks) MaxFailures() int { return w.cfg.MaxFailures }

// AllowLoopback reports whether loopback endpoints are allowed (development and tests).
func (w *Webhooks) AllowLoopback() bool { return w.cfg.AllowLoopback }

// newWebhookClient is the HTTP client of deliveries: no proxy from the environment, no
// redirects, every dialled address checked (so a name that resolves to an internal address is
// refused at connection time, also after DNS changed), TLS 1.2 or newer with verified server
// certificates, and the service's certificate offered to endpoints that ask for one.
func newWebhookClient(cfg WebhookConfig) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("webhook: unexpected address %q", address)
		}
		if !AddressAllowed(ap.Addr(), cfg.AllowLoopback) {
			return fmt.Errorf("%w %s", errInternalAddress, ap.Addr())
		}
		return nil
	}}
	transport := &http.Transport{
		Proxy:       nil,
		DialContext: dialer.DialContext,
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs,
			Certificates: cfg.ClientCertificates},
		TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: true,
	}
	return &http.Client{Transport: transport, Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func aad(id string) string { return "feed.webhook." + id }

// EncryptedColumns are the webhooks' signing secrets, in the database of the service that
// serves the feed manager, for re-encryption after a key rotation (pkg/svc, `migrate`).
var EncryptedColumns = []encrypted.Column{{Table: "feed_webhooks", Column: "secret",
	Key: []string{"subscription_id"}, AAD: func(k []string) string { return aad(k[0]) }}}

// insert records a new webhook subscription (in the caller's transaction); a retry of the same
// create finds the row and keeps it.
func (w *Webhooks) insert(ctx context.Context, id, oin, endpoint, secret string) error {
	tag, err := w.db.Q(ctx).Exec(ctx, `INSERT INTO feed_webhooks (subscription_id, org_oin, url, secret) VALUES ($1, $2, $3, $4)
		ON CONFLICT (subscription_id) DO NOTHING`, id, oin, endpoint, w.seal.Seal(secret, aad(id)))
	if err != nil || tag.RowsAffected() == 1 {
		return err
	}
	// The key made this webhook subscription before, and its stored answer is gone: the same
	// endpoint is that request again; another one is a new request with an old key.
	var stored string
	if err := w.db.Q(ctx).QueryRow(ctx, `SELECT url FROM feed_webhooks WHERE subscription_id = $1 AND org_oin = $2`, id, oin).Scan(&stored); err != nil {
		return err
	}
	if stored != endpoint {
		return keyReused(id)
	}
	return nil
}

// secret returns the signing secret of one of oin's subscriptions.
func (w *Webhooks) secret(ctx context.Context, oin, id string) (string, error) {
	var sealed []byte
	if err := w.db.Q(ctx).QueryRow(ctx, `SELECT secret FROM feed_webhooks WHERE subscription_id = $1 AND org_oin = $2`, id, oin).Scan(&sealed); err != nil {
		if pgxdb.IsNoRows(err) {
			return "", apperr.NotFound("subscription", id)
		}
		return "", err
	}
	return w.seal.Open(sealed, aad(id))
}

const webhookColumns = `subscription_id, org_oin, url, status, last_error, failures, coalesce(last_attempt_at, 'epoch'),
	next_attempt_at, coalesce(last_delivered_at, 'epoch'), delivered, secret`

func scanWebhook(row pgx.Row) (Webhook, error) {
	var h Webhook
	var delivered int64
	err := row.Scan(&h.SubscriptionID, &h.OIN, &h.URL, &h.Status, &h.LastError, &h.Failures, &h.LastAttemptAt,
		&h.NextAttemptAt, &h.LastDelivered, &delivered, &h.sealed)
	h.Delivered = uint64(max(delivered, 0))
	if h.LastAttemptAt.Unix() == 0 {
		h.LastAttemptAt = time.Time{}
	}
	if h.LastDelivered.Unix() == 0 {
		h.LastDelivered = time.Time{}
	}
	return h, err
}

// byOrg returns oin's webhook subscriptions by id.
func (w *Webhooks) byOrg(ctx context.Context, oin string) (map[string]Webhook, error) {
	rows, err := w.db.Q(ctx).Query(ctx, `SELECT `+webhookColumns+` FROM feed_webhooks WHERE org_oin = $1`, oin)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Webhook{}
	for rows.Next() {
		h, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out[h.SubscriptionID] = h
	}
	return out, rows.Err()
}

// setPaused pauses a webhook subscription for its partner, or resumes it (also after Wijkbrug
// paused it for failures): the failure count starts again and delivery is due at once.
// It reports false when id is not a webhook subscription of oin.
func (w *Webhooks) setPaused(ctx context.Context, oin, id string, paused bool) (bool, error) {
	q := `UPDATE feed_webhooks SET status = 'ACTIVE', failures = 0, last_error = '', next_attempt_at = now(), lease_until = NULL
		WHERE subscription_id = $1 AND org_oin = $2`
	if paused {
		q = `UPDATE feed_webhooks SET status = 'PAUSED' WHERE subscription_id = $1 AND org_oin = $2`
	}
	tag, err := w.db.Q(ctx).Exec(ctx, q, id, oin)
	return tag.RowsAffected() == 1, err
}

func (w *Webhooks) remove(ctx context.Context, oin, id string) error {
	_, err := w.db.Q(ctx).Exec(ctx, `DELETE FROM feed_webhooks WHERE subscription_id = $1 AND org_oin = $2`, id, oin)
	return err
}

// claim leases up to n active subscriptions whose next attempt is due (safe with several
// replicas: a leased subscription is skipped by the others until its lease ends).
func (w *Webhooks) claim(ctx context.Context, n int) ([]Webhook, error) {
	rows, err := w.db.Q(ctx).Query(ctx, `UPDATE feed_webhooks SET lease_until = now() + make_interval(secs => $2)
		WHERE subscription_id IN (SELECT subscription_id FROM feed_webhooks
			WHERE status = 'ACTIVE' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
			ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING `+webhookColumns, n, leaseFor.Seconds())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Webhook
	for rows.Next() {
		h, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// release ends a pass: the subscription is due again after wait.
func (w *Webhooks) release(ctx context.Context, id string, wait time.Duration) error {
	_, err := w.db.Q(ctx).Exec(ctx, `UPDATE feed_webhooks SET lease_until = NULL, next_attempt_at = now() + make_interval(secs => $2) WHERE subscription_id = $1`,
		id, wait.Seconds())
	return err
}

// delivered records a delivery the endpoint acknowledged and reports whether the subscription
// is still active (the partner may have paused it meanwhile).
func (w *Webhooks) delivered(ctx context.Context, id string) (bool, error) {
	var status string
	err := w.db.Q(ctx).QueryRow(ctx, `UPDATE feed_webhooks SET failures = 0, last_error = '', last_attempt_at = now(),
		last_delivered_at = now(), delivered = delivered + 1 WHERE subscription_id = $1 RETURNING status`, id).Scan(&status)
	return status == WebhookActive, err
}

// failed records a failed attempt: the next one after the back-off, or paused (PAUSED_FAILING)
// at the configured number of consecutive failures.
func (w *Webhooks) failed(ctx context.Context, h Webhook, cause string) (paused bool, err error) {
	n := h.Failures + 1
	var status string
	err = w.db.Q(ctx).QueryRow(ctx, `UPDATE feed_webhooks SET failures = failures + 1, last_error = $2, last_attempt_at = now(),
		next_attempt_at = now() + make_interval(secs => $3), lease_until = NULL,
		status = CASE WHEN status = 'ACTIVE' AND failures + 1 >= $4 THEN 'PAUSED_FAILING' ELSE status END
		WHERE subscription_id = $1 RETURNING status`, h.SubscriptionID, truncate(cause, 500),
		Backoff(n, w.cfg.RetryBase, w.cfg.RetryMax).Seconds(), w.cfg.MaxFailures).Scan(&status)
	return status == WebhookPausedFailing && n >= w.cfg.MaxFailures, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Run delivers webhook subscriptions until ctx ends, and returns when the passes it started
// have ended.
//
// Each subscription is delivered on its own schedule: up to cfg.Concurrency passes run at once
// (the global bound on concurrent deliveries of this replica), and a slot that frees up claims
// the next due subscription at once, so a slow or hanging endpoint holds one slot and delays
// only its own subscription. Others wait only when every slot is held by a slow endpoint.
// A claimed subscription is leased (claim), so it has at most one pass, and so one delivery, in
// flight across all replicas, and its events go out in the feed's order.
func (w *Webhooks) Run(ctx context.Context) {
	slots := w.cfg.Concurrency
	busy := make(chan struct{}, slots) // one token per running pass
	freed := make(chan struct{}, 1)    // a pass ended (coalesced): a slot may be free
	idle := min(w.cfg.Poll, 250*time.Millisecond)
	var passes sync.WaitGroup
	defer passes.Wait()
	lastGauge := time.Time{}
	for ctx.Err() == nil {
		if time.Since(lastGauge) > 5*time.Second {
			w.updateGauge(ctx)
			lastGauge = time.Now()
		}
		// Only this loop adds tokens, so at least free slots stay free until it does.
		free := slots - len(busy)
		if free == 0 {
			select { // every slot is busy: wait for one
			case <-ctx.Done():
			case <-freed:
			}
			continue
		}
		due, err := w.claim(ctx, free)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("webhooks: cannot read due subscriptions; retrying", "error", err.Error())
			}
			sleep(ctx, time.Second)
			continue
		}
		for _, h := range due {
			busy <- struct{}{}
			passes.Add(1)
			go func() {
				defer func() {
					<-busy
					select {
					case freed <- struct{}{}:
					default:
					}
					passes.Done()
				}()
				w.pass(ctx, h)
			}()
		}
		if len(due) < free {
			// Nothing else is due now: look again shortly. (An ending pass leaves its
			// subscription due after Poll or its back-off, seldom at once: no need to wake.)
			sleep(ctx, idle)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// pass delivers the events waiting for one subscription, in order, until none is left, one
// fails, or the pass has taken its share of time.
func (w *Webhooks) pass(ctx context.Context, h Webhook) {
	// Bookkeeping must outlive a shutdown that interrupts the delivery.
	bg := context.WithoutCancel(ctx)
	release := func(wait time.Duration) {
		if err := w.release(bg, h.SubscriptionID, wait); err != nil {
			w.log.Warn("webhooks: cannot release subscription", "subscription", h.SubscriptionID, "error", err.Error())
		}
	}
	secret, err := w.seal.Open(h.sealed, aad(h.SubscriptionID))
	if err != nil {
		w.log.Error("webhooks: cannot open the signing secret", "subscription", h.SubscriptionID, "error", err.Error())
		release(time.Minute)
		return
	}
	signer, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		w.log.Error("webhooks: bad signing secret", "subscription", h.SubscriptionID, "error", err.Error())
		release(time.Minute)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	cons, err := w.js.Consumer(cctx, natsx.PartnerStream(h.OIN), h.SubscriptionID)
	cancel()
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		// The subscription was deleted and only its row was left behind: nothing to deliver.
		if err := w.remove(bg, h.OIN, h.SubscriptionID); err != nil {
			release(time.Minute)
		}
		return
	}
	if err != nil {
		// NATS away (not the partner's failure): try again shortly.
		if ctx.Err() == nil {
			w.log.Warn("webhooks: cannot open the subscription's consumer", "subscription", h.SubscriptionID, "error", err.Error())
		}
		release(time.Second)
		return
	}
	end := time.Now().Add(passFor)
	for ctx.Err() == nil && time.Now().Before(end) {
		batch, err := cons.FetchNoWait(1)
		if err != nil {
			release(time.Second)
			return
		}
		var msg jetstream.Msg
		for m := range batch.Messages() {
			msg = m
		}
		if msg == nil {
			release(w.cfg.Poll)
			return
		}
		start := time.Now()
		err = w.post(ctx, h.URL, signer, msg)
		w.metrics.duration.Observe(time.Since(start).Seconds())
		if err != nil {
			_ = msg.Nak() // back on the consumer, first in line: the order is kept
			w.metrics.deliveries.WithLabelValues("failed").Inc()
			paused, ferr := w.failed(bg, h, deliveryProblem(err))
			if ferr != nil {
				w.log.Warn("webhooks: cannot record a failed delivery", "subscription", h.SubscriptionID, "error", ferr.Error())
				release(time.Second)
				return
			}
			if paused {
				w.metrics.paused.Inc()
				w.log.Warn("webhooks: subscription paused after repeated failures; the partner resumes it with PauseSubscription(paused=false)",
					"subscription", h.SubscriptionID, "organisation", h.OIN, "failures", h.Failures+1, "error", err.Error())
			}
			return
		}
		// Acknowledged on the stream only after the endpoint answered: a crash in between
		// delivers the event again, with the same webhook-id (at least once).
		actx, cancel := context.WithTimeout(bg, 5*time.Second)
		aerr := msg.DoubleAck(actx)
		cancel()
		w.metrics.deliveries.WithLabelValues("delivered").Inc()
		active, derr := w.delivered(bg, h.SubscriptionID)
		h.Failures = 0
		if aerr != nil || derr != nil {
			release(time.Second)
			return
		}
		if !active {
			return
		}
	}
	release(0)
}

// errInternalAddress refuses a connection to an address the platform keeps to itself.
var errInternalAddress = errors.New("webhook: refused to connect to internal address")

// deliveryProblem is what the partner reads of a failed delivery (its subscription's
// last_error): what went wrong at its endpoint, in the platform's words, never the platform's
// own network details. A DNS error names the resolver's address, a dial error the local one; a
// probe read the platform's internal resolver off its subscription. The log keeps the cause.
func deliveryProblem(err error) string {
	var (
		dns  *net.DNSError
		cert *tls.CertificateVerificationError
		op   *net.OpError
	)
	switch {
	case errors.Is(err, errInternalAddress):
		return "refused: the endpoint's host name resolves to an internal address"
	case errors.As(err, &dns):
		if dns.IsTimeout {
			return "the endpoint's host name " + dns.Name + " could not be resolved in time"
		}
		return "the endpoint's host name " + dns.Name + " does not resolve"
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return "the endpoint did not answer in time"
	case errors.As(err, &cert):
		return "the endpoint's TLS certificate is not accepted: " + cert.Err.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the endpoint refused the connection"
	case errors.As(err, &op):
		return "the connection to the endpoint failed (" + op.Op + ")"
	}
	return err.Error()
}

// post sends one event as a CloudEvent in the HTTP binding's binary mode (the ce-* attributes
// as headers, the protobuf payload as body), signed as Standard Webhooks (webhook-id is the
// event's ce-id, so a repeat can be recognised).
func (w *Webhooks) post(ctx context.Context, endpoint string, signer *standardwebhooks.Webhook, msg jetstream.Msg) error {
	env, err := cloudevents.FromMsg(msg.Subject(), msg.Headers(), msg.Data())
	if err != nil {
		return fmt.Errorf("malformed event on the feed: %w", err)
	}
	now := time.Now()
	sig, err := signer.Sign(env.ID, now, env.Data)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, endpoint, bytes.NewReader(env.Data))
	if err != nil {
		return err
	}
	for k, v := range env.HTTPHeader() {
		req.Header[k] = v
	}
	req.Header.Set("webhook-id", env.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	req.Header.Set("User-Agent", "Wijkbrug-Webhooks/1")
	resp, err := w.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("delivery failed: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("endpoint answered HTTP %d", resp.StatusCode)
	}
	return nil
}

type webhookMetrics struct {
	deliveries *prometheus.CounterVec
	paused     prometheus.Counter
	duration   prometheus.Histogram
	status     *prometheus.GaugeVec
}

func newWebhookMetrics(reg prometheus.Registerer) *webhookMetrics {
	m := &webhookMetrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wijkbrug_webhook_deliveries_total",
			Help: "Webhook delivery attempts, by outcome (delivered: the endpoint answered 2xx; failed: anything else)."}, []string{"outcome"}),
		paused: prometheus.NewCounter(prometheus.CounterOpts{Name: "wijkbrug_webhook_paused_total",
			Help: "Webhook subscriptions paused after repeated failures."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "wijkbrug_webhook_delivery_seconds",
			Help: "Duration of one webhook delivery attempt.", Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		status: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wijkbrug_webhook_subscriptions",
			Help: "Webhook subscriptions by status (ACTIVE, PAUSED_FAILING, PAUSED)."}, []string{"status"}),
	}
	for _, o := range []string{"delivered", "failed"} {
		m.deliveries.WithLabelValues(o)
	}
	for _, s := range []string{WebhookActive, WebhookPausedFailing, WebhookPaused} {
		m.status.WithLabelValues(s)
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.paused, m.duration, m.status)
	}
	return m
}

func (w *Webhooks) updateGauge(ctx context.Context) {
	rows, err := w.db.Q(ctx).Query(ctx, `SELECT status, count(*) FROM feed_webhooks GROUP BY status`)
	if err != nil {
		return
	}
	defer rows.Close()
	counts := map[string]float64{WebhookActive: 0, WebhookPausedFailing: 0, WebhookPaused: 0}
	for rows.Next() {
		var s string
		var n int64
		if rows.Scan(&s, &n) == nil {
			counts[s] = float64(n)
		}
	}
	if rows.Err() != nil {
		return
	}
	for s, n := range counts {
		w.metrics.status.WithLabelValues(s).Set(n)
	}
}
