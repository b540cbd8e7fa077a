package main

import (
	"context"
	"crypto/rand"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/encrypted"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
)

// notSealed are the bytea columns that hold no sealed value: event payloads (no personal
// data), request hashes, the access log's chain hashes, a parked event, and keyed blind
// indexes (HMACs, not ciphertexts).
var notSealed = map[string]bool{
	"outbox.payload": true, "idempotency_keys.request_hash": true, "access_log.prev_hash": true, "access_log.hash": true,
	"access_log_head.hash": true, "parked_events.data": true,
	"residents.bsn_index": true, "households.address_index": true,
	"signals.resident_bsn_index": true, "consents.resident_bsn_index": true, "referrals.resident_bsn_index": true,
}

// TestEncryptedColumnsRotate: every bytea column of every service's database is either listed
// as sealed (pkg/encrypted, what `migrate` re-encrypts) or known to hold no ciphertext; every
// sealed value the suite wrote opens with its column's associated data; and after a rotation
// to a new key, `migrate`'s re-encryption leaves every value readable by the new key alone.
func TestEncryptedColumnsRotate(t *testing.T) {
	t.Parallel()
	_, s := startSuite(t, 3*time.Minute, suite.Options{})
	env := newBolaEnv(t, s)
	f := setupBolaFixture(t, env)
	if _, err := env.invoke(t, "referral", accesslogv1.AccessLogService_StartEmergencyAccess_FullMethodName, actor{"night shift", "other-TEAM", "case_director"},
		&accesslogv1.StartEmergencyAccessRequest{ObjectType: "signal", ObjectId: f.signal, Reason: "resident in acute danger; own team unreachable", DurationMinutes: 15}); err != nil {
		t.Fatal(err)
	}
	keys, err := s.Keys()
	if err != nil {
		t.Fatal(err)
	}
	key := func(b64 string) []byte {
		k, err := bsn.ParseKey(b64)
		if err != nil {
			t.Fatal(err)
		}
		return k[:32]
	}
	protector := func(id byte, enc []byte, previous map[byte][]byte) *bsn.Protector {
		p, err := bsn.NewProtector(bsn.Keys{Encryption: enc, EncryptionKeyID: id, Previous: previous, Index: key(keys[1]), Pseudonym: key(keys[2])})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	current := protector(1, key(keys[0]), nil)
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		t.Fatal(err)
	}
	rotated := protector(2, fresh, map[byte][]byte{1: key(keys[0])})
	newOnly := protector(2, fresh, nil)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	specs := suite.Specs()
	opened := map[string]int{}
	for _, name := range slices.Sorted(maps.Keys(specs)) {
		cols := svc.EncryptedColumns(specs[name])
		db, err := pgxdb.Open(ctx, s.Postgres.DSN(name), 2)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()

		// Every bytea column is accounted for.
		rows, err := db.Pool.Query(ctx, `SELECT table_name || '.' || column_name FROM information_schema.columns
			WHERE table_schema = 'public' AND (data_type = 'bytea' OR udt_name = '_bytea')`)
		if err != nil {
			t.Fatal(err)
		}
		inSchema, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		listed := map[string]bool{}
		for _, c := range cols {
			listed[c.Name()] = true
			if !slices.Contains(inSchema, c.Name()) {
				t.Errorf("%s: %s is listed as sealed but is no bytea column of the schema", name, c.Name())
			}
		}
		for _, col := range inSchema {
			if !listed[col] && !notSealed[col] {
				t.Errorf("%s: bytea column %s is neither listed as sealed (its adapter's EncryptedColumns) nor known to hold no ciphertext", name, col)
			}
		}

		// Every value opens with its column's associated data, under the current key.
		before, err := encrypted.Verify(ctx, db, current, cols)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range before {
			if c.Unreadable > 0 || c.Sealed > 0 {
				t.Errorf("%s: %s: %d values do not open with the column's associated data, %d in clear", name, c.Column, c.Unreadable, c.Sealed)
			}
			opened[c.Column] += c.Opened
		}

		// The rotation: migrate re-encrypts under the new key; the new key alone reads it all.
		counts, err := encrypted.Reseal(ctx, db, rotated, cols)
		if err != nil {
			t.Fatal(err)
		}
		after, err := encrypted.Verify(ctx, db, newOnly, cols)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range after {
			if counts[i].Unreadable > 0 || c.Unreadable > 0 || c.Rewrapped > 0 || c.Opened != before[i].Opened || counts[i].Rewrapped != before[i].Opened {
				t.Errorf("%s: %s: re-encrypted %+v, then with the new key alone %+v (before: %+v)", name, c.Column, counts[i], c, before[i])
			}
		}
	}
	// The fixture wrote the values the test is about.
	for _, col := range []string{"residents.bsn_enc", "intakes.question_enc", "referrals.question_enc", "signals.resident_bsn_enc",
		"decisions.motivation_text", "decisions.rejection_grounds", "emergency_grants.reason_enc", "idempotency_keys.response"} {
		if opened[col] == 0 {
			t.Errorf("no value of %s was written, so none was checked", col)
		}
	}
}
