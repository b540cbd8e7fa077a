package rest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// An edge's OpenAPI document is turned into JSON and routes once per process, whichever slice
// holds it (svc.Warm prepares the four services' documents while PostgreSQL starts, and their
// edges find them made); a document that cannot be prepared fails every edge built on it.
func TestDocumentIsPreparedOnce(t *testing.T) {
	doc := "openapi: 3.0.3\ninfo: {title: t, version: 1.0.0}\npaths:\n  /v1/things/{thing_id}:\n    get: {operationId: GetThing}\n    delete: {operationId: DeleteThing}\n"
	if err := Prepare([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	first, err := document([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	again, err := document([]byte(strings.Clone(doc)))
	if err != nil {
		t.Fatal(err)
	}
	if &first.json[0] != &again.json[0] {
		t.Error("the same document was prepared again for another slice holding it")
	}
	var parsed struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(first.json, &parsed); err != nil || parsed.Paths["/v1/things/{thing_id}"]["delete"] == nil {
		t.Errorf("the document as JSON: %s (%v)", first.json, err)
	}
	if got, want := first.routes.allowed("/v1/things/abc"), []string{"GET", "HEAD", "DELETE", "OPTIONS"}; !slices.Equal(got, want) {
		t.Errorf("methods allowed on /v1/things/abc: %v, want %v", got, want)
	}

	broken := []byte("openapi: 3.0.3\npaths: [\n")
	prepErr := Prepare(broken)
	if prepErr == nil || !strings.Contains(prepErr.Error(), "rest: OpenAPI document") {
		t.Fatalf("Prepare of a broken document: %v", prepErr)
	}
	if _, err := Handler(context.Background(), nil, nil, broken); err == nil || err.Error() != prepErr.Error() {
		t.Errorf("an edge on the broken document: %v, want %v", err, prepErr)
	}
}
