package rest_test

import (
	"regexp"
	"strings"
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// personal tells whether a field holds personal data that must not travel in a URL: a field
// named like a BSN, or one that carries the BSN format rule (wijkbrug.common.v1.bsn). Other
// personal data (names, addresses, birth dates) has no marker in the protos; the name check
// below catches the obvious ones, nothing cleverer.
func personal(fd protoreflect.FieldDescriptor) bool {
	if personalName.MatchString(string(fd.Name())) {
		return true
	}
	rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
	if s := rules.GetString(); s != nil && proto.GetExtension(s, commonv1.E_Bsn).(bool) {
		return true
	}
	if items := rules.GetRepeated().GetItems().GetString(); items != nil && proto.GetExtension(items, commonv1.E_Bsn).(bool) {
		return true
	}
	return false
}

var personalName = regexp.MustCompile(`(^|_)(bsn|birth_date|date_of_birth|address|postal_code|phone|email)(_|s?$)`)

// urlFields lists the fields of in that a rule puts into the URL: every field for a rule
// without a body (GET, DELETE), the path variables and the fields outside the body for body
// "field", the path variables alone for body "*". Message fields are walked: the gateway takes
// nested fields from the query as a.b=… too.
func urlFields(rule *annotations.HttpRule, in protoreflect.MessageDescriptor) []string {
	var path string
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		path = p.Get
	case *annotations.HttpRule_Put:
		path = p.Put
	case *annotations.HttpRule_Post:
		path = p.Post
	case *annotations.HttpRule_Delete:
		path = p.Delete
	case *annotations.HttpRule_Patch:
		path = p.Patch
	case *annotations.HttpRule_Custom:
		path = p.Custom.GetPath()
	}
	var out []string
	var walk func(prefix string, md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool)
	walk = func(prefix string, md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) {
		if seen[md.FullName()] {
			return
		}
		seen[md.FullName()] = true
		defer delete(seen, md.FullName())
		fields := md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			name := prefix + string(fd.Name())
			if prefix == "" && rule.GetBody() != "" {
				inPath := strings.Contains(path, "{"+name+"}") || strings.Contains(path, "{"+name+"=")
				if !inPath && (rule.GetBody() == "*" || rule.GetBody() == name) {
					continue
				}
			}
			if personal(fd) {
				out = append(out, name)
			}
			if fd.Kind() == protoreflect.MessageKind && !fd.IsMap() {
				walk(name+".", fd.Message(), seen)
			}
		}
	}
	walk("", in, map[protoreflect.FullName]bool{})
	return out
}

// No REST route carries a BSN (or other personal data the check recognises) in its path or
// query string, where proxies and servers write it to their access logs: such searches are a
// POST with the data in the body (ListConsents: POST /v1/consents:search).
func TestNoPersonalDataInURLs(t *testing.T) {
	services, rules := 0, 0
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(f.Package()), "wijkbrug.") {
			return true
		}
		for i := range f.Services().Len() {
			sd := f.Services().Get(i)
			services++
			for j := range sd.Methods().Len() {
				m := sd.Methods().Get(j)
				rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
				if rule == nil {
					continue
				}
				for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
					rules++
					if bad := urlFields(r, m.Input()); len(bad) > 0 {
						t.Errorf("%s: %v in the URL of the REST route; make it a POST with a body", m.FullName(), bad)
					}
				}
			}
		}
		return true
	})
	if services < 5 || rules < 30 {
		t.Fatalf("walked %d services and %d HTTP rules: the generated packages are not all linked", services, rules)
	}
	t.Logf("%d services, %d HTTP rules: no personal data in a URL", services, rules)
}

// The check itself finds a BSN in a query string.
func TestPersonalDataCheckFindsQueryBSN(t *testing.T) {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName("wijkbrug.referral.v1.ListConsentsRequest")
	if err != nil {
		t.Fatal(err)
	}
	get := &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: "/v1/consents"}}
	if got := urlFields(get, d.(protoreflect.MessageDescriptor)); len(got) != 1 || got[0] != "resident_bsn" {
		t.Fatalf("GET /v1/consents: want resident_bsn found, got %v", got)
	}
	post := &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: "/v1/consents:search"}, Body: "*"}
	if got := urlFields(post, d.(protoreflect.MessageDescriptor)); len(got) != 0 {
		t.Fatalf("POST with body *: want nothing in the URL, got %v", got)
	}
}
