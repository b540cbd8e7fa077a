package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// bsns returns n distinct valid BSNs.
func bsns(n int) []string {
	var out []string
	for i := 100000000; len(out) < n; i++ {
		if s := fmt.Sprint(i); bsn.Validate(s) == nil {
			out = append(out, s)
		}
	}
	return out
}

func TestRecurringThemesSuppressSmallGroups(t *testing.T) {
	t.Parallel()
	h := start(t)
	housingClient := h.client(t, housing)
	residents := bsns(6)
	arrears := func(bsn, district string) {
		t.Helper()
		_, err := housingClient.SubmitSignal(h.ctx, &referralv1.SubmitSignalRequest{IdempotencyKey: h.key(),
			SourceType: referralv1.SourceType_SOURCE_TYPE_HOUSING_CORPORATION, LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WGS,
			ResidentBsn: bsn, MunicipalityCode: "GM0363", DistrictCode: district, Category: "rent arrears",
			LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES}, Arrears: &referralv1.Arrears{AmountCents: 90000, Months: 2}})
		if err != nil {
			t.Fatal(err)
		}
	}
	// WK036300: six households in arrears (seven signals: one household twice).
	for _, b := range residents {
		arrears(b, "WK036300")
	}
	arrears(residents[0], "WK036300")
	// WK036301: two households only.
	arrears(residents[0], "WK036301")
	arrears(residents[1], "WK036301")
	// Declines for capacity: five residents in WK036300, one in WK036301 (the same resident
	// referred five times is still one household and stays suppressed).
	h.addMembers(residents...)
	p := h.provision(t, buddyOrg, "Maatje", nil)
	tc, bc := h.client(t, team), h.client(t, buddyOrg)
	decline := func(bsn, district string) {
		t.Helper()
		req := withKey(referralTo(p.GetId()), h.key())
		req.ResidentBsn, req.DistrictCode = bsn, district
		r, err := tc.CreateReferral(h.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bc.DeclineReferral(h.ctx, &referralv1.DeclineReferralRequest{IdempotencyKey: h.key(), ReferralId: r.GetReferral().GetId(),
			Reason: referralv1.DeclineReason_DECLINE_REASON_CAPACITY}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range residents[:5] {
		decline(b, "WK036300")
	}
	for range 5 {
		decline(residents[5], "WK036301")
	}

	// The team pads WK036302: four signals of its own about made-up residents, beside one
	// housing signal about a real one, to read that one off a published count of five.
	padding := bsns(11)[6:]
	for _, b := range padding[:4] {
		if _, err := tc.SubmitSignal(h.ctx, &referralv1.SubmitSignalRequest{IdempotencyKey: h.key(),
			SourceType: referralv1.SourceType_SOURCE_TYPE_OTHER, LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WMO,
			ResidentBsn: b, MunicipalityCode: "GM0363", DistrictCode: "WK036302", Category: "pad",
			LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES}}); err != nil {
			t.Fatal(err)
		}
	}
	arrears(padding[4], "WK036302")

	// The period is whole Dutch calendar days, so "today" is the Dutch date (in UTC it is still
	// yesterday between 23:00 and 24:00, and the signals just sent would fall outside).
	now := time.Now().In(domain.Amsterdam)
	today, from := now.Format(time.DateOnly), now.AddDate(0, 0, -7).Format(time.DateOnly)
	type k struct {
		kind     referralv1.ThemeKind
		district string
		key      string
	}
	themes := func(c referralv1.ReferralServiceClient) map[k]*referralv1.ThemeCount {
		t.Helper()
		resp, err := c.GetRecurringThemes(h.ctx, &referralv1.GetRecurringThemesRequest{MunicipalityCode: "GM0363", FromDate: from, ToDate: today})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetMinGroupSize() != 5 {
			t.Fatalf("min group size %d", resp.GetMinGroupSize())
		}
		got := map[k]*referralv1.ThemeCount{}
		for _, c := range resp.GetCounts() {
			if c.GetSuppressed() || c.GetCount() < 5 {
				t.Errorf("a group below the minimum is listed: %v", c)
			}
			got[k{c.GetKind(), c.GetDistrictCode(), c.GetKey()}] = c
		}
		return got
	}
	// Another team sees every group of five residents or more, and nothing of the smaller ones
	// (WK036301): not even that they exist.
	wantFor := func(name string, got map[k]*referralv1.ThemeCount, want map[k]int32) {
		t.Helper()
		for key, c := range got {
			if want[key] != c.GetCount() {
				t.Errorf("%s: %v: got %d, want %d", name, key, c.GetCount(), want[key])
			}
		}
		for key, n := range want {
			if _, ok := got[key]; !ok {
				t.Errorf("%s: %v (%d) is missing", name, key, n)
			}
		}
	}
	wantFor("another team", themes(h.client(t, otherTeam)), map[k]int32{
		{referralv1.ThemeKind_THEME_KIND_SIGNAL_CATEGORY, "WK036300", "rent arrears"}:        7,
		{referralv1.ThemeKind_THEME_KIND_SIGNAL_LIFE_DOMAIN, "WK036300", "FINANCES"}:         7,
		{referralv1.ThemeKind_THEME_KIND_DECLINE_REASON, "WK036300", "CAPACITY"}:             5,
		{referralv1.ThemeKind_THEME_KIND_REFERRAL_LIFE_DOMAIN, "WK036300", "SOCIAL_NETWORK"}: 5,
		// Five residents behind it, none of them of this team's making.
		{referralv1.ThemeKind_THEME_KIND_SIGNAL_LIFE_DOMAIN, "WK036302", "FINANCES"}: 5,
	})
	// The team that made the referrals and the padding does not see its own records lift a
	// group: the referrals' groups and WK036302 (one other resident) are left out for it.
	wantFor("the team that padded", themes(tc), map[k]int32{
		{referralv1.ThemeKind_THEME_KIND_SIGNAL_CATEGORY, "WK036300", "rent arrears"}: 7,
		{referralv1.ThemeKind_THEME_KIND_SIGNAL_LIFE_DOMAIN, "WK036300", "FINANCES"}:  7,
	})
	// One district only; a period in the past has nothing.
	one, err := tc.GetRecurringThemes(h.ctx, &referralv1.GetRecurringThemesRequest{MunicipalityCode: "GM0363", DistrictCode: "WK036301", FromDate: from, ToDate: today})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range one.GetCounts() {
		if c.GetDistrictCode() != "WK036301" {
			t.Fatalf("district filter: %v", c)
		}
	}
	past, err := tc.GetRecurringThemes(h.ctx, &referralv1.GetRecurringThemesRequest{MunicipalityCode: "GM0363", FromDate: "2020-01-01", ToDate: "2020-12-31"})
	if err != nil || len(past.GetCounts()) != 0 {
		t.Fatalf("past period: %v %v", past, err)
	}
	if f := violations(t, mustErr(tc.GetRecurringThemes(h.ctx, &referralv1.GetRecurringThemesRequest{MunicipalityCode: "GM0363", FromDate: "2026-02-01", ToDate: "2025-01-01"}))); !f["to_date"] {
		t.Fatalf("period backwards: %v", f)
	}
	if _, err := housingClient.GetRecurringThemes(h.ctx, &referralv1.GetRecurringThemesRequest{MunicipalityCode: "GM0363", FromDate: from, ToDate: today}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a housing corporation reading themes: %v", err)
	}
}
