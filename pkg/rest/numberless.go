package rest

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/httpbody"
)

// numberlessMarshaler writes answers as its Marshaler does, except that a JSON object whose
// "suppressed" is true carries no "count" and no "value": a suppressed figure (an outcome
// cell, docs/services/outcomes.md) has no number, and the edge writes zero values of the
// other fields (EmitDefaultValues), which would show it as "count":"0". Proto3 `optional` on
// those fields would say the same in the schema, but changes their presence, which buf
// breaking refuses (Go clients' fields would become pointers). On gRPC a suppressed cell's
// zero count is not on the wire at all. A file answer (google.api.HttpBody: CSV, HTML) is
// written as is.
type numberlessMarshaler struct{ runtime.Marshaler }

func (m numberlessMarshaler) Marshal(v any) ([]byte, error) {
	b, err := m.Marshaler.Marshal(v)
	if err != nil {
		return nil, err
	}
	if _, file := v.(*httpbody.HttpBody); file {
		return b, nil
	}
	return numberless(b)
}

// numberless rewrites a JSON document: the members "count" and "value" of every object whose
// member "suppressed" is true are left out; the order of everything else is kept.
func numberless(b []byte) ([]byte, error) {
	if !bytes.Contains(b, []byte(`"suppressed"`)) {
		return b, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseOrdered(dec)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

type member struct {
	key   string
	value any
}

// ordered is a JSON object with its members in the order they came.
type ordered []member

func (o ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func parseOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		var o ordered
		suppressed := false
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, errors.New("rest: object key is not a string")
			}
			v, err := parseOrdered(dec)
			if err != nil {
				return nil, err
			}
			if key == "suppressed" && v == true {
				suppressed = true
			}
			o = append(o, member{key, v})
		}
		if _, err := dec.Token(); err != nil { // }
			return nil, err
		}
		if suppressed {
			kept := o[:0]
			for _, m := range o {
				if m.key != "count" && m.key != "value" {
					kept = append(kept, m)
				}
			}
			o = kept
		}
		if o == nil {
			o = ordered{}
		}
		return o, nil
	case json.Delim('['):
		out := []any{}
		for dec.More() {
			v, err := parseOrdered(dec)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if _, err := dec.Token(); err != nil { // ]
			return nil, err
		}
		return out, nil
	}
	return tok, nil
}
