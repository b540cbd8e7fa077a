// Package natsauth is the security model of Wijkbrug's event plane, in one place: who may
// connect to NATS (mutual TLS; the client certificate is the identity, as on gRPC) and what
// each identity may publish and subscribe to. It renders the nats-server configuration used by
// the embedded server of `make run` and the tests (pkg/embeddednats), by a NATS cluster
// harness, and by the Helm values in deploy/nats/ — one model, so development, tests and
// production cannot drift apart.
//
// The model:
//   - one account, WIJKBRUG, holding every stream; no anonymous user, no user/password;
//   - a service publishes only its own subjects (wijkbrug.<svc>.> and its feed copies
//     wijkbrug.feed.*.wijkbrug.<svc>.>), declares only its own stream and the shared feed
//     stream, and owns only its own durable consumers on the streams it consumes;
//   - a partner reads only its own feed stream (WIJKBRUG_FEED_<OIN>), through consumers on
//     that stream; it publishes nothing but JetStream API requests about that stream and
//     acknowledgements of its messages;
//   - an observer (operations) may read the service streams through its own consumers;
//   - every identity receives replies only on its own inbox prefix (_INBOX_<token>), so no one
//     can listen in on another's JetStream deliveries.
package natsauth

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/natsx"
)

// Account is the NATS account that holds Wijkbrug's streams and users.
const Account = "WIJKBRUG"

// Service is a Wijkbrug service on the event plane.
type Service struct {
	// Name as in subjects and streams: intake, casedirection, providermonitoring, referral.
	Name string
	// DN is the subject of the service's certificate (see DN).
	DN string
	// Consumes lists the durable consumers the service owns on other services' streams.
	Consumes []Consumer
	// ManagesFeeds marks the service that serves the Subscriptions API: it creates the
	// partners' feed streams and the durable consumers of their subscriptions, and delivers
	// webhook subscriptions.
	ManagesFeeds bool
}

// Consumer is a durable consumer a service owns on a stream.
type Consumer struct{ Stream, Durable string }

// Partner is an organisation that reads its own feed.
type Partner struct {
	OIN string
	// DN is the subject of the partner's certificate (the one it also uses for gRPC).
	DN string
}

// Model is the whole event-plane security configuration.
type Model struct {
	Services  []Service
	Partners  []Partner
	Observers []string // DNs of operations identities that may read the service streams
}

// ServiceNames are the producing services.
var ServiceNames = []string{"intake", "casedirection", "providermonitoring", "referral"}

// FeedManager is the service that serves the Subscriptions API.
const FeedManager = "referral"

// ServiceConsumers are the durable consumers each service owns. A new consumer needs an entry
// here, or NATS refuses to create it (and the end-to-end tests fail).
var ServiceConsumers = map[string][]Consumer{
	"intake": {{natsx.StreamName("referral"), "intake-signals"}},
	"casedirection": {
		{natsx.StreamName("providermonitoring"), "casedirection-allocations"},
		{natsx.StreamName("referral"), "casedirection-referrals"},
		{natsx.StreamName("intake"), "casedirection-households"},
		// The outcome read model (issue 17), one per stream it is built from, its own included.
		{natsx.StreamName("intake"), "casedirection-outcomes-intake"},
		{natsx.StreamName("casedirection"), "casedirection-outcomes-casedirection"},
		{natsx.StreamName("providermonitoring"), "casedirection-outcomes-providermonitoring"},
		{natsx.StreamName("referral"), "casedirection-outcomes-referral"},
	},
	"referral": {
		{natsx.StreamName("intake"), "referral-intake-events"},
		{natsx.StreamName("casedirection"), "referral-case-events"},
	},
	"providermonitoring": {{natsx.StreamName("casedirection"), "providermonitoring-case-residents"}},
}

// RebuildableConsumers are the durable consumers of read models that their service may
// delete (and so replay from the start): case-direction's outcome read model (issue 17).
var RebuildableConsumers = map[string]bool{
	"casedirection-outcomes-intake": true, "casedirection-outcomes-casedirection": true,
	"casedirection-outcomes-providermonitoring": true, "casedirection-outcomes-referral": true,
}

