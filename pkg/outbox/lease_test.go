package outbox_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// freezer is a TCP proxy to PostgreSQL that can stop forwarding in both directions while
// keeping its connections open: to PostgreSQL, a client behind it looks like a process that
// was frozen (SIGSTOP) or cut off, whose sessions are idle but not closed.
type freezer struct {
	addr   string
	frozen atomic.Bool
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{addr: ln.Addr().String()}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); f.frozen.Store(false); conns.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			conns.Add(2)
			pipe := func(dst, src net.Conn) {
				defer conns.Done()
				defer dst.Close()
				defer src.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					for f.frozen.Load() {
						time.Sleep(10 * time.Millisecond)
					}
					if n > 0 {
						if _, werr := dst.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						if err != io.EOF {
							return
						}
						return
					}
				}
			}
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
	return f
}

// A leader that stops answering loses the lead within its lease. The leading relay reaches
// PostgreSQL through a proxy that is frozen: PostgreSQL ends the silent lock session after the
// lease (idle_session_timeout), the standby takes the lock and publishes what waits, and the
// old leader, once it answers again, finds its session gone and stops. Every event reaches the
// stream once. Before the lease the lock stayed with the frozen leader for as long as its TCP
// connection looked alive, and the events waited (an operator probe: 80 s and counting).
func TestFrozenLeaderLosesTheLeadWithinItsLease(t *testing.T) {
	f, _, _ := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, err := url.Parse(f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFreezer(t, u.Host)
	u.Host = proxy.addr
	viaProxy, err := pgxdb.Open(ctx, u.String(), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(viaProxy.Close)
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	const lease = time.Second
	frozen := outbox.NewRelay(viaProxy, f.js, outbox.RelayConfig{Service: "referral", PollInterval: 100 * time.Millisecond, AckTimeout: time.Second, Lease: lease, Logger: quiet})
	standby := outbox.NewRelay(f.db, f.js, outbox.RelayConfig{Service: "referral", PollInterval: 100 * time.Millisecond, AckTimeout: time.Second, Lease: lease, Logger: quiet})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() { defer wg.Done(); frozen.Run(ctx) }()
	waitFor(t, 10*time.Second, "the first relay leads", frozen.Leading)
	wg.Add(1)
	go func() { defer wg.Done(); standby.Run(ctx) }()
	for i := 0; i < 5; i++ {
		f.write(t, i)
	}
	waitPending(t, standby, 0)

	proxy.frozen.Store(true)
	froze := time.Now()
	for i := 5; i < 10; i++ {
		f.write(t, i)
	}
	waitFor(t, 4*lease+2*time.Second, "the standby takes the lead", standby.Leading)
	took := time.Since(froze)
	waitPending(t, standby, 0)
	t.Logf("the standby led %v after the leader froze (lease %v)", took.Round(10*time.Millisecond), lease)
	if took < lease/2 {
		t.Fatalf("the standby led %v after the freeze, before the lease could end: was the leader's session still held?", took)
	}

	proxy.frozen.Store(false)
	waitFor(t, 10*time.Second, "the old leader stops leading", func() bool { return !frozen.Leading() })
	for i := 10; i < 15; i++ {
		f.write(t, i)
	}
	waitPending(t, standby, 0)
	if !standby.Leading() {
		t.Fatal("the standby gave up the lead it took")
	}
	cancel()
	wg.Wait()
	ids := f.streamMessages(t)
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	if len(ids) != 15 || len(seen) != 15 {
		t.Fatalf("want 15 events once each, got %d messages of %d events", len(ids), len(seen))
	}
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
