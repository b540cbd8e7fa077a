// Command subscriber is a small Wijkbrug event subscriber for partners to copy. It receives the
// events of your organisation's feed in one of two ways and prints them decoded:
//
//	subscriber nats     pull from your subscription on NATS (TLS 1.3 + your client certificate)
//	subscriber webhook  receive webhook deliveries on an HTTPS endpoint (signature verified)
//
// Both acknowledge an event only after it was handled (here: printed and its ce-id recorded)
// and handle a repeat idempotently: at-least-once delivery means an event can come twice, with
// the same ce-id. The ids handled are kept in a file (-seen), so a restart resumes where it
// was — NATS redelivers what was not acknowledged, a webhook sender retries what was not
// answered 2xx — and repeats are recognised. A real integration records the ce-id in the same
// database transaction as its own effect.
//
// See docs/integrators.md for getting access, subscriptions and the delivery guarantees.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// The event messages (proto/wijkbrug/*/v1/events.proto), registered for decoding by ce-type.
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 || (os.Args[1] != "nats" && os.Args[1] != "webhook") {
		fmt.Fprintln(os.Stderr, "usage: subscriber nats|webhook [flags]   (subscriber nats -h, subscriber webhook -h)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if os.Args[1] == "nats" {
		err = runNATS(ctx, os.Args[2:])
	} else {
		err = runWebhook(ctx, os.Args[2:])
	}
	if err != nil {
		log.Fatal("subscriber: ", err)
	}
}

// event is what both ways deliver: the CloudEvents attributes and the protobuf payload.
type event struct {
	id, source, typ, subject, time string
	data                           []byte
}

// handler prints events once each and remembers their ids in a file.
type handler struct {
	mu   sync.Mutex
	seen map[string]bool
	file *os.File
	out  io.Writer
	max  int // stop after this many new events (0 = never)
	n    int
	done chan struct{} // closed when -max is reached
}

func newHandler(path string, maxEvents int) (*handler, error) {
	h := &handler{seen: map[string]bool{}, out: os.Stdout, max: maxEvents, done: make(chan struct{})}
	if path == "" {
		return h, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		h.seen[strings.TrimSpace(sc.Text())] = true
	}
	h.file = f
	return h, sc.Err()
}

// handle processes one event; it returns nil when the event may be acknowledged.
func (h *handler) handle(e event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen[e.id] {
		fmt.Fprintf(h.out, "repeat of %s (already handled), acknowledged again\n", e.id)
		return nil
	}
	payload := "(unknown type)"
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(e.typ)); err == nil {
		m := mt.New().Interface()
		if err := proto.Unmarshal(e.data, m); err != nil {
			return fmt.Errorf("decode %s: %w", e.typ, err)
		}
		payload = protojson.MarshalOptions{}.Format(m)
	}
	fmt.Fprintf(h.out, "%s %s subject=%s id=%s %s\n", e.time, e.typ, e.subject, e.id, payload)
	// Record the id durably before acknowledging.
	if h.file != nil {
		if _, err := fmt.Fprintln(h.file, e.id); err != nil {
			return err
		}
		if err := h.file.Sync(); err != nil {
			return err
		}
	}
	h.seen[e.id] = true
	h.n++
	return nil
}

// acknowledged is called after an event was acknowledged: with -max, the program may stop.
func (h *handler) acknowledged() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.max > 0 && h.n == h.max {
		close(h.done)
	}
}

// remaining is how many new events are still to be handled with -max.
func (h *handler) remaining() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.max - h.n
}

// clientTLS loads your certificate and the CA that the server certificates chain to.
func clientTLS(certFile, keyFile, caFile string) (*tls.Config, string, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, "", err
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, "", err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, "", err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pemBytes) {
			return nil, "", errors.New("no certificate in " + caFile)
		}
	}
	// Your OIN is the serialNumber of your certificate's subject.
	return cfg, leaf.Subject.SerialNumber, nil
}

