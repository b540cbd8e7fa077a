package domain

import (
	"reflect"
	"testing"
)

func TestValidateScores(t *testing.T) {
	cases := []struct {
		name    string
		version string
		scores  []Score
		fields  []string
	}{
		{"valid", "ZRM-2017", []Score{{"FINANCES", 1}, {"HOUSING", 5}, {"JUSTICE", 99}}, nil},
		{"ADL in 2013", "ZRM-2013", []Score{{"ADL", 3}}, nil},
		{"unknown version", "ZRM-2030", []Score{{"FINANCES", 1}}, []string{"instrument_version"}},
		{"no scores", "ZRM-2017", nil, []string{"scores"}},
		{"ADL is not in 2017", "ZRM-2017", []Score{{"ADL", 3}}, []string{"scores[0].life_domain"}},
		{"WORK_EDUCATION is not in 2013", "ZRM-2013", []Score{{"WORK_EDUCATION", 3}}, []string{"scores[0].life_domain"}},
		{"twice", "ZRM-2017", []Score{{"HOUSING", 3}, {"HOUSING", 4}}, []string{"scores[1].life_domain"}},
		{"scores out of scale", "ZRM-2017", []Score{{"HOUSING", 0}, {"FINANCES", 6}, {"JUSTICE", 98}}, []string{"scores[0].score", "scores[1].score", "scores[2].score"}},
	}
	for _, tc := range cases {
		var fields []string
		for _, e := range ValidateScores(tc.version, tc.scores) {
			fields = append(fields, e.Field)
		}
		if !reflect.DeepEqual(fields, tc.fields) {
			t.Errorf("%s: got %v, want %v", tc.name, fields, tc.fields)
		}
	}
}

func TestCompare(t *testing.T) {
	a := Assessment{Instrument: "ZRM-2013", Scores: []Score{{"FINANCES", 1}, {"HOUSING", 3}, {"JUSTICE", 4}, {"ADL", 2}, {"SOCIAL_NETWORK", 99},
		{"DAYTIME_ACTIVITIES", 3}, {"SUBSTANCE_USE", 2}}}
	b := Assessment{Instrument: "ZRM-2017", Scores: []Score{{"FINANCES", 3}, {"HOUSING", 3}, {"JUSTICE", 2}, {"BASIC_ADL", 4}, {"SOCIAL_NETWORK", 3},
		{"DAYTIME_ACTIVITIES", 3}, {"SUBSTANCE_USE", 4}}}
	got := Compare(a, b)
	// Dagbesteding (2013, work included) and Tijdsbesteding (2017), Verslaving and
	// Middelengebruik: one code, redefined between the versions, so not comparable.
	want := []DomainChange{
		{"FINANCES", 1, 3, 2, ChangeImproved},
		{"DAYTIME_ACTIVITIES", 3, 3, 0, ChangeNotComparable},
		{"HOUSING", 3, 3, 0, ChangeUnchanged},
		{"SUBSTANCE_USE", 2, 4, 0, ChangeNotComparable},
		{"BASIC_ADL", 0, 4, 0, ChangeNotComparable},
		{"SOCIAL_NETWORK", 99, 3, 0, ChangeNotComparable},
		{"JUSTICE", 4, 2, -2, ChangeWorsened},
		{"ADL", 2, 0, 0, ChangeNotComparable},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// Within one version the same domains compare.
	c := Assessment{Instrument: "ZRM-2013", Scores: []Score{{"DAYTIME_ACTIVITIES", 4}, {"SUBSTANCE_USE", 1}}}
	got = Compare(a, c)
	want = []DomainChange{
		{"FINANCES", 1, 0, 0, ChangeNotComparable},
		{"DAYTIME_ACTIVITIES", 3, 4, 1, ChangeImproved},
		{"HOUSING", 3, 0, 0, ChangeNotComparable},
		{"SUBSTANCE_USE", 2, 1, -1, ChangeWorsened},
		{"ADL", 2, 0, 0, ChangeNotComparable},
		{"SOCIAL_NETWORK", 99, 0, 0, ChangeNotComparable},
		{"JUSTICE", 4, 0, 0, ChangeNotComparable},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("within ZRM-2013:\ngot  %+v\nwant %+v", got, want)
	}
}
