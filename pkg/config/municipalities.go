package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// MunicipalityOINs reads a setting of comma-separated CBS-code=OIN pairs, such as
// "GM0363=00000001002564440000,GM0599=…": which organisations act for which municipality (its
// triage policy, its outcome figures, its social map). A municipality may have several
// organisations, an organisation several municipalities. name is the setting's variable, for
// the error.
func MunicipalityOINs(name, value string) (map[string][]string, error) {
	out := map[string][]string{}
	for f := range strings.SplitSeq(value, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		code, oin, ok := strings.Cut(f, "=")
		if !ok || !municipalityCode.MatchString(code) || !identity.ValidOIN(oin) {
			return nil, fmt.Errorf("%s: %q is not CBS-code=OIN (GM0363=<20-digit OIN>)", name, f)
		}
		out[code] = append(out[code], oin)
	}
	return out, nil
}

var municipalityCode = regexp.MustCompile(`^GM[0-9]{4}$`)
