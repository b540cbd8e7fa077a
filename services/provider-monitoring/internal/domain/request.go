package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// RequestKind is the iJw/iWmo message a provider's request stands for.
type RequestKind string

// Request kinds.
const (
	// RequestAllocation is a request for allocation (315).
	RequestAllocation RequestKind = "ALLOCATION"
	// RequestChange is a request for change (317) of an existing allocation.
	RequestChange RequestKind = "CHANGE"
)

// RequestStatus is where a request is.
type RequestStatus string

// Request statuses.
const (
	RequestReceived           RequestStatus = "RECEIVED"
	RequestUnderInvestigation RequestStatus = "UNDER_INVESTIGATION"
	RequestGranted            RequestStatus = "GRANTED"
	RequestRefused            RequestStatus = "REFUSED"
)

// requestTransitions: RECEIVED → UNDER_INVESTIGATION → GRANTED | REFUSED, or RECEIVED →
// GRANTED | REFUSED directly.
var requestTransitions = map[RequestStatus][]RequestStatus{
	RequestReceived:           {RequestUnderInvestigation, RequestGranted, RequestRefused},
	RequestUnderInvestigation: {RequestGranted, RequestRefused},
}

// RequestTransitionError is a forbidden change of the status of request ID.
type RequestTransitionError struct {
	ID       string
	From, To RequestStatus
}

func (e RequestTransitionError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("a request cannot go from %s to %s", e.From, e.To)
	}
	return fmt.Sprintf("request %s cannot go from %s to %s", e.ID, e.From, e.To)
}

// ForbiddenTransition makes it a forbidden transition in apperr's vocabulary.
func (RequestTransitionError) ForbiddenTransition() {}

// Request is a provider's request for allocation (315) or change (317), with the
// municipality's answer (319 or the allocation 301).
type Request struct {
	ID           string
	Kind         RequestKind
	ProviderAGB  string
	Municipality string
	District     string
	// AllocationNumber is the allocation a request for change is about.
	AllocationNumber string
	Product          Product
	Start            time.Time
	End              *time.Time
	Volume           Volume
	// ReferrerType is a COD327 code; ReferrerCode identifies the referrer (e.g. an AGB code).
	ReferrerType, ReferrerCode string
	ChangeReasonText           string
	Status                     RequestStatus
	ReceivedAt                 time.Time
	// AnswerDue is the last day for the first answer.
	AnswerDue      time.Time
	AnsweredAt     *time.Time
	AnsweredOnTime *bool
	// DecisionDue is the last day for the final decision once under investigation.
	DecisionDue   *time.Time
	DecidedAt     *time.Time
	DecidedOnTime *bool
	RefusalReason string
	// ResultingAllocation is the allocation issued or changed by granting.
	ResultingAllocation string
}

// AnswerDue is the last day to answer a request received at the moment receivedAt: the
// AnswerWorkingDays-th working day after the Dutch day of receipt.
func (t Timeliness) AnswerDue(receivedAt time.Time) time.Time {
	return t.Calendar.AddWorkingDays(DayIn(receivedAt, t.Location), t.AnswerWorkingDays)
}

// DecisionDue is the last day for the final decision on a request under investigation:
// FinalDecisionWeeks weeks after the day of receipt, moved to the next working day when that
// day is a Saturday, Sunday or holiday (Algemene termijnenwet art. 1).
func (t Timeliness) DecisionDue(receivedAt time.Time) time.Time {
	return t.Calendar.PeriodEnd(DayIn(receivedAt, t.Location).AddDate(0, 0, 7*t.FinalDecisionWeeks))
}

// NewRequest returns a received request with its answer due date.
func NewRequest(r Request, receivedAt time.Time, rules Timeliness) Request {
	r.Status, r.ReceivedAt, r.AnswerDue = RequestReceived, receivedAt, rules.AnswerDue(receivedAt)
	r.AnsweredAt, r.AnsweredOnTime, r.DecisionDue, r.DecidedAt, r.DecidedOnTime = nil, nil, nil, nil, nil
	return r
}

// Answer records the municipality's answer at the moment at. The first answer of any kind is
// judged against AnswerDue; the final decision (grant or refusal) against AnswerDue, or
// against DecisionDue when the request was under investigation.
func (r *Request) Answer(to RequestStatus, at time.Time, rules Timeliness) error {
	if !slices.Contains(requestTransitions[r.Status], to) {
		return RequestTransitionError{ID: r.ID, From: r.Status, To: to}
	}
	day := DayIn(at, rules.Location)
	if r.AnsweredAt == nil {
		onTime := !day.After(r.AnswerDue)
		r.AnsweredAt, r.AnsweredOnTime = &at, &onTime
	}
	if to == RequestUnderInvestigation {
		due := rules.DecisionDue(r.ReceivedAt)
		r.DecisionDue = &due
	} else {
		due := r.AnswerDue
		if r.DecisionDue != nil {
			due = *r.DecisionDue
		}
		onTime := !day.After(due)
		r.DecidedAt, r.DecidedOnTime = &at, &onTime
	}
	r.Status = to
	return nil
}