func runNATS(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("subscriber nats", flag.ExitOnError)
	url := fs.String("url", "tls://127.0.0.1:4222", "NATS URL")
	certFile := fs.String("cert", "", "your organisation's client certificate (PEM), the one you use for gRPC")
	keyFile := fs.String("key", "", "its private key (default: -cert with -key.pem)")
	caFile := fs.String("ca", "", "CA (PEM) of the NATS server certificate (default: the system roots)")
	consumerName := fs.String("consumer", "", "your subscription id (the consumer of CreateSubscription's answer)")
	seen := fs.String("seen", "", "file of handled event ids (kept across restarts)")
	maxEvents := fs.Int("max", 0, "exit after this many new events (0 = run until interrupted)")
	_ = fs.Parse(args)
	if *certFile == "" || *consumerName == "" {
		return errors.New("-cert and -consumer are required")
	}
	if *keyFile == "" {
		*keyFile = strings.TrimSuffix(*certFile, ".pem") + "-key.pem"
	}
	tlsConfig, oin, err := clientTLS(*certFile, *keyFile, *caFile)
	if err != nil {
		return err
	}
	h, err := newHandler(*seen, *maxEvents)
	if err != nil {
		return err
	}
	// Your replies must use your own inbox prefix: the broker allows you no other.
	nc, err := nats.Connect(*url, nats.Secure(tlsConfig), nats.CustomInboxPrefix("_INBOX_"+oin),
		nats.Name("example-subscriber"), nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	stream := "WIJKBRUG_FEED_" + oin // your feed: the only stream you may read
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	// Your subscription's consumer. You read through subscriptions only: the broker does not
	// let you create consumers (make one with CreateSubscription, which also shows it in
	// ListSubscriptions).
	cons, err := js.Consumer(cctx, stream, *consumerName)
	cancel()
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("no subscription %s on %s: create one with CreateSubscription and give its consumer", *consumerName, stream)
	}
	if err != nil {
		return fmt.Errorf("consumer %s on %s: %w", *consumerName, stream, err)
	}
	fmt.Fprintf(os.Stderr, "reading %s/%s as OIN %s\n", stream, *consumerName, oin)
	process := func(m jetstream.Msg) {
		hd := m.Headers()
		e := event{id: hd.Get("ce-id"), source: hd.Get("ce-source"), typ: hd.Get("ce-type"), subject: hd.Get("ce-subject"), time: hd.Get("ce-time"), data: m.Data()}
		if err := h.handle(e); err != nil {
			log.Printf("event %s not handled, it comes again: %v", e.id, err)
			_ = m.Nak()
			return
		}
		// Acknowledge and wait for the broker's confirmation; if it is lost the event comes
		// again and is recognised as a repeat.
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := m.DoubleAck(actx); err != nil {
			log.Printf("ack %s: %v (it will come again)", e.id, err)
		}
		h.acknowledged()
	}
	if *maxEvents > 0 {
		return fetchUpTo(ctx, cons, h, process)
	}
	// Without -max it runs until interrupted; what it fetched ahead and did not handle by then
	// comes again after the ack deadline, in order.
	cc, err := cons.Consume(process)
	if err != nil {
		return err
	}
	defer cc.Stop()
	<-ctx.Done()
	return nil
}

// fetchUpTo handles events until -max new ones were handled, fetching only as many as it still
// needs. Consume fetches ahead (hundreds), and what a stopping program fetched but did not
// handle comes again only after the ack deadline (30 s). Giving those back with a NAK is no
// cure: JetStream may then deliver a later event of the same aggregate first.
func fetchUpTo(ctx context.Context, cons jetstream.Consumer, h *handler, process func(jetstream.Msg)) error {
	for {
		need := h.remaining()
		if need <= 0 || ctx.Err() != nil {
			return nil
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		batch, err := cons.Fetch(need, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for m := range batch.Messages() {
			process(m)
		}
		cancel()
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
	}
}

func runWebhook(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("subscriber webhook", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:8443", "address to serve HTTPS on")
	certFile := fs.String("tls-cert", "", "server certificate (PEM) of your endpoint")
	keyFile := fs.String("tls-key", "", "its private key (default: -tls-cert with -key.pem)")
	clientCA := fs.String("client-ca", "", "optional: require Wijkbrug's client certificate, chaining to this CA (PEM)")
	secret := fs.String("secret", os.Getenv("WIJKBRUG_WEBHOOK_SECRET"), "the subscription's webhookSecret (whsec_…), or WIJKBRUG_WEBHOOK_SECRET")
	path := fs.String("path", "/", "URL path the subscription delivers to")
	seen := fs.String("seen", "", "file of handled event ids (kept across restarts)")
	maxEvents := fs.Int("max", 0, "exit after this many new events (0 = run until interrupted)")
	_ = fs.Parse(args)
	if *certFile == "" || *secret == "" {
		return errors.New("-tls-cert and -secret are required")
	}
	if *keyFile == "" {
		*keyFile = strings.TrimSuffix(*certFile, ".pem") + "-key.pem"
	}
	verifier, err := standardwebhooks.NewWebhook(*secret)
	if err != nil {
		return err
	}
	h, err := newHandler(*seen, *maxEvents)
	if err != nil {
		return err
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if *clientCA != "" {
		b, err := os.ReadFile(*clientCA)
		if err != nil {
			return err
		}
		block, _ := pem.Decode(b)
		if block == nil {
			return errors.New("no PEM in " + *clientCA)
		}
		tlsConfig.ClientCAs = x509.NewCertPool()
		tlsConfig.ClientCAs.AppendCertsFromPEM(b)
		tlsConfig.ClientAuth = tls.RequireAndVerifyClientCert
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+*path, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		// Verify before anything else: the signature covers webhook-id, the timestamp (at
		// most five minutes off) and the body.
		if err := verifier.Verify(body, r.Header); err != nil {
			log.Printf("refused a delivery: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		e := event{id: r.Header.Get("ce-id"), source: r.Header.Get("ce-source"), typ: r.Header.Get("ce-type"),
			subject: r.Header.Get("ce-subject"), time: r.Header.Get("ce-time"), data: body}
		if e.id == "" || e.id != r.Header.Get("webhook-id") {
			http.Error(w, "ce-id missing or not the webhook-id", http.StatusBadRequest)
			return
		}
		if err := h.handle(e); err != nil {
			// Not 2xx: Wijkbrug retries the same event later.
			http.Error(w, "not handled", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent) // the acknowledgement
		h.acknowledged()
	})
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "receiving webhooks on https://%s%s\n", lis.Addr(), *path)
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(lis, *certFile, *keyFile) }()
	select {
	case <-ctx.Done():
	case <-h.done:
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
