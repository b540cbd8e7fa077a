package service_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func today() string {
	loc, _ := time.LoadLocation("Europe/Amsterdam")
	return time.Now().In(loc).Format("2006-01-02")
}

func (h *harness) resident(t *testing.T, client intakev1.IntakeServiceClient, n int, name *intakev1.PersonName) *intakev1.Resident {
	t.Helper()
	resp, err := client.RegisterResident(svctest.Ctx(t), &intakev1.RegisterResidentRequest{IdempotencyKey: uuid.NewString(),
		Bsn: validBSN(n), MunicipalityCode: municipality, Name: name})
	if err != nil {
		t.Fatalf("RegisterResident: %v", err)
	}
	return resp.GetResident()
}

// resourceName is the id an ALREADY_EXISTS names in its ResourceInfo ("" when none).
func resourceName(err error) string {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.ResourceInfo); ok {
			return ri.GetResourceName()
		}
	}
	return ""
}

func TestResidentDetailsAreEncryptedAndOnlyForTeamsThatWorkWithThem(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := svctest.Ctx(t)
	req := &intakev1.RegisterResidentRequest{IdempotencyKey: uuid.NewString(), Bsn: validBSN(60), MunicipalityCode: municipality,
		Name:      &intakev1.PersonName{GivenNames: "Aaltje Geertruida", FamilyNamePrefix: "van der", FamilyName: "Zwanenburgh"},
		BirthDate: "1961-04-23",
		Address:   &intakev1.Address{Street: "Kalverstraatje", HouseNumber: 17, HouseNumberAddition: "b", Postcode: "1012 nx", City: "Amsterdam"}}
	reg, err := h.client.RegisterResident(ctx, req)
	if err != nil {
		t.Fatalf("RegisterResident: %v", err)
	}
	if reg.GetResident().GetName() != nil || reg.GetResident().GetAddress() != nil || reg.GetResident().GetBirthDate() != "" {
		t.Fatalf("a mutating answer is stored in plain form for replays: it must carry no details, got %v", reg.GetResident())
	}
	id := reg.GetResident().GetId()
	got, err := h.client.GetResident(ctx, &intakev1.GetResidentRequest{ResidentId: id})
	if err != nil {
		t.Fatalf("GetResident: %v", err)
	}
	r := got.GetResident()
	if r.GetName().GetFamilyName() != "Zwanenburgh" || r.GetName().GetFamilyNamePrefix() != "van der" || r.GetBirthDate() != "1961-04-23" ||
		r.GetAddress().GetPostcode() != "1012NX" || r.GetAddress().GetHouseNumber() != 17 || r.GetHouseholdId() != reg.GetResident().GetHouseholdId() {
		t.Fatalf("GetResident: %v", r)
	}
	if found, err := h.client.FindResident(ctx, &intakev1.FindResidentRequest{Bsn: req.GetBsn()}); err != nil ||
		found.GetResident().GetName().GetGivenNames() != "Aaltje Geertruida" {
		t.Fatalf("FindResident: %v %v", err, found)
	}
	// Registering the BSN again keeps the stored details; UpdateResident changes them.
	again := proto.Clone(req).(*intakev1.RegisterResidentRequest)
	again.IdempotencyKey, again.Name = uuid.NewString(), &intakev1.PersonName{FamilyName: "Anders"}
	if resp, err := h.client.RegisterResident(ctx, again); err != nil || resp.GetCreated() {
		t.Fatalf("RegisterResident again: %v %v", err, resp)
	}
	if _, err := h.client.UpdateResident(ctx, &intakev1.UpdateResidentRequest{IdempotencyKey: uuid.NewString(), ResidentId: id,
		Address: &intakev1.Address{Street: "Nieuwe Gracht", HouseNumber: 3, Postcode: "1011AA", City: "Amsterdam"}}); err != nil {
		t.Fatalf("UpdateResident: %v", err)
	}
	got, err = h.client.GetResident(ctx, &intakev1.GetResidentRequest{ResidentId: id})
	if err != nil || got.GetResident().GetName().GetFamilyName() != "Zwanenburgh" || got.GetResident().GetAddress().GetStreet() != "Nieuwe Gracht" {
		t.Fatalf("after the update: %v %v", err, got)
	}

	// A resident first known without details (e.g. from an intake) gets them on registration.
	bare := h.register(t, validBSN(62), intakev1.Urgency_URGENCY_NORMAL)
	if _, err := h.client.RegisterResident(ctx, &intakev1.RegisterResidentRequest{IdempotencyKey: uuid.NewString(), Bsn: validBSN(62),
		MunicipalityCode: municipality, Name: &intakev1.PersonName{FamilyName: "Aangevuld"}}); err != nil {
		t.Fatalf("RegisterResident of a known resident: %v", err)
	}
	if got, err := h.client.GetResident(ctx, &intakev1.GetResidentRequest{ResidentId: bare.GetResidentId()}); err != nil ||
		got.GetResident().GetName().GetFamilyName() != "Aangevuld" {
		t.Fatalf("details filled in: %v %v", err, got)
	}

	// All violations at once, never echoing the values.
	_, err = h.client.RegisterResident(ctx, &intakev1.RegisterResidentRequest{IdempotencyKey: uuid.NewString(), Bsn: validBSN(61),
		MunicipalityCode: municipality, Name: &intakev1.PersonName{GivenNames: "Jan"}, BirthDate: "2999-01-01",
		Address: &intakev1.Address{Street: "Weg", HouseNumber: 0, Postcode: "0123AB", City: "X", HouseNumberAddition: "toolong1"}})
	if want := []string{"name.family_name", "address.house_number", "address.house_number_addition", "address.postcode", "birth_date"}; status.Code(err) != codes.InvalidArgument ||
		!slices.Equal(violations(err), want) {
		t.Fatalf("bad details: want %v, got %v %v", want, err, violations(err))
	}

	// Another team: NOT_FOUND for reading and changing, logged as refused.
	otherOrg := svctest.Org(identity.OrgTeam, "Wijkteam Zuid")
	other := h.clientAs(t, otherOrg)
	if _, err := other.GetResident(ctx, &intakev1.GetResidentRequest{ResidentId: id}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team's GetResident: want NOT_FOUND, got %v", err)
	}
	if _, err := other.UpdateResident(ctx, &intakev1.UpdateResidentRequest{IdempotencyKey: uuid.NewString(), ResidentId: id,
		Name: &intakev1.PersonName{FamilyName: "Overgenomen"}}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team's UpdateResident: want NOT_FOUND, got %v", err)
	}
	// Knowing the BSN is not enough: registering the same resident gives another team neither
	// access nor the id, and it changes nothing.
	// Refused as FindResident refuses (NOT_FOUND, without the id), never a success the log
	// calls DENIED (probe-B F5).
	reReg, err := other.RegisterResident(ctx, &intakev1.RegisterResidentRequest{IdempotencyKey: uuid.NewString(), Bsn: req.GetBsn(),
		MunicipalityCode: municipality, Name: &intakev1.PersonName{FamilyName: "Kaping"}})
	if status.Code(err) != codes.NotFound || resourceName(err) != "" || strings.Contains(status.Convert(err).Message(), id) {
		t.Fatalf("another team registering a known BSN: want NOT_FOUND without the id, got %v %v", err, reReg)
	}
	if _, err := other.GetResident(ctx, &intakev1.GetResidentRequest{ResidentId: id}); status.Code(err) != codes.NotFound {
		t.Fatalf("registering a known BSN must not open the file: %v", err)
	}
	if _, err := other.FindResident(ctx, &intakev1.FindResidentRequest{Bsn: req.GetBsn()}); status.Code(err) != codes.NotFound {
		t.Fatalf("registering a known BSN must not make it findable: %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE outcome = 'DENIED' AND org_oin = $1 AND action IN ('intake.resident.read', 'intake.resident.update', 'intake.resident.register', 'intake.resident.find')`, otherOrg.OIN); n != 5 {
		t.Fatalf("denied accesses logged: %d, want 5", n)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE outcome = 'GRANTED' AND action = 'intake.resident.read' AND object_id = $1`, id); n != 2 {
		t.Fatalf("granted reads logged: %d, want 2", n)
	}
	if got, err := h.client.GetResident(ctx, &intakev1.GetResidentRequest{ResidentId: id}); err != nil || got.GetResident().GetName().GetFamilyName() != "Zwanenburgh" {
		t.Fatalf("another team's registration must not change the details: %v %v", err, got)
	}

	// Nothing of the name or address in plain form anywhere: residents, idempotency answers,
	// outbox, access log.
	secrets := []string{"Zwanenburgh", "Aaltje", "Kalverstraatje", "Nieuwe Gracht", "1961-04-23", "1012NX"}
	assertNoPlaintext(t, h, secrets)
}

// assertNoPlaintext scans every text and bytea column of the service's database.
func assertNoPlaintext(t *testing.T, h *harness, secrets []string) {
	t.Helper()
	ctx := context.Background()
	rows, err := h.svc.Pool.Query(ctx, `
		SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('text', 'bytea', 'ARRAY', 'character varying', 'jsonb')`)
	if err != nil {
		t.Fatal(err)
	}
	var columns [][3]string
	for rows.Next() {
		var c [3]string
		if err := rows.Scan(&c[0], &c[1], &c[2]); err != nil {
			t.Fatal(err)
		}
		columns = append(columns, c)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	scanned := 0
	for _, c := range columns {
		// bytea as its raw bytes, everything else as its text form.
		expr := fmt.Sprintf(`convert_to(%q::text, 'UTF8')`, c[1])
		if c[2] == "bytea" {
			expr = fmt.Sprintf("%q", c[1])
		}
		vals, err := h.svc.Pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM %q WHERE %q IS NOT NULL`, expr, c[0], c[1]))
		if err != nil {
			t.Fatal(err)
		}
		for vals.Next() {
			var b []byte
			if err := vals.Scan(&b); err != nil {
				t.Fatal(err)
			}
			scanned++
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s.%s holds %q in plain form", c[0], c[1], s)
				}
			}
		}
		vals.Close()
	}
	if scanned == 0 {
		t.Fatal("nothing scanned")
	}
}

