package eventsubject_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

const (
	municipality = "0363"
	oin          = "00000001822477348000"
)

// The subjects as a partner types them into a subscription, for municipality 0363 and the
// partner above: the contract the options declare. A change here is a change for every
// subscriber (buf breaking does not compare option values).
var documented = map[string][2]string{
	"wijkbrug.referral.v1.SignalReceived":      {"wijkbrug.referral.0363.signal.received"},
	"wijkbrug.referral.v1.SignalStatusChanged": {"wijkbrug.referral.0363.signal.status_changed"},
	"wijkbrug.referral.v1.SignalFedBack":       {"", "wijkbrug.referral.feedback." + oin + ".signal.fed_back"},
	"wijkbrug.referral.v1.ReferralStatusChanged": {"wijkbrug.referral.0363.referral.status_changed",
		"wijkbrug.referral.feedback." + oin + ".referral.status_changed"},
	"wijkbrug.referral.v1.ProvisionChanged":                      {"wijkbrug.referral.0363.provision.changed"},
	"wijkbrug.referral.v1.ConsentRecorded":                       {"wijkbrug.referral.0363.consent.recorded"},
	"wijkbrug.referral.v1.ConsentWithdrawn":                      {"wijkbrug.referral.0363.consent.withdrawn"},
	"wijkbrug.intake.v1.IntakeReceived":                          {"wijkbrug.intake.0363.intake.received"},
	"wijkbrug.intake.v1.IntakeTriaged":                           {"wijkbrug.intake.0363.intake.triaged"},
	"wijkbrug.intake.v1.IntakeCaseOpened":                        {"wijkbrug.intake.0363.intake.case_opened"},
	"wijkbrug.intake.v1.IntakeClosed":                            {"wijkbrug.intake.0363.intake.closed"},
	"wijkbrug.intake.v1.IntakeTriageStarted":                     {"wijkbrug.intake.0363.intake.triage_started"},
	"wijkbrug.intake.v1.IntakeContactAttempted":                  {"wijkbrug.intake.0363.intake.contact_attempted"},
	"wijkbrug.intake.v1.IntakeTriageOverdue":                     {"wijkbrug.intake.0363.intake.triage_overdue"},
	"wijkbrug.intake.v1.AssessmentRecorded":                      {"wijkbrug.intake.0363.assessment.recorded"},
	"wijkbrug.intake.v1.TriagePolicyReplaced":                    {"wijkbrug.intake.0363.triage_policy.replaced"},
	"wijkbrug.intake.v1.ResidentsMerged":                         {"wijkbrug.intake.0363.resident.merged"},
	"wijkbrug.intake.v1.HouseholdCreated":                        {"wijkbrug.intake.0363.household.created"},
	"wijkbrug.intake.v1.HouseholdMemberAdded":                    {"wijkbrug.intake.0363.household.member_added"},
	"wijkbrug.intake.v1.HouseholdMemberRemoved":                  {"wijkbrug.intake.0363.household.member_removed"},
	"wijkbrug.intake.v1.ResidentMatched":                         {"", "wijkbrug.intake.feedback." + oin + ".resident.matched"},
	"wijkbrug.casedirection.v1.CaseOpened":                       {"wijkbrug.casedirection.0363.case.opened"},
	"wijkbrug.casedirection.v1.CaseDirectorAssigned":             {"wijkbrug.casedirection.0363.case.director_assigned"},
	"wijkbrug.casedirection.v1.CaseAllocationRequested":          {"wijkbrug.casedirection.0363.case.allocation_requested"},
	"wijkbrug.casedirection.v1.CaseStatusChanged":                {"wijkbrug.casedirection.0363.case.status_changed"},
	"wijkbrug.casedirection.v1.CaseClosed":                       {"wijkbrug.casedirection.0363.case.closed"},
	"wijkbrug.casedirection.v1.CasePlanAdopted":                  {"wijkbrug.casedirection.0363.case.plan_adopted"},
	"wijkbrug.casedirection.v1.CaseGoalStatusChanged":            {"wijkbrug.casedirection.0363.case.goal_status_changed"},
	"wijkbrug.casedirection.v1.CaseGoalActionAdded":              {"wijkbrug.casedirection.0363.case.goal_action_added"},
	"wijkbrug.casedirection.v1.CaseEvaluated":                    {"wijkbrug.casedirection.0363.case.evaluated"},
	"wijkbrug.casedirection.v1.CaseEvaluationDue":                {"wijkbrug.casedirection.0363.case.evaluation_due"},
	"wijkbrug.casedirection.v1.CaseConferenceHeld":               {"wijkbrug.casedirection.0363.case.conference_held"},
	"wijkbrug.casedirection.v1.CaseWatchCheckedIn":               {"wijkbrug.casedirection.0363.case.watch_checked_in"},
	"wijkbrug.casedirection.v1.CaseWatchCheckOverdue":            {"wijkbrug.casedirection.0363.case.watch_check_overdue"},
	"wijkbrug.casedirection.v1.CaseSafetyConcernRecorded":        {"wijkbrug.casedirection.0363.case.safety_concern_recorded"},
	"wijkbrug.casedirection.v1.CaseHandedOver":                   {"wijkbrug.casedirection.0363.case.handed_over"},
	"wijkbrug.casedirection.v1.CaseInvolvementAdded":             {"wijkbrug.casedirection.0363.case.involvement_added"},
	"wijkbrug.casedirection.v1.CaseInvolvementEnded":             {"wijkbrug.casedirection.0363.case.involvement_ended"},
	"wijkbrug.casedirection.v1.CaseResidentsChanged":             {"wijkbrug.casedirection.0363.case.residents_changed"},
	"wijkbrug.providermonitoring.v1.AllocationIssued":            {"wijkbrug.providermonitoring.0363.allocation.issued"},
	"wijkbrug.providermonitoring.v1.AllocationDeliveryStarted":   {"wijkbrug.providermonitoring.0363.allocation.delivery_started"},
	"wijkbrug.providermonitoring.v1.AllocationDeliveryStopped":   {"wijkbrug.providermonitoring.0363.allocation.delivery_stopped"},
	"wijkbrug.providermonitoring.v1.AllocationWithdrawn":         {"wijkbrug.providermonitoring.0363.allocation.withdrawn"},
	"wijkbrug.providermonitoring.v1.AllocationProgressReported":  {"wijkbrug.providermonitoring.0363.allocation.progress_reported"},
	"wijkbrug.providermonitoring.v1.AllocationScaleDownAdvised":  {"wijkbrug.providermonitoring.0363.allocation.scale_down_advised"},
	"wijkbrug.providermonitoring.v1.AllocationChanged":           {"wijkbrug.providermonitoring.0363.allocation.changed"},
	"wijkbrug.providermonitoring.v1.AllocationNotStarted":        {"wijkbrug.providermonitoring.0363.allocation.not_started"},
	"wijkbrug.providermonitoring.v1.AllocationRequestReceived":   {"wijkbrug.providermonitoring.0363.allocation_request.received"},
	"wijkbrug.providermonitoring.v1.AllocationRequestAnswered":   {"wijkbrug.providermonitoring.0363.allocation_request.answered"},
	"wijkbrug.providermonitoring.v1.AllocationVolumeDelivered":   {"wijkbrug.providermonitoring.0363.allocation.volume_delivered"},
	"wijkbrug.providermonitoring.v1.DecisionDrafted":             {"wijkbrug.providermonitoring.0363.decision.drafted"},
	"wijkbrug.providermonitoring.v1.DecisionProposed":            {"wijkbrug.providermonitoring.0363.decision.proposed"},
	"wijkbrug.providermonitoring.v1.DecisionDecided":             {"wijkbrug.providermonitoring.0363.decision.decided"},
	"wijkbrug.providermonitoring.v1.DecisionSent":                {"wijkbrug.providermonitoring.0363.decision.sent"},
	"wijkbrug.providermonitoring.v1.DecisionAmended":             {"wijkbrug.providermonitoring.0363.decision.amended"},
	"wijkbrug.providermonitoring.v1.DecisionWithdrawn":           {"wijkbrug.providermonitoring.0363.decision.withdrawn"},
	"wijkbrug.providermonitoring.v1.DecisionObjectionRegistered": {"wijkbrug.providermonitoring.0363.decision.objection_registered"},
	"wijkbrug.providermonitoring.v1.DecisionOverdue":             {"wijkbrug.providermonitoring.0363.decision.overdue"},
}

