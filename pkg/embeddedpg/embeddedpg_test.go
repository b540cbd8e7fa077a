package embeddedpg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func skipWithoutPostgres(t *testing.T) {
	t.Helper()
	if _, err := BinDir(); err != nil {
		if os.Getenv("WIJKBRUG_SKIP_DB") == "1" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
}

func TestStartCreateQueryStop(t *testing.T) {
	skipWithoutPostgres(t)
	ctx := t.Context()

	start := time.Now()
	c, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %s on port %d (dir %s)", time.Since(start).Round(time.Millisecond), c.Port(), c.Dir())
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = c.Stop()
		}
	})

	for range 2 { // second call checks idempotence
		if err := c.CreateDatabase(ctx, "app"); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, c.DSN("app"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (v int); INSERT INTO t VALUES (41)"); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := conn.QueryRow(ctx, "SELECT v + 1 FROM t").Scan(&v); err != nil || v != 42 {
		t.Fatalf("query: v=%d err=%v", v, err)
	}
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}

	if err := c.CreateDatabaseFromTemplate(ctx, "copy", "app"); err != nil {
		t.Fatal(err)
	}
	conn, err = pgx.Connect(ctx, c.DSN("copy"))
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != 41 {
		t.Fatalf("clone: v=%d err=%v", v, err)
	}
	_ = conn.Close(ctx)
	if err := c.DropDatabase(ctx, "copy"); err != nil {
		t.Fatal(err)
	}

	pid, dir := c.proc.pid(), c.Dir()
	start = time.Now()
	stopped = true
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("postmaster %d still exists after Stop (kill 0: %v)", pid, err)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still has members after Stop (kill 0: %v)", pid, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s not removed: %v", dir, err)
	}
}

func TestBinDirOverride(t *testing.T) {
	t.Setenv(EnvBinDir, t.TempDir())
	if _, err := BinDir(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

// projectDir makes a persistent base dir deep enough that the socket path
// would overflow sun_path, like a data dir inside a checked-out project.
func projectDir(t *testing.T) string {
	t.Helper()
	root, err := os.MkdirTemp("", "wjpg-project-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "some", "checked-out", "project", "folder", "with-a-rather-long-name", ".data", "postgres")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

const helperEnv = "WIJKBRUG_EMBEDDEDPG_HELPER_DIR"

// TestHelperProcess is not a real test: TestRestartAfterParentKilled runs the
// test binary as a child that starts a persistent cluster, so that the child
// can be kill -9'd like a crashed dev server.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	ctx := context.Background()
	c, err := Start(ctx, Options{Dir: dir, Fsync: true})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	if err := c.CreateDatabase(ctx, "persist"); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	conn, err := pgx.Connect(ctx, c.DSN("persist"))
	if err == nil {
		_, err = conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS t (v text); INSERT INTO t VALUES ('survived')")
	}
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	// Keep the connection open: a realistic crash has live backends.
	fmt.Println("READY", c.proc.pid())
	time.Sleep(time.Minute)
	os.Exit(2)
}

func TestRestartAfterParentKilled(t *testing.T) {
	skipWithoutPostgres(t)
	ctx := t.Context()
	dir := projectDir(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := readLineTimeout(out, 60*time.Second)
	if err != nil || !strings.HasPrefix(line, "READY ") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper: %q %v", line, err)
	}
	pgPid, _ := strconv.Atoi(strings.TrimPrefix(line, "READY "))

	// Crash the parent; the parent-death signal must take postgres down.
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for processAlive(pgPid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pgPid, syscall.SIGKILL)
			t.Fatalf("postgres %d outlived its killed parent", pgPid)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The helper's short socket dir outlived it; the sweeper must find it.
	helperDirs := ownedTempDirs(t, cmd.Process.Pid)
	if len(helperDirs) == 0 {
		t.Error("helper left no socket dir behind; test setup changed?")
	}
	sweepStaleTempDirs(slog.New(slog.DiscardHandler), 0)
	if left := ownedTempDirs(t, cmd.Process.Pid); len(left) > 0 {
		t.Errorf("sweeper left %v", left)
	}

	c, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if !c.ownSockDir {
		t.Errorf("expected a separate short socket dir for %s", dir)
	}
	conn, err := pgx.Connect(ctx, c.DSN("persist"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != "survived" {
		t.Fatalf("after restart: %q %v", v, err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Errorf("persistent Dir must survive Stop: %v", err)
	}
}

func TestStaleLockWithReusedPid(t *testing.T) {
	skipWithoutPostgres(t)
	ctx := t.Context()
	dir := projectDir(t)

	c, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// Simulate a lock file whose pid now belongs to an unrelated live
	// process (ours), as after a hard crash in a container.
	lock := filepath.Join(dir, "data", "postmaster.pid")
	content := fmt.Sprintf("%d\n%s/data\n0\n5432\n\n127.0.0.1\n0 0\nready\n", os.Getpid(), dir)
	if err := os.WriteFile(lock, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
}

// ownedTempDirs lists temp dirs whose owner file names pid.
func ownedTempDirs(t *testing.T, pid int) []string {
	t.Helper()
	var out []string
	matches, _ := filepath.Glob(filepath.Join(shortTempDir(), "wjpg*"))
	for _, dir := range matches {
		if b, err := os.ReadFile(filepath.Join(dir, ownerFile)); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid) {
			out = append(out, dir)
		}
	}
	return out
}

func readLineTimeout(r interface{ Read([]byte) (int, error) }, d time.Duration) (string, error) {
	type res struct {
		line string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "READY") || strings.HasPrefix(l, "ERROR") {
				ch <- res{l, nil}
				return
			}
		}
		ch <- res{"", fmt.Errorf("helper exited: %v", sc.Err())}
	}()
	select {
	case r := <-ch:
		return r.line, r.err
	case <-time.After(d):
		return "", errors.New("timeout waiting for helper")
	}
}
