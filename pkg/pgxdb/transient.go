package pgxdb

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsTransient reports an error that says "the database is (briefly) not there" rather than
// "this request is wrong": the server cannot be reached, went away mid-call, is starting up
// or shutting down, is a standby after a failover, or asks for the transaction to be retried.
// A caller may retry such a request (with the same idempotency key) and expect it to work
// once the database is back; gRPC reports it as UNAVAILABLE.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && pe.Code[:2] == "08": // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin/crash shutdown, cannot connect now
			return true
		case pe.Code == "53300": // too many connections
			return true
		case pe.Code == "40001", pe.Code == "40P01": // serialization failure, deadlock: retry the transaction
			return true
		case pe.Code == "25006": // read-only transaction: connected to a standby (failover in progress)
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// A connection that dies mid-query surfaces as an EOF from pgconn's reader.
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// IsUnstorableText reports whether PostgreSQL refused a value because text (or jsonb) cannot
// hold one of its characters: a NUL (0x00, SQLSTATE 22021) or its JSON escape \u0000
// (22P05). Requests are checked for NUL characters before they reach a handler; this is for
// text that arrives inside another value (a JSON document, say), which is the caller's
// mistake as well, not the server's.
func IsUnstorableText(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "22021" || pe.Code == "22P05")
}
