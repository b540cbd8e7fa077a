// Package feed manages partner subscriptions on the event plane: durable JetStream consumers
// on a partner's own feed stream (WIJKBRUG_FEED_<OIN>), which the services fill through their
// outboxes with the events the partner is involved in. The Subscriptions API (Server) is a
// platform service like the access log; the referral service serves it (natsauth.FeedManager).
package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1" // event types (IsEventType)
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Start is where a subscription begins.
type Start string

// Start points.
const (
	StartAll      Start = "ALL"
	StartTime     Start = "TIME"
	StartSequence Start = "SEQUENCE"
	StartNew      Start = "NEW"
)

// AckWait is how long a delivered event waits for its acknowledgement before it is delivered
// again.
const AckWait = 30 * time.Second

// EventTypeRe is the shape of a Wijkbrug event type (ce-type): wijkbrug.<service>.v1.<Message>
// (the same pattern as event_types in subscriptions.proto).
var EventTypeRe = regexp.MustCompile(`^wijkbrug\.[a-z]+\.v[0-9]+\.[A-Z][A-Za-z0-9]{0,63}$`)

// IsEventType reports whether t is the type of an event Wijkbrug publishes: a message of the
// generated packages (all linked in here, whichever service serves the subscription) that
// declares an event subject.
func IsEventType(t string) bool {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(t))
	if err != nil {
		return false
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	return ok && (eventsubject.PatternOf(md) != "" || eventsubject.FeedbackPatternOf(md) != "")
}

// Spec is a new subscription.
type Spec struct {
	Start    Start
	Time     time.Time
	Sequence uint64
	Types    []string
	// WebhookURL, when set, makes a webhook subscription: Wijkbrug pushes its events to the
	// partner's endpoint (CheckWebhookURL) instead of the partner pulling them.
	WebhookURL string
}

// Subscription is a subscription as it stands.
type Subscription struct {
	ID, Stream          string
	Types               []string
	Start               Start
	Time                time.Time
	Sequence            uint64
	Paused              bool
	Pending, AckPending uint64
	CreatedAt           time.Time
	// Webhook is the delivery state of a webhook subscription (nil for a NATS one).
	Webhook *Webhook
}

// Manager creates and manages subscriptions through NATS with the feed manager's identity.
type Manager struct {
	js       jetstream.JetStream
	replicas int
	hooks    *Webhooks
	log      *slog.Logger
}

// NewManager returns a manager; replicas is that of the partner feed streams (3 in production),
// log the service's logger (for a partner stream that differs from this version's).
func NewManager(js jetstream.JetStream, replicas int, log *slog.Logger) *Manager {
	return &Manager{js: js, replicas: max(replicas, 1), log: log}
}

// WithWebhooks lets the manager make webhook subscriptions, stored and delivered by w.
func (m *Manager) WithWebhooks(w *Webhooks) *Manager {
	m.hooks = w
	return m
}

// Webhooks returns the webhook store and deliverer (nil when webhooks are not offered).
func (m *Manager) Webhooks() *Webhooks { return m.hooks }

const (
	metaKind  = "wijkbrug-subscription"
	metaStart = "wijkbrug-start"
	metaTime  = "wijkbrug-start-time"
	metaSeq   = "wijkbrug-start-sequence"
	metaHook  = "wijkbrug-webhook"
)

// SubscriptionID is the consumer name of a subscription: derived from the organisation and the
// request's idempotency key, so a retry after a lost answer finds the same consumer instead of
// making a second one.
func SubscriptionID(oin, idempotencyKey string) string {
	sum := sha256.Sum256([]byte(oin + "\x00" + idempotencyKey))
	return "sub-" + hex.EncodeToString(sum[:8])
}

var idRe = regexp.MustCompile(`^sub-[0-9a-f]{16}$`)

// ValidID reports whether id has the shape of a subscription id.
func ValidID(id string) bool { return idRe.MatchString(id) }

