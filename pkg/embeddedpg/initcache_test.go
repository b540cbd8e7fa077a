package embeddedpg

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestNewClustersCopyTheInitdbCache: the first cluster's initdb result is kept (with
// Options.DeferInitCache: not before KeepInitResult), untouched by the server that then ran
// in it, and the next new cluster is a copy of it (the same system identifier, which initdb
// draws at random) that serves with its own passwords over TLS; with the cache off a cluster
// runs initdb of its own; a damaged entry is replaced, and a start that fails on a port
// another program holds leaves the entry be.
func TestNewClustersCopyTheInitdbCache(t *testing.T) {
	skipWithoutPostgres(t)
	ctx := t.Context()
	cache := t.TempDir()
	start := func(initCache string, deferred bool) (*Cluster, uint64) {
		t.Helper()
		c, err := Start(ctx, Options{InitCache: initCache, DeferInitCache: deferred})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Stop() })
		conn, err := pgx.Connect(ctx, c.DSN("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var id uint64
		var ssl bool
		if err := conn.QueryRow(ctx, `SELECT (SELECT system_identifier FROM pg_control_system()),
			(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())`).Scan(&id, &ssl); err != nil {
			t.Fatal(err)
		}
		if !ssl {
			t.Errorf("the connection to %s is not encrypted", c.Dir())
		}
		return c, id
	}

	// The first cluster runs initdb and, deferred, stores its result only when asked: by then
	// postgres has run in the data directory, yet the entry is initdb's output.
	first, firstID := start(cache, true)
	if entries, _ := filepath.Glob(filepath.Join(cache, "pg-*")); len(entries) != 0 {
		t.Errorf("cache entries before KeepInitResult: %v, want none", entries)
	}
	first.KeepInitResult()
	entries, err := filepath.Glob(filepath.Join(cache, "pg-*"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("cache entries after the first cluster: %v (%v), want one", entries, err)
	}
	if _, err := os.Stat(filepath.Join(entries[0], "PG_VERSION")); err != nil {
		t.Fatalf("the cache entry is not a data directory: %v", err)
	}
	for _, written := range []string{"postmaster.pid", "server.crt", "server.key"} {
		if _, err := os.Stat(filepath.Join(entries[0], written)); err == nil {
			t.Errorf("the cache entry has %s: it is the running cluster's, not initdb's", written)
		}
	}
	if hba, err := os.ReadFile(filepath.Join(entries[0], "pg_hba.conf")); err != nil {
		t.Fatal(err)
	} else if current, _ := os.ReadFile(filepath.Join(first.dataDir, "pg_hba.conf")); string(hba) == string(current) {
		t.Error("the cache entry's pg_hba.conf is the running cluster's rewritten one")
	}

	second, secondID := start(cache, false)
	if secondID != firstID {
		t.Errorf("the second cluster's system identifier is %d, the first's %d: it ran initdb instead of copying the cache", secondID, firstID)
	}
	if first.passwords["postgres"] == second.passwords["postgres"] {
		t.Error("the copy has the first cluster's superuser password")
	}

	_, ownID := start("off", false)
	if ownID == firstID {
		t.Errorf("with the cache off the cluster has the cached system identifier %d", ownID)
	}
	if after, _ := filepath.Glob(filepath.Join(cache, "*")); len(after) != 1 {
		t.Errorf("cache holds %v after three clusters, want the one entry", after)
	}

	// A damaged entry (a file removed) does not stop a new cluster: postgres does not start
	// from the copy, the entry is replaced by a new initdb's, and the cluster is that one.
	if err := os.Remove(filepath.Join(entries[0], "global", "pg_control")); err != nil {
		t.Fatal(err)
	}
	_, healedID := start(cache, false)
	if healedID == firstID {
		t.Errorf("the cluster after the entry was damaged has the old entry's system identifier")
	}
	if _, err := os.Stat(filepath.Join(entries[0], "global", "pg_control")); err != nil {
		t.Errorf("the damaged entry was not replaced: %v", err)
	}
	if _, nextID := start(cache, false); nextID != healedID {
		t.Errorf("the cluster after that has system identifier %d, want the new entry's %d", nextID, healedID)
	}

	// A port another program holds fails the start, and is no reason to replace the entry.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if c, err := Start(ctx, Options{InitCache: cache, Port: held.Addr().(*net.TCPAddr).Port}); err == nil {
		_ = c.Stop()
		t.Fatal("a cluster started on a port another program holds")
	}
	if _, afterID := start(cache, false); afterID != healedID {
		t.Errorf("after a start on a held port the entry was replaced (system identifier %d, want %d)", afterID, healedID)
	}
}