func TestHouseholds(t *testing.T) {
	t.Parallel()
	h := start(t)
	rec := h.env.Events(t, "intake", "wijkbrug.intake.*.household.>")
	ctx := svctest.Ctx(t)
	a := h.resident(t, h.client, 70, &intakev1.PersonName{GivenNames: "Els", FamilyName: "Bakkerveld"})
	b := h.resident(t, h.client, 71, nil)
	c := h.resident(t, h.client, 72, &intakev1.PersonName{GivenNames: "Kees", FamilyName: "Bakkerveld"})
	addr := &intakev1.Address{Street: "Lindengracht", HouseNumber: 8, HouseNumberAddition: "a", Postcode: "1015 KD", City: "Amsterdam"}

	created, err := h.client.CreateHousehold(ctx, &intakev1.CreateHouseholdRequest{IdempotencyKey: uuid.NewString(),
		MunicipalityCode: municipality, DistrictCode: "WK036300", Address: addr,
		Members: []*intakev1.NewHouseholdMember{{ResidentId: a.GetId(), Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_APPLICANT},
			{ResidentId: b.GetId(), Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_PARTNER}}})
	if err != nil {
		t.Fatalf("CreateHousehold: %v", err)
	}
	hh := created.GetHousehold()
	if len(hh.GetMembers()) != 2 || hh.GetAddress() != nil || hh.GetMembers()[0].GetStartedOn() != today() {
		t.Fatalf("created: %v", hh)
	}
	// Both left their one-person households (kept as history) and belong to the new one.
	for _, r := range []*intakev1.Resident{a, b} {
		got, err := h.client.GetResident(ctx, &intakev1.GetResidentRequest{ResidentId: r.GetId()})
		if err != nil || got.GetResident().GetHouseholdId() != hh.GetId() {
			t.Fatalf("resident %s after the move: %v %v", r.GetId(), err, got)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM household_members WHERE household_id = $1 AND ended_on IS NOT NULL`, a.GetHouseholdId()); n != 1 {
		t.Fatalf("the one-person household's membership must end, not vanish: %d", n)
	}
	// A Wijkbrug service pages the household's members (ids and pseudonyms), one by one here.
	svc := h.clientAs(t, svctest.Org(identity.OrgService, "case-direction"))
	var seen []string
	tok := ""
	for range 3 {
		page, err := svc.ListHouseholdResidents(ctx, &intakev1.ListHouseholdResidentsRequest{HouseholdId: hh.GetId(), PageSize: 1, PageToken: tok})
		if err != nil || len(page.GetResidents()) != 1 {
			t.Fatalf("ListHouseholdResidents page %d: %v %v", len(seen), err, page)
		}
		seen = append(seen, page.GetResidents()[0].GetResidentId())
		if tok = page.GetNextPageToken(); tok == "" {
			break
		}
	}
	if want := []string{a.GetId(), b.GetId()}; !sameIDs(seen, want) {
		t.Fatalf("household residents paged: %v, want %v", seen, want)
	}
	first, err := svc.ListHouseholdResidents(ctx, &intakev1.ListHouseholdResidentsRequest{HouseholdId: hh.GetId(), PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]*intakev1.ListHouseholdResidentsRequest{
		"page_size":  {HouseholdId: hh.GetId(), PageSize: 10000},
		"page_token": {HouseholdId: a.GetHouseholdId(), PageToken: first.GetNextPageToken()},
	} {
		if _, err := svc.ListHouseholdResidents(ctx, bad); status.Code(err) != codes.InvalidArgument || !slices.Contains(violations(err), name) {
			t.Errorf("bad %s: want INVALID_ARGUMENT on it, got %v", name, err)
		}
	}

	// A new intake of the applicant belongs to the new household.
	if in := h.register(t, validBSN(70), intakev1.Urgency_URGENCY_NORMAL); in.GetHouseholdId() != hh.GetId() {
		t.Fatalf("intake household %s, want %s", in.GetHouseholdId(), hh.GetId())
	}

	// The same dwelling, written differently: ALREADY_EXISTS naming the household.
	same := &intakev1.Address{Street: "Lindengracht", HouseNumber: 8, HouseNumberAddition: "A", Postcode: "1015kd", City: "Amsterdam"}
	_, err = h.client.CreateHousehold(ctx, &intakev1.CreateHouseholdRequest{IdempotencyKey: uuid.NewString(), MunicipalityCode: municipality,
		Address: same, Members: []*intakev1.NewHouseholdMember{{ResidentId: c.GetId(), Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_APPLICANT}}})
	if status.Code(err) != codes.AlreadyExists || resourceName(err) != hh.GetId() {
		t.Fatalf("same address: want ALREADY_EXISTS naming %s, got %v (%q)", hh.GetId(), err, resourceName(err))
	}
	// So the child is added to it instead; twice is refused, and so is a second applicant.
	add := func(client intakev1.IntakeServiceClient, household, resident string, role intakev1.HouseholdRole) (*intakev1.Household, error) {
		resp, err := client.AddHouseholdMember(ctx, &intakev1.AddHouseholdMemberRequest{IdempotencyKey: uuid.NewString(),
			HouseholdId: household, ResidentId: resident, Role: role})
		return resp.GetHousehold(), err
	}
	if got, err := add(h.client, hh.GetId(), c.GetId(), intakev1.HouseholdRole_HOUSEHOLD_ROLE_CHILD); err != nil || len(got.GetMembers()) != 3 {
		t.Fatalf("AddHouseholdMember: %v %v", err, got)
	}
	if _, err := add(h.client, hh.GetId(), c.GetId(), intakev1.HouseholdRole_HOUSEHOLD_ROLE_CHILD); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("adding a current member again: want FAILED_PRECONDITION, got %v", err)
	}
	d := h.resident(t, h.client, 73, nil)
	e := h.resident(t, h.client, 74, nil)
	if _, err := add(h.client, hh.GetId(), d.GetId(), intakev1.HouseholdRole_HOUSEHOLD_ROLE_APPLICANT); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("a second applicant: want FAILED_PRECONDITION, got %v", err)
	}
	// A member of another household with others must be removed there first.
	_, err = h.client.CreateHousehold(ctx, &intakev1.CreateHouseholdRequest{IdempotencyKey: uuid.NewString(), MunicipalityCode: municipality,
		Address: &intakev1.Address{Street: "Lindengracht", HouseNumber: 10, Postcode: "1015KD", City: "Amsterdam"},
		Members: []*intakev1.NewHouseholdMember{{ResidentId: d.GetId(), Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_APPLICANT},
			{ResidentId: e.GetId(), Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_OTHER_ADULT}}})
	if err != nil {
		t.Fatalf("CreateHousehold next door: %v", err)
	}
	if _, err := add(h.client, hh.GetId(), e.GetId(), intakev1.HouseholdRole_HOUSEHOLD_ROLE_OTHER_ADULT); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("moving from a household with others: want FAILED_PRECONDITION, got %v", err)
	}

	// The child leaves; the membership stays in the history, and may start again later.
	removed, err := h.client.RemoveHouseholdMember(ctx, &intakev1.RemoveHouseholdMemberRequest{IdempotencyKey: uuid.NewString(),
		HouseholdId: hh.GetId(), ResidentId: c.GetId(), EndedOn: today()})
	if err != nil {
		t.Fatalf("RemoveHouseholdMember: %v", err)
	}
	last := removed.GetHousehold().GetMembers()[len(removed.GetHousehold().GetMembers())-1]
	if last.GetResidentId() != c.GetId() || last.GetEndedOn() != today() {
		t.Fatalf("history: %v", removed.GetHousehold().GetMembers())
	}
	if got, _ := h.client.GetResident(ctx, &intakev1.GetResidentRequest{ResidentId: c.GetId()}); got.GetResident().GetHouseholdId() != "" {
		t.Fatalf("a removed member has no current household, got %s", got.GetResident().GetHouseholdId())
	}
	if _, err := h.client.RemoveHouseholdMember(ctx, &intakev1.RemoveHouseholdMemberRequest{IdempotencyKey: uuid.NewString(),
		HouseholdId: hh.GetId(), ResidentId: c.GetId(), EndedOn: today()}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("removing a former member: want FAILED_PRECONDITION, got %v", err)
	}
	if _, err := add(h.client, hh.GetId(), c.GetId(), intakev1.HouseholdRole_HOUSEHOLD_ROLE_CHILD); err != nil {
		t.Fatalf("rejoining: %v", err)
	}
	full, err := h.client.GetHousehold(ctx, &intakev1.GetHouseholdRequest{HouseholdId: hh.GetId()})
	if err != nil {
		t.Fatalf("GetHousehold: %v", err)
	}
	got := full.GetHousehold()
	if got.GetAddress().GetPostcode() != "1015KD" || got.GetAddress().GetHouseNumberAddition() != "a" || len(got.GetMembers()) != 4 {
		t.Fatalf("GetHousehold: %v", got)
	}
	var current, ended int
	named := map[string]string{}
	for _, m := range got.GetMembers() {
		if m.GetEndedOn() == "" {
			current++
		} else {
			ended++
		}
		named[m.GetResidentId()] = m.GetName().GetFamilyName()
	}
	if current != 3 || ended != 1 || named[a.GetId()] != "Bakkerveld" || named[b.GetId()] != "" || got.GetMembers()[3].GetEndedOn() == "" {
		t.Fatalf("members: %v", got.GetMembers())
	}
	if n := h.count(t, `SELECT count(*) FROM (SELECT resident_id FROM household_members WHERE ended_on IS NULL GROUP BY resident_id HAVING count(*) > 1) x`); n != 0 {
		t.Fatalf("residents in more than one current household: %d", n)
	}

	// Another team: NOT_FOUND for the household and for our residents; at the same address
	// with a resident of its own it learns that a household exists, not which.
	otherOrg := svctest.Org(identity.OrgTeam, "Wijkteam Zuid")
	otherTeam := h.clientAs(t, otherOrg)
	if _, err := otherTeam.GetHousehold(ctx, &intakev1.GetHouseholdRequest{HouseholdId: hh.GetId()}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team's GetHousehold: want NOT_FOUND, got %v", err)
	}
	own := h.resident(t, otherTeam, 75, nil)
	if _, err := add(otherTeam, hh.GetId(), own.GetId(), intakev1.HouseholdRole_HOUSEHOLD_ROLE_OTHER_ADULT); status.Code(err) != codes.NotFound {
		t.Fatalf("another team's AddHouseholdMember: want NOT_FOUND, got %v", err)
	}
	if _, err := add(h.client, hh.GetId(), own.GetId(), intakev1.HouseholdRole_HOUSEHOLD_ROLE_OTHER_ADULT); status.Code(err) != codes.NotFound {
		t.Fatalf("adding another team's resident: want NOT_FOUND, got %v", err)
	}
	if _, err := otherTeam.RemoveHouseholdMember(ctx, &intakev1.RemoveHouseholdMemberRequest{IdempotencyKey: uuid.NewString(),
		HouseholdId: hh.GetId(), ResidentId: a.GetId(), EndedOn: today()}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team's RemoveHouseholdMember: want NOT_FOUND, got %v", err)
	}
	_, err = otherTeam.CreateHousehold(ctx, &intakev1.CreateHouseholdRequest{IdempotencyKey: uuid.NewString(), MunicipalityCode: municipality,
		Address: same, Members: []*intakev1.NewHouseholdMember{{ResidentId: own.GetId(), Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_APPLICANT}}})
	if status.Code(err) != codes.AlreadyExists || resourceName(err) != "" {
		t.Fatalf("another team at the same address: want ALREADY_EXISTS without the id, got %v (%q)", err, resourceName(err))
	}
	_, err = otherTeam.CreateHousehold(ctx, &intakev1.CreateHouseholdRequest{IdempotencyKey: uuid.NewString(), MunicipalityCode: municipality,
		Address: &intakev1.Address{Street: "Elders", HouseNumber: 1, Postcode: "1000AA", City: "Amsterdam"},
		Members: []*intakev1.NewHouseholdMember{{ResidentId: a.GetId(), Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_APPLICANT}}})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("another team's CreateHousehold with our resident: want NOT_FOUND, got %v", err)
	}
	// Three refusals about the household, each under its three current members, and the
	// refused CreateHousehold under our resident.
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE outcome = 'DENIED' AND org_oin = $1 AND action LIKE 'intake.household.%'`, otherOrg.OIN); n != 10 {
		t.Fatalf("denied household accesses logged: %d, want 10", n)
	}

	// Events: ids and roles only.
	rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.HouseholdCreated)
		return ok && e.GetHouseholdId() == hh.GetId() && len(e.GetMembers()) == 2 && e.GetMunicipalityCode() == municipality
	})
	rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.HouseholdMemberRemoved)
		return ok && e.GetHouseholdId() == a.GetHouseholdId() && e.GetResidentId() == a.GetId()
	})
	rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.HouseholdMemberAdded)
		return ok && e.GetHouseholdId() == hh.GetId() && e.GetResidentId() == c.GetId() && e.GetRole() == intakev1.HouseholdRole_HOUSEHOLD_ROLE_CHILD &&
			e.GetPreviousHouseholdId() == c.GetHouseholdId()
	})
	assertNoPlaintext(t, h, []string{"Bakkerveld", "Lindengracht", "1015KD"})
}

