package service

import (
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

func TestTimelinessRulesExtraDays(t *testing.T) {
	t.Parallel()
	tl, err := timelinessRules(settings{ExtraNonWorkingDays: " 2025-05-30, ,2026-05-15"})
	if err != nil {
		t.Fatal(err)
	}
	if tl.StartReportWorkingDays != 5 {
		t.Fatalf("start report period = %d, want 5 from the iJw code lists", tl.StartReportWorkingDays)
	}
	for _, d := range []string{"2025-05-30", "2026-05-15"} {
		day, _ := time.Parse(domain.DateLayout, d)
		if tl.Calendar.IsWorkingDay(day) {
			t.Errorf("%s is configured as a non-working day", d)
		}
	}
	if _, err := timelinessRules(settings{ExtraNonWorkingDays: "30-05-2025"}); err == nil {
		t.Fatal("a malformed date must be refused at start-up")
	}
}
