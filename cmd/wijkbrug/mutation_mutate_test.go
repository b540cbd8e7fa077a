package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// The mutation engine of TestMutatedRequestsNeverFailInternally: it changes one field of a
// valid request (recursing into messages, lists and maps) to a value chosen from catalogues
// of awkward values, deterministically from its *rand.Rand.

// namedValue is a value with a name for the mutation's description (e.g. a fixture id).
type namedValue struct{ name, value string }

// mutator applies mutations; ids are the fixture's object ids (another object of the
// fixture), tokens real page tokens of the method being mutated (may be empty).
type mutator struct {
	r      *rand.Rand
	ids    []namedValue
	tokens []string
}

// applied is one mutation: where and what.
type applied struct {
	path string // protovalidate's notation: goals[0].target_score, labels["k"]
	what string
}

func (a applied) String() string { return a.path + " := " + a.what }

const mutMaxDepth = 6

// mutate changes one randomly chosen field of m (any depth); false when m has no field.
func (mu *mutator) mutate(m protoreflect.Message) (applied, bool) {
	if mu.r.IntN(20) == 0 {
		if a, ok := mu.fat(m); ok {
			return a, true
		}
	}
	return mu.message(m, "", 0)
}

func (mu *mutator) message(m protoreflect.Message, prefix string, depth int) (applied, bool) {
	fields := m.Descriptor().Fields()
	if fields.Len() == 0 || depth > mutMaxDepth {
		return applied{}, false
	}
	// Half of the time a field the valid request sets (what the handler works with), else any
	// field (also the optional ones the request leaves out).
	var set []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		set = append(set, fd)
		return true
	})
	var fd protoreflect.FieldDescriptor
	if len(set) > 0 && mu.r.IntN(2) == 0 {
		// Range's order is not deterministic: pick by field number.
		slicesSortFields(set)
		fd = set[mu.r.IntN(len(set))]
	} else {
		fd = fields.Get(mu.r.IntN(fields.Len()))
	}
	path := prefix + string(fd.Name())
	switch {
	case fd.IsMap():
		return mu.mapField(m, fd, path, depth), true
	case fd.IsList():
		return mu.list(m, fd, path, depth), true
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		return mu.singularMessage(m, fd, path, depth), true
	default:
		v, what := mu.scalar(fd, m.Get(fd))
		m.Set(fd, v)
		return applied{path, what}, true
	}
}

func slicesSortFields(fds []protoreflect.FieldDescriptor) {
	for i := 1; i < len(fds); i++ {
		for j := i; j > 0 && fds[j].Number() < fds[j-1].Number(); j-- {
			fds[j], fds[j-1] = fds[j-1], fds[j]
		}
	}
}

func (mu *mutator) singularMessage(m protoreflect.Message, fd protoreflect.FieldDescriptor, path string, depth int) applied {
	switch fd.Message().FullName() {
	case "google.protobuf.Timestamp":
		return mu.timestamp(m, fd, path)
	case "google.protobuf.Duration":
		return mu.duration(m, fd, path)
	}
	switch n := mu.r.IntN(10); {
	case n < 2:
		m.Clear(fd)
		return applied{path, "unset"}
	case n < 3 || depth >= mutMaxDepth:
		m.Set(fd, protoreflect.ValueOfMessage(m.NewField(fd).Message()))
		return applied{path, "empty message"}
	default:
		had := m.Has(fd)
		if a, ok := mu.message(m.Mutable(fd).Message(), path+".", depth+1); ok {
			if !had {
				a.what += " (in a message the valid request left unset)"
			}
			return a
		}
		m.Set(fd, protoreflect.ValueOfMessage(m.NewField(fd).Message()))
		return applied{path, "empty message"}
	}
}

// Timestamp and Duration limits (google/protobuf/timestamp.proto).
const (
	tsYear1    = -62135596800
	tsYear9999 = 253402300799
)

func (mu *mutator) timestamp(m protoreflect.Message, fd protoreflect.FieldDescriptor, path string) applied {
	type ts struct {
		what         string
		secs         int64
		nanos        int32
		unset, empty bool
	}
	cat := []ts{
		{what: "unset", unset: true},
		{what: "empty (1970-01-01T00:00:00Z)", empty: true},
		{"year 1 (0001-01-01T00:00:00Z)", tsYear1, 0, false, false},
		{"year 9999 (9999-12-31T23:59:59Z)", tsYear9999, 0, false, false},
		{"one second before year 1 (invalid)", tsYear1 - 1, 0, false, false},
		{"one second after 9999-12-31T23:59:59 (invalid)", tsYear9999 + 1, 0, false, false},
		{"negative nanos (invalid)", 1767225600, -1, false, false},
		{"nanos = 1e9 (invalid)", 1767225600, 1_000_000_000, false, false},
		{"huge seconds (max int64, invalid)", math.MaxInt64, 0, false, false},
		{"min int64 seconds (invalid)", math.MinInt64, 0, false, false},
		{"1900-01-01 (before the schema's lower bound)", -2208988800, 0, false, false},
		{"2200-01-01 (after the schema's upper bound)", 7258118400, 0, false, false},
	}
	c := cat[mu.r.IntN(len(cat))]
	switch {
	case c.unset:
		m.Clear(fd)
	case c.empty:
		m.Set(fd, protoreflect.ValueOfMessage(m.NewField(fd).Message()))
	default:
		t := m.NewField(fd).Message()
		t.Set(t.Descriptor().Fields().ByName("seconds"), protoreflect.ValueOfInt64(c.secs))
		t.Set(t.Descriptor().Fields().ByName("nanos"), protoreflect.ValueOfInt32(c.nanos))
		m.Set(fd, protoreflect.ValueOfMessage(t))
	}
	return applied{path, "timestamp: " + c.what}
}

