// Package eventsubject gives the NATS subjects of Wijkbrug's events from their one definition:
// the (wijkbrug.common.v1.subject) and (wijkbrug.common.v1.feedback_subject) options on each
// event message in proto/wijkbrug/*/v1/events.proto. Producers fill a pattern in (Subject,
// FeedbackSubject, Add), consumers filter on it (Filter, Filters), and the event catalog
// (docs/events.md) prints it (Pattern, FeedbackPattern); nothing else spells a subject of ours.
//
// A pattern is dot-separated tokens, e.g. "wijkbrug.referral.{municipality}.signal.received":
// a token in braces is a placeholder the producer fills in for each event, the others are
// fixed. A consumer's filter has '*' for each placeholder.
package eventsubject

import (
	"context"
	"fmt"
	"sort"
	"strings"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Unknown is published in place of an empty {municipality} (an event of no municipality),
// as before the subjects were declared on the messages.
const Unknown = "unknown"

// Pattern is the subject pattern of msg's type, e.g.
// "wijkbrug.referral.{municipality}.signal.received"; "" when it declares none.
func Pattern(msg proto.Message) string {
	return option(msg.ProtoReflect().Descriptor(), commonv1.E_Subject)
}

// FeedbackPattern is the pattern of the subject on which msg's type goes to one partner, e.g.
// "wijkbrug.referral.feedback.{source_oin}.signal.fed_back"; "" when it declares none.
func FeedbackPattern(msg proto.Message) string {
	return option(msg.ProtoReflect().Descriptor(), commonv1.E_FeedbackSubject)
}

// PatternOf and FeedbackPatternOf read the patterns from a message descriptor (the catalog
// walks descriptors, not messages).
func PatternOf(md protoreflect.MessageDescriptor) string { return option(md, commonv1.E_Subject) }

// FeedbackPatternOf is FeedbackPattern for a descriptor.
func FeedbackPatternOf(md protoreflect.MessageDescriptor) string {
	return option(md, commonv1.E_FeedbackSubject)
}

func option(md protoreflect.MessageDescriptor, xt protoreflect.ExtensionType) string {
	opts := md.Options()
	if opts == nil {
		return ""
	}
	s, _ := proto.GetExtension(opts, xt).(string)
	return s
}

// Subject is the subject msg is published on, its pattern filled with parts in order (one per
// placeholder). A part must be a single token: not empty (except {municipality}, which
// becomes Unknown) and without '.', '*', '>' or white space.
func Subject(msg proto.Message, parts ...string) (string, error) {
	return fill(msg, Pattern(msg), "subject", parts)
}

// FeedbackSubject is the subject msg is published on for the partner whose OIN parts give.
func FeedbackSubject(msg proto.Message, parts ...string) (string, error) {
	return fill(msg, FeedbackPattern(msg), "feedback_subject", parts)
}

func fill(msg proto.Message, pattern, opt string, parts []string) (string, error) {
	name := msg.ProtoReflect().Descriptor().FullName()
	if pattern == "" {
		return "", fmt.Errorf("eventsubject: %s declares no (wijkbrug.common.v1.%s)", name, opt)
	}
	s, err := Fill(pattern, parts...)
	if err != nil {
		return "", fmt.Errorf("eventsubject: %s: %w", name, err)
	}
	return s, nil
}

// Fill fills pattern's placeholders with parts, in order, validating them as Subject does.
func Fill(pattern string, parts ...string) (string, error) {
	tokens := strings.Split(pattern, ".")
	n := 0
	for i, t := range tokens {
		ph, ok := placeholder(t)
		if !ok {
			continue
		}
		if n >= len(parts) {
			return "", fmt.Errorf("%q has more placeholders than the %d parts given", pattern, len(parts))
		}
		p := parts[n]
		n++
		if p == "" && ph == "municipality" {
			p = Unknown
		}
		if err := checkToken(p); err != nil {
			return "", fmt.Errorf("{%s} of %q: %w", ph, pattern, err)
		}
		tokens[i] = p
	}
	if n != len(parts) {
		return "", fmt.Errorf("%q has %d placeholders, %d parts given", pattern, n, len(parts))
	}
	return strings.Join(tokens, "."), nil
}

func checkToken(p string) error {
	if p == "" {
		return fmt.Errorf("empty")
	}
	if i := strings.IndexAny(p, ".*> \t\r\n\v\f"); i >= 0 {
		return fmt.Errorf("%q contains %q", p, p[i])
	}
	return nil
}

// Placeholders are the names of pattern's placeholders, in order ("municipality" for
// "wijkbrug.referral.{municipality}.signal.received").
func Placeholders(pattern string) []string {
	var out []string
	for _, t := range strings.Split(pattern, ".") {
		if ph, ok := placeholder(t); ok {
			out = append(out, ph)
		}
	}
	return out
}

func placeholder(token string) (string, bool) {
	if len(token) > 2 && token[0] == '{' && token[len(token)-1] == '}' {
		return token[1 : len(token)-1], true
	}
	return "", false
}

// Filter is the consumer filter for every event of msg's type: its subject pattern with '*'
// for each placeholder, e.g. "wijkbrug.referral.*.signal.received". It panics when the type
// declares no subject: consumers are wired at start-up, so that is a programming error.
func Filter(msg proto.Message) string {
	p := Pattern(msg)
	if p == "" {
		panic(fmt.Sprintf("eventsubject: %s declares no (wijkbrug.common.v1.subject)", msg.ProtoReflect().Descriptor().FullName()))
	}
	return wildcards(p)
}

// FeedbackFilter is the filter for msg's feedback subject of every partner, e.g.
// "wijkbrug.referral.feedback.*.signal.fed_back"; it panics like Filter.
func FeedbackFilter(msg proto.Message) string {
	p := FeedbackPattern(msg)
	if p == "" {
		panic(fmt.Sprintf("eventsubject: %s declares no (wijkbrug.common.v1.feedback_subject)", msg.ProtoReflect().Descriptor().FullName()))
	}
	return wildcards(p)
}

// Filters is Filter of each message: the filter subjects of a consumer of those event types.
func Filters(msgs ...proto.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = Filter(m)
	}
	return out
}

