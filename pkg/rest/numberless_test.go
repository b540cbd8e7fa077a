package rest

import (
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	outcomesv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/outcomes/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// The probe's case (thirty-sixth session): over REST a suppressed outcome cell read
// {"count":"0","value":0,"suppressed":true}; a client that ignores suppressed added 0s.
func TestSuppressedCellHasNoNumberOverREST(t *testing.T) {
	m := numberlessMarshaler{&runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
		MarshalOptions: protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}}}}
	resp := &outcomesv1.GetAllocationFiguresResponse{Figures: &outcomesv1.Figures{MinimumGroupSize: 10, Tables: []*outcomesv1.FigureTable{{
		Name: "allocation_start", Columns: []string{"ON_TIME", "LATE"}, Unit: "count", Additive: true,
		Rows: []*outcomesv1.FigureRow{{Period: "2026-Q1", Group: "GM0363",
			Cells: []*outcomesv1.Cell{{Suppressed: true}, {Count: 0}}, Total: &outcomesv1.Cell{Count: 14}}},
	}}}}
	b, err := m.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"figures":{"tables":[{"name":"allocation_start","columns":["ON_TIME","LATE"],"unit":"count","additive":true,` +
		`"rows":[{"period":"2026-Q1","group":"GM0363","cells":[{"suppressed":true},{"count":"0","value":0,"suppressed":false}],` +
		`"total":{"count":"14","value":0,"suppressed":false}}],"totals":[]}],"minimum_group_size":10}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back outcomesv1.GetAllocationFiguresResponse
	if err := protojson.Unmarshal(b, &back); err != nil {
		t.Fatalf("the answer no longer reads as the message: %v", err)
	}
}
