// Package apidoc holds the OpenAPI 3 documents of the services' REST edges. gnostic's
// protoc-gen-openapi writes a base document per proto file from the google.api.http
// annotations (pkg/gen/openapi); Build adds what it cannot know: the field rules declared with
// protovalidate (required fields, lengths, patterns, ranges, enum membership, repeated-field
// limits), the acting-user and Idempotency-Key headers and how a partner authenticates. The
// result is committed next to this file, embedded, served by the edge at /openapi.yaml and
// /openapi.json, and checked to be current by TestOpenAPIDocumentsAreCurrent (make test).
package apidoc

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Version is the version of the REST API and its documents (the API-Version header).
const Version = "1.0.0"

// Sources maps each service to its base documents under pkg/gen/openapi (one per proto
// package it serves; Merge joins them, the first gives the title).
var Sources = map[string][]string{
	"intake": {"wijkbrug/intake/v1/intake.openapi.yaml"},
	// Case-direction also serves the outcome reports (issue 17).
	"casedirection": {"wijkbrug/casedirection/v1/casedirection.openapi.yaml", "wijkbrug/outcomes/v1/outcomes.openapi.yaml"},
	// Provider-monitoring also serves the decisions (beschikkingen, issue 17).
	"providermonitoring": {"wijkbrug/providermonitoring/v1/providermonitoring.openapi.yaml", "wijkbrug/providermonitoring/v1/decisions.openapi.yaml"},
	// Referral also serves the partners' Subscriptions API.
	"referral": {"wijkbrug/referral/v1/referral.openapi.yaml", "wijkbrug/subscriptions/v1/subscriptions.openapi.yaml"},
}

// Merge joins base documents into one: the first one's info, every document's paths, tags
// and component schemas.
func Merge(bases ...[]byte) ([]byte, error) {
	if len(bases) == 1 {
		return bases[0], nil
	}
	var first yaml.Node
	if err := yaml.Unmarshal(bases[0], &first); err != nil || len(first.Content) == 0 {
		return nil, fmt.Errorf("apidoc: base document: %v", err)
	}
	root := first.Content[0]
	for _, b := range bases[1:] {
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil || len(doc.Content) == 0 {
			return nil, fmt.Errorf("apidoc: base document: %v", err)
		}
		other := doc.Content[0]
		for _, key := range []string{"paths", "tags"} {
			if src := get(other, key); src != nil {
				dst := get(root, key)
				if dst == nil {
					dst = &yaml.Node{Kind: src.Kind}
					root.Content = append(root.Content, str(key), dst)
				}
				dst.Content = append(dst.Content, src.Content...)
			}
		}
		if src := get(get(other, "components"), "schemas"); src != nil {
			comps := get(root, "components")
			if comps == nil {
				comps = &yaml.Node{Kind: yaml.MappingNode}
				root.Content = append(root.Content, str("components"), comps)
			}
			dst := get(comps, "schemas")
			if dst == nil {
				dst = &yaml.Node{Kind: yaml.MappingNode}
				comps.Content = append(comps.Content, str("schemas"), dst)
			}
			for i := 0; i+1 < len(src.Content); i += 2 {
				if get(dst, src.Content[i].Value) == nil {
					dst.Content = append(dst.Content, src.Content[i], src.Content[i+1])
				}
			}
		}
	}
	return yaml.Marshal(root)
}

//go:embed *.openapi.yaml
var documents embed.FS

// Document returns the committed OpenAPI document of service.
func Document(service string) []byte {
	b, err := documents.ReadFile(service + ".openapi.yaml")
	if err != nil {
		panic("apidoc: no document for " + service)
	}
	return b
}

const authText = `

Authentication: mutual TLS with the organisation's certificate from the regional CA (OIN in the
subject serialNumber, organisation type in OU), as for gRPC. Every call names the acting user
in the X-Wijkbrug-User, X-Wijkbrug-Role and X-Wijkbrug-Purpose headers. Errors are a
google.rpc.Status as JSON (code, message, details such as google.rpc.BadRequest naming every
bad field and google.rpc.ResourceInfo) under the HTTP status of the gRPC code.`

