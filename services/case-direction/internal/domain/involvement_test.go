package domain

import (
	"errors"
	"testing"
	"time"
)

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func datePtr(s string) *time.Time { d := date(s); return &d }

// amsterdam is a wall-clock moment in the Netherlands.
func amsterdam(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, Amsterdam)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDayIsTheDutchCalendarDay(t *testing.T) {
	// 23:30 UTC on 1 March is already 2 March in Amsterdam.
	if got := Day(time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)); !got.Equal(date("2026-03-02")) {
		t.Fatalf("got %v", got)
	}
}

func TestInvolvementActiveAt(t *testing.T) {
	ended := amsterdam("2026-03-10 12:00")
	i := Involvement{ValidFrom: date("2026-03-01"), ValidTo: datePtr("2026-03-31")}
	for _, tc := range []struct {
		inv    Involvement
		at     string
		active bool
	}{
		{i, "2026-02-28 23:59", false},
		{i, "2026-03-01 00:00", true},
		{i, "2026-03-31 23:59", true},
		{i, "2026-04-01 00:00", false},
		{Involvement{ValidFrom: date("2026-03-01")}, "2030-01-01 12:00", true},
		{Involvement{ValidFrom: date("2026-03-01"), EndedAt: &ended}, "2026-03-10 11:59", true},
		{Involvement{ValidFrom: date("2026-03-01"), EndedAt: &ended}, "2026-03-10 12:00", false},
	} {
		if got := tc.inv.ActiveAt(amsterdam(tc.at)); got != tc.active {
			t.Errorf("%+v at %s: active %v, want %v", tc.inv, tc.at, got, tc.active)
		}
	}
}

func TestNewInvolvement(t *testing.T) {
	at := amsterdam("2026-03-10 09:00")
	i, err := NewInvolvement(Involvement{Role: RoleAdvisor}, at)
	if err != nil || !i.ValidFrom.Equal(date("2026-03-10")) || !i.ActiveAt(at) {
		t.Fatalf("from today by default: %+v %v", i, err)
	}
	for _, tc := range []struct {
		in    Involvement
		field string
	}{
		{Involvement{Role: RoleDirector}, "role"},
		{Involvement{Role: RoleExecutor, ValidFrom: date("2026-03-09")}, "valid_from"},
		{Involvement{Role: RoleExecutor, ValidFrom: date("2026-03-12"), ValidTo: datePtr("2026-03-11")}, "valid_to"},
	} {
		var ie *InvolvementError
		if _, err := NewInvolvement(tc.in, at); !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("%+v: want an error on %s, got %v", tc.in, tc.field, err)
		}
	}
}

func TestEndInvolvement(t *testing.T) {
	at := amsterdam("2026-03-10 09:00")
	base := Involvement{ID: "i", Role: RoleExecutor, ValidFrom: date("2026-03-01"), ValidTo: datePtr("2026-03-31")}

	now := base
	if err := now.End(nil, at); err != nil || now.ActiveAt(at) || !now.ValidTo.Equal(date("2026-03-10")) || now.EndedAt == nil {
		t.Fatalf("ended now: %+v %v", now, err)
	}
	var ie *InvolvementError
	if err := now.End(nil, at.Add(time.Minute)); !errors.As(err, &ie) || ie.Field != "" {
		t.Fatalf("ending twice: %v", err)
	}

	later := base
	if err := later.End(datePtr("2026-03-15"), at); err != nil || !later.ActiveAt(amsterdam("2026-03-15 23:00")) || later.ActiveAt(amsterdam("2026-03-16 00:01")) {
		t.Fatalf("ends after 15 March: %+v %v", later, err)
	}

	future := Involvement{ID: "f", Role: RoleAdvisor, ValidFrom: date("2026-04-01")}
	if err := future.End(nil, at); err != nil || future.ValidTo != nil || future.ActiveAt(amsterdam("2026-04-02 10:00")) {
		t.Fatalf("a future involvement ended now never starts and keeps its dates: %+v %v", future, err)
	}

	for _, tc := range []struct {
		inv     Involvement
		lastDay string
		field   string
	}{
		{base, "2026-03-09", "valid_to"},
		{Involvement{ID: "f", Role: RoleAdvisor, ValidFrom: date("2026-04-01")}, "2026-03-20", "valid_to"},
		{base, "2026-04-30", ""}, // extending
		{Involvement{ID: "d", Role: RoleDirector, ValidFrom: date("2026-03-01")}, "2026-03-20", ""},
	} {
		inv := tc.inv
		if err := inv.End(datePtr(tc.lastDay), at); !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("%+v until %s: want an error on %q, got %v", tc.inv, tc.lastDay, tc.field, err)
		}
	}
}

func TestInvolvedAtMatchesOrganisationAndType(t *testing.T) {
	at := amsterdam("2026-03-10 09:00")
	c := Case{Involvements: []Involvement{
		{OrgType: "GP", OrgOIN: "1", Role: RoleAdvisor, ValidFrom: date("2026-03-01")},
		{OrgType: "PROVIDER", OrgOIN: "2", Role: RoleExecutor, ValidFrom: date("2026-03-01"), ValidTo: datePtr("2026-03-09")},
	}}
	if !c.InvolvedAt("1", "GP", at) || c.InvolvedAt("1", "PROVIDER", at) || c.InvolvedAt("2", "PROVIDER", at) || c.InvolvedAt("3", "GP", at) {
		t.Fatal("only the GP's involvement is active, and only for its own OIN and type")
	}
}

func TestPartyAtIsTheTeamOrAnActiveInvolvement(t *testing.T) {
	at := amsterdam("2026-03-10 09:00")
	c := Case{TeamOIN: "T", Involvements: []Involvement{
		{OrgType: "GP", OrgOIN: "1", Role: RoleAdvisor, ValidFrom: date("2026-03-01")},
		{OrgType: "PROVIDER", OrgOIN: "2", Role: RoleExecutor, ValidFrom: date("2026-03-01"), ValidTo: datePtr("2026-03-09")},
		{OrgType: "TEAM", OrgOIN: "3", Role: RoleAdvisor, ValidFrom: date("2026-03-11")},
	}}
	for oin, want := range map[string]bool{"T": true, "1": true, "2": false, "3": false, "4": false, "": false} {
		if got := c.PartyAt(oin, at); got != want {
			t.Errorf("PartyAt(%q) = %v, want %v", oin, got, want)
		}
	}
}
