package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1" // register event types
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"google.golang.org/protobuf/encoding/protojson"
)

// runEvents prints events, decoded, one JSON object per line. With an operations certificate
// (OU=OPERATIONS, the default in the development suite) it reads the service streams through
// ordered consumers; with a partner's certificate it reads that partner's own feed message by
// message (a partner may not create consumers) — the same access NATS gives them.
func runEvents(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("events")
	url := fs.String("nats", "tls://127.0.0.1:4222", "NATS URL")
	pki := ".wijkbrug/pki"
	certFile := fs.String("cert", pki+"/ops.pem", "client certificate (PEM): operations (all service streams) or a partner (its own feed)")
	keyFile := fs.String("key", "", "private key of -cert (default: the -cert file name with -key.pem)")
	caFile := fs.String("ca", pki+"/ca.pem", "CA bundle (PEM) the NATS server certificate chains to")
	subject := fs.String("subject", "", "subject filter, e.g. wijkbrug.casedirection.> (default: everything readable)")
	onlyNew := fs.Bool("new", false, "only events published from now on (default: replay history)")
	since := fs.String("since", "", "replay from a time (RFC 3339, e.g. 2026-12-01T09:00:00Z, or a duration ago, e.g. 15m) or a stream sequence (a number)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	start, err := parseSince(*since, *onlyNew, time.Now())
	if err != nil {
		return err
	}
	if *keyFile == "" {
		*keyFile = strings.TrimSuffix(*certFile, ".pem") + "-key.pem"
	}
	tlsConfig, org, err := loadClientTLS(*certFile, *keyFile, *caFile)
	if err != nil {
		return certHint(err)
	}
	observer := org.Type == operationsType
	inbox := org.OIN
	if observer {
		inbox = natsauth.ObserverInbox
	}
	nc, err := nats.Connect(*url, append(natsx.Secure(tlsConfig, inbox), nats.Name("wijkbrug-events"))...)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	streams := map[string]string{} // stream -> its subjects
	if observer {
		for _, svc := range natsauth.ServiceNames {
			streams[natsx.StreamName(svc)] = natsx.SubjectPrefix(svc) + ".>"
		}
	} else {
		streams[natsx.PartnerStream(org.OIN)] = natsx.FeedRoot + "." + org.OIN + ".>"
	}
	var stops []func()
	for stream, all := range streams {
		filter := *subject
		if filter == "" {
			filter = all
		}
		if !subjectOverlaps(filter, all) {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := js.Stream(lctx, stream)
		cancel()
		if ctx.Err() != nil {
			break // stopped (Ctrl-C) while starting
		}
		if err != nil {
			continue // not created yet
		}
		if !observer {
			// A partner may not create consumers (its subscriptions are made through the
			// Subscriptions API): it reads its feed message by message.
			done := make(chan error, 1)
			fctx, cancel := context.WithCancel(ctx)
			go func() { done <- followFeed(fctx, nc, st, filter, start, out) }()
			stops = append(stops, func() {
				cancel()
				<-done
			})
			continue
		}
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}}
		start.apply(&cfg)
		cons, err := st.OrderedConsumer(ctx, cfg)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", stream, err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) { printEvent(out, m.Subject(), m.Headers(), m.Data()) })
		if err != nil {
			return err
		}
		stops = append(stops, cc.Stop)
	}
	if len(stops) == 0 && ctx.Err() == nil {
		what := fmt.Sprintf("no readable Wijkbrug stream matches %q", *subject)
		if *subject == "" {
			what = "no Wijkbrug stream is readable"
		}
		return fmt.Errorf("%s for %s (is the suite running; does the partner have a subscription?)", what, org.Name)
	}
	if ctx.Err() == nil {
		// On standard error, so that the events on standard output stay one JSON object a
		// line: a reader who asked for new events only (or a sequence not reached yet) sees at
		// once that it is connected and waiting.
		what := "the service streams (read-only)"
		if !observer {
			what = "the feed of " + org.Name
		}
		what += " from " + start.String()
		if *subject != "" {
			what += ", subject " + *subject
		}
		fmt.Fprintf(os.Stderr, "events: reading %s; Ctrl-C stops\n", what)
	}
	<-ctx.Done()
	for _, s := range stops {
		s()
	}
	return nil
}

