package consumers

import (
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
)

// Every filter of the consumers receives the events some producer publishes (the subjects
// both take from the event messages' options), all on the stream the consumer reads.
func TestFiltersMatchProducedSubjects(t *testing.T) {
	for _, s := range []consumer.Spec{CaseEvents(nil, nil, identity.Caller{})} {
		if len(s.Subjects) == 0 {
			t.Errorf("%s filters nothing", s.Durable)
		}
		for _, f := range s.Subjects {
			got := eventsubject.Received(f)
			if len(got) == 0 {
				t.Errorf("%s: filter %q receives no event of ours", s.Durable, f)
			}
			for _, name := range got {
				if producer := strings.Split(string(name), ".")[1]; natsx.StreamName(producer) != s.Stream {
					t.Errorf("%s: filter %q receives %s, which is not on stream %s", s.Durable, f, name, s.Stream)
				}
			}
		}
	}
}