// Build returns the published document: base with the field rules of the messages in files
// and the headers every operation takes.
func Build(base []byte, files *protoregistry.Files) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(base, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("apidoc: empty base document")
	}
	root := doc.Content[0]
	if info := get(root, "info"); info != nil {
		set(info, "version", Version)
		if d := get(info, "description"); d != nil {
			d.Value = strings.TrimSpace(unwrap(d.Value)) + authText
			d.Style = yaml.LiteralStyle
		}
	}
	b := &builder{files: files, root: root}
	if comps := get(root, "components"); comps != nil {
		if schemas := get(comps, "schemas"); schemas != nil {
			answers := splitInputs(get(root, "paths"), schemas)
			for i := 0; i+1 < len(schemas.Content); i += 2 {
				// An answer's schema states what answers carry, not what requests must: answers
				// carry every field, zero values included ("" where a request's pattern, format
				// or minimum length refuses it, *_UNSPECIFIED where a request must name a value).
				name := schemas.Content[i].Value
				if answers[name] {
					continue
				}
				if err := b.schema(strings.TrimSuffix(name, inputSuffix), schemas.Content[i+1]); err != nil {
					return nil, err
				}
			}
		}
	}
	if paths := get(root, "paths"); paths != nil && len(paths.Content) > 0 {
		for i := 1; i < len(paths.Content); i += 2 {
			for j := 1; j < len(paths.Content[i].Content); j += 2 {
				if err := b.operation(paths.Content[i].Content[j]); err != nil {
					return nil, err
				}
			}
		}
		comps := get(root, "components")
		if comps == nil {
			comps = &yaml.Node{Kind: yaml.MappingNode}
			root.Content = append(root.Content, str("components"), comps)
		}
		comps.Content = append(comps.Content, str("parameters"), headerParameters())
		var headers yaml.Node
		if err := yaml.Unmarshal([]byte(answerHeaders), &headers); err != nil {
			return nil, fmt.Errorf("apidoc: answerHeaders: %w", err)
		}
		comps.Content = append(comps.Content, headers.Content[0].Content...)
		comps.Content = append(comps.Content, str("responses"), errorResponses())
	}
	var out bytes.Buffer
	out.WriteString("# Generated by pkg/apidoc from the protos (make proto). DO NOT EDIT.\n\n")
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return out.Bytes(), enc.Close()
}

// Stale reports whether committed differs from what Build makes of base now.
func Stale(committed, base []byte, files *protoregistry.Files) error {
	want, err := Build(base, files)
	if err != nil {
		return err
	}
	if !bytes.Equal(committed, want) {
		return fmt.Errorf("the OpenAPI document is stale: run 'make proto' and commit")
	}
	return nil
}

// inputSuffix names the request form of a message that requests and answers both carry.
// Protobuf names cannot hold a hyphen, so it cannot clash with a message's own name.
const inputSuffix = "-Input"

// splitInputs gives the messages that requests and answers both carry (a provision, a volume,
// a case conference's attendee) a schema of their own for requests, named with inputSuffix,
// and points requests at it: only that one gets the field rules, the one answers name keeps
// none. It returns the schemas answers use (which get no rules).
func splitInputs(paths, schemas *yaml.Node) map[string]bool {
	byName := map[string]*yaml.Node{}
	for i := 0; i+1 < len(schemas.Content); i += 2 {
		byName[schemas.Content[i].Value] = schemas.Content[i+1]
	}
	// Every schema reachable from the operations' request bodies and from their answers.
	reach := func(roots []*yaml.Node) map[string]bool {
		seen := map[string]bool{}
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			eachRef(n, func(ref *yaml.Node) {
				if name := schemaName(ref); !seen[name] {
					seen[name] = true
					walk(byName[name])
				}
			})
		}
		for _, r := range roots {
			walk(r)
		}
		return seen
	}
	var requests, answers []*yaml.Node
	if paths != nil {
		for i := 1; i < len(paths.Content); i += 2 {
			for j := 1; j < len(paths.Content[i].Content); j += 2 {
				op := paths.Content[i].Content[j]
				requests = append(requests, get(op, "requestBody"))
				answers = append(answers, get(op, "responses"))
			}
		}
	}
	inRequests, inAnswers := reach(requests), reach(answers)
	var shared []string
	for name := range inRequests {
		if inAnswers[name] && byName[name] != nil {
			shared = append(shared, name)
		}
	}
	slices.Sort(shared)
	// Requests name the input form of a shared schema: in their bodies, in the schemas only
	// requests use and in the input forms themselves.
	repoint := func(n *yaml.Node) {
		eachRef(n, func(ref *yaml.Node) {
			if slices.Contains(shared, schemaName(ref)) {
				ref.Value += inputSuffix
			}
		})
	}
	for _, r := range requests {
		repoint(r)
	}
	for name := range inRequests {
		if !inAnswers[name] && byName[name] != nil {
			repoint(byName[name])
		}
	}
	for _, name := range shared {
		in := deepCopy(byName[name])
		repoint(in)
		schemas.Content = append(schemas.Content, str(name+inputSuffix), in)
	}
	return inAnswers
}

