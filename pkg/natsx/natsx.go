// Package natsx connects to NATS and declares the JetStream streams Wijkbrug publishes to.
package natsx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/mod/semver"
)

// Connect connects with mutual TLS (the certificate is the identity on NATS, as on gRPC) and
// unlimited reconnects: a service keeps running (and its outbox keeps filling) while NATS is
// away, and carries on when it is back. inbox is the identity's inbox token (InboxPrefix): its
// NATS permissions allow replies only there.
func Connect(url, name string, tlsConfig *tls.Config, inbox string) (*nats.Conn, error) {
	if tlsConfig == nil {
		return nil, errors.New("connect nats: a client certificate is required (no anonymous or plaintext access)")
	}
	opts := append(Secure(tlsConfig, inbox),
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		// A broker that hangs (its process stopped, a partitioned node) keeps the TCP
		// connection open: only unanswered pings show it. With nats.go's defaults (every
		// 2 minutes, 2 outstanding) the connection counted as up for about six minutes while
		// nothing was published, and health, /readyz and the NATS alert said so (probe B,
		// thirty-fourth session); now within PingInterval × (MaxPingsOut + 1), 30 s.
		nats.PingInterval(PingInterval),
		nats.MaxPingsOutstanding(MaxPingsOut),
	)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect nats: %w", err)
	}
	return nc, nil
}

// PingInterval and MaxPingsOut are how a service finds a hung broker: a connection whose
// pings go unanswered this many times in a row is dropped and reconnected.
const (
	PingInterval = 10 * time.Second
	MaxPingsOut  = 2
)

// Secure returns the connection options every Wijkbrug NATS client uses: TLS 1.3 with the
// client certificate of tlsConfig, and replies on the identity's own inbox prefix.
func Secure(tlsConfig *tls.Config, inbox string) []nats.Option {
	c := tlsConfig.Clone()
	c.MinVersion = tls.VersionTLS13
	return []nats.Option{nats.Secure(c), nats.CustomInboxPrefix(InboxPrefix(inbox))}
}

// InboxPrefix is the reply-subject prefix of an identity (a service name, a partner's OIN):
// _INBOX_<token>. Permissions let each identity subscribe only below its own prefix, so no one
// can read the JetStream deliveries of another.
func InboxPrefix(token string) string { return "_INBOX_" + token }

// FeedStream is the stream that captures every partner feed subject (wijkbrug.feed.>): the
// services write partners' copies of their events there through their outboxes.
const FeedStream = "WIJKBRUG_FEED"

// FeedRoot is the root of the partner feed subjects.
const FeedRoot = "wijkbrug.feed"

// FeedSubject is where a copy of an event for partner oin is published:
// wijkbrug.feed.<oin>.<ce-type>, e.g. wijkbrug.feed.00000001000000000200.wijkbrug.referral.v1.SignalFedBack.
// The event type in the subject lets a subscription filter by type; the producing service is
// part of it (wijkbrug.<svc>.v1…), so permissions can restrict each service to its own types.
func FeedSubject(oin, eventType string) string { return FeedRoot + "." + oin + "." + eventType }

// FeedSubjectPrefix is wijkbrug.feed.<oin>.wijkbrug.<service> (oin may be the wildcard *).
func FeedSubjectPrefix(oin, service string) string {
	return FeedRoot + "." + oin + "." + SubjectPrefix(service)
}

// PartnerStream is the feed stream of one partner, WIJKBRUG_FEED_<OIN>: it sources the
// partner's subjects from FeedStream, so the partner can be given its own stream (its own
// sequence numbers, its own consumers) and nothing else.
func PartnerStream(oin string) string { return FeedStream + "_" + oin }

// StreamName returns the stream of a producing service, e.g. WIJKBRUG_CASEDIRECTION.
func StreamName(service string) string {
	b := []byte("WIJKBRUG_")
	for _, c := range service {
		switch {
		case c >= 'a' && c <= 'z':
			b = append(b, byte(c-'a'+'A'))
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b = append(b, byte(c))
		}
	}
	return string(b)
}

// SubjectPrefix returns wijkbrug.<service>, the root of a service's subjects.
func SubjectPrefix(service string) string { return "wijkbrug." + service }

// EnsureStream creates (never updates: DeclareStream) the stream of a producing service: file storage, the given
// replicas (3 in production), a two-minute duplicate window for Nats-Msg-Id.
func EnsureStream(ctx context.Context, js jetstream.JetStream, service string, replicas int, log *slog.Logger) (jetstream.Stream, error) {
	if replicas <= 0 {
		replicas = 1
	}
	cfg := jetstream.StreamConfig{
		Name:       StreamName(service),
		Subjects:   []string{SubjectPrefix(service) + ".>"},
		Storage:    jetstream.FileStorage,
		Replicas:   replicas,
		Retention:  jetstream.LimitsPolicy,
		Duplicates: 2 * time.Minute,
		MaxAge:     365 * 24 * time.Hour,
		// The outbox relay publishes a round's events as one atomic batch: one sync for the
		// batch instead of one per event (pkg/outbox).
		AllowAtomicPublish: true,
	}
	return DeclareStream(ctx, js, cfg, log)
}