// Services returns the four Wijkbrug services with their consumers, given the DN of each
// service's certificate.
func Services(dns map[string]string) []Service {
	out := make([]Service, 0, len(ServiceNames))
	for _, name := range ServiceNames {
		out = append(out, Service{Name: name, DN: dns[name], Consumes: ServiceConsumers[name], ManagesFeeds: name == FeedManager})
	}
	return out
}

// DN is how nats-server names the holder of a client certificate when it maps certificates to
// users (tls verify_and_map): the certificate subject as an RFC 2253 string, e.g.
// "SERIALNUMBER=00000001000000000200,CN=Huisartsenpraktijk De Linde,OU=GP,O=Huisartsenpraktijk De Linde".
func DN(cert *x509.Certificate) string { return cert.Subject.ToRDNSequence().String() }

// DNFromFile reads the first certificate of a PEM file and returns its DN.
func DNFromFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return DNFromPEM(b)
}

// DNFromPEM returns the DN of the first certificate in PEM.
func DNFromPEM(b []byte) (string, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", errors.New("natsauth: no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("natsauth: %w", err)
	}
	return DN(cert), nil
}

// Permissions are one user's publish and subscribe allow-lists (everything else is denied),
// and subjects denied although an allowed wildcard matches them.
type Permissions struct {
	Publish     []string
	DenyPublish []string
	Subscribe   []string
}

func jsAPI(parts ...string) string {
	s := "$JS.API"
	for _, p := range parts {
		s += "." + p
	}
	return s
}

// consumerUse is what using (not creating) a named consumer needs: pull, info, acks.
func consumerUse(stream, consumer string) []string {
	return []string{
		jsAPI("CONSUMER", "MSG", "NEXT", stream, consumer),
		jsAPI("CONSUMER", "INFO", stream, consumer),
		"$JS.ACK." + stream + "." + consumer + ".>",
	}
}

// consumerCreate allows creating (or updating) the named consumer, with one filter subject in
// the API subject or several in the request.
func consumerCreate(stream, consumer string) []string {
	return []string{jsAPI("CONSUMER", "CREATE", stream, consumer), jsAPI("CONSUMER", "CREATE", stream, consumer, ">"),
		jsAPI("CONSUMER", "DURABLE", "CREATE", stream, consumer)}
}

// ServicePermissions is what service s may do. partners are the organisations whose feed
// streams and subscription consumers the feed manager handles.
func ServicePermissions(s Service, partners []Partner) Permissions {
	own := natsx.StreamName(s.Name)
	// A service creates the streams it needs but never updates one (no STREAM.UPDATE): an
	// update can seal a stream, cut its limits (the checkpoints of every service would go) or
	// source another stream into it (a partner's feed, another service's events), none of
	// which a publish or subscribe permission would stop. natsx.DeclareStream only creates.
	pub := []string{
		natsx.SubjectPrefix(s.Name) + ".>",          // its own events
		natsx.FeedSubjectPrefix("*", s.Name) + ".>", // its own events copied to a partner's feed
		jsAPI("STREAM", "CREATE", own), jsAPI("STREAM", "INFO", own), jsAPI("STREAM", "MSG", "GET", own),
		jsAPI("STREAM", "CREATE", natsx.FeedStream), jsAPI("STREAM", "INFO", natsx.FeedStream),
		// Access-log checkpoints (issue 16): its own subject on the shared checkpoint stream,
		// which it may declare and read (verify-accesslog) but never purge or delete from.
		CheckpointSubjectPrefix + s.Name,
		jsAPI("STREAM", "CREATE", CheckpointStream),
		jsAPI("STREAM", "INFO", CheckpointStream), jsAPI("STREAM", "MSG", "GET", CheckpointStream),
	}
	for _, c := range s.Consumes {
		pub = append(pub, jsAPI("STREAM", "INFO", c.Stream))
		pub = append(pub, consumerCreate(c.Stream, c.Durable)...)
		pub = append(pub, consumerUse(c.Stream, c.Durable)...)
		if RebuildableConsumers[c.Durable] {
			pub = append(pub, jsAPI("CONSUMER", "DELETE", c.Stream, c.Durable))
		}
	}
	if s.ManagesFeeds {
		// Stream information (never messages) of any stream, so that a subscription call of an
		// organisation without a feed answers NOT_FOUND at once. Single messages of the shared
		// feed stream and of the partners' feed streams: where a subscription starting at a
		// time or with what is new begins is found in the shared stream's terms (feed's
		// startSequence).
		pub = append(pub, jsAPI("STREAM", "INFO", "*"), jsAPI("STREAM", "MSG", "GET", natsx.FeedStream))
		for _, p := range partners {
			ps := natsx.PartnerStream(p.OIN)
			pub = append(pub,
				jsAPI("STREAM", "CREATE", ps), jsAPI("STREAM", "INFO", ps), jsAPI("STREAM", "MSG", "GET", ps),
				jsAPI("CONSUMER", "CREATE", ps, "*"), jsAPI("CONSUMER", "CREATE", ps, "*", ">"),
				jsAPI("CONSUMER", "INFO", ps, "*"), jsAPI("CONSUMER", "DELETE", ps, "*"),
				jsAPI("CONSUMER", "PAUSE", ps, "*"), jsAPI("CONSUMER", "LIST", ps), jsAPI("CONSUMER", "NAMES", ps),
				jsAPI("CONSUMER", "MSG", "NEXT", ps, "*"), "$JS.ACK."+ps+".>",
			)
		}
	}
	return Permissions{Publish: dedupe(pub), Subscribe: []string{natsx.InboxPrefix(s.Name) + ".>"}}
}

