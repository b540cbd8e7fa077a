// Package natsx connects to NATS and declares the JetStream streams Wijkbrug publishes to.
package natsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Connect connects with unlimited reconnects: a service keeps running (and its outbox keeps
// filling) while NATS is away, and carries on when it is back.
func Connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(true),
	)
	if err != nil {
		return nil, fmt.Errorf("connect nats: %w", err)
	}
	return nc, nil
}

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

// EnsureStream creates or updates the stream of a producing service: file storage, the given
// replicas (3 in production), a two-minute duplicate window for Nats-Msg-Id.
func EnsureStream(ctx context.Context, js jetstream.JetStream, service string, replicas int) (jetstream.Stream, error) {
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
	}
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", cfg.Name, err)
	}
	return s, nil
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

// Subject builds wijkbrug.<service>.<municipality>.<aggregate>.<event>. The municipality
// token lets integrators and per-municipality deployments filter on it.
func Subject(service, municipality, aggregate, event string) string {
	if municipality == "" {
		municipality = "unknown"
	}
	return "wijkbrug." + service + "." + municipality + "." + aggregate + "." + event
}

// FeedbackSubject is where a partner organisation receives feedback on what it sent:
// wijkbrug.<service>.feedback.<oin>.<aggregate>.<event>. A partner's credentials are scoped
// to its own OIN token.
func FeedbackSubject(service, oin, aggregate, event string) string {
	return "wijkbrug." + service + ".feedback." + oin + "." + aggregate + "." + event
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
	nc.SetDisconnectErrHandler(func(_ *nats.Conn, err error) {
		attrs := []any{}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		log.Warn("NATS disconnected; events wait in the outbox until it is back", attrs...)
	})
	nc.SetReconnectHandler(func(c *nats.Conn) {
		log.Info("NATS reconnected", "server", c.ConnectedUrlRedacted())
	})
	nc.SetClosedHandler(func(*nats.Conn) { log.Info("NATS connection closed") })
}