func (mu *mutator) duration(m protoreflect.Message, fd protoreflect.FieldDescriptor, path string) applied {
	cat := []struct {
		what  string
		secs  int64
		nanos int32
	}{{"zero", 0, 0}, {"-1s", -1, 0}, {"max int64 seconds (invalid)", math.MaxInt64, 0}, {"mixed signs (invalid)", 1, -1}, {"10000 years", 315576000000, 0}}
	c := cat[mu.r.IntN(len(cat))]
	d := m.NewField(fd).Message()
	d.Set(d.Descriptor().Fields().ByName("seconds"), protoreflect.ValueOfInt64(c.secs))
	d.Set(d.Descriptor().Fields().ByName("nanos"), protoreflect.ValueOfInt32(c.nanos))
	m.Set(fd, protoreflect.ValueOfMessage(d))
	return applied{path, "duration: " + c.what}
}

// element returns a value to put into fd's list: a copy of an existing element, or a new one.
func (mu *mutator) element(l protoreflect.List, fd protoreflect.FieldDescriptor) (protoreflect.Value, string) {
	if l.Len() > 0 {
		i := mu.r.IntN(l.Len())
		return copyValue(fd, l.Get(i)), fmt.Sprintf("element [%d]", i)
	}
	if fd.Kind() == protoreflect.MessageKind {
		return l.NewElement(), "an empty element"
	}
	v, what := mu.scalar(fd, fd.Default())
	return v, "a new element " + what
}

func copyValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) protoreflect.Value {
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		return protoreflect.ValueOfMessage(proto.Clone(v.Message().Interface()).ProtoReflect())
	}
	return v
}

func (mu *mutator) list(m protoreflect.Message, fd protoreflect.FieldDescriptor, path string, depth int) applied {
	l := m.Mutable(fd).List()
	orig := l.Len()
	choice := mu.r.IntN(7)
	if fd.Kind() != protoreflect.StringKind && choice == 4 {
		choice = 3
	}
	if choice == 6 {
		if maxItems, ok := ruleNum(ruleSub(fieldRules(fd), "repeated"), "max_items"); ok && maxItems <= 10000 {
			e, what := mu.element(l, fd)
			for l.Len() < int(maxItems) {
				l.Append(copyValue(fd, e))
			}
			return applied{path, fmt.Sprintf("filled to max_items (%d) with %s (had %d)", maxItems, what, orig)}
		}
		choice = 3
	}
	switch choice {
	case 0:
		m.Clear(fd)
		return applied{path, fmt.Sprintf("empty list (had %d)", orig)}
	case 1:
		e, what := mu.element(l, fd)
		l.Append(e)
		n := 1
		for ; n < 50; n++ {
			l.Append(copyValue(fd, e))
		}
		return applied{path, fmt.Sprintf("%s appended 50 times (had %d, now %d)", what, orig, l.Len())}
	case 2:
		var gen []protoreflect.Value
		what := "copies of the existing elements"
		for i := 0; i < l.Len(); i++ {
			gen = append(gen, l.Get(i))
		}
		if len(gen) == 0 {
			e, w := mu.element(l, fd)
			gen, what = []protoreflect.Value{e}, "copies of "+w
		}
		for i := 0; l.Len() < 1000; i++ {
			l.Append(copyValue(fd, gen[i%len(gen)]))
		}
		return applied{path, fmt.Sprintf("1000 elements (%s; had %d)", what, orig)}
	case 4: // strings: 1000 distinct values (unknown ids)
		for l.Len() < 1000 {
			l.Append(protoreflect.ValueOfString(mu.uuid()))
		}
		return applied{path, fmt.Sprintf("1000 elements (%d distinct random UUIDs added; had %d)", 1000-orig, orig)}
	default: // mutate one element (a new one when the list is empty)
		added := ""
		if l.Len() == 0 {
			e, what := mu.element(l, fd)
			l.Append(e)
			added = " (appended " + what + " to the empty list first)"
		}
		i := mu.r.IntN(l.Len())
		p := fmt.Sprintf("%s[%d]", path, i)
		if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
			if a, ok := mu.message(l.Get(i).Message(), p+".", depth+1); ok {
				a.what += added
				return a
			}
			return applied{p, "empty element" + added}
		}
		v, what := mu.scalar(fd, l.Get(i))
		l.Set(i, v)
		return applied{p, what + added}
	}
}

