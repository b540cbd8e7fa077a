package grpcapi

import (
	"testing"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// TestVolumeCodesAreTheNationalLists: every unit and frequency of the API has exactly its
// iJw/iWmo code (WJ756 and WJ757, iJw/iWmo 3.x), and every code of the data names an API
// value. 82 is "stuks (output)" and 84 "stuks (inspanning)": mixing them up would make a
// provider bill effort as output.
func TestVolumeCodesAreTheNationalLists(t *testing.T) {
	units := map[commonv1.VolumeUnit]string{
		commonv1.VolumeUnit_VOLUME_UNIT_MINUTE: "01", commonv1.VolumeUnit_VOLUME_UNIT_HOUR: "04",
		commonv1.VolumeUnit_VOLUME_UNIT_DAY_AND_NIGHT: "14", commonv1.VolumeUnit_VOLUME_UNIT_DAYPART: "16",
		commonv1.VolumeUnit_VOLUME_UNIT_PIECE: "82", commonv1.VolumeUnit_VOLUME_UNIT_EURO: "83",
		commonv1.VolumeUnit_VOLUME_UNIT_PIECE_EFFORT: "84",
	}
	if len(units) != len(commonv1.VolumeUnit_name)-1 {
		t.Fatalf("a VolumeUnit without its WJ756 code in this test: %v", commonv1.VolumeUnit_name)
	}
	for u, want := range units {
		if got := domain.UnitCode(protoenum.Code(u)); got != want {
			t.Errorf("%s: WJ756 %q, want %q", u, got, want)
		}
		if back := protoenum.FromCode[commonv1.VolumeUnit](domain.UnitName(want)); back != u {
			t.Errorf("WJ756 %s maps back to %s, want %s", want, back, u)
		}
	}
	freqs := map[commonv1.VolumeFrequency]string{
		commonv1.VolumeFrequency_VOLUME_FREQUENCY_DAY: "1", commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK: "2",
		commonv1.VolumeFrequency_VOLUME_FREQUENCY_MONTH: "4", commonv1.VolumeFrequency_VOLUME_FREQUENCY_TOTAL: "6",
	}
	if len(freqs) != len(commonv1.VolumeFrequency_name)-1 {
		t.Fatalf("a VolumeFrequency without its WJ757 code in this test: %v", commonv1.VolumeFrequency_name)
	}
	for f, want := range freqs {
		if got := domain.FrequencyCode(protoenum.Code(f)); got != want {
			t.Errorf("%s: WJ757 %q, want %q", f, got, want)
		}
		if back := protoenum.FromCode[commonv1.VolumeFrequency](domain.FrequencyName(want)); back != f {
			t.Errorf("WJ757 %s maps back to %s, want %s", want, back, f)
		}
	}
	codes, err := domain.LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	if len(codes.Units) != len(units) || len(codes.Frequencies) != len(freqs) {
		t.Fatalf("the code list data has codes the API cannot show: %v %v", codes.Units, codes.Frequencies)
	}
}