// PartnerPermissions is what a partner may do: read its own feed stream through consumers on
// it. It cannot publish events, touch any other stream, or delete consumers (its durable
// subscriptions are managed through the Subscriptions API).
//
// A consumer may be created in each of the API's three forms: with its name in the subject,
// with its name and one filter there, and with both in the request only (nats.js and other
// clients use that form for several filter subjects; denied, they retried without end). On
// the partner's own stream the third form can do nothing the first cannot; only an observer,
// whose denials name the services' durables in the subject, may not use it.
func PartnerPermissions(p Partner) Permissions {
	ps := natsx.PartnerStream(p.OIN)
	pub := []string{
		jsAPI("STREAM", "INFO", ps),
		jsAPI("CONSUMER", "CREATE", ps), jsAPI("CONSUMER", "CREATE", ps, "*"), jsAPI("CONSUMER", "CREATE", ps, "*", ">"),
	}
	pub = append(pub, consumerUse(ps, "*")...)
	return Permissions{Publish: pub, Subscribe: []string{natsx.InboxPrefix(p.OIN) + ".>"}}
}

// ObserverPermissions lets operations read the streams of the given services and the shared
// feed stream through consumers of their own; they publish nothing. Consumer names are not
// subject tokens one could give a prefix, so "their own" is every name except the services'
// durables (ServiceConsumers), which are denied by name: pulling from one would take its
// events away from the service (acknowledged, never handled), and creating it anew would
// change its configuration. Reading a durable's state (CONSUMER.INFO) stays allowed:
// `wijkbrug consumer-status` shows it.
func ObserverPermissions(token string, services []string) Permissions {
	var pub, deny []string
	streams := []string{natsx.FeedStream}
	for _, s := range services {
		streams = append(streams, natsx.StreamName(s))
	}
	for _, st := range streams {
		pub = append(pub, jsAPI("STREAM", "INFO", st), jsAPI("STREAM", "MSG", "GET", st),
			jsAPI("CONSUMER", "CREATE", st, "*"), jsAPI("CONSUMER", "CREATE", st, "*", ">"))
		pub = append(pub, consumerUse(st, "*")...)
	}
	for _, cs := range ServiceConsumers {
		for _, c := range cs {
			deny = append(deny, consumerCreate(c.Stream, c.Durable)...)
			deny = append(deny, jsAPI("CONSUMER", "MSG", "NEXT", c.Stream, c.Durable), "$JS.ACK."+c.Stream+"."+c.Durable+".>")
		}
	}
	// Operations verify the access logs against the exported checkpoints (read only).
	pub = append(pub, jsAPI("STREAM", "INFO", CheckpointStream), jsAPI("STREAM", "MSG", "GET", CheckpointStream))
	return Permissions{Publish: pub, DenyPublish: dedupe(deny), Subscribe: []string{natsx.InboxPrefix(token) + ".>"}}
}

