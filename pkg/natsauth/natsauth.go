// Package natsauth is the security model of Wijkbrug's event plane, in one place: who may
// connect to NATS (mutual TLS; the client certificate is the identity, as on gRPC) and what
// each identity may publish and subscribe to. It renders the nats-server configuration used by
// the embedded server of `make run` and the tests (pkg/embeddednats), by a NATS cluster
// harness, and by the Helm values in deploy/nats/ — one model, so development, tests and
// production cannot drift apart.
//
// The model:
//   - one account, WIJKBRUG, holding every stream, the services and the observers; no
//     anonymous user, no user/password;
//   - each partner the only user of an account of its own (PARTNER_<OIN>, no JetStream), which
//     reaches its feed stream only through services WIJKBRUG exports to that account alone
//     (PartnerServices), so that the broker's answers to it, whatever reply subject it names,
//     are published in its own account and nowhere in WIJKBRUG;
//   - a service publishes only its own subjects (wijkbrug.<svc>.> and its feed copies
//     wijkbrug.feed.*.wijkbrug.<svc>.>), declares only its own stream and the shared feed
//     stream, and owns only its own durable consumers on the streams it consumes;
//   - a partner reads only its own feed stream (WIJKBRUG_FEED_<OIN>), through the consumers of
//     its subscriptions, which the feed manager creates; it publishes nothing but the imported
//     requests about that stream and acknowledgements of its messages;
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
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/natsx"
)

// Account is the NATS account that holds Wijkbrug's streams, services and observers.
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

// PartnerAccount is the NATS account of a partner: it is the account's only user, and the
// account has no JetStream of its own. It reaches its feed stream in the WIJKBRUG account through
// the service imports of PartnerServices, and nothing else of that account.
func PartnerAccount(oin string) string { return "PARTNER_" + oin }

// Export is one subject the WIJKBRUG account exports as a service to one partner's account,
// which imports it under the same subject.
type Export struct {
	Subject string
	// Stream marks a service that answers a request with several messages (a pull request's
	// events, heartbeats and status messages); the others answer once.
	Stream bool
}

// PartnerServices are the subjects through which a partner reads its own feed stream
// (WIJKBRUG_FEED_<OIN>) from its own account: the stream's information, single messages of it
// (`wijkbrug events`), the information of and pulls from its consumers, and acknowledgements.
// Consumers are not among them: the feed manager creates the partner's subscriptions
// (pkg/feed), because a consumer's configuration can name a deliver subject, where the broker
// would publish in the WIJKBRUG account.
//
// Why the partner lives in an account of its own: NATS permissions check the subject a client
// publishes on, not the reply subject of its request, and JetStream answers from an internal
// client of the stream's account that no permission limits. A request that crosses into
// WIJKBRUG through a service import has its reply subject replaced by one of the broker's own
// (_R_.…), and the answers are routed back into the importing account, so whatever reply
// subject a partner names, the broker publishes only in the partner's account, where nobody
// else listens and no stream stores anything.
func PartnerServices(oin string) []Export {
	ps := natsx.PartnerStream(oin)
	return []Export{
		{Subject: jsAPI("STREAM", "INFO", ps)},
		{Subject: jsAPI("STREAM", "MSG", "GET", ps)},
		{Subject: jsAPI("CONSUMER", "INFO", ps, "*")},
		{Subject: jsAPI("CONSUMER", "MSG", "NEXT", ps, "*"), Stream: true},
		{Subject: "$JS.ACK." + ps + ".>"},
	}
}

// PartnerPermissions is what a partner's user may do in its own account: publish on the
// subjects its account imports (PartnerServices), and receive on its own inbox prefix. Any other
// publish is a permissions violation the broker reports to the partner and logs; the account,
// having no other imports and no JetStream, would not deliver it anywhere either.
func PartnerPermissions(p Partner) Permissions {
	var pub []string
	for _, e := range PartnerServices(p.OIN) {
		pub = append(pub, e.Subject)
	}
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

func user(dn string, p Permissions) map[string]any {
	publish := map[string]any{"allow": p.Publish}
	if len(p.DenyPublish) > 0 {
		publish["deny"] = p.DenyPublish
	}
	return map[string]any{
		"user": dn,
		"permissions": map[string]any{
			"publish":   publish,
			"subscribe": map[string]any{"allow": p.Subscribe},
		},
	}
}

// Users returns the NATS users of the WIJKBRUG account (the services and observers), in a
// stable order. Partners are users of accounts of their own (Accounts).
func (m Model) Users() []map[string]any {
	var users []map[string]any
	for _, s := range m.Services {
		users = append(users, user(s.DN, ServicePermissions(s, m.Partners)))
	}
	var names []string
	for _, s := range m.Services {
		names = append(names, s.Name)
	}
	for _, o := range m.Observers {
		users = append(users, user(o, ObserverPermissions(ObserverInbox, names)))
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
	oins := map[string]bool{}
	for _, p := range m.Partners {
		if !oinRe.MatchString(p.OIN) {
			return fmt.Errorf("natsauth: partner OIN %q is not 20 digits", p.OIN)
		}
		if oins[p.OIN] {
			return fmt.Errorf("natsauth: partner OIN %s appears twice", p.OIN)
		}
		oins[p.OIN] = true
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

// oinRe is the shape of an OIN: it becomes part of an account name and of subjects.
var oinRe = regexp.MustCompile(`^[0-9]{20}$`)

// Accounts is the accounts block of the nats-server configuration: WIJKBRUG with the streams,
// the services and the observers, exporting to each partner the services of PartnerServices
// (each export restricted to that partner's account), and one account per partner
// (PartnerAccount), without JetStream, whose only user is the partner and which imports those
// services under the same subjects. Adding a partner is one entry in the model and a
// configuration reload.
func (m Model) Accounts() map[string]any {
	var exports []map[string]any
	accounts := map[string]any{}
	for _, p := range m.Partners {
		acc := PartnerAccount(p.OIN)
		var imports []map[string]any
		for _, e := range PartnerServices(p.OIN) {
			export := map[string]any{"service": e.Subject, "accounts": []string{acc}}
			if e.Stream {
				export["response_type"] = "stream"
			}
			exports = append(exports, export)
			imports = append(imports, map[string]any{"service": map[string]any{"account": Account, "subject": e.Subject}})
		}
		// An account without JetStream gets the system account's $JS.API.> as an import, which
		// answers every JetStream request "JetStream not enabled for account" — and would answer
		// the imported ones too, racing WIJKBRUG's answer — unless the account imports
		// $JS.API.INFO itself (nats-server's serviceImportShadowed). Imported so, $JS.API.INFO
		// asks for the partner's own feed stream's information, nothing of the WIJKBRUG
		// account's; the partner's user may not publish on it anyway (PartnerPermissions).
		imports = append(imports, map[string]any{"service": map[string]any{"account": Account, "subject": jsAPI("STREAM", "INFO", natsx.PartnerStream(p.OIN))},
			"to": jsAPI("INFO")})
		accounts[acc] = map[string]any{"users": []map[string]any{user(p.DN, PartnerPermissions(p))}, "imports": imports}
	}
	main := map[string]any{"jetstream": "enabled", "users": m.Users()}
	if len(exports) > 0 {
		main["exports"] = exports
	}
	accounts[Account] = main
	return accounts
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
