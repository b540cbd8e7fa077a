package grpcapi

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
	"google.golang.org/protobuf/proto"
)

// intakeChange runs a mutating use case on an intake idempotently, once the request was
// validated (verr). The answer is stored for replays, so it carries no question.
func intakeChange[Resp proto.Message](ctx context.Context, s *Server, req idempotency.Request, verr error,
	wrap func(*intakev1.Intake) Resp, fn func(ctx context.Context) (domain.Intake, error)) (Resp, error) {
	if verr != nil {
		var zero Resp
		return zero, verr
	}
	// wrap(nil) is the empty response a replay is decoded into.
	return idempotency.Do(ctx, s.idem, req, func() Resp { return wrap(nil) }, func(ctx context.Context) (Resp, error) {
		in, err := fn(ctx)
		if err != nil {
			var zero Resp
			return zero, err
		}
		in.Question = ""
		return wrap(intakeToProto(in)), nil
	})
}

// StartTriage picks up a received intake.
func (s *Server) StartTriage(ctx context.Context, req *intakev1.StartTriageRequest) (*intakev1.StartTriageResponse, error) {
	return intakeChange(ctx, s, req, nil, // intake_id: required, a UUID (the proto)
		func(i *intakev1.Intake) *intakev1.StartTriageResponse {
			return &intakev1.StartTriageResponse{Intake: i}
		},
		func(ctx context.Context) (domain.Intake, error) { return s.app.StartTriage(ctx, req.GetIntakeId()) })
}

// DecideTriage decides an intake in triage.
func (s *Server) DecideTriage(ctx context.Context, req *intakev1.DecideTriageRequest) (*intakev1.DecideTriageResponse, error) {
	outcome, err := decideFromRequest(req)
	return intakeChange(ctx, s, req, err,
		func(i *intakev1.Intake) *intakev1.DecideTriageResponse {
			return &intakev1.DecideTriageResponse{Intake: i}
		},
		func(ctx context.Context) (domain.Intake, error) {
			return s.app.DecideTriage(ctx, req.GetIntakeId(), outcome, req.GetApplyPolicy())
		})
}

// RecordContactAttempt records an attempt to reach the resident.
func (s *Server) RecordContactAttempt(ctx context.Context, req *intakev1.RecordContactAttemptRequest) (*intakev1.RecordContactAttemptResponse, error) {
	kind, err := contactAttemptFromRequest(req)
	return intakeChange(ctx, s, req, err,
		func(i *intakev1.Intake) *intakev1.RecordContactAttemptResponse {
			return &intakev1.RecordContactAttemptResponse{Intake: i}
		},
		func(ctx context.Context) (domain.Intake, error) {
			return s.app.RecordContactAttempt(ctx, req.GetIntakeId(), kind, req.GetReached())
		})
}

// RecordClarification records a clarification conversation on an intake. The answer is
// stored for replays, so it carries neither the summary nor the question.
func (s *Server) RecordClarification(ctx context.Context, req *intakev1.RecordClarificationRequest) (*intakev1.RecordClarificationResponse, error) {
	c, err := clarificationFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.RecordClarificationResponse { return &intakev1.RecordClarificationResponse{} },
		func(ctx context.Context) (*intakev1.RecordClarificationResponse, error) {
			rec, in, err := s.app.RecordClarification(ctx, req.GetIntakeId(), c)
			if err != nil {
				return nil, err
			}
			rec.Summary, in.Question, in.Clarifications = "", "", nil
			return &intakev1.RecordClarificationResponse{Clarification: clarificationToProto(rec), Intake: intakeToProto(in)}, nil
		})
}

// WithdrawIntake records that the resident withdrew.
func (s *Server) WithdrawIntake(ctx context.Context, req *intakev1.WithdrawIntakeRequest) (*intakev1.WithdrawIntakeResponse, error) {
	return intakeChange(ctx, s, req, nil, // intake_id: required, a UUID (the proto)
		func(i *intakev1.Intake) *intakev1.WithdrawIntakeResponse {
			return &intakev1.WithdrawIntakeResponse{Intake: i}
		},
		func(ctx context.Context) (domain.Intake, error) { return s.app.WithdrawIntake(ctx, req.GetIntakeId()) })
}

// MergeIntake merges a duplicate intake into another. Both ids are the proto's rules
// (required UUIDs).
func (s *Server) MergeIntake(ctx context.Context, req *intakev1.MergeIntakeRequest) (*intakev1.MergeIntakeResponse, error) {
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.MergeIntakeResponse { return &intakev1.MergeIntakeResponse{} },
		func(ctx context.Context) (*intakev1.MergeIntakeResponse, error) {
			merged, into, err := s.app.MergeIntake(ctx, req.GetIntakeId(), req.GetIntoIntakeId())
			if err != nil {
				return nil, err
			}
			merged.Question, into.Question = "", ""
			return &intakev1.MergeIntakeResponse{Merged: intakeToProto(merged), Into: intakeToProto(into)}, nil
		})
}

