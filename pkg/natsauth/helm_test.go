package natsauth_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
)

const helmValues = "../../deploy/nats/values.yaml"

// exampleModel is the model shown in deploy/nats/values.yaml: the four services with the
// certificate subjects of the deployment's service certificates, and one partner.
func exampleModel() natsauth.Model {
	dn := func(oin, name, ou string) string {
		return "SERIALNUMBER=" + oin + ",CN=" + name + ",OU=" + ou + ",O=" + name
	}
	return natsauth.Model{
		Services: natsauth.Services(map[string]string{
			"intake":             dn("00000099000000000001", "wijkbrug-intake", "SERVICE"),
			"casedirection":      dn("00000099000000000002", "wijkbrug-casedirection", "SERVICE"),
			"providermonitoring": dn("00000099000000000003", "wijkbrug-providermonitoring", "SERVICE"),
			"referral":           dn("00000099000000000004", "wijkbrug-referral", "SERVICE"),
		}),
		Partners:  []natsauth.Partner{{OIN: "00000001000000000200", DN: dn("00000001000000000200", "Huisartsenpraktijk De Linde", "GP")}},
		Observers: []string{dn("00000001000000000900", "Wijkbrug operations", "OPERATIONS")},
	}
}

// TestHelmValuesAreCurrent: the accounts and permissions in the NATS Helm values are the ones
// pkg/natsauth renders (WIJKBRUG_UPDATE_DOCS=1 rewrites them).
func TestHelmValuesAreCurrent(t *testing.T) {
	const begin, end = "    # accounts:begin (generated from pkg/natsauth; checked by a test)\n", "    # accounts:end\n"
	b, err := os.ReadFile(helmValues)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("%s: markers missing", helmValues)
	}
	rendered, err := natsauth.Render(exampleModel().Accounts())
	if err != nil {
		t.Fatal(err)
	}
	want := "    accounts: " + strings.ReplaceAll(strings.TrimRight(rendered, "\n"), "\n", "\n    ") + "\n"
	if got := text[i+len(begin) : j]; got != want {
		if os.Getenv("WIJKBRUG_UPDATE_DOCS") == "1" {
			if err := os.WriteFile(helmValues, []byte(text[:i+len(begin)]+want+text[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("%s is stale: run WIJKBRUG_UPDATE_DOCS=1 go test -run TestHelmValuesAreCurrent ./natsauth (in pkg/)", helmValues)
	}
}

// The Helm values pin a broker image no older than natsx.MinServerVersion.
func TestHelmValuesPinABrokerNewEnough(t *testing.T) {
	b, err := os.ReadFile(helmValues)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^container:\n  image:\n    repository: nats\n    tag: "?([^"\s]+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no container.image.tag for the nats image", helmValues)
	}
	version, _, _ := strings.Cut(string(m[1]), "-alpine")
	if natsx.ServerTooOld(version) {
		t.Fatalf("%s pins nats %s, older than %s", helmValues, m[1], natsx.MinServerVersion)
	}
}