func (mu *mutator) mapField(m protoreflect.Message, fd protoreflect.FieldDescriptor, path string, depth int) applied {
	mp := m.Mutable(fd).Map()
	keyFD, valFD := fd.MapKey(), fd.MapValue()
	newVal := func() protoreflect.Value {
		if valFD.Kind() == protoreflect.MessageKind {
			return mp.NewValue()
		}
		v, _ := mu.scalar(valFD, valFD.Default())
		return v
	}
	key := func(i int) protoreflect.MapKey {
		switch keyFD.Kind() {
		case protoreflect.StringKind:
			return protoreflect.ValueOfString("k" + strconv.Itoa(i)).MapKey()
		case protoreflect.BoolKind:
			return protoreflect.ValueOfBool(i%2 == 1).MapKey()
		case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
			return protoreflect.ValueOfInt64(int64(i)).MapKey()
		case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
			return protoreflect.ValueOfUint64(uint64(i)).MapKey()
		case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
			return protoreflect.ValueOfUint32(uint32(i)).MapKey()
		default:
			return protoreflect.ValueOfInt32(int32(i)).MapKey()
		}
	}
	switch mu.r.IntN(4) {
	case 0:
		m.Clear(fd)
		return applied{path, "empty map"}
	case 1:
		for i := 0; i < 1000; i++ {
			mp.Set(key(i), newVal())
		}
		return applied{path, "1000 entries"}
	case 2:
		if keyFD.Kind() == protoreflect.StringKind {
			k, what := mu.str(keyFD, "")
			mp.Set(protoreflect.ValueOfString(k).MapKey(), newVal())
			return applied{path, "an entry with key " + what}
		}
		v, what := mu.scalar(keyFD, keyFD.Default())
		mp.Set(v.MapKey(), newVal())
		return applied{path, "an entry with key " + what}
	default:
		var keys []protoreflect.MapKey
		mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool { keys = append(keys, k); return true })
		added := ""
		if len(keys) == 0 {
			mp.Set(key(0), newVal())
			keys = append(keys, key(0))
			added = " (in an entry added to the empty map first)"
		}
		slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { // deterministic order
			return strings.Compare(fmt.Sprint(a.Interface()), fmt.Sprint(b.Interface()))
		})
		k := keys[mu.r.IntN(len(keys))]
		p := fmt.Sprintf("%s[%q]", path, fmt.Sprint(k.Interface()))
		if valFD.Kind() == protoreflect.MessageKind {
			if a, ok := mu.message(mp.Mutable(k).Message(), p+".", depth+1); ok {
				a.what += added
				return a
			}
			return applied{p, "empty value" + added}
		}
		v, what := mu.scalar(valFD, mp.Get(k))
		mp.Set(k, v)
		return applied{p, what + added}
	}
}

// scalar returns an awkward value for a scalar field (or list element) of fd's kind.
func (mu *mutator) scalar(fd protoreflect.FieldDescriptor, old protoreflect.Value) (protoreflect.Value, string) {
	if mu.r.IntN(3) == 0 {
		if v, what, ok := mu.edge(fd); ok {
			return v, what
		}
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(!old.Bool()), fmt.Sprintf("bool flipped to %v", !old.Bool())
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		maxN := protoreflect.EnumNumber(0)
		for i := 0; i < vals.Len(); i++ {
			maxN = max(maxN, vals.Get(i).Number())
		}
		cat := []struct {
			n    protoreflect.EnumNumber
			what string
		}{{0, "0 (UNSPECIFIED)"}, {999, "999 (unknown)"}, {-1, "-1 (unknown)"}, {maxN + 1, fmt.Sprintf("%d (one past the last)", maxN+1)}, {math.MaxInt32, "max int32 (unknown)"}}
		if vals.Len() > 1 {
			v := vals.Get(1 + mu.r.IntN(vals.Len()-1))
			cat = append(cat, struct {
				n    protoreflect.EnumNumber
				what string
			}{v.Number(), "another defined value " + string(v.Name())})
		}
		c := cat[mu.r.IntN(len(cat))]
		return protoreflect.ValueOfEnum(c.n), "enum " + string(fd.Enum().Name()) + " = " + c.what
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		cat := []int32{0, -1, 1, math.MaxInt32, math.MinInt32, 501, 1001, 100000, int32(old.Int()) + 1, int32(old.Int()) - 1}
		v := cat[mu.r.IntN(len(cat))]
		return protoreflect.ValueOfInt32(v), fmt.Sprintf("int32 %d", v)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		cat := []int64{0, -1, 1, math.MaxInt64, math.MinInt64, math.MaxInt32 + 1, 1_000_000_000_000, old.Int() + 1, old.Int() - 1}
		v := cat[mu.r.IntN(len(cat))]
		return protoreflect.ValueOfInt64(v), fmt.Sprintf("int64 %d", v)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		cat := []uint32{0, 1, math.MaxUint32, math.MaxInt32 + 1}
		v := cat[mu.r.IntN(len(cat))]
		return protoreflect.ValueOfUint32(v), fmt.Sprintf("uint32 %d", v)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		cat := []uint64{0, 1, math.MaxUint64, 1 << 63, math.MaxInt64}
		v := cat[mu.r.IntN(len(cat))]
		return protoreflect.ValueOfUint64(v), fmt.Sprintf("uint64 %d", v)
	case protoreflect.FloatKind:
		cat := []float32{0, -1, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, math.SmallestNonzeroFloat32}
		v := cat[mu.r.IntN(len(cat))]
		return protoreflect.ValueOfFloat32(v), fmt.Sprintf("float %v", v)
	case protoreflect.DoubleKind:
		cat := []float64{0, -1, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64, -0.0}
		v := cat[mu.r.IntN(len(cat))]
		return protoreflect.ValueOfFloat64(v), fmt.Sprintf("double %v", v)
	case protoreflect.BytesKind:
		cat := []struct {
			b    []byte
			what string
		}{{nil, "empty"}, {[]byte(strings.Repeat("\xff", 100000)), "100000 bytes 0xff"}, {[]byte{0xff, 0xfe, 0, 0x80}, "invalid UTF-8 bytes"}}
		c := cat[mu.r.IntN(len(cat))]
		return protoreflect.ValueOfBytes(c.b), "bytes " + c.what
	case protoreflect.StringKind:
		s, what := mu.str(fd, old.String())
		return protoreflect.ValueOfString(s), what
	}
	return old, "unchanged (unsupported kind " + fd.Kind().String() + ")"
}