// Create makes the subscription id on the feed of oin (creating the feed stream first).
func (m *Manager) Create(ctx context.Context, oin, id string, s Spec) (Subscription, error) {
	// Bounded: the broker refuses an organisation it does not know by not answering.
	sctx, cancel := context.WithTimeout(ctx, natsTimeout)
	defer cancel()
	partner, err := natsx.EnsurePartnerStream(sctx, m.js, oin, m.replicas, m.log)
	if err != nil {
		return Subscription{}, m.classify(err, oin, "the feed of this organisation")
	}
	cfg := jetstream.ConsumerConfig{
		Durable: id, Description: "Wijkbrug subscription", AckPolicy: jetstream.AckExplicitPolicy, AckWait: AckWait,
		MaxAckPending: 256, DeliverPolicy: jetstream.DeliverAllPolicy,
		Metadata: map[string]string{metaKind: "1", metaStart: string(s.Start)},
	}
	if s.WebhookURL != "" {
		if m.hooks == nil {
			return Subscription{}, apperr.FailedPrecondition("webhook subscriptions are not offered by this deployment")
		}
		// One event in flight: the endpoint gets them in the feed's order. The deliverer
		// acknowledges within the ack deadline, or the event comes back.
		cfg.MaxAckPending, cfg.AckWait, cfg.Metadata[metaHook] = 1, webhookAckWait, "1"
	}
	for _, t := range s.Types {
		cfg.FilterSubjects = append(cfg.FilterSubjects, natsx.FeedSubject(oin, t))
	}
	switch {
	case s.Start == StartTime || s.Start == StartNew:
		if s.Start == StartTime {
			cfg.Metadata[metaTime] = s.Time.UTC().Format(time.RFC3339Nano)
		}
		// Where the subscription starts is found in the shared feed's terms (startSequence).
		fctx, cancel := context.WithTimeout(ctx, startSearchTimeout)
		seq, err := m.startSequence(fctx, partner, oin, s)
		cancel()
		if errors.Is(err, errFeedFilling) {
			return Subscription{}, apperr.Unavailable("the feed of this organisation is still taking over its past events: retry with the same idempotency_key", err)
		}
		if err != nil {
			// Not classify: the organisation has its feed stream by now, so a refusal here is
			// the feed manager's own permissions (docs/operations.md), not the partner's.
			return Subscription{}, apperr.Unavailable("cannot find where the subscription starts in the feed", err)
		}
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq
	case s.Start == StartSequence:
		// A start past the feed's next event would skip the events stored before it: refused.
		ictx, cancel := context.WithTimeout(ctx, natsTimeout)
		info, err := partner.Info(ictx)
		cancel()
		if err != nil {
			return Subscription{}, m.classify(err, oin, "the feed of this organisation")
		}
		if next := info.State.LastSeq + 1; s.Sequence > next {
			return Subscription{}, apperr.Invalid("start_sequence", fmt.Sprintf("lies beyond the feed: its next event gets sequence %d", next))
		}
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, s.Sequence
		cfg.Metadata[metaSeq] = strconv.FormatUint(s.Sequence, 10)
	}
	cctx, cancel := context.WithTimeout(ctx, natsTimeout)
	defer cancel()
	c, err := m.js.CreateConsumer(cctx, natsx.PartnerStream(oin), cfg)
	if errors.Is(err, jetstream.ErrConsumerExists) {
		// The subscription this key names exists with another configuration: the retry of a
		// create whose answer was lost (a start with what is new, or at a time, is found
		// again further on), or a new request with a key whose stored answer is gone after its
		// retention. Only the first gets the subscription; the second did not ask for it.
		c, err = m.js.Consumer(cctx, natsx.PartnerStream(oin), id)
		if err == nil && !sameSettings(c.CachedInfo().Config, cfg) {
			return Subscription{}, keyReused(id)
		}
	}
	if err != nil {
		return Subscription{}, m.classify(err, oin, "the subscription")
	}
	return fromInfo(c.CachedInfo()), nil
}

