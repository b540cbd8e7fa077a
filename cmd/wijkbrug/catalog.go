package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1" // register all API types
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// catalogEvent is one event message as read from an events.proto file.
type catalogEvent struct {
	producer, fullName, doc string
	// fieldDocs are the leading comments of its fields, by field name.
	fieldDocs map[string]string
}

var (
	messageLine = regexp.MustCompile(`^message ([A-Za-z0-9_]+) \{`)
	fieldLine   = regexp.MustCompile(`^(?:repeated |optional )?[A-Za-z0-9_.]+ ([a-z0-9_]+) = [0-9]+`)
)

// readEvents reads the events.proto files of the four services: the message names and their
// leading comments (the comments are not in the compiled descriptors, so the catalog reads
// the source, which is the contract). The subjects come from the messages' options
// (pkg/eventsubject), the one place they are declared.
func readEvents(protoDir string) ([]catalogEvent, error) {
	var out []catalogEvent
	for _, svc := range []string{"referral", "intake", "casedirection", "providermonitoring"} {
		path := filepath.Join(protoDir, "wijkbrug", svc, "v1", "events.proto")
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		var comment []string
		depth := 0
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			switch {
			case strings.HasPrefix(line, "//"):
				comment = append(comment, strings.TrimSpace(strings.TrimPrefix(line, "//")))
			case depth == 0 && messageLine.MatchString(line):
				out = append(out, catalogEvent{producer: svc, fullName: "wijkbrug." + svc + ".v1." + messageLine.FindStringSubmatch(line)[1],
					doc: strings.Join(comment, " "), fieldDocs: map[string]string{}})
				comment = nil
			case depth == 1 && len(out) > 0 && fieldLine.MatchString(line):
				if len(comment) > 0 {
					out[len(out)-1].fieldDocs[fieldLine.FindStringSubmatch(line)[1]] = strings.Join(comment, " ")
				}
				comment = nil
			default:
				comment = nil
			}
			depth += strings.Count(line, "{") - strings.Count(line, "}")
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// subjects are the subject patterns an event declares: the one for every consumer, then the
// one for a partner's feedback (a message may have both, e.g. ReferralStatusChanged).
func subjects(md protoreflect.MessageDescriptor) string {
	var out []string
	for _, p := range []string{eventsubject.PatternOf(md), eventsubject.FeedbackPatternOf(md)} {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "`<br>`")
}

// eventCatalog renders docs/events.md.
func eventCatalog(protoDir string) (string, error) {
	events, err := readEvents(protoDir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(`# Event catalog

Generated from ` + "`proto/wijkbrug/*/v1/events.proto`" + ` by ` + "`wijkbrug events-catalog`" + ` (a test checks it is
current). Every event is a CloudEvent 1.0 in binary mode on NATS JetStream: ` + "`ce-type`" + ` is the
message's full name below, ` + "`ce-source`" + ` is ` + "`urn:wijkbrug:<producer>`" + `, ` + "`ce-subject`" + ` the aggregate id,
the payload the protobuf message (` + "`content-type: application/protobuf`" + `), ` + "`Nats-Msg-Id`" + ` = ` + "`ce-id`" + ` (on a
partner's feed copy ` + "`<ce-id>:<OIN>`" + `, see [integrators.md](integrators.md)). Each producer has one stream,
` + "`WIJKBRUG_<PRODUCER>`" + ` on ` + "`wijkbrug.<producer>.>`" + `. Events carry ids, codes and statuses — never a BSN, a
name or free text.

**Decoding a payload** takes the message's protobuf definition; each table below gives every
field's number and type. Outside Go, load the definitions rather than copy them: the protos are
` + "`proto/wijkbrug/*/v1/*.proto`" + `, whose imports are in ` + "`third_party/proto`" + ` (buf.validate, google.api), and
` + "`make tools && bin/buf build --as-file-descriptor-set -o wijkbrug.binpb`" + ` writes all of them as one
FileDescriptorSet that protobuf libraries load as it is (protobufjs:
` + "`Root.fromDescriptor(FileDescriptorSet.decode(bytes))`" + ` with ` + "`protobufjs/ext/descriptor`" + `; Python:
` + "`descriptor_pool`" + `). A field that is not set is left out of the payload: read it as its zero value.

A subject is declared once, on its message (` + "`option (wijkbrug.common.v1.subject)`" + ` and, for a
partner's own copy, ` + "`(wijkbrug.common.v1.feedback_subject)`" + `): a token in braces is filled in per event
— ` + "`{municipality}`" + ` with the municipality code, ` + "`{source_oin}`" + `, ` + "`{team_oin}`" + ` or ` + "`{partner_oin}`" + ` with
the partner's OIN — and a subscription puts ` + "`*`" + ` there (` + "`wijkbrug.referral.*.signal.received`" + `).

| event | producer | subject |
|---|---|---|
`)
	types := make([]protoreflect.MessageType, len(events))
	for i, e := range events {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(e.fullName))
		if err != nil {
			return "", fmt.Errorf("%s is in the proto source but not in the generated code (run make proto): %w", e.fullName, err)
		}
		if subjects(mt.Descriptor()) == "" {
			return "", fmt.Errorf("%s declares no (wijkbrug.common.v1.subject) or (wijkbrug.common.v1.feedback_subject)", e.fullName)
		}
		types[i] = mt
	}
	for i, e := range events {
		short := e.fullName[strings.LastIndex(e.fullName, ".")+1:]
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | `%s` |\n", short, strings.ToLower(short), e.producer, subjects(types[i].Descriptor()))
	}
	for i, e := range events {
		short := e.fullName[strings.LastIndex(e.fullName, ".")+1:]
		mt := types[i]
		fmt.Fprintf(&b, "\n## %s\n\n`%s` — producer **%s**, subject `%s`\n\n%s\n\n", short, e.fullName, e.producer, subjects(mt.Descriptor()), e.doc)
		b.WriteString("| field | number | type | meaning |\n|---|---|---|---|\n")
		fields := mt.Descriptor().Fields()
		var rows []string
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			doc := strings.ReplaceAll(e.fieldDocs[string(fd.Name())], "|", "\\|")
			rows = append(rows, fmt.Sprintf("| `%s` | %d | %s | %s |", fd.Name(), fd.Number(), fieldType(fd), doc))
		}
		b.WriteString(strings.Join(rows, "\n") + "\n")
	}
	return b.String(), nil
}

func fieldType(fd protoreflect.FieldDescriptor) string {
	t := fd.Kind().String()
	switch fd.Kind() {
	case protoreflect.MessageKind:
		t = string(fd.Message().FullName())
	case protoreflect.EnumKind:
		var vals []string
		for i := 0; i < fd.Enum().Values().Len(); i++ {
			if v := string(fd.Enum().Values().Get(i).Name()); !strings.HasSuffix(v, "_UNSPECIFIED") {
				vals = append(vals, v)
			}
		}
		sort.Strings(vals)
		t = "enum " + string(fd.Enum().FullName()) + " (" + strings.Join(vals, ", ") + ")"
	}
	if fd.IsList() {
		t = "repeated " + t
	}
	return t
}

func runEventsCatalog(args []string, out io.Writer) error {
	fs := newFlags("events-catalog")
	protoDir := fs.String("proto", "proto", "the proto directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	doc, err := eventCatalog(*protoDir)
	if err != nil {
		return err
	}
	_, err = io.WriteString(out, doc)
	return err
}
