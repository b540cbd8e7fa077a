package feed

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	subscriptionsv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// subscribers are the organisation types that may have a feed: every partner type. Services
// and unknown types have none.
var subscribers = []identity.OrgType{
	identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis, identity.OrgHousingCorporation,
	identity.OrgUtility, identity.OrgHealthInsurer, identity.OrgPolice, identity.OrgCreditBank,
	identity.OrgProvider, identity.OrgTeam, identity.OrgMunicipality, identity.OrgIntegrator,
}

// Policy is the rule set of the Subscriptions API: any partner, for its own feed only (the
// feed is chosen by the caller's certificate, never by the request).
var Policy = authz.Policy{
	subscriptionsv1.SubscriptionService_CreateSubscription_FullMethodName: {OrgTypes: subscribers},
	subscriptionsv1.SubscriptionService_ListSubscriptions_FullMethodName:  {OrgTypes: subscribers},
	subscriptionsv1.SubscriptionService_PauseSubscription_FullMethodName:  {OrgTypes: subscribers},
	subscriptionsv1.SubscriptionService_DeleteSubscription_FullMethodName: {OrgTypes: subscribers},
}

// WithPolicy returns p plus the Subscriptions API rules (for the service that serves it).
func WithPolicy(p authz.Policy) authz.Policy {
	out := maps.Clone(p)
	maps.Copy(out, Policy)
	return out
}

// Server is the Subscriptions API.
type Server struct {
	subscriptionsv1.UnimplementedSubscriptionServiceServer
	m    *Manager
	idem *idempotency.Store
}

// NewServer returns the Subscriptions API on m.
func NewServer(m *Manager, idem *idempotency.Store) *Server { return &Server{m: m, idem: idem} }

func caller(ctx context.Context) (identity.Caller, error) {
	c, ok := identity.From(ctx)
	if !ok {
		return c, apperr.Unauthenticated("no caller")
	}
	return c, nil
}

// MaxStartAhead is how far start_time may lie ahead of the server's clock (another clock's
// "now"); such a start counts as the moment of the call.
const MaxStartAhead = time.Minute

// SpecFromRequest validates a new subscription (every bad field at once). allowLoopback
// admits webhook endpoints on loopback addresses (development and tests only).
func SpecFromRequest(req *subscriptionsv1.CreateSubscriptionRequest, allowLoopback bool) (Spec, error) {
	var v apperr.Validation
	s := Spec{}
	switch req.GetStartPoint() {
	case subscriptionsv1.StartPoint_START_POINT_ALL, subscriptionsv1.StartPoint_START_POINT_UNSPECIFIED:
		s.Start = StartAll
	case subscriptionsv1.StartPoint_START_POINT_TIME:
		s.Start = StartTime
		switch t := req.GetStartTime(); {
		case t == nil:
			v.Add("start_time", "required with START_POINT_TIME")
		case !t.IsValid() || t.GetSeconds() <= 0:
			// Given, but not a time the feed can start at (before 1970, or beyond year 9999).
			v.Add("start_time", "out of range: must be from 1970-01-01T00:00:01Z to 9999-12-31T23:59:59Z")
		case t.AsTime().After(time.Now().Add(MaxStartAhead)):
			// JetStream settles a consumer's start when it is made: a start still to come
			// cannot wait for its moment. Within MaxStartAhead (clocks that differ) it counts
			// as the moment of the call.
			v.Add("start_time", "lies ahead: a subscription starts at a past moment or now (START_POINT_NEW starts with what comes next)")
		}
		s.Time = req.GetStartTime().AsTime()
	case subscriptionsv1.StartPoint_START_POINT_SEQUENCE:
		s.Start = StartSequence
		v.Check(req.GetStartSequence() >= 1, "start_sequence", "required (1 or more) with START_POINT_SEQUENCE")
		s.Sequence = req.GetStartSequence()
	case subscriptionsv1.StartPoint_START_POINT_NEW:
		s.Start = StartNew
	default:
		v.Add("start_point", "unknown start point")
	}
	if req.GetStartPoint() != subscriptionsv1.StartPoint_START_POINT_TIME && req.GetStartTime() != nil {
		v.Add("start_time", "only with START_POINT_TIME")
	}
	if req.GetStartPoint() != subscriptionsv1.StartPoint_START_POINT_SEQUENCE && req.GetStartSequence() != 0 {
		v.Add("start_sequence", "only with START_POINT_SEQUENCE")
	}
	// The count of event types is a schema rule (protovalidate, at most 16). Their shape is
	// checked here as well as in the schema: each becomes a NATS subject filter, and a
	// wildcard would widen the feed, so the safety of the filter does not depend on the
	// interceptor.
	for i, t := range req.GetEventTypes() {
		// The element is named as the schema names it (event_types[1]).
		field := fmt.Sprintf("event_types[%d]", i)
		if !EventTypeRe.MatchString(t) {
			v.Add(field, "an event type (ce-type) such as wijkbrug.referral.v1.SignalFedBack")
			continue // every bad element is named (the schema allows at most 16)
		}
		if !IsEventType(t) {
			// A misspelt type would make a subscription that stays silent for ever.
			v.Add(field, t+" is not a Wijkbrug event type (docs/events.md lists them)")
			continue
		}
		if !slices.Contains(s.Types, t) {
			s.Types = append(s.Types, t)
		}
	}
	if req.GetWebhook() != nil {
		u, err := CheckWebhookURL(req.GetWebhook().GetUrl(), allowLoopback)
		if e, ok := apperr.As(err); ok {
			for _, fv := range e.Violations {
				v.Add(fv.Field, fv.Description)
			}
		}
		s.WebhookURL = u
	}
	return s, v.Err()
}

