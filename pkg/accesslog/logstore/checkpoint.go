package logstore

import (
	"context"
	"crypto/hmac"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// Checkpoints of the chain head are exported out of the database, to a JetStream stream of
// their own: a database administrator who removes the end of the log and rewrites the head,
// or recomputes the whole chain, still has to match what was exported. The stream lives in
// another system with other administrators, keeps checkpoints for as long as the log is kept
// (no age limit), and refuses deleting or purging messages (DenyDelete, DenyPurge).
const (
	CheckpointStream = natsauth.CheckpointStream
	checkpointPrefix = natsauth.CheckpointSubjectPrefix
	checkpointTag    = "wijkbrug/accesslog/checkpoint/v1"
)

// CheckpointSubject is where the service's checkpoints go.
func CheckpointSubject(service string) string { return checkpointPrefix + service }

// Checkpoint vouches for the chain of one service up to a position: the hash of entry Seq.
// MAC is HMAC-SHA-256 under key KeyID over the other fields.
type Checkpoint struct {
	Service string    `json:"service"`
	Seq     int64     `json:"seal_seq"`
	Hash    []byte    `json:"hash"`
	KeyID   byte      `json:"key_id"`
	At      time.Time `json:"at"`
	MAC     []byte    `json:"mac"`
}

func (c Checkpoint) mac(keys *Keys) ([]byte, bool) {
	h, ok := keys.mac(c.KeyID)
	if !ok {
		return nil, false
	}
	var n [8]byte
	h.Write([]byte(checkpointTag))
	for _, part := range [][]byte{[]byte(c.Service), c.Hash, []byte(c.At.UTC().Format(time.RFC3339Nano))} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	binary.BigEndian.PutUint64(n[:], uint64(c.Seq))
	h.Write(n[:])
	h.Write([]byte{c.KeyID})
	return h.Sum(nil), true
}

// SignCheckpoint makes a checkpoint of (seq, hash) signed with the current key.
func (k *Keys) SignCheckpoint(service string, seq int64, hash []byte, at time.Time) Checkpoint {
	c := Checkpoint{Service: service, Seq: seq, Hash: hash, KeyID: k.current, At: at.UTC()}
	c.MAC, _ = c.mac(k)
	return c
}

// VerifyCheckpoint checks the checkpoint's signature (and that it is the service's).
func (k *Keys) VerifyCheckpoint(service string, c Checkpoint) error {
	if c.Service != service {
		return fmt.Errorf("checkpoint is of service %q, not %q", c.Service, service)
	}
	want, ok := c.mac(k)
	if !ok {
		return fmt.Errorf("checkpoint signed with key id %d, which is not configured", c.KeyID)
	}
	if !hmac.Equal(want, c.MAC) {
		return errors.New(BadCheckpointSignature(c.KeyID))
	}
	return nil
}

// BadCheckpointSignature is the finding of a checkpoint whose signature under key keyID does
// not match.
func BadCheckpointSignature(keyID byte) string {
	return fmt.Sprintf("checkpoint signed with key id %d: signature does not match (edited or forged checkpoint)", keyID)
}

// EnsureCheckpointStream creates the checkpoint stream (never updates it: natsx.DeclareStream).
func EnsureCheckpointStream(ctx context.Context, js jetstream.JetStream, replicas int, log *slog.Logger) (jetstream.Stream, error) {
	return natsx.DeclareStream(ctx, js, jetstream.StreamConfig{
		Name: CheckpointStream, Subjects: []string{checkpointPrefix + ">"},
		Storage: jetstream.FileStorage, Replicas: max(replicas, 1), Retention: jetstream.LimitsPolicy,
		Duplicates: 2 * time.Minute, DenyDelete: true, DenyPurge: true,
	}, log)
}

// ExportCheckpoint publishes a signed checkpoint of the current chain head when it moved
// past last (the position exported before); it returns the position now exported. Replicas
// exporting the same head publish the same message id, which JetStream stores once.
func ExportCheckpoint(ctx context.Context, db *pgxdb.DB, js jetstream.JetStream, keys *Keys, service string, last int64) (int64, error) {
	var (
		seq  int64
		hash []byte
	)
	err := db.Pool.QueryRow(ctx, `SELECT seal_seq, hash FROM access_log_head`).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && seq <= last) {
		return last, nil
	}
	if err != nil {
		return last, err
	}
	body, err := json.Marshal(keys.SignCheckpoint(service, seq, hash, time.Now()))
	if err != nil {
		return last, err
	}
	if _, err := js.Publish(ctx, CheckpointSubject(service), body, jetstream.WithMsgID(service+"-"+strconv.FormatInt(seq, 10))); err != nil {
		return last, err
	}
	return seq, nil
}