// DeclareStream creates the stream of cfg, or finds it there. It never changes an existing
// stream: services have no permission to (pkg/natsauth; a stream update can seal a stream,
// cut its limits or source another stream into it). An existing stream whose configuration
// differs from cfg in what Wijkbrug sets is used as it is and the differences are logged:
// changing a stream is an operator's step (docs/operations.md, "Streams"). They are logged on
// log, the service's logger (nil: slog.Default()).
func DeclareStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, log *slog.Logger) (jetstream.Stream, error) {
	s, err := js.CreateStream(ctx, cfg)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil, fmt.Errorf("stream %s: %w", cfg.Name, err)
	}
	if s, err = js.Stream(ctx, cfg.Name); err != nil {
		return nil, fmt.Errorf("stream %s: %w", cfg.Name, err)
	}
	if diff := StreamDrift(s.CachedInfo().Config, cfg); len(diff) > 0 {
		if log == nil {
			log = slog.Default()
		}
		log.WarnContext(ctx, "stream configuration differs from this version's; it is used as it is (services never change a stream; an operator applies the change)",
			"stream", cfg.Name, "differences", strings.Join(diff, "; "))
	}
	return s, nil
}

// StreamDrift lists the settings Wijkbrug gives its streams on which have differs from want.
func StreamDrift(have, want jetstream.StreamConfig) []string {
	var out []string
	diff := func(name string, h, w any) {
		if !reflect.DeepEqual(h, w) {
			out = append(out, fmt.Sprintf("%s is %v, this version sets %v", name, h, w))
		}
	}
	diff("subjects", have.Subjects, want.Subjects)
	diff("replicas", max(have.Replicas, 1), max(want.Replicas, 1))
	diff("max_age", have.MaxAge, want.MaxAge)
	diff("duplicate_window", have.Duplicates, want.Duplicates)
	diff("deny_delete", have.DenyDelete, want.DenyDelete)
	diff("deny_purge", have.DenyPurge, want.DenyPurge)
	diff("allow_atomic", have.AllowAtomicPublish, want.AllowAtomicPublish)
	diff("sealed", have.Sealed, want.Sealed)
	diff("max_consumers", normLimit(have.MaxConsumers), normLimit(want.MaxConsumers))
	diff("max_msgs", normLimit64(have.MaxMsgs), normLimit64(want.MaxMsgs))
	diff("max_msgs_per_subject", normLimit64(have.MaxMsgsPerSubject), normLimit64(want.MaxMsgsPerSubject))
	diff("max_bytes", normLimit64(have.MaxBytes), normLimit64(want.MaxBytes))
	source := func(ss []*jetstream.StreamSource) []string {
		var names []string
		for _, x := range ss {
			names = append(names, x.Name+" "+x.FilterSubject)
		}
		return names
	}
	diff("sources", source(have.Sources), source(want.Sources))
	diff("mirror", have.Mirror != nil, want.Mirror != nil)
	return out
}

// normLimit treats 0 (not set) as -1 (unlimited), as the server does.
func normLimit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

