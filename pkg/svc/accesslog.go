package svc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// loadAccessLogKeys reads the access-log chain keys; a service does not start without one.
func loadAccessLogKeys(cfg Config) (*logstore.Keys, error) {
	if cfg.AccessLogKey == "" {
		return nil, errors.New("WIJKBRUG_ACCESSLOG_KEY (or WIJKBRUG_ACCESSLOG_KEY_FILE) is required: the access log is sealed with it")
	}
	return logstore.ParseKeys(cfg.AccessLogKey, cfg.AccessLogKeyID, cfg.AccessLogPreviousKeys)
}

// verifyAsService is the verify-accesslog subcommand: it reads the checkpoints with the
// service's own NATS identity.
func verifyAsService(ctx context.Context, spec Spec, cfg Config, out io.Writer) error {
	_, clientTLS, _, _, err := loadTLS(spec.Name, cfg, nil)
	if err != nil {
		return err
	}
	nc, err := natsx.Connect(cfg.NATSURL, "wijkbrug-verify-"+spec.Name, clientTLS, spec.Name)
	if err != nil {
		return fmt.Errorf("%s: the exported checkpoints are needed to verify: %w", spec.Name, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return VerifyAccessLog(ctx, spec.Name, cfg, js, out)
}

// VerifyAccessLog checks the keyed chain of a service's access log against the checkpoints
// exported to JetStream (read through js) and prints the result; it fails when the chain, its
// head or the exported checkpoints show tampering. It needs cfg.DatabaseURL and the
// access-log keys.
func VerifyAccessLog(ctx context.Context, service string, cfg Config, js jetstream.JetStream, out io.Writer) error {
	keys, err := loadAccessLogKeys(cfg)
	if err != nil {
		return err
	}
	found, err := logstore.LatestCheckpoint(ctx, js, keys, service, 500)
	if err != nil {
		return fmt.Errorf("%s: reading checkpoints: %w", service, err)
	}
	db, err := pgxdb.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := logstore.Verify(ctx, db, keys, found.Checkpoint)
	if err != nil {
		return err
	}
	for _, bad := range found.Invalid {
		rep.Problems = append(rep.Problems, logstore.Problem{What: "exported " + bad})
	}
	fmt.Fprintf(out, "%s: %d sealed entries, %d not sealed yet", service, rep.Sealed, rep.Unsealed)
	if rep.Unsealed > 0 {
		fmt.Fprintf(out, " (oldest %s)", rep.OldestUnsealed.Round(time.Second))
	}
	if cp := rep.Checkpoint; cp != nil {
		fmt.Fprintf(out, "; checked against the checkpoint of %s (entry %d)", cp.At.Format(time.RFC3339), cp.Seq)
	} else {
		fmt.Fprint(out, "; no exported checkpoint yet")
	}
	fmt.Fprintln(out)
	if rep.OK() {
		fmt.Fprintln(out, service+": access log intact")
		return nil
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(out, service+": TAMPERED: "+p.String())
	}
	return fmt.Errorf("%s: access log chain broken (%d problems)", service, len(rep.Problems))
}