// CreateSubscription makes a durable subscription on the caller's own feed.
func (s *Server) CreateSubscription(ctx context.Context, req *subscriptionsv1.CreateSubscriptionRequest) (*subscriptionsv1.CreateSubscriptionResponse, error) {
	hooks := s.m.Webhooks()
	spec, err := SpecFromRequest(req, hooks != nil && hooks.AllowLoopback())
	if err != nil {
		return nil, err
	}
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if spec.WebhookURL != "" && hooks == nil {
		return nil, apperr.FailedPrecondition("webhook subscriptions are not offered by this deployment")
	}
	id := SubscriptionID(c.Org.OIN, req.GetIdempotencyKey())
	resp, err := idempotency.Do(ctx, s.idem, req, func() *subscriptionsv1.CreateSubscriptionResponse {
		return &subscriptionsv1.CreateSubscriptionResponse{}
	},
		func(ctx context.Context) (*subscriptionsv1.CreateSubscriptionResponse, error) {
			sub, err := s.m.Create(ctx, c.Org.OIN, id, spec)
			if err != nil {
				return nil, err
			}
			if spec.WebhookURL != "" {
				// In the idempotency transaction: the row exists exactly when the answer does.
				if err := hooks.insert(ctx, id, c.Org.OIN, spec.WebhookURL, NewWebhookSecret()); err != nil {
					return nil, err
				}
				sub.Webhook = &Webhook{SubscriptionID: id, OIN: c.Org.OIN, URL: spec.WebhookURL, Status: WebhookActive, NextAttemptAt: time.Now()}
				return &subscriptionsv1.CreateSubscriptionResponse{Subscription: s.toProto(sub)}, nil
			}
			return &subscriptionsv1.CreateSubscriptionResponse{Subscription: s.toProto(sub), Connection: &subscriptionsv1.Connection{
				Stream: sub.Stream, Consumer: sub.ID, InboxPrefix: natsx.InboxPrefix(c.Org.OIN), AckWaitSeconds: int64(AckWait.Seconds()),
			}}, nil
		})
	if err != nil || spec.WebhookURL == "" {
		return resp, err
	}
	// The secret is kept sealed in the webhook's row, not in the stored idempotent answer; the
	// create and its retries with the same key show it, nothing else does.
	secret, err := hooks.secret(ctx, c.Org.OIN, id)
	if err != nil {
		return nil, err
	}
	resp.WebhookSecret = secret
	return resp, nil
}

// SubscriptionLimits are the page sizes of ListSubscriptions.
var SubscriptionLimits = paging.Limits{Default: 100, Max: 500}

const subscriptionList = "subscriptions"

func subscriptionAt(sub Subscription) paging.At { return paging.At{Time: sub.CreatedAt, ID: sub.ID} }