func normLimit64(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// WaitForStream waits until a stream exists (another service may create it later).
func WaitForStream(ctx context.Context, js jetstream.JetStream, name string) (jetstream.Stream, error) {
	for {
		s, err := js.Stream(ctx, name)
		if err == nil {
			return s, nil
		}
		// Not found yet, or NATS is away: both resolve by waiting.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// IsTransient reports a NATS error that means "the broker is (briefly) not reachable": the
// connection is closed or reconnecting, no server or no responder answers, or a request
// timed out. gRPC reports it as UNAVAILABLE.
func IsTransient(err error) bool {
	for _, e := range []error{nats.ErrConnectionClosed, nats.ErrConnectionReconnecting, nats.ErrConnectionDraining,
		nats.ErrNoServers, nats.ErrTimeout, nats.ErrNoResponders, nats.ErrDisconnected, nats.ErrStaleConnection,
		jetstream.ErrNoStreamResponse, jetstream.ErrJetStreamNotEnabled, jetstream.ErrConsumerLeadershipChanged} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// LogConnectionEvents logs when the connection to NATS drops, comes back and closes, so a
// broker outage is visible in the service's log (readiness does not follow NATS: the outbox
// keeps taking writes while it is away).
func LogConnectionEvents(nc *nats.Conn, log *slog.Logger) {
	// A broker too old to keep partners' deliveries out of the JetStream API is an error in
	// the log at every (re)connection: the services still run on it (refusing would turn an
	// operator's upgrade order into an outage), but the operator is told what it exposes.
	checkVersion := func(c *nats.Conn) {
		if v := c.ConnectedServerVersion(); v != "" && ServerTooOld(v) {
			log.Error("the NATS server is older than "+MinServerVersion+", which lets a client's reply subject or a consumer's deliver subject name the JetStream API (with the one-account configuration of earlier releases a partner deleted streams so; docs/security.md): upgrade the broker",
				"server_version", v)
		}
	}
	go func() {
		// The first connection may come after RetryOnFailedConnect's retries (nats.go's
		// connect handler can only be given to Connect); the reconnect handler checks the rest.
		for !nc.IsClosed() {
			if nc.IsConnected() {
				checkVersion(nc)
				return
			}
			time.Sleep(time.Second)
		}
	}()
	nc.SetDisconnectErrHandler(func(c *nats.Conn, err error) {
		if c.IsClosed() {
			return // our own Close at shutdown, not an outage (the closed handler logs it)
		}
		attrs := []any{}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		log.Warn("NATS disconnected; events wait in the outbox until it is back", attrs...)
	})
	nc.SetReconnectHandler(func(c *nats.Conn) {
		log.Info("NATS reconnected", "server", c.ConnectedUrlRedacted())
		checkVersion(c)
	})
	nc.SetClosedHandler(func(*nats.Conn) { log.Info("NATS connection closed") })
	// Asynchronous errors (a permissions violation, a slow consumer) go to the service's log,
	// not as a bare line on stderr (nats.go's default).
	nc.SetErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		attrs := []any{"error", err.Error()}
		if sub != nil {
			attrs = append(attrs, "subscription", sub.Subject)
		}
		log.Warn("NATS reported an error", attrs...)
	})
}

// MinServerVersion is the oldest nats-server Wijkbrug's event-plane security holds on. Up to
// 2.15.2 a client's reply subject, and a consumer's deliver subject, could name a JetStream API
// subject: the broker's answer to a partner's pull request on its own feed ("404 No Messages",
// an empty body) then became a request of the account, such as deleting a stream (the
// hostile-integrator probe of the thirty-seventh session; docs/security.md). 2.15.3 refuses
// JetStream subjects there.
const MinServerVersion = "2.15.3"

// ServerTooOld reports whether a nats-server version (as INFO gives it: 2.15.2, 2.16.0-RC.1)
// is older than MinServerVersion, by semantic versioning (a release candidate of 2.15.3 is
// older than 2.15.3). A version it cannot read counts as too old.
func ServerTooOld(version string) bool {
	v := "v" + strings.TrimPrefix(version, "v")
	return !semver.IsValid(v) || semver.Compare(v, "v"+MinServerVersion) < 0
}

// MaxFeedConsumers is the most consumers a partner's feed stream holds: its subscriptions,
// made through the Subscriptions API (partners create no consumers themselves since they have
// NATS accounts of their own; pkg/natsauth).
const MaxFeedConsumers = 64

// feedRetention is how long partner feeds keep events (replay window), as the service streams.
const feedRetention = 365 * 24 * time.Hour

// EnsureFeedStream creates WIJKBRUG_FEED (every producing service declares it, so a
// feed copy always has a stream to land in and the outbox never blocks on a missing one).
func EnsureFeedStream(ctx context.Context, js jetstream.JetStream, replicas int, log *slog.Logger) (jetstream.Stream, error) {
	cfg := jetstream.StreamConfig{
		Name:       FeedStream,
		Subjects:   []string{FeedRoot + ".>"},
		Storage:    jetstream.FileStorage,
		Replicas:   max(replicas, 1),
		Retention:  jetstream.LimitsPolicy,
		Duplicates: 2 * time.Minute,
		MaxAge:     feedRetention,
		// Feed copies come from the outbox relays in atomic batches too.
		AllowAtomicPublish: true,
	}
	return DeclareStream(ctx, js, cfg, log)
}

// EnsurePartnerStream creates a partner's own feed stream: it sources the partner's
// subjects from WIJKBRUG_FEED (from the beginning, so everything retained is there) and has no
// subjects of its own, so nobody can publish into it directly.
func EnsurePartnerStream(ctx context.Context, js jetstream.JetStream, oin string, replicas int, log *slog.Logger) (jetstream.Stream, error) {
	cfg := jetstream.StreamConfig{
		Name:      PartnerStream(oin),
		Storage:   jetstream.FileStorage,
		Replicas:  max(replicas, 1),
		Retention: jetstream.LimitsPolicy,
		MaxAge:    feedRetention,
		// One consumer per subscription: without a limit a partner could make them without
		// end through the Subscriptions API.
		MaxConsumers: MaxFeedConsumers,
		Sources:      []*jetstream.StreamSource{{Name: FeedStream, FilterSubject: FeedRoot + "." + oin + ".>"}},
	}
	return DeclareStream(ctx, js, cfg, log)
}

// StreamOwner is the service that owns a service stream (WIJKBRUG_REFERRAL → referral), or ""
// for a stream that is not a service stream.
func StreamOwner(stream string) string {
	rest, ok := strings.CutPrefix(stream, "WIJKBRUG_")
	if !ok || rest == "" || strings.HasPrefix(rest, "FEED") {
		return ""
	}
	return strings.ToLower(rest)
}