// sameSettings reports whether two configurations of a subscription's consumer are what the
// same request makes: the same start, event types and kind (NATS or webhook). The start's
// sequence in the feed may differ, found again for a start with what is new or at a time.
func sameSettings(a, b jetstream.ConsumerConfig) bool {
	for _, k := range []string{metaKind, metaStart, metaTime, metaSeq, metaHook} {
		if a.Metadata[k] != b.Metadata[k] {
			return false
		}
	}
	fa, fb := slices.Clone(a.FilterSubjects), slices.Clone(b.FilterSubjects)
	slices.Sort(fa)
	slices.Sort(fb)
	return slices.Equal(fa, fb)
}

// keyReused is the answer to a create whose key made another subscription, once that
// request's stored answer is gone (the idempotency layer's own answer within its retention).
func keyReused(id string) error {
	return apperr.Invalid("idempotency_key", fmt.Sprintf("already used for a different request: it made subscription %s, with other settings; send a new key", id))
}

// startSearchTimeout bounds the search for where a subscription starts, including the wait for
// a new feed stream to take over the partner's events (startSequence).
const startSearchTimeout = 5 * time.Second

// errFeedFilling is the answer when a new feed stream has not taken over the partner's past
// events within startSearchTimeout: the call is retried (UNAVAILABLE), with the same key.
var errFeedFilling = errors.New("the feed stream is still taking over the organisation's past events")

