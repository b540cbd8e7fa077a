package logstore

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// sealerLock elects one sealer per database; other replicas skip the round.
const sealerLock int64 = 0x6163636c6f67 // "acclog"

const entryColumns = `id, at, action, object_type, object_id, resident_pseudonym, user_id, role, org_oin, org_type,
	on_behalf_of, purpose, access_point, route, outcome, trace_id, shown_objects, shown_residents`

type row struct {
	id                                                                int64
	at                                                                time.Time
	action, objectType, objectID, pseudonym, user, role, oin, orgType string
	onBehalfOf, purpose, accessPoint, route, outcome, traceID         string
	// A list entry's arrays; pgtype.Text, so that an element set to NULL is read (see digest).
	shownObjects, shownResidents []pgtype.Text
	sealSeq                      *int64
	keyID                        *int16
	prevHash, hash               []byte
}

func (r *row) scanTargets() []any {
	return []any{&r.id, &r.at, &r.action, &r.objectType, &r.objectID, &r.pseudonym, &r.user, &r.role, &r.oin, &r.orgType,
		&r.onBehalfOf, &r.purpose, &r.accessPoint, &r.route, &r.outcome, &r.traceID, &r.shownObjects, &r.shownResidents}
}

// chainTag separates the keyed chain's MACs from any other use of the keys.
const chainTag = "wijkbrug/accesslog/chain/v2"

// digest is HMAC-SHA-256 under key keyID over the previous hash, the position in the chain,
// the key id and every column, each length-prefixed so that no two different entries
// serialise alike. ok is false when the ring lacks the key.
func (r *row) digest(keys *Keys, keyID byte, prev []byte, seq int64) (sum []byte, ok bool) {
	h, ok := keys.mac(keyID)
	if !ok {
		return nil, false
	}
	h.Write([]byte(chainTag))
	h.Write(prev)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	h.Write(n[:])
	h.Write([]byte{keyID})
	binary.BigEndian.PutUint64(n[:], uint64(r.id))
	h.Write(n[:])
	str := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	for _, s := range []string{r.at.UTC().Format("2006-01-02T15:04:05.000000Z"), r.action, r.objectType, r.objectID, r.pseudonym,
		r.user, r.role, r.oin, r.orgType, r.onBehalfOf, r.purpose, r.accessPoint, r.route, r.outcome, r.traceID} {
		str(s)
	}
	// A list entry's objects and residents follow, counted, pair by pair. An entry about one
	// object has none and adds nothing, so entries sealed before list entries existed keep
	// their MACs; the count keeps the two forms apart.
	if len(r.shownObjects) > 0 || len(r.shownResidents) > 0 {
		binary.BigEndian.PutUint64(n[:], uint64(len(r.shownObjects)))
		h.Write(n[:])
		binary.BigEndian.PutUint64(n[:], uint64(len(r.shownResidents)))
		h.Write(n[:])
		// No element is ever NULL as written. PostgreSQL text holds no NUL byte, so an element
		// set to NULL past the trigger and the CHECK is hashed as "\x00", which cannot match
		// what was sealed: Verify reports the entry instead of failing on the scan.
		for _, list := range [][]pgtype.Text{r.shownObjects, r.shownResidents} {
			for _, t := range list {
				if !t.Valid {
					t.String = "\x00"
				}
				str(t.String)
			}
		}
	}
	return h.Sum(nil), true
}

