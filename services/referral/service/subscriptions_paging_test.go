package service_test

import (
	"slices"
	"testing"

	subscriptionsv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
)

// ListSubscriptions pages like every other list: page_size and page_token, oldest first,
// every subscription once; bad paging names the field.
func TestListSubscriptionsPages(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.env.NATS.AddPartner(t, housing)
	subs := subscriptionsv1.NewSubscriptionServiceClient(h.env.Client(t, h.s.Addr, housing))
	var want []string
	for _, key := range []string{"page-1", "page-2", "page-3"} {
		created, err := subs.CreateSubscription(h.ctx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: key,
			StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL})
		if err != nil {
			t.Fatalf("create %s: %v", key, err)
		}
		want = append(want, created.GetSubscription().GetSubscriptionId())
	}

	first, err := subs.ListSubscriptions(h.ctx, &subscriptionsv1.ListSubscriptionsRequest{PageSize: 2})
	if err != nil || len(first.GetSubscriptions()) != 2 || first.GetNextPageToken() == "" {
		t.Fatalf("first page: %v %v", first, err)
	}
	second, err := subs.ListSubscriptions(h.ctx, &subscriptionsv1.ListSubscriptionsRequest{PageSize: 2, PageToken: first.GetNextPageToken()})
	if err != nil || len(second.GetSubscriptions()) != 1 || second.GetNextPageToken() != "" {
		t.Fatalf("second page: %v %v", second, err)
	}
	var got []string
	for _, s := range append(first.GetSubscriptions(), second.GetSubscriptions()...) {
		got = append(got, s.GetSubscriptionId())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("want every subscription once, oldest first: %v, got %v", want, got)
	}
	all, err := subs.ListSubscriptions(h.ctx, &subscriptionsv1.ListSubscriptionsRequest{})
	if err != nil || len(all.GetSubscriptions()) != 3 || all.GetNextPageToken() != "" {
		t.Fatalf("page_size 0 is the default: %v %v", all, err)
	}

	for field, req := range map[string]*subscriptionsv1.ListSubscriptionsRequest{
		"page_size":  {PageSize: 10000},
		"page_token": {PageToken: "not-a-token"},
	} {
		_, err := subs.ListSubscriptions(h.ctx, req)
		if v := violations(t, err); !v[field] || len(v) != 1 {
			t.Errorf("%s: want INVALID_ARGUMENT on it alone, got %v", field, v)
		}
	}
}
