package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
)

// eventWatch follows the referral stream as an integrator would: for each signal.received it
// notes the lag (stored − ce-time and arrival − ce-time) and, for the chain, when the GP's
// feedback arrived.
//
// ce-time is taken in the writing transaction, before the commit and before the RPC answers,
// so stored − ce-time (stored: the time the stream gives the message when it stores it) is an
// upper bound of both "commit → JetStream" and "RPC answer → event on JetStream" (one clock:
// everything runs on this machine). arrival − ce-time adds the delivery to this subscriber.
type eventWatch struct {
	nc *nats.Conn
	cc jetstream.ConsumeContext

	mu       sync.Mutex
	since    time.Time
	lags     []time.Duration // arrival here − ce-time
	stored   []time.Duration // stored on the stream − ce-time
	received map[string]bool
	fedBack  map[string]bool
}

func watchEvents(ctx context.Context, s *suite.Suite) (*eventWatch, error) {
	nc, err := s.ConnectNATS(s.Observer) // the suite's observer identity: TLS, certificate, read-only
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream, err := natsx.WaitForStream(wctx, js, natsx.StreamName("referral"))
	if err != nil {
		nc.Close()
		return nil, err
	}
	fedBack, err := eventsubject.FeedbackSubject(&referralv1.SignalFedBack{}, suite.DemoGP.OIN)
	if err != nil {
		nc.Close()
		return nil, err
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy,
		FilterSubjects: []string{eventsubject.Filter(&referralv1.SignalReceived{}), fedBack}})
	if err != nil {
		nc.Close()
		return nil, err
	}
	w := &eventWatch{nc: nc}
	w.reset()
	w.cc, err = cons.Consume(w.handle)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return w, nil
}

func (w *eventWatch) handle(m jetstream.Msg) {
	arrived := time.Now()
	env, err := cloudevents.FromMsg(m.Subject(), m.Headers(), m.Data())
	if err != nil {
		return
	}
	msg, err := env.Decode()
	if err != nil {
		return
	}
	md, err := m.Metadata()
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if env.Time.Before(w.since) {
		return // from before the current measurement
	}
	switch e := msg.(type) {
	case *referralv1.SignalReceived:
		w.lags = append(w.lags, arrived.Sub(env.Time))
		w.stored = append(w.stored, md.Timestamp.Sub(env.Time))
		w.received[e.GetSignalId()] = true
	case *referralv1.SignalFedBack:
		if w.received[e.GetSignalId()] {
			w.fedBack[e.GetSignalId()] = true
		}
	}
}

func (w *eventWatch) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.since, w.lags, w.stored, w.received, w.fedBack = time.Now(), nil, nil, map[string]bool{}, map[string]bool{}
}

// lagResult is the event lag of one measurement: Stored up to the stream's storing of the
// event (what the target names), Delivered up to its delivery to an integrator's subscriber.
type lagResult struct {
	Name              string
	Count, Expected   int
	Stored, Delivered percentiles
	// Relay is what referral's relay did meanwhile (relayLine).
	Relay string
}

type percentiles struct {
	P50, P90, P99, Max time.Duration
}

// percentilesOf gives the percentiles of d (left unsorted) that the results print.
func percentilesOf(d []time.Duration) percentiles {
	d = append([]time.Duration(nil), d...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	p := percentiles{P50: pct(d, 50), P90: pct(d, 90), P99: pct(d, 99)}
	if len(d) > 0 {
		p.Max = d[len(d)-1]
	}
	return p
}

// lag waits (at most 30 s) until the events of the expect signals have arrived, so slow ones
// count too, then reports the lag distribution.
func (w *eventWatch) lag(name string, expect int) lagResult {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if in, _ := w.chainCounts(); in >= expect {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return lagResult{Name: name, Count: len(w.lags), Expected: expect, Stored: percentilesOf(w.stored), Delivered: percentilesOf(w.lags)}
}

func (w *eventWatch) chainCounts() (in, done int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.received), len(w.fedBack)
}

func (w *eventWatch) close() {
	if w.cc != nil {
		w.cc.Stop()
	}
	w.nc.Close()
}

func (l lagResult) String() string {
	return fmt.Sprintf("%s: n=%d stored p50 %s p90 %s p99 %s max %s; delivered p50 %s p99 %s", l.Name, l.Count,
		ms(l.Stored.P50), ms(l.Stored.P90), ms(l.Stored.P99), ms(l.Stored.Max), ms(l.Delivered.P50), ms(l.Delivered.P99))
}