// Seal chains the entries not sealed yet, in id order, under the current key of keys, and
// moves the head. It returns how many it sealed. Safe to call from several replicas: one
// seals, the others return 0. Entries are sealed after they commit, so every entry is
// covered however it was inserted (one by one or in batches).
func Seal(ctx context.Context, db *pgxdb.DB, keys *Keys, batch int) (int, error) {
	if batch <= 0 {
		batch = 1000
	}
	sealed := 0
	err := db.Tx(ctx, func(ctx context.Context) error {
		q := db.Q(ctx)
		// One round trip: the lock, the head, and the entries to seal. When another replica
		// holds the lock the reads are dropped unused. The read and the UPDATE get the plan
		// pgxdb.IndexScanPlan sets: the index of unsealed entries, in order, up to the batch.
		b := &pgx.Batch{}
		b.Queue(`SELECT pg_try_advisory_xact_lock($1)`, sealerLock)
		b.Queue(`SELECT seal_seq, hash FROM access_log_head`)
		for _, set := range pgxdb.IndexScanPlan {
			b.Queue(set)
		}
		b.Queue(`SELECT `+entryColumns+` FROM access_log WHERE seal_seq IS NULL ORDER BY id LIMIT $1`, batch)
		reads := q.SendBatch(ctx, b)
		defer reads.Close()
		var got bool
		if err := reads.QueryRow().Scan(&got); err != nil || !got {
			return err
		}
		var seq int64
		prev := []byte{}
		err := reads.QueryRow().Scan(&seq, &prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		for range pgxdb.IndexScanPlan {
			if _, err := reads.Exec(); err != nil {
				return err
			}
		}
		rows, err := reads.Query()
		if err != nil {
			return err
		}
		var pending []row
		for rows.Next() {
			var r row
			if err := rows.Scan(r.scanTargets()...); err != nil {
				rows.Close()
				return err
			}
			pending = append(pending, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(pending) == 0 {
			return err
		}
		if err := reads.Close(); err != nil {
			return err
		}
		// One UPDATE for the whole batch (rows joined from arrays), not one per entry: the
		// sealer shares the database with the request path.
		keyID := keys.CurrentID()
		ids, seqs := make([]int64, len(pending)), make([]int64, len(pending))
		prevs, hashes := make([][]byte, len(pending)), make([][]byte, len(pending))
		for i, r := range pending {
			seq++
			h, _ := r.digest(keys, keyID, prev, seq)
			ids[i], seqs[i], prevs[i], hashes[i] = r.id, seq, prev, h
			prev = h
		}
		// The UPDATE is planned for the batch it gets (pgxdb.IndexScanPlan, still in force):
		// a generic plan made while the log was nearly empty joined the batch against a
		// sequential scan of the whole log, and PostgreSQL kept it in use as the log grew.
		b = &pgx.Batch{}
		b.Queue(`UPDATE access_log a SET seal_seq = s.seq, prev_hash = s.prev, hash = s.hash, key_id = $5
			FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[]) AS s(id, seq, prev, hash)
			WHERE a.id = s.id AND a.seal_seq IS NULL`, ids, seqs, prevs, hashes, int16(keyID))
		b.Queue(`INSERT INTO access_log_head (singleton, seal_seq, hash, key_id, sealed_at) VALUES (true, $1, $2, $3, now())
			ON CONFLICT (singleton) DO UPDATE SET seal_seq = EXCLUDED.seal_seq, hash = EXCLUDED.hash, key_id = EXCLUDED.key_id, sealed_at = now()`, seq, prev, int16(keyID))
		br := q.SendBatch(ctx, b)
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return err
		}
		if tag.RowsAffected() != int64(len(pending)) {
			// Only this transaction seals (the advisory lock), so this cannot happen; if it did,
			// moving the head would break the chain: roll back instead.
			_ = br.Close()
			return fmt.Errorf("sealing: %d of %d entries updated", tag.RowsAffected(), len(pending))
		}
		if err := br.Close(); err != nil {
			return err
		}
		sealed = len(pending)
		return nil
	})
	return sealed, err
}

// RunSealer seals every interval until ctx ends (a background task of every service).
func RunSealer(ctx context.Context, db *pgxdb.DB, keys *Keys, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := Seal(ctx, db, keys, 1000)
			if err != nil {
				if ctx.Err() == nil {
					log.WarnContext(ctx, "access log sealing failed; will retry", "error", err.Error())
				}
				break
			}
			if n < 1000 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Problem is one finding of Verify.
type Problem struct {
	SealSeq int64
	ID      int64
	What    string
}

func (p Problem) String() string {
	return fmt.Sprintf("seal_seq %d (entry id %d): %s", p.SealSeq, p.ID, p.What)
}

// Report is the outcome of Verify.
type Report struct {
	Sealed   int64
	Unsealed int64
	// OldestUnsealed is the age of the oldest unsealed entry (a stuck sealer shows here).
	OldestUnsealed time.Duration
	// Checkpoint is the exported checkpoint the chain was checked against (nil: none).
	Checkpoint *Checkpoint
	Problems   []Problem
	// MACs counts, per key id, the entries whose MAC was checked under the configured key of
	// that id and how many did not match. All of them failing points at the key, not the log
	// (see VerifyAccessLog in pkg/svc).
	MACs map[byte]MACTally
}

// MACTally is how many entries sealed with one key id were checked, and how many failed.
type MACTally struct{ Checked, Failed int64 }

// MACMismatch is the finding of an entry whose MAC under key keyID does not match.
func MACMismatch(keyID byte) string {
	return fmt.Sprintf("content does not match its MAC under key id %d (edited entry, or a chain recomputed without the key)", keyID)
}

// OK reports whether the chain is intact.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify walks the chain from the first sealed entry to the head and reports every entry
// whose content, position or link does not match: an edited entry (its MAC), a deleted one
// (a missing position or a broken link), entries swapped or reordered (MACs and links), and a
// removed tail (the head record). An entry sealed without a key, or with a key the ring does
// not hold, cannot be told from a forgery and is reported too. With a checkpoint (exported
// outside the database and checked by VerifyCheckpoint), the chain must still reach the
// checkpoint's position with the checkpoint's hash: that catches a removed tail whose head
// record was rewritten to match, and a chain recomputed from some point on.
func Verify(ctx context.Context, db *pgxdb.DB, keys *Keys, cp *Checkpoint) (Report, error) {
	var rep Report
	rows, err := db.Pool.Query(ctx, `SELECT `+entryColumns+`, seal_seq, key_id, prev_hash, hash FROM access_log WHERE seal_seq IS NOT NULL ORDER BY seal_seq`)
	if err != nil {
		return rep, err
	}
	defer rows.Close()
	prev := []byte{}
	var expect int64 = 1
	var atCheckpoint []byte
	unkeyed, unknownKey := 0, map[int16]int{}
	for rows.Next() {
		var r row
		if err := rows.Scan(append(r.scanTargets(), &r.sealSeq, &r.keyID, &r.prevHash, &r.hash)...); err != nil {
			return rep, err
		}
		seq := *r.sealSeq
		rep.Sealed++
		if seq != expect {
			rep.Problems = append(rep.Problems, Problem{seq, r.id, fmt.Sprintf("entries %d..%d are missing (deleted)", expect, seq-1)})
		}
		if !bytes.Equal(r.prevHash, prev) {
			rep.Problems = append(rep.Problems, Problem{seq, r.id, "link to the previous entry is broken (deleted or reordered entries)"})
		}
		switch {
		case r.keyID == nil:
			if unkeyed++; unkeyed <= 3 {
				rep.Problems = append(rep.Problems, Problem{seq, r.id, "sealed without a key: cannot be told from a recomputed chain"})
			}
		case *r.keyID < 1 || *r.keyID > 255:
			rep.Problems = append(rep.Problems, Problem{seq, r.id, fmt.Sprintf("key id %d is not a key id (recomputed chain)", *r.keyID)})
		default:
			id := byte(*r.keyID)
			sum, ok := r.digest(keys, id, r.prevHash, seq)
			if ok {
				if rep.MACs == nil {
					rep.MACs = map[byte]MACTally{}
				}
				t := rep.MACs[id]
				t.Checked++
				if !hmac.Equal(sum, r.hash) {
					t.Failed++
				}
				rep.MACs[id] = t
			}
			switch {
			case !ok:
				if unknownKey[*r.keyID]++; unknownKey[*r.keyID] <= 3 {
					rep.Problems = append(rep.Problems, Problem{seq, r.id, fmt.Sprintf("sealed with key id %d, which is not configured (add it to the previous keys, or the chain was recomputed)", *r.keyID)})
				}
			case !hmac.Equal(sum, r.hash):
				rep.Problems = append(rep.Problems, Problem{seq, r.id, MACMismatch(id)})
			}
		}
		if cp != nil && seq == cp.Seq {
			atCheckpoint = r.hash
		}
		prev, expect = r.hash, seq+1
	}
	if err := rows.Err(); err != nil {
		return rep, err
	}
	if unkeyed > 3 {
		rep.Problems = append(rep.Problems, Problem{0, 0, fmt.Sprintf("%d entries in all sealed without a key", unkeyed)})
	}
	var headSeq int64
	var headHash []byte
	err = db.Pool.QueryRow(ctx, `SELECT seal_seq, hash FROM access_log_head`).Scan(&headSeq, &headHash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if rep.Sealed > 0 {
			rep.Problems = append(rep.Problems, Problem{expect - 1, 0, "chain head record is missing"})
		}
	case err != nil:
		return rep, err
	case headSeq != expect-1 || !bytes.Equal(headHash, prev):
		rep.Problems = append(rep.Problems, Problem{headSeq, 0, fmt.Sprintf("chain ends at %d but the head says %d (entries removed from the end)", expect-1, headSeq)})
	}
	if cp != nil {
		rep.Checkpoint = cp
		switch {
		case expect-1 < cp.Seq:
			rep.Problems = append(rep.Problems, Problem{cp.Seq, 0, fmt.Sprintf("chain ends at %d but the checkpoint exported at %s vouches for %d entries: entries %d..%d were removed from the end (and the head rewritten)",
				expect-1, cp.At.Format(time.RFC3339), cp.Seq, expect, cp.Seq)})
		case !hmac.Equal(atCheckpoint, cp.Hash):
			rep.Problems = append(rep.Problems, Problem{cp.Seq, 0, fmt.Sprintf("entry %d does not match the checkpoint exported at %s: the chain was rewritten or recomputed up to there", cp.Seq, cp.At.Format(time.RFC3339))})
		}
	}
	var oldest *time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), min(at) FROM access_log WHERE seal_seq IS NULL`).Scan(&rep.Unsealed, &oldest); err != nil {
		return rep, err
	}
	if oldest != nil {
		rep.OldestUnsealed = time.Since(*oldest)
	}
	return rep, nil
}
