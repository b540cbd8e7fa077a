package svc_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The privacy officer pages through the emergency grants like through every other list:
// page_size and page_token, newest first, stable (grants at the same moment are ordered by
// id); a token is bound to the since it was taken with; bad paging names the field.
func TestEmergencyAccessPages(t *testing.T) {
	env := svctest.New(t)
	s := env.Start(t, emptySpec(), nil)
	db, err := pgxdb.Open(context.Background(), s.DSN, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var want []string
	for i := range 5 {
		id := uuid.NewString()
		at := base.Add(time.Duration(i/2) * time.Hour) // pairs share a moment: the id decides
		if _, err := db.Pool.Exec(context.Background(), `INSERT INTO emergency_grants VALUES ($1, 'case', 'c-1', '00000001000000000100', 'anna', 'r', 'resident in acute danger, team unreachable', $2, $3)`,
			id, at, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		want = append(want, at.Format(time.RFC3339)+"/"+id)
	}
	slices.Sort(want)
	slices.Reverse(want)

	officer := accesslogv1.NewAccessLogServiceClient(env.Client(t, s.Addr, svctest.Org(identity.OrgMunicipality, "Gemeente Demo")))
	ctx := grpcx.ActingUser(context.Background(), "fg", "privacy_officer", "access-supervision")
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		resp, err := officer.ListEmergencyAccess(ctx, &accesslogv1.ListEmergencyAccessRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetGrants()) > 2 {
			t.Fatalf("page of %d", len(resp.GetGrants()))
		}
		for _, g := range resp.GetGrants() {
			got = append(got, g.GetGrantedAt().AsTime().Format(time.RFC3339)+"/"+g.GetId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages must give every grant once, newest first:\n got %v\nwant %v", got, want)
	}
	all, err := officer.ListEmergencyAccess(ctx, &accesslogv1.ListEmergencyAccessRequest{})
	if err != nil || len(all.GetGrants()) != 5 || all.GetNextPageToken() != "" {
		t.Fatalf("page_size 0 is the default (100): %v %v", all, err)
	}
	since := timestamppb.New(base.Add(time.Hour))
	recent, err := officer.ListEmergencyAccess(ctx, &accesslogv1.ListEmergencyAccessRequest{Since: since, PageSize: 1})
	if err != nil || len(recent.GetGrants()) != 1 || recent.GetNextPageToken() == "" {
		t.Fatalf("since: %v %v", recent, err)
	}

	first, _ := officer.ListEmergencyAccess(ctx, &accesslogv1.ListEmergencyAccessRequest{PageSize: 1})
	for name, req := range map[string]*accesslogv1.ListEmergencyAccessRequest{
		"page_size":  {PageSize: 10000},
		"page_token": {PageToken: "not-a-token"},
	} {
		if f := violation(t, mustCall(officer.ListEmergencyAccess(ctx, req))); f != name {
			t.Fatalf("want INVALID_ARGUMENT on %s, got %s", name, f)
		}
	}
	// A token taken without since means nothing with one.
	if f := violation(t, mustCall(officer.ListEmergencyAccess(ctx, &accesslogv1.ListEmergencyAccessRequest{Since: since, PageToken: first.GetNextPageToken()}))); f != "page_token" {
		t.Fatalf("a token of another since: want INVALID_ARGUMENT on page_token, got %s", f)
	}
}

func mustCall[T any](_ T, err error) error { return err }

// violation returns the one field an INVALID_ARGUMENT names.
func violation(t *testing.T, err error) string {
	t.Helper()
	st := grpcstatus.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("want INVALID_ARGUMENT, got %v", err)
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) == 1 {
			return br.GetFieldViolations()[0].GetField()
		}
	}
	t.Fatalf("want one field violation: %v", err)
	return ""
}