// eachRef calls fn with the value node of every $ref in n and below it.
func eachRef(n *yaml.Node, fn func(ref *yaml.Node)) {
	if n == nil {
		return
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "$ref" {
				fn(n.Content[i+1])
			}
		}
	}
	for _, c := range n.Content {
		eachRef(c, fn)
	}
}

// schemaName is the component schema a $ref names.
func schemaName(ref *yaml.Node) string { return strings.TrimPrefix(ref.Value, "#/components/schemas/") }

func deepCopy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = deepCopy(x)
	}
	return &c
}

type builder struct {
	files *protoregistry.Files
	root  *yaml.Node // the document, for the component schemas an operation's body names
}

// schema adds the rules of message name's fields to its schema.
func (b *builder) schema(name string, s *yaml.Node) error {
	d, err := b.files.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return nil // a schema gnostic made for something that is not a message of ours
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil
	}
	props := get(s, "properties")
	if props == nil {
		return nil
	}
	var required []string
	for i := 0; i+1 < len(props.Content); i += 2 {
		fd := md.Fields().ByName(protoreflect.Name(props.Content[i].Value))
		if fd == nil {
			continue
		}
		rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
		if rules == nil {
			continue
		}
		// A list with at least one element is required too: minItems says nothing of a list
		// left out, and a client generated from the document left it out.
		if rules.GetRequired() || rules.GetRepeated().GetMinItems() > 0 {
			required = append(required, string(fd.Name()))
		}
		if err := applyRules(props.Content[i+1], rules, fd.Enum()); err != nil {
			return fmt.Errorf("%s.%s: %w", name, fd.Name(), err)
		}
	}
	if len(required) > 0 {
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, r := range required {
			seq.Content = append(seq.Content, str(r))
		}
		s.Content = append(s.Content, str("required"), seq)
	}
	return nil
}

// ruleKeywords maps protovalidate's standard rules to OpenAPI keywords.
var ruleKeywords = map[protoreflect.Name]string{
	"min_len": "minLength", "max_len": "maxLength", "pattern": "pattern",
	"gte": "minimum", "lte": "maximum", "gt": "minimum", "lt": "maximum",
	"min_items": "minItems", "max_items": "maxItems", "unique": "uniqueItems",
}