// ListTeamQueue lists one page of the calling team's open intakes.
func (s *Server) ListTeamQueue(ctx context.Context, req *intakev1.ListTeamQueueRequest) (*intakev1.ListTeamQueueResponse, error) {
	var v apperr.Validation
	page := paging.Parse(&v, queueList, 3, QueueLimits, req.GetPageSize(), req.GetPageToken())
	after, err := queueKeyOf(page)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	entries, more, err := s.app.ListTeamQueue(ctx, after, page.Size)
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListTeamQueueResponse{}
	for _, e := range entries {
		out.Entries = append(out.Entries, &intakev1.TeamQueueEntry{Intake: intakeToProto(e.Intake), Overdue: e.Overdue})
	}
	if more {
		k := entries[len(entries)-1].Intake.QueueKey()
		out.NextPageToken = paging.Token(queueList, strconv.Itoa(k.Rank), k.TriageDue.Format(time.RFC3339Nano), k.ID)
	}
	return out, nil
}

// ListIntakes finds the calling team's own intakes.
func (s *Server) ListIntakes(ctx context.Context, req *intakev1.ListIntakesRequest) (*intakev1.ListIntakesResponse, error) {
	f, page, after, err := listIntakesFromRequest(req)
	if err != nil {
		return nil, err
	}
	list, more, err := s.app.ListIntakes(ctx, f, after, page.Size)
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListIntakesResponse{}
	for _, in := range list {
		in.Question = ""
		out.Intakes = append(out.Intakes, intakeToProto(in))
	}
	if more {
		last := list[len(list)-1]
		out.NextPageToken = paging.TokenAt(intakeList(req), last.ReceivedAt, last.ID)
	}
	return out, nil
}

// IntakeLimits are the page sizes of ListIntakes.
var IntakeLimits = paging.Limits{Default: 50, Max: 500}

// intakeList names ListIntakes under its filters in page tokens.
func intakeList(req *intakev1.ListIntakesRequest) string {
	var filter []string
	for _, st := range req.GetStatuses() {
		filter = append(filter, st.String())
	}
	filter = append(filter, "|")
	for _, c := range req.GetChannels() {
		filter = append(filter, c.String())
	}
	filter = append(filter, "|", req.GetReceivedFrom().AsTime().Format(time.RFC3339Nano), strconv.FormatBool(req.GetReceivedFrom() != nil),
		req.GetReceivedBefore().AsTime().Format(time.RFC3339Nano), strconv.FormatBool(req.GetReceivedBefore() != nil),
		req.GetResidentId(), req.GetHouseholdId())
	return paging.Scoped("intake.intakes", filter...)
}

// listIntakesFromRequest validates a ListIntakesRequest (every violation at once).
func listIntakesFromRequest(req *intakev1.ListIntakesRequest) (domain.IntakeFilter, paging.Page, *paging.At, error) {
	var v apperr.Validation
	var f domain.IntakeFilter
	for i, st := range req.GetStatuses() {
		c := protoenum.Code(st)
		if c == "" {
			v.Add(fmt.Sprintf("statuses[%d]", i), "an unspecified or unknown status")
			continue
		}
		f.Statuses = append(f.Statuses, domain.Status(c))
	}
	for i, ch := range req.GetChannels() {
		c := protoenum.Code(ch)
		if c == "" {
			v.Add(fmt.Sprintf("channels[%d]", i), "an unspecified or unknown channel")
			continue
		}
		f.Channels = append(f.Channels, domain.Channel(c))
	}
	if t := req.GetReceivedFrom(); t != nil {
		v.Check(t.IsValid(), "received_from", "not a valid time")
		at := t.AsTime()
		f.ReceivedFrom = &at
	}
	if t := req.GetReceivedBefore(); t != nil {
		v.Check(t.IsValid(), "received_before", "not a valid time")
		at := t.AsTime()
		f.ReceivedBefore = &at
		if f.ReceivedFrom != nil && !at.After(*f.ReceivedFrom) {
			v.Add("received_before", "must be after received_from")
		}
	}
	// resident_id, household_id: the proto's rules (empty or a UUID).
	f.ResidentID, f.Household = req.GetResidentId(), req.GetHouseholdId()
	page, after := paging.ParseAt(&v, intakeList(req), IntakeLimits, req.GetPageSize(), req.GetPageToken())
	if after != nil && uuid.Validate(after.ID) != nil {
		v.Add("page_token", "not a token from a previous page of this list")
	}
	return f, page, after, v.Err()
}

// queueList names the team queue in its page tokens.
const queueList = "intake.queue"

// QueueLimits are the team queue's page sizes.
var QueueLimits = paging.Limits{Default: 100, Max: 500}

// queueKeyOf decodes the queue position a page token carries.
func queueKeyOf(p paging.Page) (*domain.QueueKey, error) {
	if p.First() {
		return nil, nil
	}
	// A rank is 0-3 (an int column); a forged token with another number is refused here, not
	// by the database's encoder (an INTERNAL).
	rank, err1 := strconv.ParseInt(p.After[0], 10, 32)
	due, err2 := time.Parse(time.RFC3339Nano, p.After[1])
	if err1 != nil || err2 != nil || rank < 0 || uuid.Validate(p.After[2]) != nil {
		return nil, apperr.Invalid("page_token", "not a token from a previous page of this list")
	}
	return &domain.QueueKey{Rank: int(rank), TriageDue: due, ID: p.After[2]}, nil
}
