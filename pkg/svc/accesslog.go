package svc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
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
	if id := cfg.AccessLogKeyID; id < 1 || id > 255 { // verify-accesslog does not pass checkLimits
		return nil, fmt.Errorf("WIJKBRUG_ACCESSLOG_KEY_ID (-accesslog-key-id) is %d: 1-255", id)
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
	switch cp := rep.Checkpoint; {
	case cp != nil:
		fmt.Fprintf(out, "; checked against the checkpoint of %s (entry %d)", cp.At.Format(time.RFC3339), cp.Seq)
	case len(found.Invalid) > 0:
		// Checkpoints were exported, but none verifies under the configured keys.
		fmt.Fprintf(out, "; no exported checkpoint verifies (%d found that do not, listed below)", len(found.Invalid))
	default:
		fmt.Fprint(out, "; no exported checkpoint yet")
	}
	fmt.Fprintln(out)
	if rep.OK() {
		fmt.Fprintln(out, service+": access log intact")
		return nil
	}
	suspect := suspectKeys(rep, found)
	for _, id := range suspect {
		fmt.Fprintf(out, "%s: WRONG KEY? %s\n", service, wrongKeyHint(keys, id, rep.MACs[id], found.Signatures[id]))
	}
	// Under a suspected key every entry fails: the first three of each kind are listed, not
	// the whole log.
	listed, hidden := map[string]int{}, 0
	for _, p := range rep.Problems {
		if kind := underSuspectKey(p.What, suspect); kind != "" {
			if listed[kind]++; listed[kind] > 3 {
				hidden++
			} else {
				fmt.Fprintln(out, service+": NOT VERIFIED: "+p.String())
			}
			continue
		}
		fmt.Fprintln(out, service+": TAMPERED: "+p.String())
	}
	if hidden > 0 {
		fmt.Fprintf(out, "%s: … and %d more findings like these under the suspected key (not listed)\n", service, hidden)
	}
	if len(suspect) > 0 {
		return fmt.Errorf("%s: access log does not verify with the configured key id %s: check the key before suspecting tampering (%d problems)", service, keyIDs(suspect), len(rep.Problems))
	}
	return fmt.Errorf("%s: access log chain broken (%d problems)", service, len(rep.Problems))
}

// suspectKeys returns the key ids under which every checked entry fails its MAC while no
// exported checkpoint signed with that id verifies: the key configured under that id is then
// most likely not the one that sealed the log. A chain recomputed with another key (tampering)
// fails every MAC too, but the checkpoints exported before, signed with the right key, still
// verify.
func suspectKeys(rep logstore.Report, found logstore.CheckpointFinding) []byte {
	var ids []byte
	for id, t := range rep.MACs {
		if t.Checked > 0 && t.Failed == t.Checked && found.Signatures[id].Valid == 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// wrongKeyHint says why the key configured as id is suspected, and which setting holds it.
func wrongKeyHint(keys *logstore.Keys, id byte, t logstore.MACTally, sig logstore.SignatureTally) string {
	setting := fmt.Sprintf("the key configured as id %d (WIJKBRUG_ACCESSLOG_KEY with WIJKBRUG_ACCESSLOG_KEY_ID=%d)", id, id)
	if id != keys.CurrentID() {
		setting = fmt.Sprintf("the key configured as id %d (in WIJKBRUG_ACCESSLOG_PREVIOUS_KEYS)", id)
	}
	s := fmt.Sprintf("every one of the %d entries sealed with key id %d fails its MAC", t.Checked, id)
	if sig.Bad > 0 {
		s += fmt.Sprintf(", and so does the signature of every one of the %d exported checkpoints signed with key id %d", sig.Bad, id)
	} else {
		s += fmt.Sprintf(" (no exported checkpoint signed with key id %d to tell)", id)
	}
	return s + ": " + setting + " is most likely not the key that sealed this log — check it before suspecting tampering"
}

// underSuspectKey names the kind of a finding that a wrong key under one of the suspect ids
// explains (an entry's MAC, a checkpoint's signature), or "".
func underSuspectKey(what string, suspect []byte) string {
	for _, id := range suspect {
		switch {
		case what == logstore.MACMismatch(id):
			return fmt.Sprintf("mac %d", id)
		case strings.HasPrefix(what, "exported checkpoint at stream sequence ") && strings.HasSuffix(what, ": "+logstore.BadCheckpointSignature(id)):
			return fmt.Sprintf("signature %d", id)
		}
	}
	return ""
}

func keyIDs(ids []byte) string {
	var s []string
	for _, id := range ids {
		s = append(s, fmt.Sprint(id))
	}
	return strings.Join(s, ", ")
}
