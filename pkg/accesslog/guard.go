package accesslog

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/txn"
)

// Access is one caller's access to one object, as a per-object check sees it.
type Access struct {
	// Entry names the action and the object (ObjectType, ObjectID and, when the object holds
	// one, ResidentPseudonym); Guard fills in Route and Outcome.
	Entry Entry
	// Route is what the service's own rules allow: one of the Route constants, or "" (or
	// RouteNotAllowed) when they refuse.
	Route string
	// Change marks a write: an emergency grant never opens it, and a refusal is logged
	// outside the transaction, which will roll back.
	Change bool
	// Resource names the object in the NOT_FOUND answer; ObjectType when empty.
	Resource string
	// Anonymous leaves the object's id out of the NOT_FOUND answer: the caller looked the
	// object up by something else (a BSN) and must not learn its id.
	Anonymous bool
	// Quiet leaves the GRANTED entry to the caller (which logs the access with more detail
	// or once per member); a refusal is always logged here.
	Quiet bool
}

// Guard is the one per-object access check: a read the service's rules refuse may still be
// opened by an emergency grant of this caller for this object (route EMERGENCY); the access
// is logged GRANTED or DENIED in the transaction of ctx (a refused change detached from
// it); and a refusal answers NOT_FOUND, so the existence of someone else's record is not
// disclosed. It returns the route that allowed the access.
// A read refused inside ReadTx still commits its DENIED entry.
func Guard(ctx context.Context, rec Recorder, a Access) (string, error) {
	route := a.Route
	if route == RouteNotAllowed {
		route = ""
	}
	e := a.Entry
	if route == "" && !a.Change {
		ok, err := rec.EmergencyGrant(ctx, e.ObjectType, e.ObjectID)
		if err != nil {
			return "", err
		}
		if ok {
			route = RouteEmergency
		}
	}
	if route == "" {
		e.Route, e.Outcome = RouteNotAllowed, OutcomeDenied
		record := rec.Record
		if a.Change {
			record = rec.RecordDetached
		}
		if err := record(ctx, e); err != nil {
			return "", err
		}
		resource := a.Resource
		if resource == "" {
			resource = e.ObjectType
		}
		id := e.ObjectID
		if a.Anonymous {
			id = ""
		}
		return "", apperr.NotFound(resource, id)
	}
	if !a.Quiet {
		e.Route, e.Outcome = route, OutcomeGranted
		if err := rec.Record(ctx, e); err != nil {
			return "", err
		}
	}
	return route, nil
}

// ReadTx runs a read in one transaction of tx. A read writes nothing but its access-log
// entries, and a refused read must keep them: when fn answers NOT_FOUND, PERMISSION_DENIED
// or FAILED_PRECONDITION (Guard's refusal among them) the transaction still commits and
// ReadTx returns that answer; any other error rolls it back.
func ReadTx(ctx context.Context, tx txn.Runner, fn func(ctx context.Context) error) error {
	var refused error
	err := tx.Tx(ctx, func(ctx context.Context) error {
		err := fn(ctx)
		if refusal(err) {
			refused = err
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	return refused
}

func refusal(err error) bool {
	return apperr.IsKind(err, apperr.KindNotFound) || apperr.IsKind(err, apperr.KindPermissionDenied) ||
		apperr.IsKind(err, apperr.KindFailedPrecondition)
}
