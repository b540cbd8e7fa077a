package embeddedpg

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A synchronous standby has every acknowledged commit when the primary crashes, and takes
// writes after promotion; a multi-host DSN with target_session_attrs=read-write finds it.
func TestSynchronousStandbyFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, err := Start(ctx, Options{Fsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Stop()
	standby, err := StartStandby(ctx, primary, Options{Fsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Stop()
	if err := primary.RequireSynchronousStandby(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for n, _ := primary.SynchronousStandbys(ctx); n != 1; n, _ = primary.SynchronousStandbys(ctx) {
		if time.Now().After(deadline) {
			t.Fatal("standby never became synchronous")
		}
		time.Sleep(100 * time.Millisecond)
	}
	dsn := "postgres://postgres@127.0.0.1:" + itoa(primary.Port()) + ",127.0.0.1:" + itoa(standby.Port()) + "/postgres?" + standby.ClientParams() + "&target_session_attrs=read-write" // the primary's files go with it
	exec := func(sql string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(`CREATE TABLE t (id int); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if err := primary.Crash(); err != nil {
		t.Logf("crash: %v", err)
	}
	if err := exec(`INSERT INTO t VALUES (2)`); err == nil {
		t.Fatal("a write with the primary gone and the standby not promoted must fail")
	}
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	if err := exec(`INSERT INTO t VALUES (2)`); err != nil {
		t.Fatalf("write after promotion: %v", err)
	}
	var n int
	if err := standby.withAdmin(ctx, func(c *pgx.Conn) error { return c.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n) }); err != nil || n != 2 {
		t.Fatalf("rows after failover: %d %v", n, err)
	}
}

func itoa(i int) string { return fmt.Sprint(i) }
