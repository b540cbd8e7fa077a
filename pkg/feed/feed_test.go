package feed

import (
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	subscriptionsv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestSpecFromRequest(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	ok := []*subscriptionsv1.CreateSubscriptionRequest{
		{},
		{StartPoint: subscriptionsv1.StartPoint_START_POINT_NEW, EventTypes: []string{"wijkbrug.referral.v1.SignalFedBack", "wijkbrug.referral.v1.SignalFedBack"}},
		{StartPoint: subscriptionsv1.StartPoint_START_POINT_TIME, StartTime: timestamppb.New(at)},
		{StartPoint: subscriptionsv1.StartPoint_START_POINT_SEQUENCE, StartSequence: 7},
	}
	for _, req := range ok {
		if _, err := SpecFromRequest(req, false); err != nil {
			t.Errorf("%v: %v", req, err)
		}
	}
	s, _ := SpecFromRequest(ok[1], false)
	if len(s.Types) != 1 || s.Start != StartNew {
		t.Errorf("spec %+v", s)
	}
	bad := map[string]*subscriptionsv1.CreateSubscriptionRequest{
		"start_time":      {StartPoint: subscriptionsv1.StartPoint_START_POINT_TIME},
		"start_sequence":  {StartPoint: subscriptionsv1.StartPoint_START_POINT_SEQUENCE},
		"event_types[0]":  {EventTypes: []string{"wijkbrug.feed.>"}},
		"event_types[1]":  {EventTypes: []string{"wijkbrug.referral.v1.SignalFedBack", "wijkbrug.referral.v1.Nope"}}, // no such message
		"event_types[0] ": {EventTypes: []string{"wijkbrug.referral.v1.SubmitSignalRequest"}},                        // a message, not an event
		"start_point":     {StartPoint: 99},
	}
	for field, req := range bad {
		_, err := SpecFromRequest(req, false)
		e, isApp := apperr.As(err)
		if !isApp || e.Kind != apperr.KindInvalidArgument || len(e.Violations) == 0 || e.Violations[0].Field != strings.TrimSpace(field) {
			t.Errorf("%s: %v", field, err)
		}
	}
	// Every bad event type is named, not only the first.
	_, err := SpecFromRequest(&subscriptionsv1.CreateSubscriptionRequest{EventTypes: []string{
		"wijkbrug.referral.v1.Nope", "wijkbrug.referral.v1.SignalFedBack", "wijkbrug.>", "wijkbrug.intake.v1.Nope"}}, false)
	var named []string
	if e, ok := apperr.As(err); ok {
		for _, fv := range e.Violations {
			named = append(named, fv.Field)
		}
	}
	if want := []string{"event_types[0]", "event_types[2]", "event_types[3]"}; !slices.Equal(named, want) {
		t.Errorf("bad event types named %v, want %v (%v)", named, want, err)
	}
	// A start_time that is given but out of range says so, not that it is missing.
	timeAt := func(secs int64, nanos int32) *subscriptionsv1.CreateSubscriptionRequest {
		return &subscriptionsv1.CreateSubscriptionRequest{StartPoint: subscriptionsv1.StartPoint_START_POINT_TIME,
			StartTime: &timestamppb.Timestamp{Seconds: secs, Nanos: nanos}}
	}
	startTimes := map[string]struct {
		req  *subscriptionsv1.CreateSubscriptionRequest
		want string // the start of the description
	}{
		"missing":    {bad["start_time"], "required with START_POINT_TIME"},
		"1969":       {timeAt(-1, 0), "out of range"}, // 1969-12-31T23:59:59Z
		"1900":       {timeAt(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), 0), "out of range"},
		"epoch":      {timeAt(0, 0), "out of range"},
		"year 10000": {timeAt(253402300800, 0), "out of range"},
		"bad nanos":  {timeAt(1, -1), "out of range"},
		"ahead":      {timeAt(time.Now().Add(2*time.Minute).Unix(), 0), "lies ahead"},
	}
	for name, c := range startTimes {
		_, err := SpecFromRequest(c.req, false)
		e, isApp := apperr.As(err)
		if !isApp || e.Kind != apperr.KindInvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "start_time" ||
			!strings.HasPrefix(e.Violations[0].Description, c.want) {
			t.Errorf("start_time %s: %v", name, err)
		}
	}
	// Another clock's "now" a little ahead of the server's is a start at the call's moment.
	if _, err := SpecFromRequest(timeAt(time.Now().Add(30*time.Second).Unix(), 0), false); err != nil {
		t.Errorf("start_time 30 s ahead: %v", err)
	}
	if !ValidID(SubscriptionID("00000001000000000200", "k")) || SubscriptionID("a", "k") == SubscriptionID("b", "k") {
		t.Error("subscription ids must be valid and differ per organisation")
	}
}

// FuzzSpecFromRequest: any request is either refused with field errors or gives a spec
// whose filters are event types only (never a wildcard that widens the feed).
func FuzzSpecFromRequest(f *testing.F) {
	f.Add(int32(1), int64(0), uint64(0), "wijkbrug.referral.v1.SignalFedBack", "")
	f.Add(int32(3), int64(1700000000), uint64(5), "wijkbrug.feed.>", "https://partner.example.nl/hook")
	f.Add(int32(1), int64(0), uint64(0), "wijkbrug.referral.v1.SignalFedBack", "https://10.0.0.1/hook")
	f.Fuzz(func(t *testing.T, start int32, secs int64, seq uint64, typ, hook string) {
		req := &subscriptionsv1.CreateSubscriptionRequest{StartPoint: subscriptionsv1.StartPoint(start), StartSequence: seq, EventTypes: []string{typ}}
		if hook != "" {
			req.Webhook = &subscriptionsv1.Webhook{Url: hook}
		}
		if secs != 0 {
			req.StartTime = &timestamppb.Timestamp{Seconds: secs}
		}
		s, err := SpecFromRequest(req, false)
		if err == nil && hook != "" {
			u, perr := url.Parse(s.WebhookURL)
			if perr != nil || u.Scheme != "https" {
				t.Fatalf("webhook %q accepted as %q", hook, s.WebhookURL)
			}
			if ip, perr := netip.ParseAddr(u.Hostname()); perr == nil && !AddressAllowed(ip, false) {
				t.Fatalf("internal address %q accepted", hook)
			}
		}
		if err != nil {
			if _, ok := apperr.As(err); !ok {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for _, ty := range s.Types {
			if !EventTypeRe.MatchString(ty) {
				t.Fatalf("filter %q accepted", ty)
			}
		}
	})
}
