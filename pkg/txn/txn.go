// Package txn declares the unit-of-work port that application layers use, without tying them
// to a database package: pgxdb.DB implements it, and fakes in unit tests can too.
package txn

import "context"

// Runner runs fn in one transaction carried by its context; nested calls join the outer one.
type Runner interface {
	Tx(ctx context.Context, fn func(ctx context.Context) error) error
}
