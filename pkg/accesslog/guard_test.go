package accesslog_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
)

// recorder keeps what Guard logs, in the transaction or detached, and answers emergency
// grants from a set. The real Recorder (logstore) is exercised by every service's tests and
// the BOLA matrix; this pins the decision rules.
type recorder struct {
	inTx, detached []accesslog.Entry
	grants         map[string]bool
	asked          int
}

func (r *recorder) Record(_ context.Context, e accesslog.Entry) error {
	r.inTx = append(r.inTx, e)
	return nil
}
func (r *recorder) RecordMany(_ context.Context, es []accesslog.Entry) error {
	r.inTx = append(r.inTx, es...)
	return nil
}
func (r *recorder) RecordDetached(_ context.Context, e accesslog.Entry) error {
	r.detached = append(r.detached, e)
	return nil
}
func (r *recorder) EmergencyGrant(_ context.Context, typ, id string) (bool, error) {
	r.asked++
	return r.grants[typ+"/"+id], nil
}

func access(route string) accesslog.Access {
	return accesslog.Access{Entry: accesslog.Entry{Action: "x.case.read", ObjectType: "case", ObjectID: "c1"}, Route: route}
}

func TestGuardDecidesAndLogsEveryOutcome(t *testing.T) {
	ctx := context.Background()
	t.Run("allowed read is logged granted with its route", func(t *testing.T) {
		r := &recorder{}
		route, err := accesslog.Guard(ctx, r, access(accesslog.RouteTeam))
		if err != nil || route != accesslog.RouteTeam || len(r.inTx) != 1 || r.inTx[0].Outcome != accesslog.OutcomeGranted || r.inTx[0].Route != accesslog.RouteTeam || r.asked != 0 {
			t.Fatalf("route %q err %v entries %+v asked %d", route, err, r.inTx, r.asked)
		}
	})
	t.Run("refused read without a grant is NOT_FOUND and logged denied in the transaction", func(t *testing.T) {
		r := &recorder{}
		_, err := accesslog.Guard(ctx, r, access(""))
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.KindNotFound || e.Resource != "case" || e.ID != "c1" {
			t.Fatalf("err = %v, want NOT_FOUND case c1", err)
		}
		if len(r.inTx) != 1 || r.inTx[0].Outcome != accesslog.OutcomeDenied || r.inTx[0].Route != accesslog.RouteNotAllowed || len(r.detached) != 0 {
			t.Fatalf("entries %+v detached %+v", r.inTx, r.detached)
		}
	})
	t.Run("refused read under an emergency grant is opened and logged as EMERGENCY", func(t *testing.T) {
		r := &recorder{grants: map[string]bool{"case/c1": true}}
		route, err := accesslog.Guard(ctx, r, access(accesslog.RouteNotAllowed))
		if err != nil || route != accesslog.RouteEmergency || len(r.inTx) != 1 || r.inTx[0].Route != accesslog.RouteEmergency || r.inTx[0].Outcome != accesslog.OutcomeGranted {
			t.Fatalf("route %q err %v entries %+v", route, err, r.inTx)
		}
	})
	t.Run("a change is never opened by a grant and its refusal is logged detached", func(t *testing.T) {
		r := &recorder{grants: map[string]bool{"case/c1": true}}
		a := access("")
		a.Change, a.Resource = true, "dossier"
		_, err := accesslog.Guard(ctx, r, a)
		if !apperr.IsKind(err, apperr.KindNotFound) || r.asked != 0 || len(r.detached) != 1 || len(r.inTx) != 0 || r.detached[0].Outcome != accesslog.OutcomeDenied {
			t.Fatalf("err %v asked %d detached %+v inTx %+v", err, r.asked, r.detached, r.inTx)
		}
		if e, _ := apperr.As(err); e.Resource != "dossier" {
			t.Fatalf("resource %q, want dossier", e.Resource)
		}
	})
	t.Run("anonymous refusal names no id", func(t *testing.T) {
		r := &recorder{}
		a := access("")
		a.Anonymous = true
		_, err := accesslog.Guard(ctx, r, a)
		if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindNotFound || e.ID != "" || len(r.inTx) != 1 || r.inTx[0].ObjectID != "c1" {
			t.Fatalf("err %v entries %+v: want NOT_FOUND without id, the id still logged", err, r.inTx)
		}
	})
	t.Run("quiet leaves the granted entry to the caller", func(t *testing.T) {
		r := &recorder{}
		a := access(accesslog.RouteTeam)
		a.Quiet = true
		if route, err := accesslog.Guard(ctx, r, a); err != nil || route != accesslog.RouteTeam || len(r.inTx) != 0 {
			t.Fatalf("route %q err %v entries %+v", route, err, r.inTx)
		}
	})
}

// runner is a transaction that reports whether it committed.
type runner struct{ committed, rolledBack int }

func (r *runner) Tx(ctx context.Context, fn func(context.Context) error) error {
	if err := fn(ctx); err != nil {
		r.rolledBack++
		return err
	}
	r.committed++
	return nil
}

func TestReadTxKeepsTheRefusalOnRecord(t *testing.T) {
	ctx := context.Background()
	tx := &runner{}
	err := accesslog.ReadTx(ctx, tx, func(context.Context) error { return apperr.NotFound("case", "c1") })
	if !apperr.IsKind(err, apperr.KindNotFound) || tx.committed != 1 || tx.rolledBack != 0 {
		t.Fatalf("refusal: err %v committed %d rolled back %d", err, tx.committed, tx.rolledBack)
	}
	boom := errors.New("connection lost")
	tx = &runner{}
	if err := accesslog.ReadTx(ctx, tx, func(context.Context) error { return boom }); !errors.Is(err, boom) || tx.rolledBack != 1 {
		t.Fatalf("failure: err %v rolled back %d", err, tx.rolledBack)
	}
}