// TestKeepInitResultOnceAndNotAfterStop: KeepInitResult writes a held result once; a Stop
// before it drops the result, and KeepInitResult then writes nothing.
func TestKeepInitResultOnceAndNotAfterStop(t *testing.T) {
	held := func(cache string) *Cluster {
		result := &initResult{files: []resultFile{{rel: ".", mode: 0o700, dir: true}, {rel: "PG_VERSION", mode: 0o600, data: []byte("15\n")}}}
		return &Cluster{log: slog.New(slog.DiscardHandler), deferred: &deferredInit{cache: cache, key: "pg-held", result: result}}
	}
	entries := func(cache string) []string {
		t.Helper()
		e, err := filepath.Glob(filepath.Join(cache, "pg-*"))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	kept := t.TempDir()
	c := held(kept)
	c.KeepInitResult()
	if b, err := os.ReadFile(filepath.Join(kept, "pg-held", "PG_VERSION")); err != nil || string(b) != "15\n" {
		t.Fatalf("the kept entry's PG_VERSION: %q, %v", b, err)
	}
	if err := os.RemoveAll(filepath.Join(kept, "pg-held")); err != nil {
		t.Fatal(err)
	}
	c.KeepInitResult()
	if e := entries(kept); len(e) != 0 {
		t.Errorf("a second KeepInitResult wrote %v", e)
	}

	dropped := t.TempDir()
	c = held(dropped)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	c.KeepInitResult()
	if e := entries(dropped); len(e) != 0 {
		t.Errorf("KeepInitResult after Stop wrote %v", e)
	}
}

// TestInitCacheKeepsOneEntry: storing an entry removes the entries of other binaries or
// options and copies left half-written long ago, and leaves a copy another process is writing
// now; a copy keeps the files' modes.
func TestInitCacheKeepsOneEntry(t *testing.T) {
	cache, data := t.TempDir(), filepath.Join(t.TempDir(), "data")
	for path, mode := range map[string]os.FileMode{"PG_VERSION": 0o600, "global/pg_control": 0o600, "base/1/1259": 0o660} {
		if err := os.MkdirAll(filepath.Join(data, filepath.Dir(path)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, path), []byte(path), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(data, path), mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"pg-other", "pg-other.tmp-old", "pg-mine.tmp-writing", "unrelated"} {
		if err := os.MkdirAll(filepath.Join(cache, dir), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(cache, "pg-other.tmp-old"), old, old); err != nil {
		t.Fatal(err)
	}

	result, err := readInitResult(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := toInitCache(cache, "pg-mine", result); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(cache)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{"pg-mine", "pg-mine.tmp-writing", "unrelated"}; !slices.Equal(left, want) {
		t.Errorf("cache holds %v, want %v", left, want)
	}
	info, err := os.Stat(filepath.Join(cache, "pg-mine", "base", "1", "1259"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o660 { // past the umask (022 would take g+w)
		t.Errorf("copied file's mode %v, want -rw-rw----", info.Mode().Perm())
	}
	if b, _ := os.ReadFile(filepath.Join(cache, "pg-mine", "global", "pg_control")); string(b) != "global/pg_control" {
		t.Errorf("copied pg_control holds %q", b)
	}
}