// Open reports whether the request still waits for an answer or a final decision.
func (r Request) Open() bool {
	return r.Status == RequestReceived || r.Status == RequestUnderInvestigation
}

// Overdue reports whether, at the moment now, the request's answer (or final decision, when
// under investigation) is overdue.
func (r Request) Overdue(now time.Time, rules Timeliness) bool {
	day := DayIn(now, rules.Location)
	switch r.Status {
	case RequestReceived:
		return day.After(r.AnswerDue)
	case RequestUnderInvestigation:
		return r.DecisionDue != nil && day.After(*r.DecisionDue)
	}
	return false
}

// AllocationFor returns the allocation that granting a request for allocation issues.
func (r Request) AllocationFor(caseID string, budgetCents int64, form Form) Allocation {
	return Allocation{
		ProviderAGB: r.ProviderAGB, CaseID: caseID, Municipality: r.Municipality, District: r.District,
		Product: r.Product, Start: r.Start, End: r.End, Volume: r.Volume,
		BudgetCents: budgetCents, Form: form, RequestID: r.ID,
	}
}

// RequestAnsweredError is a decision (or a grant) for a request for allocation that is
// answered already: by the municipality's answer (GRANTED or REFUSED), or by a decision in
// force that answers it. One 315 leads to at most one allocation.
type RequestAnsweredError struct {
	ID     string
	Status RequestStatus
	// Allocation is the allocation a grant issued; DecisionID and DecisionNumber the decision
	// in force that answers the request.
	Allocation                 string
	DecisionID, DecisionNumber string
}

func (e RequestAnsweredError) Error() string {
	switch {
	case e.DecisionID != "":
		return fmt.Sprintf("request %s is answered already by decision %s (%s): amend or withdraw that decision instead", e.ID, e.DecisionNumber, e.DecisionID)
	case e.Allocation != "":
		return fmt.Sprintf("request %s is %s already (allocation %s): change that allocation instead", e.ID, e.Status, e.Allocation)
	}
	return fmt.Sprintf("request %s is %s already", e.ID, e.Status)
}

// ForbiddenTransition makes it FAILED_PRECONDITION in apperr's vocabulary.
func (RequestAnsweredError) ForbiddenTransition() {}

// Unanswered checks that a request for allocation can still be answered by a decision or a
// grant: it is open, and no decision in force (inForce, nil when none) answers it.
func (r Request) Unanswered(inForce *Decision) error {
	if !r.Open() {
		return RequestAnsweredError{ID: r.ID, Status: r.Status, Allocation: r.ResultingAllocation}
	}
	if inForce != nil {
		return RequestAnsweredError{ID: r.ID, Status: r.Status, DecisionID: inForce.ID, DecisionNumber: inForce.Number}
	}
	return nil
}

// GrantRefusedError is a request for change (317) whose change the allocation cannot take (a
// new start date after care started, an end date before care started): the request stays
// open, FAILED_PRECONDITION naming the request rather than a field the caller did not send.
type GrantRefusedError struct {
	ID, AllocationNumber, Reason string
}

func (e GrantRefusedError) Error() string {
	return fmt.Sprintf("request %s cannot be granted: the change it asks of allocation %s is not possible (%s); refuse it instead", e.ID, e.AllocationNumber, e.Reason)
}

// ForbiddenTransition makes it FAILED_PRECONDITION in apperr's vocabulary.
func (GrantRefusedError) ForbiddenTransition() {}

// GrantRefused turns the error of applying a request for change to allocation number into
// the answer to its grant: a rule the change breaks is about the request, not about a field of
// the answer (GrantRefusedError); any other error stays as it is.
func (r Request) GrantRefused(number string, err error) error {
	var rv RuleViolation
	if errors.As(err, &rv) {
		return GrantRefusedError{ID: r.ID, AllocationNumber: number, Reason: rv.Error()}
	}
	return err
}

// ChangeFor returns the change that granting a request for change makes.
func (r Request) ChangeFor() Change {
	start, vol := r.Start, r.Volume
	return Change{Reason: ChangeRequest, Start: &start, End: r.End, Volume: &vol}
}
