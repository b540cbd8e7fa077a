package logstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// checkpointed is a sealed log of 20 entries whose head was exported as a checkpoint to a
// NATS server of its own; verify runs the verify-accesslog command's code on it.
type checkpointed struct {
	db     *pgxdb.DB
	js     jetstream.JetStream
	verify func() (string, error)
	// verifyWith verifies with other access-log key settings (base64 key, its id, previous).
	verifyWith func(key []byte, id int, previous string) (string, error)
}

const service = "test"

func newCheckpointed(t *testing.T) checkpointed {
	t.Helper()
	db, dsn := newDBWithDSN(t)
	// The service's own NATS identity, with the production permissions: it may publish its
	// checkpoints and read them, never delete or purge them.
	n := testkit.NewNATS(t)
	n.AddService(t, service)
	js, _ := jetstream.New(n.ConnectService(t, service))
	ctx := context.Background()
	if _, err := logstore.EnsureCheckpointStream(ctx, js, 1, nil); err != nil {
		t.Fatal(err)
	}
	write(t, db, 20)
	sealAll(t, db)
	if seq, err := logstore.ExportCheckpoint(ctx, db, js, testKeys(t), service, 0); err != nil || seq != 20 {
		t.Fatalf("export: %d %v", seq, err)
	}
	c := checkpointed{db: db, js: js}
	c.verifyWith = func(key []byte, id int, previous string) (string, error) {
		var out strings.Builder
		err := svc.VerifyAccessLog(ctx, service, svc.Config{DatabaseURL: dsn, AccessLogKey: base64.StdEncoding.EncodeToString(key), AccessLogKeyID: id, AccessLogPreviousKeys: previous}, js, &out)
		return out.String(), err
	}
	c.verify = func() (string, error) { return c.verifyWith(testKey, 1, "") }
	if out, err := c.verify(); err != nil || !strings.Contains(out, "intact") || !strings.Contains(out, "checkpoint of") {
		t.Fatalf("intact log with a checkpoint: %v\n%s", err, out)
	}
	return c
}

func mustTamper(t *testing.T, out string, err error, want ...string) {
	t.Helper()
	if err == nil || !strings.Contains(out, "TAMPERED") {
		t.Fatalf("tampering not reported: %v\n%s", err, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("want a finding mentioning %q:\n%s", w, out)
		}
	}
}

// The attack of issue 16: as superuser, delete the last entries and rewrite the head to the
// new end. The chain in the database is consistent again; the exported checkpoint is not.
func TestVerifyCatchesRemovedTailWithRewrittenHead(t *testing.T) {
	c := newCheckpointed(t)
	tamper(t, c.db, `DELETE FROM access_log WHERE seal_seq > 15;
		UPDATE access_log_head h SET seal_seq = 15, hash = l.hash FROM access_log l WHERE l.seal_seq = 15`)
	if rep := verify(t, c.db); !rep.OK() {
		t.Fatalf("without the checkpoint the database alone looks intact after this attack, which is the point; got %v", rep.Problems)
	}
	out, err := c.verify()
	mustTamper(t, out, err, "entries 16..20 were removed from the end")
}

// Recomputing the whole chain after an edit: without the key the MACs do not match; with an
// unkeyed (SHA-256) chain the entries carry no key; either way the checkpoint does not match.
func TestVerifyCatchesARecomputedChain(t *testing.T) {
	recompute := `UPDATE access_log SET outcome = 'DENIED' WHERE seal_seq = 3;
		UPDATE access_log SET seal_seq = NULL, prev_hash = NULL, hash = NULL, key_id = NULL;
		DELETE FROM access_log_head`
	t.Run("with another key", func(t *testing.T) {
		c := newCheckpointed(t)
		tamper(t, c.db, recompute)
		sealWith(t, c.db, keyRing(t, 1, otherKey, nil)) // same key id, the attacker's key
		out, err := c.verify()
		mustTamper(t, out, err, "does not match its MAC", "does not match the checkpoint")
		// Every MAC fails, as with a wrong key, but the checkpoint signed before verifies
		// with the configured key: this is tampering, not the key.
		if strings.Contains(out, "WRONG KEY") || strings.Contains(err.Error(), "check the key") {
			t.Errorf("a chain recomputed with another key must not be blamed on the configured key:\n%s", out)
		}
	})
	t.Run("without a key", func(t *testing.T) {
		c := newCheckpointed(t)
		tamper(t, c.db, recompute)
		sealWith(t, c.db, testKeys(t))
		// Strip the keys as an old-style (unkeyed) chain would look.
		tamper(t, c.db, `UPDATE access_log SET key_id = NULL`)
		out, err := c.verify()
		mustTamper(t, out, err, "sealed without a key")
	})
}

