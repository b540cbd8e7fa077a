package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1" // register event types
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"google.golang.org/protobuf/encoding/protojson"
)

// runEvents prints events from the Wijkbrug streams: an integrator's view, replayed from the
// start of each stream unless -new is given.
func runEvents(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("events")
	url := fs.String("nats", "nats://127.0.0.1:4222", "NATS URL")
	subject := fs.String("subject", "wijkbrug.>", "subject filter, e.g. wijkbrug.casedirection.> or wijkbrug.referral.feedback.<OIN>.>")
	onlyNew := fs.Bool("new", false, "only events published from now on (default: replay history)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	nc, err := nats.Connect(*url, nats.Name("wijkbrug-events"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	policy := jetstream.DeliverAllPolicy
	if *onlyNew {
		policy = jetstream.DeliverNewPolicy
	}
	var stops []func()
	for _, svc := range []string{"intake", "casedirection", "providermonitoring", "referral"} {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		stream, err := js.Stream(lctx, natsx.StreamName(svc))
		cancel()
		if err != nil {
			continue // not created yet, or not matching
		}
		filter := *subject
		if !subjectOverlaps(filter, natsx.SubjectPrefix(svc)+".>") {
			continue
		}
		if filter == "wijkbrug.>" {
			filter = natsx.SubjectPrefix(svc) + ".>"
		}
		cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: policy})
		if err != nil {
			return fmt.Errorf("%s: %w", svc, err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) { printEvent(out, m) })
		if err != nil {
			return err
		}
		stops = append(stops, cc.Stop)
	}
	if len(stops) == 0 {
		return fmt.Errorf("no Wijkbrug stream matches %q (is the suite running?)", *subject)
	}
	<-ctx.Done()
	for _, s := range stops {
		s()
	}
	return nil
}

func printEvent(out io.Writer, m jetstream.Msg) {
	env, err := cloudevents.FromMsg(m.Subject(), m.Headers(), m.Data())
	line := map[string]any{"subject": m.Subject()}
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
