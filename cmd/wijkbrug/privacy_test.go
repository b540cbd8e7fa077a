package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
)

var nineDigits = regexp.MustCompile(`\b[0-9]{9}\b`)

// plaintextBSNs returns every 9-digit number in b that passes the 11-proef (any such number
// could be a BSN), plus the known BSNs used in the run.
func plaintextBSNs(b []byte, known []string) []string {
	var found []string
	for _, m := range nineDigits.FindAll(b, -1) {
		if bsn.Validate(string(m)) == nil {
			found = append(found, string(m))
		}
	}
	for _, k := range known {
		if bytes.Contains(b, []byte(k)) {
			found = append(found, k)
		}
	}
	return found
}

// contexts returns the log lines around the first few findings, so a failure can be told from
// a number that only looks like a BSN.
func contexts(b []byte, found []string) string {
	var out []string
	for _, f := range found {
		i := bytes.Index(b, []byte(f))
		if i < 0 {
			continue
		}
		start, end := max(0, i-200), min(len(b), i+len(f)+60)
		out = append(out, string(b[start:end]))
		if len(out) == 3 {
			break
		}
	}
	return strings.Join(out, "\n---\n")
}

// syncBuffer is a log sink shared by the four services, or a command's output read while it
// runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// scanForBSNs is the privacy check of the walking skeleton: a database dump of every service,
// every log line and every message on every stream, searched for plaintext BSNs.
func scanForBSNs(t *testing.T, s *suite.Suite, logs []byte, known []string) {
	t.Helper()
	scanDatabases(t, s, known)
	if !bytes.Contains(logs, []byte(`"msg":"rpc"`)) {
		t.Fatalf("no service logs captured (%d bytes)", len(logs))
	}
	if f := plaintextBSNs(logs, known); len(f) > 0 {
		t.Errorf("logs hold plaintext BSN-like values: %v\nin: %s", f, contexts(logs, f))
	}
	js := jetStreamAs(t, s, s.Observer)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	messages := 0
	for _, svc := range []string{"intake", "casedirection", "providermonitoring", "referral"} {
		stream, err := js.Stream(ctx, natsx.StreamName(svc))
		if err != nil {
			t.Fatal(err)
		}
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
			m, err := stream.GetMsg(ctx, seq)
			if err != nil {
				t.Fatal(err)
			}
			messages++
			raw := fmt.Appendf(nil, "%s %v %s", m.Subject, m.Header, m.Data)
			if f := plaintextBSNs(raw, known); len(f) > 0 {
				t.Errorf("stream %s message %d (%s) holds plaintext BSN-like values: %v", svc, seq, m.Subject, f)
			}
		}
	}
	if messages < 10 {
		t.Fatalf("only %d messages on the streams: the scan saw too little", messages)
	}
	t.Logf("scanned 4 database dumps, %d bytes of logs and %d stream messages: no plaintext BSN", len(logs), messages)
}

// scanDatabases dumps every service's database and searches it, with every bytea value
// decoded, for plaintext BSNs and the known plaintexts (BSNs and confidential free text the
// test sent). A bytea column (a stored answer, an event's payload) holds protobuf bytes,
// which pg_dump prints as hex: a BSN in it is found only once decoded.
func scanDatabases(t *testing.T, s *suite.Suite, known []string) {
	t.Helper()
	binDir, err := embeddedpg.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range []string{"intake", "casedirection", "providermonitoring", "referral"} {
		out, err := exec.Command(filepath.Join(binDir, "pg_dump"), "--no-owner", s.Postgres.DSN(db)).Output()
		if err != nil {
			t.Fatalf("pg_dump %s: %v", db, err)
		}
		if len(out) < 1000 {
			t.Fatalf("pg_dump %s: suspiciously small dump (%d bytes)", db, len(out))
		}
		if f := plaintextBSNs(out, known); len(f) > 0 {
			t.Errorf("database %s holds plaintext BSN-like values or known plaintext: %v\nin: %s", db, f, contexts(out, f))
		}
		decoded, n := decodedBytea(out)
		if n == 0 {
			t.Fatalf("pg_dump %s: no bytea value found to decode (has the dump's form changed?)", db)
		}
		if f := plaintextBSNs(decoded, known); len(f) > 0 {
			t.Errorf("database %s holds plaintext BSN-like values or known plaintext in bytea: %v\nin: %q", db, f, contexts(decoded, f))
		}
	}
}

// byteaHex is a bytea value in pg_dump's COPY output (hex format, its backslash escaped).
var byteaHex = regexp.MustCompile(`\\\\x((?:[0-9a-f]{2})+)`)

// decodedBytea returns every bytea value of a dump decoded, one per line, and how many.
func decodedBytea(dump []byte) ([]byte, int) {
	var out []byte
	n := 0
	for _, m := range byteaHex.FindAllSubmatch(dump, -1) {
		b, err := hex.DecodeString(string(m[1]))
		if err != nil {
			continue
		}
		out = append(append(out, b...), '\n')
		n++
	}
	return out, n
}

func TestScannerFindsPlaintextBSN(t *testing.T) {
	hexLike := []byte(`\x01a1234567893f` + ` 3f8a2b4c-1111-2222-3333-123456789012 TW0000000001`)
	if f := plaintextBSNs(hexLike, nil); len(f) != 0 {
		t.Fatalf("false positives in hex, uuids and numbers: %v", f)
	}
	if f := plaintextBSNs([]byte(`{"bsn":"123456782"}`), nil); len(f) != 1 {
		t.Fatalf("a BSN in JSON must be found: %v", f)
	}
	if f := plaintextBSNs([]byte(`x 111222333 y`), []string{"999999990"}); len(f) != 1 || !strings.Contains(f[0], "111222333") {
		t.Fatalf("got %v", f)
	}
	// A BSN and a question inside protobuf bytes, as pg_dump prints a bytea column in COPY.
	dump := []byte("1\t\\\\x" + hex.EncodeToString([]byte("\x0a\x09123456782\x12\x13looking for a buddy")) + "\t\\N\n")
	decoded, n := decodedBytea(dump)
	if f := plaintextBSNs(decoded, []string{"looking for a buddy"}); n != 1 || len(f) != 2 {
		t.Fatalf("bytea: %d values decoded, found %v in %q", n, f, decoded)
	}
}