// The access-log checkpoint stream (issue 16; pkg/accesslog writes and reads it): one
// subject per service, CheckpointSubjectPrefix + service.
const (
	CheckpointStream        = "WIJKBRUG_ACCESSLOG_CHECKPOINTS"
	CheckpointSubjectPrefix = "wijkbrug.accesslog.checkpoint."
)

// ObserverInbox is the inbox token of observers.
const ObserverInbox = "observer"

func dedupe(in []string) []string {
	out := slices.Clone(in)
	sort.Strings(out)
	return slices.Compact(out)
}

// Users returns the NATS users of the model (for the WIJKBRUG account), in a stable order.
func (m Model) Users() []map[string]any {
	var users []map[string]any
	add := func(dn string, p Permissions) {
		publish := map[string]any{"allow": p.Publish}
		if len(p.DenyPublish) > 0 {
			publish["deny"] = p.DenyPublish
		}
		users = append(users, map[string]any{
			"user": dn,
			"permissions": map[string]any{
				"publish":   publish,
				"subscribe": map[string]any{"allow": p.Subscribe},
			},
		})
	}
	for _, s := range m.Services {
		add(s.DN, ServicePermissions(s, m.Partners))
	}
	for _, p := range m.Partners {
		add(p.DN, PartnerPermissions(p))
	}
	var names []string
	for _, s := range m.Services {
		names = append(names, s.Name)
	}
	for _, o := range m.Observers {
		add(o, ObserverPermissions(ObserverInbox, names))
	}
	return users
}

// Validate reports missing or duplicate identities.
func (m Model) Validate() error {
	seen := map[string]bool{}
	check := func(what, dn string) error {
		if dn == "" {
			return fmt.Errorf("natsauth: %s has no certificate DN", what)
		}
		if seen[dn] {
			return fmt.Errorf("natsauth: DN %q appears twice", dn)
		}
		seen[dn] = true
		return nil
	}
	for _, s := range m.Services {
		if err := check("service "+s.Name, s.DN); err != nil {
			return err
		}
	}
	for _, p := range m.Partners {
		if err := check("partner "+p.OIN, p.DN); err != nil {
			return err
		}
	}
	for _, o := range m.Observers {
		if err := check("observer", o); err != nil {
			return err
		}
	}
	return nil
}

// TLS names the files of the server's TLS setup.
type TLS struct{ CertFile, KeyFile, CAFile string }

// Accounts is the accounts block of the nats-server configuration.
func (m Model) Accounts() map[string]any {
	return map[string]any{Account: map[string]any{"jetstream": "enabled", "users": m.Users()}}
}

// TLSBlock is the tls block: TLS 1.3, client certificates required, verified against the CA
// and mapped to users by their subject.
func TLSBlock(t TLS) map[string]any {
	return map[string]any{"cert_file": t.CertFile, "key_file": t.KeyFile, "ca_file": t.CAFile,
		"verify_and_map": true, "min_version": "1.3", "timeout": 2}
}

// ServerConfig renders the security part of a nats-server configuration (tls and accounts) in
// the server's configuration syntax (JSON is a subset of it). Listen addresses, JetStream
// storage and clustering are added by whoever runs the server.
func (m Model) ServerConfig(t TLS) (string, error) {
	if err := m.Validate(); err != nil {
		return "", err
	}
	return Render(map[string]any{"tls": TLSBlock(t), "accounts": m.Accounts()})
}

// Render writes v in the nats-server configuration syntax (JSON without HTML escaping, which
// the server's parser would not understand: subjects contain '>').
func Render(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return b.String(), nil
}