// startSequence returns the sequence in the partner's feed stream where a subscription that
// starts at a time (StartTime) or with what is new (StartNew) begins.
//
// A partner's feed stream takes its events over from the shared feed stream (a source), and
// stores each with the moment it took it over. A feed stream made by this very call (a
// partner's first subscription) is still taking over the partner's past events, all stamped
// now: a consumer started by the feed stream's own clock, or at its end, would receive them
// all. So the start is found in the shared stream's terms, where every event has the
// sequence and the time it was stored with:
//   - first the call waits until the feed stream has taken over every event of the partner
//     that the shared stream held when the call began;
//   - then it searches the feed stream (binary search; the events are in the shared stream's
//     order) for the first event that the shared stream stored after the call began
//     (StartNew), or at or after the requested time (StartTime).
//
// Each event taken over names its place in the shared stream in its Nats-Stream-Source header.
func (m *Manager) startSequence(ctx context.Context, partner jetstream.Stream, oin string, s Spec) (uint64, error) {
	shared, err := m.js.Stream(ctx, natsx.FeedStream)
	if err != nil {
		return 0, err
	}
	last := shared.CachedInfo().State.LastSeq // stored before the call began
	filter := natsx.FeedRoot + "." + oin + ".>"
	var info *jetstream.StreamInfo
	for {
		if info, err = partner.Info(ctx); err != nil {
			return 0, err
		}
		var at uint64 // the shared stream's sequence of the last event taken over
		if info.State.Msgs > 0 {
			if at, err = originSequence(ctx, partner, info.State.LastSeq); err != nil {
				return 0, err
			}
		}
		next, err := shared.GetMsg(ctx, at+1, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) || (err == nil && next.Sequence > last) {
			break // nothing of the partner's past is left to take over
		}
		if err != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, errFeedFilling
		case <-time.After(20 * time.Millisecond):
		}
	}
	after := func(seq uint64) (bool, error) {
		origin, err := originSequence(ctx, partner, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return false, nil // gone from the feed stream: its oldest
		}
		if err != nil {
			return false, err
		}
		if s.Start == StartNew {
			return origin > last, nil
		}
		stored, err := shared.GetMsg(ctx, origin)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return false, nil // gone from the shared stream: older than its retention
		}
		if err != nil {
			return false, err
		}
		return !stored.Time.Before(s.Time), nil
	}
	if info.State.Msgs == 0 {
		return info.State.LastSeq + 1, nil
	}
	// Most often nothing taken over yet is after the start: check the last event first. If it
	// is, the start lies in [FirstSeq, LastSeq].
	if ok, err := after(info.State.LastSeq); err != nil || !ok {
		return info.State.LastSeq + 1, err
	}
	lo, hi := info.State.FirstSeq, info.State.LastSeq
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, err := after(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// streamSourceHeader is the header in which a stream names where a sourced message came from.
const streamSourceHeader = "Nats-Stream-Source"

// originSequence returns the shared feed stream's sequence of the event at seq in a partner's
// feed stream, from its Nats-Stream-Source header ("<stream> <sequence> …").
func originSequence(ctx context.Context, partner jetstream.Stream, seq uint64) (uint64, error) {
	msg, err := partner.GetMsg(ctx, seq)
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(msg.Header.Get(streamSourceHeader))
	if len(fields) < 2 || fields[0] != natsx.FeedStream {
		return 0, fmt.Errorf("feed stream event %d: no source in the shared feed stream (%q)", seq, msg.Header.Get(streamSourceHeader))
	}
	return strconv.ParseUint(fields[1], 10, 64)
}

// natsTimeout bounds each request of the feed manager to the broker. Without it a request
// waited for the caller's whole deadline (the 30 s cap) while NATS was stopped, and the call
// ended DEADLINE_EXCEEDED, which a client's retry policy for reads does not retry, instead of
// UNAVAILABLE with RetryInfo (probe B, thirty-fourth session).
const natsTimeout = 3 * time.Second

// List returns the subscriptions on the feed of oin.
func (m *Manager) List(ctx context.Context, oin string) ([]Subscription, error) {
	nctx, cancel := context.WithTimeout(ctx, natsTimeout)
	defer cancel()
	stream, err := m.js.Stream(nctx, natsx.PartnerStream(oin))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil // no subscription made yet
	}
	if err != nil {
		return nil, m.classify(err, oin, "the feed of this organisation")
	}
	var out []Subscription
	infos := stream.ListConsumers(nctx)
	for info := range infos.Info() {
		if info.Config.Metadata[metaKind] == "1" {
			out = append(out, fromInfo(info))
		}
	}
	if err := infos.Err(); err != nil {
		return nil, m.classify(err, oin, "the subscriptions")
	}
	if m.hooks != nil {
		hooks, err := m.hooks.byOrg(ctx, oin)
		if err != nil {
			return nil, err
		}
		for i := range out {
			if h, ok := hooks[out[i].ID]; ok {
				out[i].withWebhook(h)
			}
		}
	}
	slices.SortFunc(out, func(a, b Subscription) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// Get returns one subscription of oin.
func (m *Manager) Get(ctx context.Context, oin, id string) (Subscription, error) {
	nctx, cancel := context.WithTimeout(ctx, natsTimeout)
	defer cancel()
	stream, err := m.js.Stream(nctx, natsx.PartnerStream(oin))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return Subscription{}, apperr.NotFound("subscription", id)
	}
	if err != nil {
		return Subscription{}, m.classify(err, oin, "the feed of this organisation")
	}
	c, err := stream.Consumer(nctx, id)
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return Subscription{}, apperr.NotFound("subscription", id)
	}
	if err != nil {
		return Subscription{}, m.classify(err, oin, "the subscription")
	}
	if c.CachedInfo().Config.Metadata[metaKind] != "1" {
		return Subscription{}, apperr.NotFound("subscription", id)
	}
	sub := fromInfo(c.CachedInfo())
	if m.hooks != nil && c.CachedInfo().Config.Metadata[metaHook] == "1" {
		hooks, err := m.hooks.byOrg(ctx, oin)
		if err != nil {
			return Subscription{}, err
		}
		if h, ok := hooks[id]; ok {
			sub.withWebhook(h)
		}
	}
	return sub, nil
}

// withWebhook adds a webhook subscription's delivery state; it counts as paused unless its
// delivery is active.
func (s *Subscription) withWebhook(h Webhook) {
	s.Webhook = &h
	s.Paused = s.Paused || h.Status != WebhookActive
}

