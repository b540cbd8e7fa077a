package accesslog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// sealerLock elects one sealer per database; other replicas skip the round.
const sealerLock int64 = 0x6163636c6f67 // "acclog"

const entryColumns = `id, at, action, object_type, object_id, resident_pseudonym, user_id, role, org_oin, org_type,
	on_behalf_of, purpose, access_point, route, outcome, trace_id`

type row struct {
	id                                                                int64
	at                                                                time.Time
	action, objectType, objectID, pseudonym, user, role, oin, orgType string
	onBehalfOf, purpose, accessPoint, route, outcome, traceID         string
	sealSeq                                                           *int64
	prevHash, hash                                                    []byte
}

func (r *row) scanTargets() []any {
	return []any{&r.id, &r.at, &r.action, &r.objectType, &r.objectID, &r.pseudonym, &r.user, &r.role, &r.oin, &r.orgType,
		&r.onBehalfOf, &r.purpose, &r.accessPoint, &r.route, &r.outcome, &r.traceID}
}

// digest is SHA-256 over the previous hash, the position in the chain and every column, each
// length-prefixed so that no two different entries serialise alike.
func (r *row) digest(prev []byte, seq int64) []byte {
	h := sha256.New()
	h.Write(prev)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(r.id))
	h.Write(n[:])
	for _, s := range []string{r.at.UTC().Format("2006-01-02T15:04:05.000000Z"), r.action, r.objectType, r.objectID, r.pseudonym,
		r.user, r.role, r.oin, r.orgType, r.onBehalfOf, r.purpose, r.accessPoint, r.route, r.outcome, r.traceID} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

// Seal chains the entries not sealed yet, in id order, and moves the head. It returns how
// many it sealed. Safe to call from several replicas: one seals, the others return 0.
func Seal(ctx context.Context, db *pgxdb.DB, batch int) (int, error) {
	if batch <= 0 {
		batch = 1000
	}
	sealed := 0
	err := db.Tx(ctx, func(ctx context.Context) error {
		q := db.Q(ctx)
		var got bool
		if err := q.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, sealerLock).Scan(&got); err != nil || !got {
			return err
		}
		var seq int64
		prev := []byte{}
		err := q.QueryRow(ctx, `SELECT seal_seq, hash FROM access_log_head`).Scan(&seq, &prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		rows, err := q.Query(ctx, `SELECT `+entryColumns+` FROM access_log WHERE seal_seq IS NULL ORDER BY id LIMIT $1`, batch)
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
		b := &pgx.Batch{}
		for _, r := range pending {
			seq++
			h := r.digest(prev, seq)
			b.Queue(`UPDATE access_log SET seal_seq = $2, prev_hash = $3, hash = $4 WHERE id = $1`, r.id, seq, prev, h)
			prev = h
		}
		b.Queue(`INSERT INTO access_log_head (singleton, seal_seq, hash, sealed_at) VALUES (true, $1, $2, now())
			ON CONFLICT (singleton) DO UPDATE SET seal_seq = EXCLUDED.seal_seq, hash = EXCLUDED.hash, sealed_at = now()`, seq, prev)
		if err := q.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		sealed = len(pending)
		return nil
	})
	return sealed, err
}

// RunSealer seals every interval until ctx ends (a background task of every service).
func RunSealer(ctx context.Context, db *pgxdb.DB, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := Seal(ctx, db, 1000)
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
	Problems       []Problem
}

// OK reports whether the chain is intact.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify walks the chain from the first sealed entry to the head and reports every entry
// whose content, position or link does not match: an edited entry (its hash), a deleted one
// (a missing position or a broken link), entries swapped or reordered (hash and links), and a
// removed tail (the head record).
func Verify(ctx context.Context, db *pgxdb.DB) (Report, error) {
	var rep Report
	rows, err := db.Pool.Query(ctx, `SELECT `+entryColumns+`, seal_seq, prev_hash, hash FROM access_log WHERE seal_seq IS NOT NULL ORDER BY seal_seq`)
	if err != nil {
		return rep, err
	}
	defer rows.Close()
	prev := []byte{}
	var expect int64 = 1
	for rows.Next() {
		var r row
		if err := rows.Scan(append(r.scanTargets(), &r.sealSeq, &r.prevHash, &r.hash)...); err != nil {
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
		if !bytes.Equal(r.digest(r.prevHash, seq), r.hash) {
			rep.Problems = append(rep.Problems, Problem{seq, r.id, "content does not match its hash (edited entry)"})
		}
		prev, expect = r.hash, seq+1
	}
	if err := rows.Err(); err != nil {
		return rep, err
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
	var oldest *time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), min(at) FROM access_log WHERE seal_seq IS NULL`).Scan(&rep.Unsealed, &oldest); err != nil {
		return rep, err
	}
	if oldest != nil {
		rep.OldestUnsealed = time.Since(*oldest)
	}
	return rep, nil
}
