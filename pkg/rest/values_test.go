package rest

import (
	"strings"
	"testing"
)

// The decoders' messages quote what they could not read; the answer keeps the field and the
// kind of mistake, never the value (a BSN sent as a number, a name where an enum belongs).
func TestErrorMessagesLeaveOutTheValues(t *testing.T) {
	for msg, want := range map[string]string{
		`proto: (line 1:17): invalid value for string field residentBsn: 735190008`:        `proto: (line 1:17): invalid value for string field residentBsn`,
		`proto: (line 1:40): invalid value for enum field sourceType: "LEAK-735190008"`:    `proto: (line 1:40): invalid value for enum field sourceType`,
		`proto: syntax error (line 1:20): unexpected token "Zwaantje Leakcheck"`:           `proto: syntax error (line 1:20): unexpected token`,
		`proto: syntax error (line 1:9): unexpected token 735190008`:                       `proto: syntax error (line 1:9): unexpected token`,
		`parsing field "page_size": strconv.ParseInt: parsing "735190008": invalid syntax`: `parsing field "page_size"`,
		`proto: (line 1:2): unknown field "no_such_field"`:                                 `proto: (line 1:2): unknown field "no_such_field"`,
		`proto: (line 1:2): unknown field "Zwaantje 735190008"`:                            `proto: (line 1:2): unknown field "…"`,
		`unknown query parameter "735190008": not a field of this request`:                 `unknown query parameter "…": not a field of this request`,
		`unknown query parameter "page_sise": not a field of this request`:                 `unknown query parameter "page_sise": not a field of this request`,
		`proto: (line 1:30): invalid UTF-8 in string "Zw\xff"`:                             `proto: (line 1:30): invalid UTF-8 in string "…"`,
		`request body: unexpected data after the JSON object`:                              `request body: unexpected data after the JSON object`,
	} {
		got := withoutValues(msg)
		if got != want {
			t.Errorf("%q:\n got %q\nwant %q", msg, got, want)
		}
		for _, secret := range []string{"735190008", "Zwaantje", "LEAK"} {
			if strings.Contains(got, secret) {
				t.Errorf("%q keeps %q", got, secret)
			}
		}
	}
}