// followFeed prints a partner's feed from start on, one message at a time through
// STREAM.MSG.GET (the request its account imports for this; it may not create consumers),
// waiting for new events once it has printed what is there, until ctx ends.
func followFeed(ctx context.Context, nc *nats.Conn, st jetstream.Stream, filter string, start startPoint, out io.Writer) error {
	next := uint64(1)
	switch start.policy {
	case jetstream.DeliverNewPolicy:
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		info, err := st.Info(ictx)
		cancel()
		if err != nil {
			return err
		}
		next = info.State.LastSeq + 1
	case jetstream.DeliverByStartSequencePolicy:
		next = start.seq
	case jetstream.DeliverByStartTimePolicy:
		seq, err := firstSeqSince(ctx, nc, st.CachedInfo().Config.Name, filter, start.time)
		if err != nil {
			return err
		}
		next = seq
	}
	for ctx.Err() == nil {
		if next == 0 { // nothing at or after the start time yet: from what comes next
			ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
			info, err := st.Info(ictx)
			cancel()
			if err == nil {
				next = info.State.LastSeq + 1
			}
			continue
		}
		gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := st.GetMsg(gctx, next, jetstream.WithGetMsgSubject(filter))
		cancel()
		if err == nil {
			printEvent(out, m.Subject, m.Header, m.Data)
			next = m.Sequence + 1
			continue
		}
		if !errors.Is(err, jetstream.ErrMsgNotFound) && ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "events: %v\n", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// firstSeqSince is the sequence of the first message of stream matching filter stored at or
// after t, or 0 when there is none yet.
func firstSeqSince(ctx context.Context, nc *nats.Conn, stream, filter string, t time.Time) (uint64, error) {
	req, _ := json.Marshal(map[string]any{"start_time": t.UTC(), "next_by_subj": filter})
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg, err := nc.RequestWithContext(rctx, "$JS.API.STREAM.MSG.GET."+stream, req)
	if err != nil {
		return 0, err
	}
	var resp struct {
		Message *struct {
			Seq uint64 `json:"seq"`
		} `json:"message"`
		Error *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return 0, err
	}
	switch {
	case resp.Error != nil && resp.Error.Code == 404:
		return 0, nil
	case resp.Error != nil:
		return 0, fmt.Errorf("%s: %s", stream, resp.Error.Description)
	case resp.Message == nil:
		return 0, fmt.Errorf("%s: no message in the answer", stream)
	}
	return resp.Message.Seq, nil
}

// startPoint is where a replay begins.
type startPoint struct {
	policy jetstream.DeliverPolicy
	seq    uint64
	time   time.Time
}

// String says where reading starts, as the reading line of runEvents puts it.
func (p startPoint) String() string {
	switch p.policy {
	case jetstream.DeliverNewPolicy:
		return "now on (new events only)"
	case jetstream.DeliverByStartSequencePolicy:
		return "stream sequence " + strconv.FormatUint(p.seq, 10)
	case jetstream.DeliverByStartTimePolicy:
		return p.time.UTC().Format(time.RFC3339)
	}
	return "the first event"
}

func (p startPoint) apply(c *jetstream.OrderedConsumerConfig) {
	c.DeliverPolicy = p.policy
	switch p.policy {
	case jetstream.DeliverByStartSequencePolicy:
		c.OptStartSeq = p.seq
	case jetstream.DeliverByStartTimePolicy:
		t := p.time
		c.OptStartTime = &t
	}
}

// parseSince reads -since: a stream sequence (a number), a time (RFC 3339) or a duration ago.
func parseSince(since string, onlyNew bool, now time.Time) (startPoint, error) {
	switch {
	case since != "" && onlyNew:
		return startPoint{}, errors.New("-since and -new exclude each other")
	case onlyNew:
		return startPoint{policy: jetstream.DeliverNewPolicy}, nil
	case since == "":
		return startPoint{policy: jetstream.DeliverAllPolicy}, nil
	}
	if seq, err := strconv.ParseUint(since, 10, 64); err == nil {
		if seq == 0 {
			return startPoint{}, errors.New("-since: sequences start at 1")
		}
		return startPoint{policy: jetstream.DeliverByStartSequencePolicy, seq: seq}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, since); err == nil {
		return startPoint{policy: jetstream.DeliverByStartTimePolicy, time: t}, nil
	}
	if d, err := time.ParseDuration(since); err == nil && d > 0 {
		return startPoint{policy: jetstream.DeliverByStartTimePolicy, time: now.Add(-d)}, nil
	}
	return startPoint{}, fmt.Errorf("-since %q: want a sequence number, an RFC 3339 time or a duration such as 15m", since)
}

// loadClientTLS loads a client certificate and the CA, and reads the organisation from the
// certificate (serialNumber = OIN, OU = type).
func loadClientTLS(certFile, keyFile, caFile string) (*tls.Config, devca.Org, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, devca.Org{}, fmt.Errorf("client certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, devca.Org{}, err
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, devca.Org{}, fmt.Errorf("CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, devca.Org{}, fmt.Errorf("CA: %s holds no PEM certificate", caFile)
	}
	org := devca.Org{OIN: leaf.Subject.SerialNumber, Name: leaf.Subject.CommonName}
	if len(leaf.Subject.OrganizationalUnit) > 0 {
		org.Type = leaf.Subject.OrganizationalUnit[0]
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool}, org, nil
}

func printEvent(out io.Writer, subject string, hdr nats.Header, data []byte) {
	env, err := cloudevents.FromMsg(subject, hdr, data)
	line := map[string]any{"subject": subject}
	if err != nil {
		line["error"] = err.Error()
	} else {
		line["id"], line["type"], line["source"], line["time"], line["aggregate"] = env.ID, env.Type, env.Source, env.Time, env.Subject
		if msg, err := env.Decode(); err == nil {
			b, _ := protojson.Marshal(msg)
			line["data"] = json.RawMessage(b)
		} else {
			line["error"] = err.Error()
		}
	}
	b, _ := json.Marshal(line)
	fmt.Fprintln(out, string(b))
}

// subjectOverlaps reports whether filter can match anything under stream (token-wise, with
// * and > wildcards).
func subjectOverlaps(filter, stream string) bool {
	f, s := tokens(filter), tokens(stream)
	for i := 0; i < len(f) && i < len(s); i++ {
		if f[i] == ">" || s[i] == ">" {
			return true
		}
		if f[i] != "*" && s[i] != "*" && f[i] != s[i] {
			return false
		}
	}
	return len(f) == len(s)
}

func tokens(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