func wildcards(pattern string) string {
	tokens := strings.Split(pattern, ".")
	for i, t := range tokens {
		if _, ok := placeholder(t); ok {
			tokens[i] = "*"
		}
	}
	return strings.Join(tokens, ".")
}

// Matches reports whether subject matches filter as NATS matches them: '*' is any one token,
// a final '>' one or more tokens.
func Matches(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, t := range f {
		if t == ">" && i == len(f)-1 {
			return len(s) > i
		}
		if i >= len(s) || (t != "*" && t != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

// Declared are the registered message types that declare a subject or a feedback subject
// (those of the generated packages the program imports), by full name.
func Declared() []protoreflect.MessageDescriptor {
	var out []protoreflect.MessageDescriptor
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Messages().Len(); i++ {
			if md := fd.Messages().Get(i); PatternOf(md) != "" || FeedbackPatternOf(md) != "" {
				out = append(out, md)
			}
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].FullName() < out[j].FullName() })
	return out
}

// Received are the declared event types (Declared) that a consumer filtering on filter
// receives: those with a subject or feedback subject the filter matches for every value of
// its placeholders (a placeholder is matched by a wildcard, not by a literal token).
func Received(filter string) []protoreflect.FullName {
	var out []protoreflect.FullName
	for _, md := range Declared() {
		for _, p := range []string{PatternOf(md), FeedbackPatternOf(md)} {
			if p != "" && Matches(filter, wildcards(p)) {
				out = append(out, md.FullName())
				break
			}
		}
	}
	return out
}

// Outbox is where an event is written with its subject (*outbox.Writer).
type Outbox interface {
	Add(ctx context.Context, subject, aggregateID string, event proto.Message) error
}

// Add writes ev to w on its subject for the given municipality.
func Add(ctx context.Context, w Outbox, municipality, aggregateID string, ev proto.Message) error {
	s, err := Subject(ev, municipality)
	if err != nil {
		return err
	}
	return w.Add(ctx, s, aggregateID, ev)
}

// AddFeedback writes ev to w on its feedback subject for the partner with the given OIN.
func AddFeedback(ctx context.Context, w Outbox, oin, aggregateID string, ev proto.Message) error {
	s, err := FeedbackSubject(ev, oin)
	if err != nil {
		return err
	}
	return w.Add(ctx, s, aggregateID, ev)
}
