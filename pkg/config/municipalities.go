package config

import (
	"fmt"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
)

// MunicipalityOINs reads a setting of comma-separated CBS-code=OIN pairs, such as
// "GM0363=00000001002564440000,GM0599=…": which organisations act for which municipality (its
// triage policy, its outcome figures, its social map). A municipality may have several
// organisations, an organisation several municipalities. name is the setting's variable, for
// the error. The codes are checked as pkg/valid checks them in requests.
func MunicipalityOINs(name, value string) (map[string][]string, error) {
	out := map[string][]string{}
	for f := range strings.SplitSeq(value, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		code, oin, ok := strings.Cut(f, "=")
		var v apperr.Validation
		valid.Municipality(&v, "municipality", code)
		valid.OIN(&v, "oin", oin)
		if !ok || v.Err() != nil {
			return nil, fmt.Errorf("%s: %q is not CBS-code=OIN (GM0363=<20-digit OIN>)", name, f)
		}
		out[code] = append(out[code], oin)
	}
	return out, nil
}

// OINs reads a setting of comma-separated OINs (organisations named for a role, such as the
// privacy officers'). name is the setting's variable, for the error.
func OINs(name, value string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(value, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		var v apperr.Validation
		valid.OIN(&v, "oin", f)
		if v.Err() != nil {
			return nil, fmt.Errorf("%s: %q is not an OIN (20 digits)", name, f)
		}
		out = append(out, f)
	}
	return out, nil
}
