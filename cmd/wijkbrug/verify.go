package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
)

// runVerify checks the access logs of the four services of a running development suite
// against the checkpoints they exported to its NATS (read with the operations certificate),
// with the key kept in its data directory.
func runVerify(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("verify-accesslog")
	pgPort := fs.Int("pg-port", 55432, "PostgreSQL port of the running suite")
	natsPort := fs.Int("nats-port", 4222, "NATS port of the running suite (the exported checkpoints)")
	dataDir := fs.String("data-dir", ".wijkbrug", "data directory of the suite (accesslog.key, pki/ops.pem, pki/ca.pem, postgres/ca.pem, postgres/pgpass)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	key, err := suite.ReadAccessLogKey(*dataDir)
	if err != nil {
		return dataDirHint(fmt.Errorf("access-log key: %w", err))
	}
	pki := filepath.Join(*dataDir, "pki")
	tlsConfig, _, err := loadClientTLS(filepath.Join(pki, "ops.pem"), filepath.Join(pki, "ops-key.pem"), filepath.Join(pki, "ca.pem"))
	if err != nil {
		return dataDirHint(err)
	}
	nc, err := nats.Connect(fmt.Sprintf("tls://127.0.0.1:%d", *natsPort), append(natsx.Secure(tlsConfig, natsauth.ObserverInbox), nats.Name("wijkbrug-verify"))...)
	if err != nil {
		return fmt.Errorf("NATS (the exported checkpoints are needed to verify): %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	dsn, err := devDatabaseURL(*dataDir, *pgPort)
	if err != nil {
		return err
	}
	var errs []error
	for _, db := range []string{"intake", "casedirection", "providermonitoring", "referral"} {
		cfg := svc.Config{
			DatabaseURL:  dsn(db),
			AccessLogKey: key, AccessLogKeyID: 1,
		}
		errs = append(errs, svc.VerifyAccessLog(ctx, db, cfg, js, out))
	}
	return errors.Join(errs...)
}
