package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/wijkbrug/wijkbrug/pkg/svc"
)

// runVerify checks the access logs of the four services of a running development suite.
func runVerify(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("verify-accesslog")
	pgPort := fs.Int("pg-port", 55432, "PostgreSQL port of the running suite")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var errs []error
	for _, db := range []string{"intake", "casedirection", "providermonitoring", "referral"} {
		dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", *pgPort, db)
		errs = append(errs, svc.VerifyAccessLog(ctx, db, dsn, out))
	}
	return errors.Join(errs...)
}
