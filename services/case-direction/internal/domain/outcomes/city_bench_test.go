package outcomes

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkIntakeFiguresCity times one answer for a city-sized municipality: 100 districts, 40
// teams, 40,000 intakes in a year, four quarters. Suppression is part of every answer, so its
// cost is the RPC's; a table over districts × teams audited whole took minutes here
// (docs/decisions.md, "Outcome figures: linked suppression").
//
//	cd services/case-direction && go test -run '^$' -bench IntakeFiguresCity ./internal/domain/outcomes/
func BenchmarkIntakeFiguresCity(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	intakes := make([]Intake, 40000)
	for i := range intakes {
		intakes[i] = Intake{ID: fmt.Sprint(i), Scope: Scope{Municipality: "GM0363",
			District: fmt.Sprintf("WK0363%02d", r.IntN(100)), Team: fmt.Sprintf("T%03d", r.IntN(40))},
			Channel: []string{"DESK", "PHONE", "SIGNAL", "DIGITAL"}[r.IntN(4)], ReceivedAt: start.Add(time.Duration(r.IntN(365*24)) * time.Hour)}
	}
	for _, by := range []struct {
		name string
		by   GroupBy
	}{{"team", ByTeam}, {"district", ByDistrict}, {"municipality", ByMunicipality}} {
		b.Run(by.name, func(b *testing.B) {
			q := Query{Scope: Scope{Municipality: "GM0363"}, From: "2025-Q1", To: "2025-Q4", GroupBy: by.by, MinGroupSize: 10}
			for b.Loop() {
				if _, err := IntakeFigures(q, nil, intakes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
