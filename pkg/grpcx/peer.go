package grpcx

import (
	"fmt"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PeerError is the one policy for the errors of calls to another Wijkbrug service; every
// peers adapter returns PeerError(peer, resource, err) for a failed call:
//   - the peer unreachable, past the deadline, overloaded or aborted: apperr.Unavailable,
//     so our caller (or consumer) retries;
//   - NOT_FOUND and ALREADY_EXISTS become typed errors about resource (ALREADY_EXISTS with the
//     existing object's id from the peer's ResourceInfo), so the application can act on them;
//   - UNAUTHENTICATED, INTERNAL and UNKNOWN blame neither our caller nor their request (our
//     own certificate, or the peer's fault): an internal error, logged and masked at the edge;
//   - any other status (INVALID_ARGUMENT, FAILED_PRECONDITION, PERMISSION_DENIED, …) is the
//     peer's answer to the caller it acted for (the call carries the caller onward) and
//     passes through unchanged, details included.
func PeerError(peer, resource string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return apperr.Unavailable(peer+" is unreachable; retry", err)
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Canceled:
		return apperr.Unavailable(peer+" is unavailable; retry", err)
	case codes.NotFound:
		// The peer names what it did not find (a provider, where the caller asked for an
		// allocation); resource is only the fallback for an answer without ResourceInfo.
		ri := resourceInfo(st)
		if ri.GetResourceType() != "" {
			resource = ri.GetResourceType()
		}
		return apperr.NotFound(resource, ri.GetResourceName())
	case codes.AlreadyExists:
		if id := resourceInfo(st).GetResourceName(); id != "" {
			return apperr.AlreadyExists(resource, id, st.Message())
		}
		return fmt.Errorf("%s: ALREADY_EXISTS without naming the %s: %s", peer, resource, st.Message())
	case codes.Unauthenticated, codes.Internal, codes.Unknown:
		return fmt.Errorf("%s: %s: %s", peer, st.Code(), st.Message())
	}
	return err
}

// resourceInfo is the ResourceInfo detail of a peer's status (nil when it has none).
func resourceInfo(st *status.Status) *errdetails.ResourceInfo {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.ResourceInfo); ok {
			return ri
		}
	}
	return nil
}