// applyRules writes one field's rules into its schema. Rules a keyword cannot say (CEL
// expressions, exclusive bounds of 64-bit numbers, which JSON carries as strings) are added to
// the description, so an integrator reads every rule in one place. ed is the field's enum
// (nil for other fields): an enum rule's in and not_in name numbers, the schema names values.
func applyRules(s *yaml.Node, rules *validate.FieldRules, ed protoreflect.EnumDescriptor) error {
	var notes []string
	for _, c := range rules.GetCel() {
		notes = append(notes, c.GetMessage())
	}
	typed := rules.ProtoReflect().WhichOneof(rules.ProtoReflect().Descriptor().Oneofs().ByName("type"))
	if typed != nil {
		r := rules.ProtoReflect().Get(typed).Message()
		target := s
		if typed.Name() == "repeated" {
			if items := r.Get(r.Descriptor().Fields().ByName("items")).Message(); items.IsValid() {
				if it := get(s, "items"); it != nil {
					if err := applyRules(it, items.Interface().(*validate.FieldRules), ed); err != nil {
						return err
					}
				}
			}
		}
		asString := get(target, "type") != nil && get(target, "type").Value == "string"
		// Range's order is undefined (protobuf-go varies it on purpose); the document must not.
		type ruleField struct {
			fd protoreflect.FieldDescriptor
			v  protoreflect.Value
		}
		var fields []ruleField
		r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			fields = append(fields, ruleField{fd, v})
			return true
		})
		slices.SortFunc(fields, func(a, b ruleField) int { return int(a.fd.Number()) - int(b.fd.Number()) })
		for _, f := range fields {
			func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
				name := fd.Name()
				switch {
				case fd.IsExtension():
					notes = append(notes, predefined(target, fd)...)
				case name == "uuid" && v.Bool():
					set(target, "format", "uuid")
				case name == "len":
					set(target, "minLength", v.String())
					set(target, "maxLength", v.String())
				case typed.Name() == "enum" && (name == "defined_only" || name == "not_in" || name == "in"):
					switch {
					case name == "defined_only" && rules.GetRequired():
						dropUnspecified(target)
					case name == "not_in" && ed == nil:
						if slices.Contains(listInts(v), 0) {
							dropUnspecified(target)
						}
					case name == "not_in":
						dropValues(target, ed, func(n int64) bool { return slices.Contains(listInts(v), n) })
					case name == "in" && ed != nil:
						dropValues(target, ed, func(n int64) bool { return !slices.Contains(listInts(v), n) })
					}
				case fd.Kind() == protoreflect.MessageKind:
					if fd.Message().FullName() == "google.protobuf.Timestamp" {
						notes = append(notes, fmt.Sprintf("%s %s", name, timestampText(v.Message())))
					}
				case ruleKeywords[name] != "":
					kw := ruleKeywords[name]
					if asString && (kw == "minimum" || kw == "maximum") {
						notes = append(notes, fmt.Sprintf("%s %v", name, v.Interface()))
						return true
					}
					setScalar(target, kw, v)
					if name == "gt" || name == "lt" {
						setScalar(target, "exclusive"+strings.ToUpper(kw[:1])+kw[1:], protoreflect.ValueOfBool(true))
					}
				}
				return true
			}(f.fd, f.v)
		}
	}
	if rules.GetRequired() && get(s, "type") != nil && get(s, "type").Value == "string" && get(s, "enum") == nil && get(s, "minLength") == nil && get(s, "pattern") == nil {
		set(s, "minLength", "1")
	}
	if len(notes) > 0 {
		d := get(s, "description")
		text := "Rules: " + strings.Join(notes, "; ") + "."
		if d == nil {
			s.Content = append(s.Content, str("description"), str(text))
		} else {
			d.Value = strings.TrimRight(d.Value, " \n") + "\n" + text
		}
	}
	return nil
}

// matchesRe finds the regular expression of a CEL rule of the form this.matches('…').
var matchesRe = regexp.MustCompile(`this\.matches\('((?:[^'\\]|\\.)*)'\)`)

