package grpcx

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The call log (the "rpc" line of every call) and panic recovery are go-grpc-middleware's
// interceptors; what is ours is the shape of the line and what a panic tells the caller.

// accessLogOptions: only the finished call is logged (never the payloads: they hold personal
// data), with the duration in milliseconds, at ERROR for INTERNAL and UNKNOWN and INFO
// otherwise.
var accessLogOptions = []logging.Option{
	logging.WithLogOnEvents(logging.FinishCall),
	logging.WithDurationField(func(d time.Duration) logging.Fields {
		return logging.Fields{"duration_ms", float64(d.Microseconds()) / 1000}
	}),
	logging.WithLevels(func(code codes.Code) logging.Level {
		if code == codes.Internal || code == codes.Unknown {
			return logging.LevelError
		}
		return logging.LevelInfo
	}),
}

// accessFields are the fields of the access line, in this order; the library's others (peer
// address, start time, deadline, error text) are left out.
var accessFields = []string{"org_oin", "org_type", "user", "role", "purpose", "on_behalf_of"}

// accessLogger writes the library's finished-call event as the access line "rpc": method, code,
// duration_ms and who called — organisation, and for authenticated calls user, role, purpose
// (and on_behalf_of when set), which the identity step adds to the logging fields. A call
// refused before identity is known names the organisation of its certificate. Successful calls
// of public methods (health, reflection) are not logged when skipPublicOK.
func accessLogger(log *slog.Logger, skipPublicOK bool) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, _ string, fields ...any) {
		var service, method, code string
		var duration any
		got := map[string]any{}
		for it := logging.Fields(fields).Iterator(); it.Next(); {
			k, v := it.At()
			switch k {
			case logging.ServiceFieldKey:
				service = fmt.Sprint(v)
			case logging.MethodFieldKey:
				method = fmt.Sprint(v)
			case "grpc.code":
				code = fmt.Sprint(v)
			case "duration_ms":
				duration = v
			default:
				if _, seen := got[k]; !seen {
					got[k] = v
				}
			}
		}
		full := "/" + service + "/" + method
		if skipPublicOK && code == codes.OK.String() && authz.IsPublic(full) {
			return
		}
		if _, ok := got["org_oin"]; !ok {
			if o, err := orgFromPeer(ctx); err == nil {
				got["org_oin"], got["org_type"] = o.OIN, string(o.Type)
			}
		}
		attrs := []any{"method", full, "code", code, "duration_ms", duration}
		for _, k := range accessFields {
			if v, ok := got[k]; ok {
				attrs = append(attrs, k, v)
			}
		}
		log.Log(ctx, slog.Level(lvl), "rpc", attrs...)
	})
}

// callerFields are the logging fields of an authenticated caller.
func callerFields(c identity.Caller) logging.Fields {
	f := logging.Fields{"org_oin", c.Org.OIN, "org_type", string(c.Org.Type), "user", c.User, "role", c.Role, "purpose", c.Purpose}
	if c.OnBehalfOf != "" {
		f = append(f, "on_behalf_of", c.OnBehalfOf)
	}
	return f
}

// panicHandler logs a recovered panic with its value and stack and tells the caller only
// INTERNAL: the panic value may hold anything.
func panicHandler(log *slog.Logger, msg string) recovery.RecoveryHandlerFuncContext {
	return func(ctx context.Context, p any) error {
		method, _ := grpc.Method(ctx)
		log.ErrorContext(ctx, msg, "method", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	}
}