// eventMessages are the messages of the four events.proto files.
func eventMessages(t *testing.T) []protoreflect.MessageType {
	t.Helper()
	var out []protoreflect.MessageType
	for _, svc := range []string{"referral", "intake", "casedirection", "providermonitoring"} {
		fd, err := protoregistry.GlobalFiles.FindFileByPath("wijkbrug/" + svc + "/v1/events.proto")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < fd.Messages().Len(); i++ {
			mt, err := protoregistry.GlobalTypes.FindMessageByName(fd.Messages().Get(i).FullName())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, mt)
		}
	}
	return out
}

// Every event message declares its subject; filled in, it is the documented subject, a valid
// NATS subject on the producer's stream (and so within the producer's publish permission,
// wijkbrug.<producer>.>); its filter matches it and no other event's subject.
func TestEverySubjectIsDeclaredAndDocumented(t *testing.T) {
	events := eventMessages(t)
	if len(events) != len(documented) {
		t.Errorf("%d event messages, %d documented subjects", len(events), len(documented))
	}
	type produced struct {
		event   protoreflect.FullName
		subject string
	}
	var all []produced
	var filters []string
	for _, mt := range events {
		msg := mt.New().Interface()
		name := mt.Descriptor().FullName()
		want, ok := documented[string(name)]
		if !ok {
			t.Errorf("%s: no documented subject in this test", name)
			continue
		}
		svc := strings.Split(string(name), ".")[1]
		if eventsubject.Pattern(msg) == "" && eventsubject.FeedbackPattern(msg) == "" {
			t.Errorf("%s declares no subject", name)
			continue
		}
		check := func(kind, pattern, got, want string, wantPlaceholder func(string) bool) {
			if got != want {
				t.Errorf("%s %s: %q, documented %q", name, kind, got, want)
			}
			if ph := eventsubject.Placeholders(pattern); len(ph) != 1 || !wantPlaceholder(ph[0]) {
				t.Errorf("%s %s %q: placeholders %v", name, kind, pattern, ph)
			}
			if !server.IsValidLiteralSubject(got) || !server.SubjectMatchesFilter(got, natsx.SubjectPrefix(svc)+".>") {
				t.Errorf("%s %s %q is not a literal subject on stream %s", name, kind, got, natsx.StreamName(svc))
			}
			all = append(all, produced{name, got})
		}
		if p := eventsubject.Pattern(msg); p != "" || want[0] != "" {
			got, err := eventsubject.Subject(msg, municipality)
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			check("subject", p, got, want[0], func(ph string) bool { return ph == "municipality" })
			filters = append(filters, eventsubject.Filter(msg))
		}
		if p := eventsubject.FeedbackPattern(msg); p != "" || want[1] != "" {
			got, err := eventsubject.FeedbackSubject(msg, oin)
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			check("feedback subject", p, got, want[1], func(ph string) bool { return strings.HasSuffix(ph, "_oin") })
			if !strings.HasPrefix(p, natsx.SubjectPrefix(svc)+".feedback.{") {
				t.Errorf("%s feedback subject %q is not under %s.feedback", name, p, natsx.SubjectPrefix(svc))
			}
			filters = append(filters, eventsubject.FeedbackFilter(msg))
		}
	}
	// Each filter matches the subject of its own event and of no other (the consumers'
	// filters do not overlap and select event types exactly); ours and NATS' matching agree.
	for _, f := range filters {
		var matched []protoreflect.FullName
		for _, p := range all {
			if server.SubjectMatchesFilter(p.subject, f) != eventsubject.Matches(f, p.subject) {
				t.Errorf("Matches(%q, %q) disagrees with nats-server", f, p.subject)
			}
			if server.SubjectMatchesFilter(p.subject, f) && !slices.Contains(matched, p.event) {
				matched = append(matched, p.event)
			}
		}
		if len(matched) != 1 {
			t.Errorf("filter %q matches the subjects of %v", f, matched)
		}
		if got := eventsubject.Received(f); !slices.Equal(got, matched) {
			t.Errorf("Received(%q) = %v, want %v", f, got, matched)
		}
	}
	if got := len(eventsubject.Declared()); got != len(documented) {
		t.Errorf("Declared: %d types, want %d", got, len(documented))
	}
}