// ListSubscriptions lists the caller's subscriptions, oldest first, one page at a time.
func (s *Server) ListSubscriptions(ctx context.Context, req *subscriptionsv1.ListSubscriptionsRequest) (*subscriptionsv1.ListSubscriptionsResponse, error) {
	var v apperr.Validation
	page, after := paging.ParseAt(&v, subscriptionList, SubscriptionLimits, req.GetPageSize(), req.GetPageToken())
	if after != nil && !ValidID(after.ID) {
		v.Add("page_token", "not a token from a previous page of this list")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := s.m.List(ctx, c.Org.OIN)
	if err != nil {
		return nil, err
	}
	// A partner's subscriptions are the consumers of its one feed stream, read whole from
	// NATS (and so bounded by it): paged here.
	list, more := paging.Seek(subs, subscriptionAt, after, page.Size)
	out := &subscriptionsv1.ListSubscriptionsResponse{}
	for _, sub := range list {
		out.Subscriptions = append(out.Subscriptions, s.toProto(sub))
	}
	if more {
		last := subscriptionAt(list[len(list)-1])
		out.NextPageToken = paging.TokenAt(subscriptionList, last.Time, last.ID)
	}
	return out, nil
}

func checkID(id string) error {
	if !ValidID(id) {
		return apperr.Invalid("subscription_id", "a subscription id as returned by CreateSubscription (sub-<16 hex digits>)")
	}
	return nil
}

// PauseSubscription pauses or resumes one of the caller's subscriptions.
func (s *Server) PauseSubscription(ctx context.Context, req *subscriptionsv1.PauseSubscriptionRequest) (*subscriptionsv1.PauseSubscriptionResponse, error) {
	if err := checkID(req.GetSubscriptionId()); err != nil {
		return nil, err
	}
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *subscriptionsv1.PauseSubscriptionResponse { return &subscriptionsv1.PauseSubscriptionResponse{} },
		func(ctx context.Context) (*subscriptionsv1.PauseSubscriptionResponse, error) {
			sub, err := s.m.Pause(ctx, c.Org.OIN, req.GetSubscriptionId(), req.GetPaused())
			if err != nil {
				return nil, err
			}
			return &subscriptionsv1.PauseSubscriptionResponse{Subscription: s.toProto(sub)}, nil
		})
}

// DeleteSubscription removes one of the caller's subscriptions.
func (s *Server) DeleteSubscription(ctx context.Context, req *subscriptionsv1.DeleteSubscriptionRequest) (*subscriptionsv1.DeleteSubscriptionResponse, error) {
	if err := checkID(req.GetSubscriptionId()); err != nil {
		return nil, err
	}
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *subscriptionsv1.DeleteSubscriptionResponse {
		return &subscriptionsv1.DeleteSubscriptionResponse{}
	},
		func(ctx context.Context) (*subscriptionsv1.DeleteSubscriptionResponse, error) {
			return &subscriptionsv1.DeleteSubscriptionResponse{}, s.m.Delete(ctx, c.Org.OIN, req.GetSubscriptionId())
		})
}

var startToProto = map[Start]subscriptionsv1.StartPoint{StartAll: subscriptionsv1.StartPoint_START_POINT_ALL,
	StartTime: subscriptionsv1.StartPoint_START_POINT_TIME, StartSequence: subscriptionsv1.StartPoint_START_POINT_SEQUENCE,
	StartNew: subscriptionsv1.StartPoint_START_POINT_NEW}

func (s *Server) toProto(sub Subscription) *subscriptionsv1.Subscription {
	p := &subscriptionsv1.Subscription{SubscriptionId: sub.ID, Stream: sub.Stream, EventTypes: sub.Types, StartPoint: startToProto[sub.Start],
		StartSequence: sub.Sequence, Paused: sub.Paused, Pending: sub.Pending, AckPending: sub.AckPending, CreatedAt: timestamppb.New(sub.CreatedAt)}
	if !sub.Time.IsZero() {
		p.StartTime = timestamppb.New(sub.Time)
	}
	if h := sub.Webhook; h != nil {
		w := &subscriptionsv1.WebhookDelivery{Url: h.URL, Status: webhookStatusToProto[h.Status], ConsecutiveFailures: uint32(max(h.Failures, 0)),
			LastError: h.LastError, Delivered: h.Delivered}
		if hooks := s.m.Webhooks(); hooks != nil {
			w.MaxFailures = uint32(hooks.MaxFailures())
		}
		if !h.LastAttemptAt.IsZero() {
			w.LastAttemptAt = timestamppb.New(h.LastAttemptAt)
		}
		if !h.LastDelivered.IsZero() {
			w.LastDeliveredAt = timestamppb.New(h.LastDelivered)
		}
		if h.Status == WebhookActive && !h.NextAttemptAt.IsZero() {
			w.NextAttemptAt = timestamppb.New(h.NextAttemptAt)
		}
		p.Webhook = w
	}
	return p
}

var webhookStatusToProto = map[string]subscriptionsv1.WebhookStatus{WebhookActive: subscriptionsv1.WebhookStatus_WEBHOOK_STATUS_ACTIVE,
	WebhookPausedFailing: subscriptionsv1.WebhookStatus_WEBHOOK_STATUS_PAUSED_FAILING, WebhookPaused: subscriptionsv1.WebhookStatus_WEBHOOK_STATUS_PAUSED}
