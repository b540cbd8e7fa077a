package apidoc_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apidoc"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"google.golang.org/protobuf/reflect/protoregistry"
)

func base(t *testing.T, service string) []byte {
	t.Helper()
	var bases [][]byte
	for _, src := range apidoc.Sources[service] {
		b, err := os.ReadFile(filepath.Join("..", "gen", "openapi", src))
		if err != nil {
			t.Fatalf("%v (run make proto)", err)
		}
		bases = append(bases, b)
	}
	b, err := apidoc.Merge(bases...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The committed documents are what the protos say now. WIJKBRUG_UPDATE_DOCS=1 rewrites them
// (make proto does).
func TestOpenAPIDocumentsAreCurrent(t *testing.T) {
	for service := range apidoc.Sources {
		if os.Getenv("WIJKBRUG_UPDATE_DOCS") == "1" {
			doc, err := apidoc.Build(base(t, service), protoregistry.GlobalFiles)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(service+".openapi.yaml", doc, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := apidoc.Stale(apidoc.Document(service), base(t, service), protoregistry.GlobalFiles); err != nil {
			t.Errorf("%s: %v", service, err)
		}
	}
}

// The currency check fails on a document that misses a change: one made before a field rule
// or an operation was added.
func TestStaleOpenAPIDocumentIsRefused(t *testing.T) {
	doc := string(apidoc.Document("referral"))
	for name, stale := range map[string]string{
		"a rule dropped":      strings.Replace(doc, "maxLength: 200", "maxLength: 300", 1),
		"an operation missed": strings.Replace(doc, "operationId: ReferralService_SubmitSignal", "operationId: ReferralService_Other", 1),
	} {
		if stale == doc {
			t.Fatalf("%s: the document has nothing to change", name)
		}
		if err := apidoc.Stale([]byte(stale), base(t, "referral"), protoregistry.GlobalFiles); err == nil {
			t.Errorf("%s: a stale document passes the check", name)
		}
	}
}