// A checkpoint changed in the export (here: one published with another head, its MAC kept)
// is reported, and the newest valid checkpoint is still used.
func TestVerifyCatchesAnEditedCheckpoint(t *testing.T) {
	c := newCheckpointed(t)
	ctx := context.Background()
	msg, err := mustStream(t, c.js).GetLastMsgForSubject(ctx, logstore.CheckpointSubject(service))
	if err != nil {
		t.Fatal(err)
	}
	var cp logstore.Checkpoint
	if err := json.Unmarshal(msg.Data, &cp); err != nil {
		t.Fatal(err)
	}
	cp.Seq, cp.Hash = 25, []byte("forged head")
	body, _ := json.Marshal(cp)
	if _, err := c.js.Publish(ctx, logstore.CheckpointSubject(service), body); err != nil {
		t.Fatal(err)
	}
	out, err := c.verify()
	mustTamper(t, out, err, "signature does not match (edited or forged checkpoint)")
	if !strings.Contains(out, "(entry 20)") {
		t.Errorf("the valid checkpoint (entry 20) must still be the one checked against:\n%s", out)
	}
	// The export refuses deleting or purging checkpoints (NATS permissions and the stream's
	// DenyDelete/DenyPurge).
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := mustStream(t, c.js).DeleteMsg(short, msg.Sequence); err == nil {
		t.Error("a checkpoint could be deleted from the stream")
	}
	if err := mustStream(t, c.js).Purge(short); err == nil {
		t.Error("the checkpoint stream could be purged")
	}
	if info, err := mustStream(t, c.js).Info(ctx); err != nil || !info.Config.DenyDelete || !info.Config.DenyPurge || info.Config.MaxAge != 0 {
		t.Errorf("checkpoint stream must refuse delete and purge and keep checkpoints without an age limit: %+v %v", info, err)
	}
}

func mustStream(t *testing.T, js jetstream.JetStream) jetstream.Stream {
	t.Helper()
	s, err := js.Stream(context.Background(), logstore.CheckpointStream)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Rotating the key: entries sealed under the old key id stay verifiable while that key is
// configured as a previous key; without it they are reported, not silently accepted.
func TestKeyRotationKeepsOldEntriesVerifiable(t *testing.T) {
	db := newDB(t)
	write(t, db, 10)
	sealAll(t, db) // key id 1
	rotated := keyRing(t, 2, otherKey, map[byte][]byte{1: testKey})
	write(t, db, 10)
	sealWith(t, db, rotated) // key id 2
	ctx := context.Background()
	rep, err := logstore.Verify(ctx, db, rotated, nil)
	if err != nil || !rep.OK() || rep.Sealed != 20 {
		t.Fatalf("after rotation: %+v %v", rep, err)
	}
	var ids []int
	rows, _ := db.Pool.Query(ctx, `SELECT DISTINCT key_id FROM access_log ORDER BY 1`)
	for rows.Next() {
		var id int
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	if len(ids) != 2 || ids[0] != 1 || ids[1] != 2 {
		t.Fatalf("entries must carry the key id they were sealed with: %v", ids)
	}
	// A checkpoint signed before the rotation verifies with the rotated ring too.
	old := testKeys(t).SignCheckpoint(service, 10, []byte("h"), time.Now())
	if err := rotated.VerifyCheckpoint(service, old); err != nil {
		t.Errorf("old checkpoint after rotation: %v", err)
	}
	rep, err = logstore.Verify(ctx, db, keyRing(t, 2, otherKey, nil), nil)
	if err != nil || rep.OK() || !strings.Contains(rep.Problems[0].String(), "key id 1, which is not configured") {
		t.Fatalf("without the old key: %+v %v", rep, err)
	}
}

// Operator test F9: verifying with another key than the one that sealed the log (a
// misconfiguration) is told from tampering: every entry fails its MAC and every checkpoint its
// signature, so the report points at the key, lists a few findings, not the whole log, and
// does not claim that no checkpoint was exported.
func TestVerifyWithAnotherKeyPointsAtTheKey(t *testing.T) {
	c := newCheckpointed(t)
	out, err := c.verifyWith(otherKey, 1, "")
	if err == nil || !strings.Contains(err.Error(), "does not verify with the configured key id 1: check the key before suspecting tampering") {
		t.Fatalf("want an error pointing at the key, got %v\n%s", err, out)
	}
	for _, want := range []string{
		"no exported checkpoint verifies (1 found that do not, listed below)",
		"WRONG KEY? every one of the 20 entries sealed with key id 1 fails its MAC, and so does the signature of every one of the 1 exported checkpoints signed with key id 1",
		"WIJKBRUG_ACCESSLOG_KEY with WIJKBRUG_ACCESSLOG_KEY_ID=1) is most likely not the key that sealed this log",
		"checkpoint signed with key id 1: signature does not match",
		"… and 17 more findings like these",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "no exported checkpoint yet") {
		t.Errorf("a checkpoint was exported:\n%s", out)
	}
	if n := strings.Count(out, "NOT VERIFIED"); n != 4 || strings.Contains(out, "TAMPERED") {
		t.Errorf("want three entries and the checkpoint listed, got %d lines:\n%s", n, out)
	}

	// After a rotation, a wrong previous key is named as such; the new key seals nothing yet.
	out, err = c.verifyWith(bytes.Repeat([]byte{0x32}, 32), 2, "1:"+base64.StdEncoding.EncodeToString(otherKey))
	if err == nil || !strings.Contains(out, "the key configured as id 1 (in WIJKBRUG_ACCESSLOG_PREVIOUS_KEYS) is most likely not the key") {
		t.Fatalf("a wrong previous key: %v\n%s", err, out)
	}

	// One edited entry under the right key is tampering, as before.
	tamper(t, c.db, `UPDATE access_log SET outcome = 'DENIED' WHERE seal_seq = 5`)
	out, err = c.verify()
	mustTamper(t, out, err, "seal_seq 5", "does not match its MAC under key id 1")
	if strings.Contains(out, "WRONG KEY") || !strings.Contains(err.Error(), "access log chain broken") {
		t.Errorf("one edited entry is tampering, not the key:\n%s\n%v", out, err)
	}
}