// uuid is a random (version 4 shaped) UUID that names no object.
func (mu *mutator) uuid() string {
	return fmt.Sprintf("%08x-%04x-4%03x-%x%03x-%012x", mu.r.Uint32(), mu.r.Uint32()&0xffff, mu.r.Uint32()&0xfff,
		8+mu.r.IntN(4), mu.r.Uint32()&0xfff, mu.r.Uint64()&0xffffffffffff)
}

type strCase struct{ s, what string }

func q(s string) strCase { return strCase{s, strconv.QuoteToASCII(s)} }

var (
	mutDates   = []string{"2026-02-30", "0001-01-01", "9999-12-31", " 2026-01-01", "2026-01-01 ", "2026-1-1", "2026-13-01", "20260101", "2026-02-29", "2028-02-29", "1900-01-01", "2026-01-01T00:00:00Z", "-2026-01-01", "+2026-01-01", "0000-01-01", "2026-00-10", "10000-01-01"}
	mutPeriods = []string{"2026-Q0", "2026-Q5", "0000-Q1", "0001-Q1", "9999-Q4", "2026-Q1 ", "2026Q1", "2026-q1", "2026-Q01", "-2026-Q1", "2026-Q4-Q1"}
	mutTexts   = []strCase{
		q(""), {strings.Repeat("a", 100000), `100000×"a"`}, {strings.Repeat("é", 50000), `50000×"é" (100000 bytes)`},
		{strings.Repeat("😀", 25000), `25000×"😀" (100000 bytes)`},
		q("\u200f\u202eRTL override\u202c"), q("😀👨‍👩‍👧‍👦🏳️‍🌈"), q("e\u0301\u0302\u0303\u0304\u0305"), q("\u0000"), q("a\u0000b"),
		q("\ufeffBOM"), q("\t\n\r"), q("\u2028\u2029"), q(" "), q("'; DROP TABLE x; --"), q("%"), q("_"), q(`\`), q(`a & b | !c:* <-> (d`),
		q("<script>alert(1)</script>"), q("../../etc/passwd"), q("${jndi:ldap://x/a}"), q("-1"), q("99999999999999999999"), q("NaN"),
		q("\uffff\ufffe"), q("\U0010FFFF"), q("\u00ad\u200b\u200c\u200d\u2060"),
	}
)

func fieldClass(name string) string {
	switch {
	case strings.Contains(name, "token"):
		return "token"
	case strings.Contains(name, "period"):
		return "period"
	case strings.Contains(name, "date") || strings.HasSuffix(name, "_on") || name == "valid_from" || name == "valid_until":
		return "date"
	case strings.HasSuffix(name, "_id") || strings.HasSuffix(name, "_ids") || name == "id" || strings.HasSuffix(name, "allocation_number"):
		return "id"
	case strings.Contains(name, "municipality"):
		return "municipality"
	case strings.Contains(name, "district"):
		return "district"
	case strings.Contains(name, "agb"):
		return "agb"
	case strings.Contains(name, "oin"):
		return "oin"
	case strings.Contains(name, "bsn"):
		return "bsn"
	}
	return ""
}

// str returns an awkward string for field fd whose valid value is old: half of the time one
// of the catalogue of its kind of field (ids, dates, periods, page tokens, codes), else the
// general catalogue (empty, 100k characters, unusual Unicode, NUL, padding of the valid
// value, a UUID of nothing or of another fixture object, impossible dates, injection text).
func (mu *mutator) str(fd protoreflect.FieldDescriptor, old string) (string, string) {
	if t := strings.TrimSpace(old); (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && mu.r.IntN(10) < 7 {
		if s, what, ok := mu.jsonMutate(old); ok {
			return s, "string: " + what
		}
	}
	class := fieldClass(string(fd.Name()))
	var special []strCase
	switch class {
	case "id":
		special = append(special, q("00000000-0000-0000-0000-000000000000"), q("ffffffff-ffff-ffff-ffff-ffffffffffff"), q("not-a-uuid"))
		if old != "" {
			_, last := utf8.DecodeLastRuneInString(old)
			special = append(special, strCase{strings.ToUpper(old), "the valid value in upper case"},
				strCase{old + " ", "the valid value + space"}, strCase{old[:len(old)-last], "the valid value less its last character"},
				strCase{"{" + old + "}", "the valid value in braces"}, strCase{"urn:uuid:" + old, "urn:uuid: + the valid value"},
				strCase{strings.ReplaceAll(old, "-", ""), "the valid value without dashes"})
		}
	case "date":
		for _, d := range mutDates {
			special = append(special, q(d))
		}
	case "period":
		for _, p := range mutPeriods {
			special = append(special, q(p))
		}
	case "token":
		special = append(special, q("AAAA"), q("eyJ9"), q("!!!"), q("%%%"), strCase{strings.Repeat("A", 10000), `10000×"A"`},
			strCase{base64.RawURLEncoding.EncodeToString([]byte(`{"offset":-1,"after":"x"}`)), "base64url of a forged JSON cursor"},
			strCase{base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0x01, 0x80}), "base64 of binary garbage"})
		for i, tok := range mu.tokens {
			special = append(special, strCase{tok, fmt.Sprintf("real page token #%d", i)})
			if len(tok) > 1 {
				flipped := []byte(tok)
				j := mu.r.IntN(len(flipped))
				if flipped[j] == 'A' {
					flipped[j] = 'B'
				} else {
					flipped[j] = 'A'
				}
				special = append(special, strCase{string(flipped), fmt.Sprintf("real page token #%d with byte %d changed", i, j)},
					strCase{tok[:len(tok)-1], fmt.Sprintf("real page token #%d less its last byte", i)},
					strCase{tok + "A", fmt.Sprintf("real page token #%d + \"A\"", i)})
			}
		}
	case "municipality":
		special = append(special, q("GM0000"), q("GM9999"), q("gm0363"), q("GM036"), q("GM03633"))
	case "district":
		special = append(special, q("WK00000000"), q("WK036399"), q("wk036300"), q("WK0363000"))
	case "agb":
		special = append(special, q("00000000"), q("99999999"), q("1234567"), q("123456789"))
	case "oin":
		special = append(special, q("00000000000000000000"), q("99999999999999999999"), q("0000000100000000010"), q("000000010000000001000"))
	case "bsn":
		special = append(special, q("000000000"), strCase{validBSN(mu.r.IntN(90000000) + 10000000), "a valid unknown BSN"}, q("123456789"), q("12345678"))
	}
	// A field whose valid value is a UUID: then a value that is not one can never be valid.
	marker := ""
	if uuidShape.MatchString(old) {
		marker = " " + uuidFieldMarker
	}
	if len(special) > 0 && mu.r.IntN(2) == 0 {
		c := special[mu.r.IntN(len(special))]
		return c.s, "string " + c.what + marker
	}
	general := append([]strCase(nil), mutTexts...)
	general = append(general, q("00000000-0000-0000-0000-000000000000"), strCase{mu.uuid(), "a random UUID of nothing"})
	for _, d := range mutDates[:4] {
		general = append(general, q(d))
	}
	if len(mu.ids) > 0 {
		id := mu.ids[mu.r.IntN(len(mu.ids))]
		general = append(general, strCase{id.value, "the id of another fixture object (" + id.name + ")"})
	}
	if old != "" {
		general = append(general, strCase{" " + old, "space + the valid value"}, strCase{old + "\u00a0", "the valid value + NBSP"},
			strCase{"\ufeff" + old, "BOM + the valid value"}, strCase{strings.ToUpper(old), "the valid value in upper case"})
	}
	c := general[mu.r.IntN(len(general))]
	return c.s, "string " + c.what + marker
}

const uuidFieldMarker = "[in a UUID field]"

var uuidShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// fixtureIDs are the ids of the fixture's objects (every short string field of f).
func fixtureIDs(f *bolaFixture) []namedValue {
	var out []namedValue
	v := reflect.ValueOf(f).Elem()
	for i := 0; i < v.NumField(); i++ {
		fv := v.Field(i)
		if fv.Kind() != reflect.String || fv.Len() == 0 || fv.Len() > 64 {
			continue
		}
		name := v.Type().Field(i).Name
		if strings.HasPrefix(name, "bsn") || name == "today" || name == "later" || name == "vtOIN" {
			continue
		}
		out = append(out, namedValue{name, fv.String()})
	}
	return out
}

// renderRequest is m as JSON (protojson, proto field names) with long strings and long lists
// abbreviated, for the report; prototext when protojson refuses (invalid timestamps).
func renderRequest(m proto.Message) string {
	c := proto.Clone(m)
	notes := abbreviate(c.ProtoReflect(), "")
	raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(c)
	out := string(raw)
	if err != nil {
		out = "prototext{" + prototext.MarshalOptions{}.Format(c) + "} (protojson: " + err.Error() + ")"
	}
	out = compactJSON.ReplaceAllString(out, "$1")
	if len(notes) > 0 {
		out += "   [abbreviated: " + strings.Join(notes, "; ") + "]"
	}
	return out
}

var compactJSON = regexp.MustCompile(`\s*([{}\[\]:,])\s*`)

func abbreviate(m protoreflect.Message, prefix string) []string {
	var notes []string
	var fds []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool { fds = append(fds, fd); return true })
	slicesSortFields(fds)
	for _, fd := range fds {
		path := prefix + string(fd.Name())
		v := m.Get(fd)
		switch {
		case fd.IsMap():
			if n := v.Map().Len(); n > 6 {
				notes = append(notes, fmt.Sprintf("%s: %d entries", path, n))
				var keys []protoreflect.MapKey
				v.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool { keys = append(keys, k); return true })
				for _, k := range keys[3:] {
					v.Map().Clear(k)
				}
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			if n := l.Len(); n > 6 {
				notes = append(notes, fmt.Sprintf("%s: %d elements, the first 3 shown", path, n))
				l.Truncate(3)
			}
			for i := 0; i < l.Len(); i++ {
				p := fmt.Sprintf("%s[%d]", path, i)
				switch fd.Kind() {
				case protoreflect.MessageKind:
					notes = append(notes, abbreviate(l.Get(i).Message(), p+".")...)
				case protoreflect.StringKind:
					if s, note := shorten(l.Get(i).String()); note != "" {
						l.Set(i, protoreflect.ValueOfString(s))
						notes = append(notes, p+": "+note)
					}
				}
			}
		case fd.Kind() == protoreflect.MessageKind:
			notes = append(notes, abbreviate(v.Message(), path+".")...)
		case fd.Kind() == protoreflect.StringKind:
			if s, note := shorten(v.String()); note != "" {
				m.Set(fd, protoreflect.ValueOfString(s))
				notes = append(notes, path+": "+note)
			}
		case fd.Kind() == protoreflect.BytesKind:
			if b := v.Bytes(); len(b) > 64 {
				m.Set(fd, protoreflect.ValueOfBytes(b[:8]))
				notes = append(notes, fmt.Sprintf("%s: %d bytes", path, len(b)))
			}
		}
	}
	return notes
}

func shorten(s string) (string, string) {
	if len(s) <= 200 {
		return s, ""
	}
	cut := 16
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…", fmt.Sprintf("%d bytes, %d runes, starting %q", len(s), utf8.RuneCountInString(s), s[:cut])
}

// ---- values at the edges of the protos' field rules (buf.validate), read from the
// descriptors' options without importing the rules' Go package.

var fieldRulesExt protoreflect.ExtensionType

func init() {
	if xt, err := protoregistry.GlobalTypes.FindExtensionByName("buf.validate.field"); err == nil {
		fieldRulesExt = xt
	}
}

// fieldRules is fd's buf.validate.FieldRules, nil when it has none.
func fieldRules(fd protoreflect.FieldDescriptor) protoreflect.Message {
	if fieldRulesExt == nil || fd.Options() == nil || !proto.HasExtension(fd.Options(), fieldRulesExt) {
		return nil
	}
	m, ok := proto.GetExtension(fd.Options(), fieldRulesExt).(proto.Message)
	if !ok {
		return nil
	}
	return m.ProtoReflect()
}

// ruleSub is the set sub-message name of rules (e.g. "int32", "string", "repeated").
func ruleSub(rules protoreflect.Message, name string) protoreflect.Message {
	if rules == nil {
		return nil
	}
	fd := rules.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil || !rules.Has(fd) {
		return nil
	}
	return rules.Get(fd).Message()
}

// ruleNum is a number of rules (e.g. "lte", "max_len"), with whether it is set.
func ruleNum(rules protoreflect.Message, name string) (int64, bool) {
	if rules == nil {
		return 0, false
	}
	fd := rules.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil || !rules.Has(fd) || fd.IsList() {
		return 0, false
	}
	switch v := rules.Get(fd).Interface().(type) {
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint32:
		return int64(v), true
	case uint64:
		if v > math.MaxInt64 {
			return math.MaxInt64, true
		}
		return int64(v), true
	}
	return 0, false
}

// scalarRules are the rules of fd's values: the field's, or its items' for a list.
func scalarRules(fd protoreflect.FieldDescriptor) protoreflect.Message {
	r := fieldRules(fd)
	if fd.IsList() {
		return ruleSub(ruleSub(r, "repeated"), "items")
	}
	return r
}

// numericEdges are the values at and just beyond the bounds of a numeric rule.
func numericEdges(rules protoreflect.Message, kind string) []int64 {
	nr := ruleSub(rules, kind)
	var out []int64
	if v, ok := ruleNum(nr, "lte"); ok {
		out = append(out, v, v+1)
	}
	if v, ok := ruleNum(nr, "lt"); ok {
		out = append(out, v-1, v)
	}
	if v, ok := ruleNum(nr, "gte"); ok {
		out = append(out, v, v-1)
	}
	if v, ok := ruleNum(nr, "gt"); ok {
		out = append(out, v+1, v)
	}
	return out
}

// stringEdges are strings at and just beyond a string rule's length limits, in characters
// that take more than one byte (PostgreSQL's varchar(n) counts characters, Go's len bytes).
func stringEdges(rules protoreflect.Message) []strCase {
	sr := ruleSub(rules, "string")
	var out []strCase
	if n, ok := ruleNum(sr, "max_len"); ok && n <= 1_000_000 {
		out = append(out, strCase{strings.Repeat("é", int(n)), fmt.Sprintf("max_len (%d) × \"é\"", n)},
			strCase{strings.Repeat("😀", int(n)), fmt.Sprintf("max_len (%d) × \"😀\"", n)},
			strCase{strings.Repeat("a", int(n)+1), fmt.Sprintf("max_len+1 (%d) × \"a\"", n+1)})
	}
	if n, ok := ruleNum(sr, "max_bytes"); ok && n <= 1_000_000 {
		out = append(out, strCase{strings.Repeat("a", int(n)), fmt.Sprintf("max_bytes (%d) × \"a\"", n)},
			strCase{strings.Repeat("😀", int(n)/4), fmt.Sprintf("max_bytes/4 (%d) × \"😀\"", n/4)},
			strCase{strings.Repeat("a", int(n)+1), fmt.Sprintf("max_bytes+1 (%d) × \"a\"", n+1)})
	}
	if n, ok := ruleNum(sr, "min_len"); ok && n > 0 {
		out = append(out, strCase{strings.Repeat("a", int(n)-1), fmt.Sprintf("min_len-1 (%d) × \"a\"", n-1)},
			strCase{strings.Repeat(" ", int(n)), fmt.Sprintf("min_len (%d) spaces", n)})
	}
	return out
}

// limitedString: fd's values have a length, pattern or format rule.
func limitedString(fd protoreflect.FieldDescriptor) bool {
	sr := ruleSub(scalarRules(fd), "string")
	if sr == nil {
		return false
	}
	limited := false
	sr.Range(func(protoreflect.FieldDescriptor, protoreflect.Value) bool { limited = true; return false })
	return limited
}

// edge returns a value at an edge of fd's rule, or false when fd has no such rule.
func (mu *mutator) edge(fd protoreflect.FieldDescriptor) (protoreflect.Value, string, bool) {
	rules := scalarRules(fd)
	if rules == nil {
		return protoreflect.Value{}, "", false
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if e := numericEdges(rules, strings.ToLower(fd.Kind().String())); len(e) > 0 {
			v := e[mu.r.IntN(len(e))]
			if v >= math.MinInt32 && v <= math.MaxInt32 {
				return protoreflect.ValueOfInt32(int32(v)), fmt.Sprintf("int32 %d (at the edge of the field's rule)", v), true
			}
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if e := numericEdges(rules, strings.ToLower(fd.Kind().String())); len(e) > 0 {
			v := e[mu.r.IntN(len(e))]
			return protoreflect.ValueOfInt64(v), fmt.Sprintf("int64 %d (at the edge of the field's rule)", v), true
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if e := numericEdges(rules, strings.ToLower(fd.Kind().String())); len(e) > 0 {
			v := e[mu.r.IntN(len(e))]
			if v >= 0 && v <= math.MaxUint32 {
				return protoreflect.ValueOfUint32(uint32(v)), fmt.Sprintf("uint32 %d (at the edge of the field's rule)", v), true
			}
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if e := numericEdges(rules, strings.ToLower(fd.Kind().String())); len(e) > 0 {
			v := e[mu.r.IntN(len(e))]
			if v >= 0 {
				return protoreflect.ValueOfUint64(uint64(v)), fmt.Sprintf("uint64 %d (at the edge of the field's rule)", v), true
			}
		}
	case protoreflect.StringKind:
		if e := stringEdges(rules); len(e) > 0 {
			c := e[mu.r.IntN(len(e))]
			return protoreflect.ValueOfString(c.s), "string " + c.what + " (at the edge of the field's rule)", true
		}
	}
	return protoreflect.Value{}, "", false
}

// fat fills the request: lists of messages to their max_items (at most 50) with copies, then
// every string without a length, pattern or format rule (free text) in every message present
// with the same long text, the total kept under the servers' 4 MiB message limit. Big but
// valid input: it reaches the database and the events.
func (mu *mutator) fat(m protoreflect.Message) (applied, bool) {
	padded := 0
	var pad func(m protoreflect.Message, depth int)
	pad = func(m protoreflect.Message, depth int) {
		if depth > mutMaxDepth {
			return
		}
		fields := m.Descriptor().Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			if fd.IsMap() || fd.Kind() != protoreflect.MessageKind || !m.Has(fd) {
				continue
			}
			if !fd.IsList() {
				pad(m.Mutable(fd).Message(), depth+1)
				continue
			}
			l := m.Mutable(fd).List()
			maxItems, ok := ruleNum(ruleSub(fieldRules(fd), "repeated"), "max_items")
			if !ok || maxItems > 50 {
				maxItems = 50
			}
			for n := l.Len(); l.Len() < int(maxItems); {
				l.Append(copyValue(fd, l.Get(l.Len()%n)))
				padded++
			}
			for k := 0; k < l.Len(); k++ {
				pad(l.Get(k).Message(), depth+1)
			}
		}
	}
	pad(m, 0)
	type slot struct {
		m  protoreflect.Message
		fd protoreflect.FieldDescriptor
	}
	var slots []slot
	var names []string
	var collect func(m protoreflect.Message, depth int)
	collect = func(m protoreflect.Message, depth int) {
		if depth > mutMaxDepth {
			return
		}
		fields := m.Descriptor().Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			switch {
			case fd.IsMap():
			case fd.Kind() == protoreflect.MessageKind:
				if !m.Has(fd) {
					continue
				}
				if fd.IsList() {
					l := m.Get(fd).List()
					for k := 0; k < l.Len(); k++ {
						collect(l.Get(k).Message(), depth+1)
					}
				} else {
					collect(m.Mutable(fd).Message(), depth+1)
				}
			case fd.Kind() == protoreflect.StringKind && !fd.IsList() && fd.ContainingOneof() == nil:
				name := string(fd.Name())
				if limitedString(fd) || fieldClass(name) != "" || strings.HasSuffix(name, "_json") || strings.Contains(name, "key") || strings.Contains(name, "url") {
					continue
				}
				slots = append(slots, slot{m, fd})
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
	}
	collect(m, 0)
	if len(slots) == 0 {
		if padded > 0 { // the padding is the mutation: it has been made
			return applied{"(request)", fmt.Sprintf("fat: %d copies added to lists of messages (no free-text string to fill)", padded)}, true
		}
		return applied{}, false
	}
	size := min(100_000, 3_500_000/len(slots)-64)
	const unit = "Lorem ipsum é😀 "
	text := strings.Repeat(unit, size/len(unit)+1)[:size]
	for !utf8.ValidString(text) {
		text = text[:len(text)-1]
	}
	for _, s := range slots {
		s.m.Set(s.fd, protoreflect.ValueOfString(text))
	}
	return applied{"(request)", fmt.Sprintf("fat: %d copies added to lists of messages, then %d free-text strings (%s) set to %d bytes each",
		padded, len(slots), strings.Join(names, ", "), len(text))}, true
}

// ---- JSON carried in a string field (ImportDirectory's hsds_json): the mutation changes one
// node of the document, so that the service's own parser and checks are probed, not only
// "not JSON".

type jsonSpot struct {
	path string
	get  func() any
	set  func(any)
	del  func() // nil when the node cannot be removed (the root)
}

func jsonSpots(v any, path string, set func(any), del func(), out *[]jsonSpot, depth int) {
	cur := v
	*out = append(*out, jsonSpot{path: path, get: func() any { return cur }, set: set, del: del})
	if depth > 12 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			jsonSpots(x[k], path+"."+k, func(n any) { x[k] = n }, func() { delete(x, k) }, out, depth+1)
		}
	case []any:
		for i := range x {
			jsonSpots(x[i], fmt.Sprintf("%s[%d]", path, i), func(n any) { x[i] = n }, nil, out, depth+1)
		}
	}
}

// jsonMutate changes one node of the JSON document old; false when old is not JSON.
func (mu *mutator) jsonMutate(old string) (string, string, bool) {
	dec := json.NewDecoder(strings.NewReader(old))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return "", "", false
	}
	var spots []jsonSpot
	jsonSpots(root, "$", func(n any) { root = n }, nil, &spots, 0)
	sp := spots[mu.r.IntN(len(spots))]
	cur := sp.get()
	type op struct {
		what string
		do   func()
	}
	val := func(what string, v any) op { return op{what, func() { sp.set(v) }} }
	ops := []op{
		val("null", nil), val(`""`, ""), val(`100000×"a"`, strings.Repeat("a", 100000)), val("-1", json.Number("-1")), val("0", json.Number("0")),
		val("2147483648", json.Number("2147483648")), val("9223372036854775808", json.Number("9223372036854775808")), val("1e309", json.Number("1e309")),
		val("1.5", json.Number("1.5")), val("true", true), val("{}", map[string]any{}), val("[]", []any{}), val(`"a\u0000b"`, "a\u0000b"),
		val(`"\u202eRTL😀"`, "\u202eRTL😀"), val(`"2026-02-30"`, "2026-02-30"), val(`"9999-12-31"`, "9999-12-31"), val(`"0001-01-01"`, "0001-01-01"),
		val(`"00000000-0000-0000-0000-000000000000"`, "00000000-0000-0000-0000-000000000000"), val("a random UUID", mu.uuid()),
	}
	if sp.del != nil {
		ops = append(ops, op{"removed", sp.del})
	}
	switch x := cur.(type) {
	case map[string]any:
		ops = append(ops, op{`a key "__proto__" added`, func() { x["__proto__"] = map[string]any{"x": 1} }},
			op{"an unknown key added", func() { x["x_unknown_😀"] = "?" }})
	case []any:
		if len(x) > 0 {
			e := x[mu.r.IntN(len(x))]
			ops = append(ops, op{"an element appended 50 times", func() {
				n := append([]any(nil), x...)
				for i := 0; i < 50; i++ {
					n = append(n, e)
				}
				sp.set(n)
			}}, op{"1000 elements (copies)", func() {
				n := make([]any, 0, 1000)
				for len(n) < 1000 {
					n = append(n, x[len(n)%len(x)])
				}
				sp.set(n)
			}})
		}
	case string:
		ops = append(ops, val("the string as a number", json.Number("12")), val(`" "+value`, " "+x), val("value in upper case", strings.ToUpper(x)))
	case json.Number:
		ops = append(ops, val("the number as a string", x.String()), val("value+1", json.Number(x.String()+"1")))
	}
	o := ops[mu.r.IntN(len(ops))]
	o.do()
	raw, err := json.Marshal(root)
	if err != nil {
		return "", "", false
	}
	return string(raw), fmt.Sprintf("JSON %s := %s", sp.path, o.what), true
}
