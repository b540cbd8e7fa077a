package main

import (
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// TestMutationEngine checks the mutation engine without the suite: on the request message of
// every method, mutations are deterministic for a seed, always produce a sendable message,
// and reach the kinds of change the probe promises.
func TestMutationEngine(t *testing.T) {
	f := &bolaFixture{caseA: "11111111-1111-4111-8111-111111111111", caseB: "22222222-2222-4222-8222-222222222222"}
	seen := map[string]bool{}
	for _, svc := range bolaServices {
		for _, m := range svc.desc.Methods {
			full := "/" + svc.desc.ServiceName + "/" + m.MethodName
			in := requestType(t, full)
			run := func() []string {
				var out []string
				for i := 0; i < 60; i++ {
					h := fnv.New64a()
					h.Write([]byte(full))
					mu := &mutator{r: rand.New(rand.NewPCG(uint64(i), h.Sum64())), ids: fixtureIDs(f), tokens: []string{"dG9rZW4"}}
					req := in.New()
					a, ok := mu.mutate(req)
					if !ok {
						return nil
					}
					if _, err := proto.Marshal(req.Interface()); err != nil {
						t.Errorf("%s: %v gives a message that does not marshal: %v", full, a, err)
					}
					for _, w := range []string{"100000", "empty list", "unset", "1000 elements", "appended 50 times", "enum", "timestamp", "fat:", "edge of the field's rule", "max_items", "another fixture object", "2026-02-30"} {
						if strings.Contains(a.what, w) {
							seen[w] = true
						}
					}
					out = append(out, a.String()+" → "+renderRequest(req.Interface()))
				}
				return out
			}
			a, b := run(), run()
			if strings.Join(a, "\n") != strings.Join(b, "\n") {
				t.Errorf("%s: the mutations of one seed differ between runs", full)
			}
		}
	}
	for _, w := range []string{"100000", "empty list", "unset", "1000 elements", "appended 50 times", "enum", "timestamp", "fat:", "edge of the field's rule", "max_items", "another fixture object", "2026-02-30"} {
		if !seen[w] {
			t.Errorf("no mutation %q was made on any request", w)
		}
	}
}

func requestType(t *testing.T, method string) protoreflect.MessageType {
	t.Helper()
	svcName, name, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svcName))
	if err != nil {
		t.Fatal(err)
	}
	md := d.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(name))
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	if err != nil {
		t.Fatal(err)
	}
	return mt
}

// TestMutationLogAttribution: an ERROR line is tied to the call that caused it by the acting
// user (mut-<n>) or by the trace id of that call's access line; one naming no call is kept
// apart (the probe fails on both).
func TestMutationLogAttribution(t *testing.T) {
	r := &mutRun{t: t, failures: map[string]*mutFailure{}, records: []*mutCall{
		{n: 0, key: "A/B/x@e#0", method: "/a.v1.A/B"}, {n: 1, key: "A/B/x@e#1", method: "/a.v1.A/B"}, {n: 2, key: "A/B/x@e#2", method: "/a.v1.A/B"}}}
	logs := strings.Join([]string{
		`{"time":"t","level":"INFO","msg":"rpc","method":"/a.v1.A/B","code":"OK","user":"mut-2","trace_id":"t2"}`,
		`{"time":"t","level":"ERROR","msg":"internal error","error":"boom","trace_id":"t0"}`,
		`{"time":"t","level":"ERROR","msg":"rpc","method":"/a.v1.A/B","code":"Internal","user":"mut-0","trace_id":"t0"}`,
		`{"time":"t","level":"WARN","msg":"request failed","user":"mut-1"}`,
		`{"time":"t","level":"ERROR","msg":"consumer failed","error":"x"}`,
		`panic: something outside JSON`,
	}, "\n")
	unattributed, stats := r.attributeLogLines(parseLogLines([]byte(logs)))
	if len(unattributed) != 2 || stats.errors != 4 || stats.rpcLines != 2 || stats.warns["request failed"] != 1 {
		t.Fatalf("unattributed %d (want 2: the consumer's and the panic), stats %+v", len(unattributed), stats)
	}
	if len(r.records[0].logLines) != 2 || r.records[0].problem == "" {
		t.Errorf("call 0: log lines %q, problem %q: want the internal error (by trace id) and its access line, and a failure", r.records[0].logLines, r.records[0].problem)
	}
	if r.records[1].problem != "" || len(r.records[1].logLines) != 1 || r.records[2].problem != "" || len(r.records[2].logLines) != 0 {
		t.Errorf("a WARN line or an INFO access line made a failure, or was lost: %+v %+v", r.records[1], r.records[2])
	}
	if len(r.failures) != 1 {
		t.Errorf("%d failures, want 1", len(r.failures))
	}
}