// predefined applies a predefined rule (an extension of protovalidate's rules, such as
// wijkbrug.common.v1's date or municipality code): its pattern becomes the schema's pattern,
// its message a note.
func predefined(s *yaml.Node, fd protoreflect.FieldDescriptor) []string {
	rules, _ := proto.GetExtension(fd.Options(), validate.E_Predefined).(*validate.PredefinedRules)
	var notes []string
	for _, c := range rules.GetCel() {
		if m := matchesRe.FindStringSubmatch(c.GetExpression()); m != nil && get(s, "pattern") == nil {
			set(s, "pattern", strings.ReplaceAll(m[1], `\\`, `\`))
		}
		if fd.Name() == "date" {
			set(s, "format", "date")
		}
		if c.GetMessage() != "" {
			notes = append(notes, c.GetMessage())
		}
	}
	return notes
}

// timestampText shows a timestamp bound (seconds, nanos) as RFC 3339.
func timestampText(m protoreflect.Message) string {
	secs := m.Get(m.Descriptor().Fields().ByName("seconds")).Int()
	return time.Unix(secs, 0).UTC().Format(time.RFC3339)
}

func listInts(v protoreflect.Value) []int64 {
	var out []int64
	if !v.IsValid() {
		return out
	}
	l, ok := v.Interface().(protoreflect.List)
	if !ok {
		return out
	}
	for i := range l.Len() {
		switch x := l.Get(i).Interface().(type) {
		case int32:
			out = append(out, int64(x))
		case protoreflect.EnumNumber:
			out = append(out, int64(x))
		}
	}
	return out
}

// dropUnspecified removes the *_UNSPECIFIED value from an enum schema whose rules refuse it.
func dropUnspecified(s *yaml.Node) {
	e := get(s, "enum")
	if e == nil {
		return
	}
	e.Content = slices.DeleteFunc(e.Content, func(n *yaml.Node) bool { return strings.HasSuffix(n.Value, "_UNSPECIFIED") })
}

// dropValues removes the values of enum ed that refused reports refused from an enum schema
// (an enum rule's not_in, or the values outside its in).
func dropValues(s *yaml.Node, ed protoreflect.EnumDescriptor, refused func(int64) bool) {
	e := get(s, "enum")
	if e == nil {
		return
	}
	e.Content = slices.DeleteFunc(e.Content, func(n *yaml.Node) bool {
		ev := ed.Values().ByName(protoreflect.Name(n.Value))
		return ev != nil && refused(int64(ev.Number()))
	})
}

// operation adds the acting-user headers (and Idempotency-Key where the request has an
// idempotency_key) to an operation.
func (b *builder) operation(op *yaml.Node) error {
	params := get(op, "parameters")
	if params == nil {
		params = &yaml.Node{Kind: yaml.SequenceNode}
		op.Content = append(op.Content, str("parameters"), params)
	}
	md := b.input(op)
	if md == nil {
		// Its rules would be left out without a word (the outcome reports' were, until the
		// thirty-fifth session): the caller must have registered every proto package served.
		id := get(op, "operationId")
		if id == nil {
			return fmt.Errorf("apidoc: an operation without an operationId")
		}
		return fmt.Errorf("apidoc: operation %s: its method is not among the registered protos (import its generated package)", id.Value)
	}
	// Path and query parameters are fields of the request: their rules as in the schemas.
	for _, p := range params.Content {
		name, schema := get(p, "name"), get(p, "schema")
		if md == nil || name == nil || schema == nil {
			continue
		}
		fd := md.Fields().ByName(protoreflect.Name(name.Value))
		if fd == nil {
			continue
		}
		if rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules); rules != nil {
			if err := applyRules(schema, rules, fd.Enum()); err != nil {
				return fmt.Errorf("parameter %s: %w", name.Value, err)
			}
			// A required field is a required parameter (a path parameter is one already).
			if in := get(p, "in"); rules.GetRequired() && in != nil && in.Value == "query" && get(p, "required") == nil {
				p.Content = append(p.Content, str("required"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
			}
		}
	}
	b.bodyLeavesOutPathFields(op, params)
	names := []string{"X-Wijkbrug-User", "X-Wijkbrug-Role", "X-Wijkbrug-Purpose"}
	if md != nil && md.Fields().ByName("idempotency_key") != nil {
		names = append(names, "Idempotency-Key")
	}
	for _, n := range names {
		params.Content = append(params.Content, refTo("parameters", n))
	}
	b.answers(op, params)
	return nil
}

// answerHeaders are the headers the edge's answers carry (docs/rest.md).
const answerHeaders = `
headers:
  API-Version:
    description: The version of the REST API, the document's info.version. On every answer.
    required: true
    schema:
      type: string
      example: "` + Version + `"
  Retry-After:
    description: Whole seconds to wait before sending the request again (RFC 9110 §10.2.3), the google.rpc.RetryInfo detail of the body rounded up. Sent when the body has that detail.
    schema:
      type: integer
      minimum: 1
  WWW-Authenticate:
    description: 'What a 401 asks for: the acting user''s headers (Wijkbrug-Acting-User realm="wijkbrug", headers="X-Wijkbrug-User X-Wijkbrug-Role X-Wijkbrug-Purpose"), or a client certificate (Mutual-TLS realm="wijkbrug").'
    required: true
    schema:
      type: string
`

// errorAnswers are the error answers of the edge (docs/rest.md, "Errors"), declared by status
// so that a client generated from the document knows each one and its headers; when names
// whether an operation can meet it (its path names a record, it has a body).
var errorAnswers = []struct {
	status, name, description string
	headers                   []string // besides API-Version
	when                      func(inPath, body bool) bool
}{
	{"400", "BadRequest", "INVALID_ARGUMENT (a google.rpc.BadRequest detail names every bad field by its path in the request) or FAILED_PRECONDITION (the record's state does not allow the change; the message says why). Nothing was applied.", nil, always},
	{"401", "Unauthorized", "UNAUTHENTICATED. An acting-user header is missing, not acceptable or sent twice (the message names it), or the client certificate is missing or revoked.", []string{"WWW-Authenticate"}, always},
	{"403", "Forbidden", "PERMISSION_DENIED. The organisation type, the role or the purpose (an entry of the register of processing activities) does not allow the call.", nil, always},
	{"404", "NotFound", "NOT_FOUND. A record the request names does not exist or is not the caller's to see (another organisation's record answers the same); a google.rpc.ResourceInfo detail names its kind.", nil, func(inPath, body bool) bool { return inPath || body }},
	{"409", "Conflict", "ALREADY_EXISTS. What the request would create exists already; a google.rpc.ResourceInfo detail names it, with its id where the caller may see it.", nil, func(_, body bool) bool { return body }},
	{"413", "ContentTooLarge", "INVALID_ARGUMENT on body. The body is over 4 MiB, the message limit of both edges.", nil, func(_, body bool) bool { return body }},
	{"429", "TooManyRequests", "RESOURCE_EXHAUSTED. A rate limit (the acting user's or the organisation's, per replica) is reached; the message names it. Send the request again after Retry-After, with the same Idempotency-Key.", []string{"Retry-After"}, always},
	{"503", "Unavailable", "UNAVAILABLE. A database, the broker or another service is unreachable for a moment; a change was not applied. Send the request again after Retry-After, with the same Idempotency-Key.", []string{"Retry-After"}, always},
}

func always(bool, bool) bool { return true }

// errorResponses is components.responses: errorAnswers, each a google.rpc.Status as JSON.
func errorResponses() *yaml.Node {
	out := &yaml.Node{Kind: yaml.MappingNode}
	for _, a := range errorAnswers {
		headers := &yaml.Node{Kind: yaml.MappingNode}
		for _, h := range append([]string{"API-Version"}, a.headers...) {
			headers.Content = append(headers.Content, str(h), refTo("headers", h))
		}
		schema := refTo("schemas", "google.rpc.Status")
		media := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("schema"), schema}}
		content := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("application/json"), media}}
		r := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			str("description"), str(a.description), str("headers"), headers, str("content"), content,
		}}
		out.Content = append(out.Content, str(a.name), r)
	}
	return out
}

// answers declares the operation's answers besides its own: API-Version on each, and the error
// answers by status (errorAnswers). The rest (408, 500, 504) stays under default.
func (b *builder) answers(op, params *yaml.Node) {
	responses := get(op, "responses")
	if responses == nil {
		return
	}
	version := func(r *yaml.Node) {
		h := get(r, "headers")
		if h == nil {
			h = &yaml.Node{Kind: yaml.MappingNode}
			r.Content = append(r.Content, str("headers"), h)
		}
		h.Content = append(h.Content, str("API-Version"), refTo("headers", "API-Version"))
	}
	inPath := slices.ContainsFunc(params.Content, func(p *yaml.Node) bool {
		in := get(p, "in")
		return in != nil && in.Value == "path"
	})
	body := get(op, "requestBody") != nil
	out := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(responses.Content); i += 2 {
		if responses.Content[i].Value == "default" {
			for _, a := range errorAnswers {
				if a.when(inPath, body) {
					out.Content = append(out.Content, str(a.status), refTo("responses", a.name))
				}
			}
		}
		version(responses.Content[i+1])
		out.Content = append(out.Content, responses.Content[i], responses.Content[i+1])
	}
	responses.Content = out.Content
}

// refTo is a $ref to the component of kind (parameters, headers, responses) named name.
func refTo(kind, name string) *yaml.Node {
	ref := &yaml.Node{Kind: yaml.MappingNode}
	ref.Content = append(ref.Content, str("$ref"), str("#/components/"+kind+"/"+name))
	return ref
}

// bodyLeavesOutPathFields takes the path's fields out of the required list of the schema the
// operation's body names: the body is the whole request message (body "*"), but a field the
// path gives need not be sent again (POST /v1/consents/{consent_id}/withdraw with {}), and a
// client that validates against the document sent it twice. A request message serves one
// operation, so its schema is this operation's.
func (b *builder) bodyLeavesOutPathFields(op, params *yaml.Node) {
	inPath := map[string]bool{}
	for _, p := range params.Content {
		if in, name := get(p, "in"), get(p, "name"); in != nil && name != nil && in.Value == "path" {
			inPath[name.Value] = true
		}
	}
	ref := get(get(get(get(get(op, "requestBody"), "content"), "application/json"), "schema"), "$ref")
	if len(inPath) == 0 || ref == nil {
		return
	}
	schema := get(get(get(b.root, "components"), "schemas"), strings.TrimPrefix(ref.Value, "#/components/schemas/"))
	req := get(schema, "required")
	if req == nil {
		return
	}
	req.Content = slices.DeleteFunc(req.Content, func(n *yaml.Node) bool { return inPath[n.Value] })
	if len(req.Content) == 0 {
		for i := 0; i+1 < len(schema.Content); i += 2 {
			if schema.Content[i].Value == "required" {
				schema.Content = slices.Delete(schema.Content, i, i+2)
				break
			}
		}
	}
}

// input finds the request message of an operation through its operationId (Service_Method).
func (b *builder) input(op *yaml.Node) protoreflect.MessageDescriptor {
	id := get(op, "operationId")
	if id == nil {
		return nil
	}
	svc, method, ok := strings.Cut(id.Value, "_")
	if !ok {
		return nil
	}
	var found protoreflect.MessageDescriptor
	b.files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if s := fd.Services().ByName(protoreflect.Name(svc)); s != nil {
			if m := s.Methods().ByName(protoreflect.Name(method)); m != nil {
				found = m.Input()
				return false
			}
		}
		return true
	})
	return found
}

func headerParameters() *yaml.Node {
	p := &yaml.Node{Kind: yaml.MappingNode}
	add := func(name string, required bool, desc string) {
		m := &yaml.Node{Kind: yaml.MappingNode}
		schema := &yaml.Node{Kind: yaml.MappingNode}
		schema.Content = append(schema.Content, str("type"), str("string"))
		set(schema, "minLength", "1")
		// The acting-user headers as grpcx checks them; the key as the idempotency_key
		// fields' rule (128 bytes).
		if name == "Idempotency-Key" {
			set(schema, "maxLength", "128")
		} else {
			set(schema, "maxLength", "200")
		}
		m.Content = append(m.Content, str("name"), str(name), str("in"), str("header"),
			str("required"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(required)},
			str("description"), str(desc), str("schema"), schema)
		p.Content = append(p.Content, str(name), m)
	}
	add("X-Wijkbrug-User", true, "The professional who acts (an id within the calling organisation).")
	add("X-Wijkbrug-Role", true, "The role in which the professional acts, e.g. gp or case_director.")
	add("X-Wijkbrug-Purpose", true, "The processing activity (doelbinding) the call serves: a code from the register of processing activities that the calling organisation type has, e.g. signal, case-direction or care-delivery (docs/security.md); any other is 403.")
	add("Idempotency-Key", false, "Makes a retry safe: a repeat with the same key returns the first answer. The same as the body's idempotency_key (when both are given they must be equal).")
	return p
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// set sets key to a string, or to an integer when value is one.
func set(m *yaml.Node, key, value string) {
	tag := "!!str"
	if _, err := strconv.ParseInt(value, 10, 64); err == nil {
		tag = "!!int"
	}
	if n := get(m, key); n != nil {
		n.Value, n.Tag, n.Style = value, tag, 0
		return
	}
	m.Content = append(m.Content, str(key), &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value})
}

func setScalar(m *yaml.Node, key string, v protoreflect.Value) {
	var n *yaml.Node
	switch x := v.Interface().(type) {
	case string:
		n = str(x)
	case bool:
		n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}
	default:
		n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(x)}
		if _, ok := x.(float64); ok {
			n.Tag = "!!float"
		}
	}
	if old := get(m, key); old != nil {
		*old = *n
		return
	}
	m.Content = append(m.Content, str(key), n)
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// unwrap joins the continuation lines gnostic keeps from proto comments.
func unwrap(s string) string { return strings.ReplaceAll(s, "\n ", "\n") }
