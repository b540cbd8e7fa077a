package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestMunicipalityOINs(t *testing.T) {
	const a, b = "00000001000000000100", "00000001000000000600"
	got, err := MunicipalityOINs("X", " GM0363="+a+", GM0363="+b+",GM0599="+a+",")
	want := map[string][]string{"GM0363": {a, b}, "GM0599": {a}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v %v, want %v", got, err, want)
	}
	if got, err := MunicipalityOINs("X", ""); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"GM0363", "GM363=" + a, "gm0363=" + a, "GM0363=123", "GM0363=" + a + "=x", "Amsterdam=" + a} {
		if _, err := MunicipalityOINs("WIJKBRUG_X", bad); err == nil || !strings.Contains(err.Error(), "WIJKBRUG_X") {
			t.Errorf("%q: %v, want an error naming the setting", bad, err)
		}
	}
}