func TestSubjectChecksItsParts(t *testing.T) {
	msg := &referralv1.SignalReceived{}
	if got, err := eventsubject.Subject(msg, ""); err != nil || got != "wijkbrug.referral.unknown.signal.received" {
		t.Errorf("empty municipality: %q, %v", got, err)
	}
	for _, bad := range [][]string{{}, {"0363", "0599"}, {"03.63"}, {"*"}, {">"}, {"03 63"}, {"0363\n"}, {"a\tb"}} {
		if got, err := eventsubject.Subject(msg, bad...); err == nil {
			t.Errorf("Subject(%q) = %q, want an error", bad, got)
		}
	}
	if got, err := eventsubject.FeedbackSubject(&referralv1.SignalFedBack{}, ""); err == nil {
		t.Errorf("feedback subject of no OIN: %q, want an error", got)
	}
	if _, err := eventsubject.Subject(&referralv1.SignalFedBack{}, municipality); err == nil {
		t.Error("SignalFedBack has no municipality subject, want an error")
	}
	if _, err := eventsubject.FeedbackSubject(&intakev1.IntakeReceived{}, oin); err == nil {
		t.Error("IntakeReceived has no feedback subject, want an error")
	}
	if got := eventsubject.Filter(&casedirectionv1.CaseClosed{}); got != "wijkbrug.casedirection.*.case.closed" {
		t.Errorf("Filter(CaseClosed) = %q", got)
	}
	if got := eventsubject.Filters(&providermonitoringv1.AllocationIssued{}, &intakev1.HouseholdCreated{}); !slices.Equal(got,
		[]string{"wijkbrug.providermonitoring.*.allocation.issued", "wijkbrug.intake.*.household.created"}) {
		t.Errorf("Filters = %q", got)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Filter of a message without a subject did not panic")
			}
		}()
		eventsubject.Filter(&referralv1.SignalFedBack{})
	}()
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		filter, subject string
		want            bool
	}{
		{"a.*.c", "a.b.c", true},
		{"a.*.c", "a.b.d", false},
		{"a.*", "a.b.c", false},
		{"a.>", "a.b.c", true},
		{"a.>", "a", false},
		{"a.b.c", "a.b", false},
		{"a.b", "a.b.c", false},
		{">", "a", true},
	} {
		if got := eventsubject.Matches(c.filter, c.subject); got != c.want || got != server.SubjectMatchesFilter(c.subject, c.filter) {
			t.Errorf("Matches(%q, %q) = %v, want %v", c.filter, c.subject, got, c.want)
		}
	}
	if got := eventsubject.Received("wijkbrug.referral.feedback.*.>"); len(got) != 2 {
		t.Errorf("Received(feedback) = %v, want SignalFedBack and ReferralStatusChanged", got)
	}
}

type recorder struct{ subjects []string }

func (r *recorder) Add(_ context.Context, subject, _ string, _ proto.Message) error {
	r.subjects = append(r.subjects, subject)
	return nil
}

func TestAdd(t *testing.T) {
	var r recorder
	ctx := context.Background()
	ev := &referralv1.ReferralStatusChanged{}
	if err := eventsubject.Add(ctx, &r, municipality, "id", ev); err != nil {
		t.Fatal(err)
	}
	if err := eventsubject.AddFeedback(ctx, &r, oin, "id", ev); err != nil {
		t.Fatal(err)
	}
	if err := eventsubject.AddFeedback(ctx, &r, "", "id", ev); err == nil {
		t.Error("AddFeedback without an OIN, want an error")
	}
	want := []string{"wijkbrug.referral.0363.referral.status_changed", "wijkbrug.referral.feedback." + oin + ".referral.status_changed"}
	if !slices.Equal(r.subjects, want) {
		t.Errorf("subjects %q, want %q", r.subjects, want)
	}
}