// Two teams' concurrent registrations at one address end in one household.
// TestRefusedHouseholdAccessIsInTheMembersHistory: another team's attempts on a household
// are logged DENIED under the pseudonym of every current member (and of a resident it named),
// like granted accesses, so each resident's access history shows them (probe-B F2).
func TestRefusedHouseholdAccessIsInTheMembersHistory(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := svctest.Ctx(t)
	a := h.resident(t, h.client, 90, nil)
	b := h.resident(t, h.client, 91, nil)
	created, err := h.client.CreateHousehold(ctx, &intakev1.CreateHouseholdRequest{IdempotencyKey: uuid.NewString(),
		MunicipalityCode: municipality, Address: &intakev1.Address{Street: "Wijkstraat", HouseNumber: 3, Postcode: "1015 KD", City: "Amsterdam"},
		Members: []*intakev1.NewHouseholdMember{{ResidentId: a.GetId(), Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_APPLICANT},
			{ResidentId: b.GetId(), Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_PARTNER}}})
	if err != nil {
		t.Fatalf("CreateHousehold: %v", err)
	}
	hh := created.GetHousehold().GetId()
	otherOrg := svctest.Org(identity.OrgTeam, "Wijkteam West")
	other := h.clientAs(t, otherOrg)
	own := h.resident(t, other, 92, nil)
	for name, call := range map[string]func() error{
		"intake.household.read": func() error {
			_, err := other.GetHousehold(ctx, &intakev1.GetHouseholdRequest{HouseholdId: hh})
			return err
		},
		"intake.assessment.list": func() error {
			_, err := other.ListAssessments(ctx, &intakev1.ListAssessmentsRequest{HouseholdId: hh})
			return err
		},
		"intake.household.add_member": func() error {
			_, err := other.AddHouseholdMember(ctx, &intakev1.AddHouseholdMemberRequest{IdempotencyKey: uuid.NewString(), HouseholdId: hh,
				ResidentId: own.GetId(), Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_PARTNER})
			return err
		},
		"intake.household.remove_member": func() error {
			_, err := other.RemoveHouseholdMember(ctx, &intakev1.RemoveHouseholdMemberRequest{IdempotencyKey: uuid.NewString(), HouseholdId: hh,
				ResidentId: b.GetId(), EndedOn: today()})
			return err
		},
	} {
		if err := call(); status.Code(err) != codes.NotFound {
			t.Fatalf("%s by another team: want NOT_FOUND, got %v", name, err)
		}
		for _, r := range []*intakev1.Resident{a, b} {
			if n := h.count(t, `SELECT count(*) FROM access_log_entries e JOIN residents r ON r.pseudonym = e.resident_pseudonym
				WHERE r.id = $1 AND e.action = $2 AND e.object_id = $3 AND e.outcome = 'DENIED' AND e.org_oin = $4`,
				r.GetId(), name, hh, otherOrg.OIN); n != 1 {
				t.Errorf("%s: %d DENIED entries under member %s, want 1", name, n, r.GetId())
			}
		}
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE object_id = $1 AND outcome = 'DENIED' AND resident_pseudonym = ''`, hh); n != 0 {
		t.Errorf("%d DENIED entries about the household without a resident", n)
	}
}

func TestConcurrentHouseholdsAtOneAddress(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := svctest.Ctx(t)
	const n = 4
	residents := make([]*intakev1.Resident, n)
	for i := range n {
		residents[i] = h.resident(t, h.client, 80+i, nil)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		codesOf []codes.Code
	)
	for i := range n {
		wg.Go(func() {
			_, err := h.client.CreateHousehold(ctx, &intakev1.CreateHouseholdRequest{IdempotencyKey: uuid.NewString(), MunicipalityCode: municipality,
				Address: &intakev1.Address{Street: "Plein", HouseNumber: 1, Postcode: "1011AB", City: "Amsterdam"},
				Members: []*intakev1.NewHouseholdMember{{ResidentId: residents[i].GetId(), Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_APPLICANT}}})
			mu.Lock()
			codesOf = append(codesOf, status.Code(err))
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(codesOf)
	if want := []codes.Code{codes.OK, codes.AlreadyExists, codes.AlreadyExists, codes.AlreadyExists}; !slices.Equal(codesOf, want) {
		t.Fatalf("codes %v, want %v", codesOf, want)
	}
	if n := h.count(t, `SELECT count(*) FROM households WHERE address_index IS NOT NULL`); n != 1 {
		t.Fatalf("households with an address: %d, want 1", n)
	}
}

// sameIDs reports whether got holds exactly the ids of want, in any order.
func sameIDs(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}