// RunCheckpoints exports a checkpoint every interval until ctx ends (a background task of
// every service, next to the sealer).
func RunCheckpoints(ctx context.Context, db *pgxdb.DB, js jetstream.JetStream, keys *Keys, service string, replicas int, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var last int64
	ready := false
	for {
		if !ready {
			_, err := EnsureCheckpointStream(ctx, js, replicas, log)
			ready = err == nil
			if err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "access-log checkpoint stream not ready; will retry", "error", err.Error())
			}
		}
		if ready {
			n, err := ExportCheckpoint(ctx, db, js, keys, service, last)
			if err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "exporting an access-log checkpoint failed; will retry", "error", err.Error())
			}
			last = n
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckpointFinding is what LatestCheckpoint found in the stream.
type CheckpointFinding struct {
	// Checkpoint is the newest checkpoint with a valid signature (nil: none).
	Checkpoint *Checkpoint
	// Invalid describes newer checkpoints whose signature failed: tampering with the export.
	Invalid []string
	// Signatures counts, per key id, the checkpoints of the service whose signature verified
	// under the configured key of that id and those whose signature did not match.
	Signatures map[byte]SignatureTally
}

// SignatureTally is how many checkpoints signed with one key id verified, and how many not.
type SignatureTally struct{ Valid, Bad int }

// LatestCheckpoint returns, of the last maxBack messages of the stream, the validly signed
// checkpoint of service that vouches for the furthest position, and reports every one that
// is not validly signed (an edited or forged checkpoint).
func LatestCheckpoint(ctx context.Context, js jetstream.JetStream, keys *Keys, service string, maxBack int) (CheckpointFinding, error) {
	var f CheckpointFinding
	stream, err := js.Stream(ctx, CheckpointStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return f, nil
	}
	if err != nil {
		return f, err
	}
	subject := CheckpointSubject(service)
	msg, err := stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return f, nil
	}
	if err != nil {
		return f, err
	}
	for n := 0; msg != nil && n < maxBack; n++ {
		if msg.Subject == subject {
			var c Checkpoint
			err := json.Unmarshal(msg.Data, &c)
			if err == nil {
				err = keys.VerifyCheckpoint(service, c)
				if _, configured := keys.mac(c.KeyID); configured && c.Service == service {
					if f.Signatures == nil {
						f.Signatures = map[byte]SignatureTally{}
					}
					t := f.Signatures[c.KeyID]
					if err == nil {
						t.Valid++
					} else {
						t.Bad++
					}
					f.Signatures[c.KeyID] = t
				}
			}
			switch {
			case err != nil:
				f.Invalid = append(f.Invalid, fmt.Sprintf("checkpoint at stream sequence %d: %v", msg.Sequence, err))
			case f.Checkpoint == nil || c.Seq > f.Checkpoint.Seq:
				// The furthest position wins: an old valid checkpoint published again as the
				// newest message must not lower the bar.
				f.Checkpoint = &c
			}
		}
		if msg.Sequence <= 1 {
			break
		}
		msg, err = stream.GetMsg(ctx, msg.Sequence-1)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			msg = nil
			continue
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}
