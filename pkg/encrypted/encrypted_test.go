package encrypted_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/encrypted"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

func protector(t *testing.T, id byte, key byte, previous map[byte][]byte) *bsn.Protector {
	t.Helper()
	p, err := bsn.NewProtector(bsn.Keys{Encryption: bytes.Repeat([]byte{key}, 32), EncryptionKeyID: id, Previous: previous,
		Index: bytes.Repeat([]byte{7}, 32), Pseudonym: bytes.Repeat([]byte{8}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// After a key rotation Reseal re-encrypts every value under the retired key (bytea and
// bytea[] columns, associated data of the column or of the row, the rows a Where names only),
// seals what an earlier release stored in clear, counts what no configured key opens and
// leaves it, and a second run finds nothing to do. Verify then opens every value with the new
// key alone.
func TestResealAfterARotation(t *testing.T) {
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "encrypted", func(ctx context.Context, dsn string) error {
		db, err := pgxdb.Open(ctx, dsn, 1)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Pool.Exec(ctx, `
			CREATE TABLE notes (id uuid PRIMARY KEY, body_enc bytea, body text NOT NULL DEFAULT '', kept boolean NOT NULL DEFAULT true);
			CREATE TABLE minutes (id int PRIMARY KEY, decisions bytea[] NOT NULL)`)
		return err
	})
	db, err := pgxdb.Open(ctx, dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := protector(t, 1, 1, nil)
	stranger := protector(t, 9, 9, nil) // a key nobody configures any more
	rowAAD := func(k []string) string { return "notes.body:" + k[0] }
	cols := []encrypted.Column{
		{Table: "notes", Column: "body_enc", Plain: "body", Key: []string{"id"}, AAD: rowAAD, Where: "kept"},
		{Table: "minutes", Column: "decisions", Array: true, AAD: encrypted.Constant("minutes.decisions")},
	}
	ids := []string{"00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003",
		"00000000-0000-4000-8000-000000000004", "00000000-0000-4000-8000-000000000005"}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO notes (id, body_enc) VALUES ($1, $2), ($3, $4)`, ids[0], old.Seal("first", rowAAD(ids[:1])), ids[1], old.Seal("second", rowAAD(ids[1:2])))
	exec(`INSERT INTO notes (id, body_enc) VALUES ($1, $2)`, ids[2], stranger.Seal("lost", rowAAD(ids[2:3])))
	exec(`INSERT INTO notes (id, body) VALUES ($1, 'stored in clear by an earlier release')`, ids[3])
	exec(`INSERT INTO notes (id, body_enc, kept) VALUES ($1, $2, false)`, ids[4], old.Seal("not ours", "elsewhere"))
	exec(`INSERT INTO minutes VALUES (1, $1)`, [][]byte{old.Seal("continue", "minutes.decisions"), old.Seal("visit", "minutes.decisions")})

	rotated := protector(t, 2, 2, map[byte][]byte{1: bytes.Repeat([]byte{1}, 32)})
	counts, err := encrypted.Reseal(ctx, db, rotated, cols)
	if err != nil {
		t.Fatal(err)
	}
	want := []encrypted.Count{{Column: "notes.body_enc", Rewrapped: 2, Sealed: 1, Unreadable: 1}, {Column: "minutes.decisions", Rewrapped: 1}}
	if len(counts) != 2 || counts[0] != want[0] || counts[1] != want[1] {
		t.Fatalf("first run: %+v, want %+v", counts, want)
	}
	if again, err := encrypted.Reseal(ctx, db, rotated, cols); err != nil || again[0] != (encrypted.Count{Column: "notes.body_enc", Unreadable: 1}) ||
		again[1] != (encrypted.Count{Column: "minutes.decisions"}) {
		t.Fatalf("second run: %+v %v", again, err)
	}

	// The new key alone reads every value but the stranger's; nothing is left in clear.
	newOnly := protector(t, 2, 2, nil)
	checked, err := encrypted.Verify(ctx, db, newOnly, cols[:1])
	if err != nil || checked[0] != (encrypted.Count{Column: "notes.body_enc", Unreadable: 1, Opened: 3}) {
		t.Fatalf("verify with the new key alone: %+v %v", checked, err)
	}
	var body []byte
	var plain string
	if err := db.Pool.QueryRow(ctx, `SELECT body_enc, body FROM notes WHERE id = $1`, ids[3]).Scan(&body, &plain); err != nil {
		t.Fatal(err)
	}
	if got, err := newOnly.Open(body, rowAAD(ids[3:4])); err != nil || got != "stored in clear by an earlier release" || plain != "" {
		t.Fatalf("the text stored in clear: %q %v, left in clear %q", got, err, plain)
	}
	var decisions [][]byte
	if err := db.Pool.QueryRow(ctx, `SELECT decisions FROM minutes WHERE id = 1`).Scan(&decisions); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"continue", "visit"} {
		if got, err := newOnly.Open(decisions[i], "minutes.decisions"); err != nil || got != want {
			t.Fatalf("decision %d: %q %v", i, got, err)
		}
	}
	// The row the Where leaves out is not touched: it is not this column's.
	if err := db.Pool.QueryRow(ctx, `SELECT body_enc FROM notes WHERE id = $1`, ids[4]).Scan(&body); err != nil || body[0] != 1 {
		t.Fatalf("a row outside Where was changed: %x %v", body, err)
	}
	// A key given under the id of another (a typing error in the rotation) is refused before
	// anything is written.
	var wrong *encrypted.WrongKeyError
	if _, err := encrypted.Reseal(ctx, db, protector(t, 2, 3, map[byte][]byte{1: bytes.Repeat([]byte{1}, 32)}), cols); !errors.As(err, &wrong) ||
		wrong.KeyID != 2 || len(wrong.Columns) != 2 {
		t.Fatalf("a wrong key under id 2: %v", err)
	}
	if r := encrypted.Report("svc", counts); !bytes.Contains([]byte(r), []byte("notes.body_enc: 2 re-encrypted under the current key, 1 sealed that were stored in clear, 1 NOT READABLE")) {
		t.Fatalf("report: %q", r)
	}
}

func TestMain(m *testing.M) { testkit.Main(m) }