// Pause pauses or resumes the subscription id of oin. The answer is the subscription as this
// call left it: a pause or resume of the same subscription at the same moment may come after
// it, and a plain re-read would then answer the other call's state (and keep it as this call's
// stored answer). ListSubscriptions shows the state the last of them left.
func (m *Manager) Pause(ctx context.Context, oin, id string, paused bool) (Subscription, error) {
	sub, err := m.Get(ctx, oin, id)
	if err != nil {
		return Subscription{}, err
	}
	if sub.Webhook != nil {
		// A webhook subscription pauses in its delivery state: the deliverer stops fetching,
		// the consumer keeps its position.
		if _, err := m.hooks.setPaused(ctx, oin, id, paused); err != nil {
			return Subscription{}, err
		}
	} else {
		nctx, cancel := context.WithTimeout(ctx, natsTimeout)
		if paused {
			// "Until further notice": JetStream pauses until a moment; a century is that.
			_, err = m.js.PauseConsumer(nctx, natsx.PartnerStream(oin), id, time.Now().AddDate(100, 0, 0))
		} else {
			_, err = m.js.ResumeConsumer(nctx, natsx.PartnerStream(oin), id)
		}
		cancel()
		if err != nil {
			return Subscription{}, m.classify(err, oin, "the subscription")
		}
	}
	if sub, err = m.Get(ctx, oin, id); err != nil {
		return Subscription{}, err
	}
	sub.Paused = paused
	if h := sub.Webhook; h != nil {
		h.Status = WebhookPaused
		if !paused {
			h.Status, h.Failures, h.LastError = WebhookActive, 0, ""
		}
	}
	return sub, nil
}

// Delete removes the subscription id of oin.
func (m *Manager) Delete(ctx context.Context, oin, id string) error {
	if _, err := m.Get(ctx, oin, id); err != nil {
		return err
	}
	nctx, cancel := context.WithTimeout(ctx, natsTimeout)
	defer cancel()
	if err := m.js.DeleteConsumer(nctx, natsx.PartnerStream(oin), id); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return m.classify(err, oin, "the subscription")
	}
	if m.hooks != nil {
		return m.hooks.remove(ctx, oin, id)
	}
	return nil
}

// classify turns a NATS failure of oin's call into the caller's answer: a refusal by the
// broker's permissions of a subject of oin's feed means the organisation was not given access
// to the event plane (an operator adds it to the NATS configuration); anything else is the
// broker being unavailable. The connection's last error is shared by every organisation's
// calls, so only a violation naming oin's own feed counts: another organisation's refusal
// just before does not turn this one's timeout into "no access" (the hostile-integrator probe,
// thirty-seventh session).
func (m *Manager) classify(err error, oin, what string) error {
	if errors.Is(err, jetstream.ErrMaximumConsumersLimit) {
		return apperr.FailedPrecondition(fmt.Sprintf("a feed has at most %d subscriptions: delete one (DeleteSubscription)", natsx.MaxFeedConsumers))
	}
	if last := m.js.Conn().LastError(); errors.Is(last, nats.ErrPermissionViolation) && strings.Contains(last.Error(), natsx.PartnerStream(oin)) {
		return apperr.FailedPrecondition("this organisation has no access to the event plane yet: the operator adds its certificate to the NATS configuration")
	}
	return apperr.Unavailable(fmt.Sprintf("cannot reach %s on the event plane", what), err)
}

func fromInfo(info *jetstream.ConsumerInfo) Subscription {
	s := Subscription{ID: info.Name, Stream: info.Stream, Start: Start(info.Config.Metadata[metaStart]),
		Paused: info.Paused, Pending: info.NumPending, AckPending: uint64(info.NumAckPending), CreatedAt: info.Created}
	for _, f := range info.Config.FilterSubjects {
		// wijkbrug.feed.<oin>.<type>
		if parts := strings.SplitN(f, ".", 4); len(parts) == 4 {
			s.Types = append(s.Types, parts[3])
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, info.Config.Metadata[metaTime]); err == nil {
		s.Time = t
	}
	s.Sequence, _ = strconv.ParseUint(info.Config.Metadata[metaSeq], 10, 64)
	return s
}
