package logstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// BenchmarkSeal seals batches of 1,000 committed entries (the sealer's batch), against a real
// PostgreSQL: go test -run '^$' -bench Seal ./pkg/accesslog/logstore/
func BenchmarkSeal(b *testing.B) {
	db, _ := newDBWithDSN(b)
	keys, err := logstore.NewKeys(1, testKey, nil)
	if err != nil {
		b.Fatal(err)
	}
	l := logstore.New(db, "bench")
	ctx := identity.WithCaller(context.Background(), identity.Caller{
		Org: identity.Organisation{OIN: "00000001000000000001", Type: identity.OrgTeam}, User: "anna", Role: "case_director"})
	entries := make([]accesslog.Entry, 1000)
	for i := range entries {
		entries[i] = accesslog.Entry{Action: "bench.case.read", ObjectType: "case", ObjectID: fmt.Sprint(i), ResidentPseudonym: "ps", Route: accesslog.RouteTeam}
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := l.RecordManyDetached(ctx, entries); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, err := logstore.Seal(ctx, db, keys, 1000)
		if err != nil || n != len(entries) {
			b.Fatalf("sealed %d: %v", n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(entries)), "µs/entry")
}
