package suite

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/netport"
)

// The services' ports are bound before anything starts and handed to the services once; a
// port held by another program stops the start with the service and port named, and leaves
// none of the suite's own ports bound.
func TestServicePortsAreBoundFirst(t *testing.T) {
	base := freeBase(t)
	ports, err := bindServicePorts(base)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]int{"intake": {base, base + 40, base + 20}, "referral": {base + 3, base + 43, base + 23}}
	for name, p := range want {
		for kind, port := range p {
			if got := ports.addr(name, kind); got != "127.0.0.1:"+strconv.Itoa(port) {
				t.Errorf("%s port kind %d: %s, want %d", name, kind, got, port)
			}
		}
	}
	// While bound, nobody else gets the port.
	if l, err := net.Listen("tcp", ports.addr("casedirection", restPort)); err == nil {
		l.Close()
		t.Fatal("a bound port could be bound again")
	}
	l, err := ports.take(ports.addr("intake", grpcPort))
	if err != nil || l == nil {
		t.Fatalf("take: %v", err)
	}
	if _, err := ports.take(ports.addr("intake", grpcPort)); err == nil {
		t.Error("a port was handed out twice")
	}
	if _, err := ports.take("127.0.0.1:1"); err == nil {
		t.Error("an address that was not bound was handed out")
	}
	ports.close()
	if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base)); err != nil {
		t.Fatalf("after close: %v", err)
	} else {
		l.Close()
	}

	// Another program holds provider-monitoring's admin port.
	held, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+42))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	_, err = bindServicePorts(base)
	if err == nil {
		t.Fatal("started on a port another program holds")
	}
	if msg := err.Error(); !strings.Contains(msg, "providermonitoring: port "+strconv.Itoa(base+42)) || !strings.Contains(msg, "-base-port") {
		t.Errorf("error does not name the service, the port and the way out: %s", msg)
	}
	for _, port := range []int{base, base + 20, base + 40, base + 2, base + 22} {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Errorf("port %d still bound after the failed start: %v", port, err)
			continue
		}
		l.Close()
	}
}

// freeBase finds a base port whose 44-port span (gRPC +0…3, REST +20…23, admin +40…43) is
// free, outside the ephemeral range.
func freeBase(t *testing.T) int {
	t.Helper()
	for range 50 {
		p, err := netport.One()
		if err != nil {
			t.Fatal(err)
		}
		if p+43 > 65535 || (p < 32768 && p+43 >= 32768) { // the span stays where netport picked
			continue
		}
		ok := true
		for _, off := range []int{0, 1, 2, 3, 20, 21, 22, 23, 40, 41, 42, 43} {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+off))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free span of ports")
	return 0
}

// With base 0 every port is bound where it is picked, twelve distinct ones.
func TestServicePortsPickedAreBoundDistinct(t *testing.T) {
	ports, err := bindServicePorts(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ports.close()
	seen := map[string]bool{}
	for _, name := range serviceNames {
		for kind := range 3 {
			addr := ports.addr(name, kind)
			if seen[addr] {
				t.Fatalf("%s bound twice", addr)
			}
			seen[addr] = true
			if l, err := net.Listen("tcp", addr); err == nil {
				l.Close()
				t.Fatalf("%s kind %d: %s is not held", name, kind, addr)
			}
		}
	}
	if len(seen) != 12 {
		t.Fatalf("%d ports, want 12", len(seen))
	}
}

// A fixed PostgreSQL or NATS port another program holds is named before either starts
// (another suite's PostgreSQL on the port answered, and this suite wrote into its databases).
func TestPostgresAndNATSPortsHeldElsewhereAreNamed(t *testing.T) {
	pg, err := netport.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	nats, err := netport.Listen()
	if err != nil {
		t.Fatal(err)
	}
	natsPort := nats.Addr().(*net.TCPAddr).Port
	nats.Close() // free: only PostgreSQL's port is held
	pgPort := pg.Addr().(*net.TCPAddr).Port
	err = portsFree(map[string]int{"PostgreSQL (-pg-port)": pgPort, "NATS (-nats-port)": natsPort})
	if err == nil || !strings.Contains(err.Error(), "PostgreSQL: port "+strconv.Itoa(pgPort)) || !strings.Contains(err.Error(), "-pg-port moves it") ||
		strings.Contains(err.Error(), "NATS") {
		t.Fatalf("PostgreSQL's port held elsewhere: %v", err)
	}
	if err := portsFree(map[string]int{"NATS (-nats-port)": natsPort, "PostgreSQL (-pg-port)": 0}); err != nil {
		t.Fatalf("free ports: %v", err)
	}
}

// A port number no listener can have is refused by name before anything starts, not as
// "address already in use"'s hint "is another Wijkbrug running?" (probe-a nit: -base-port
// 70000).
func TestPortNumbersOutOfRangeAreRefused(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{BasePort: 70000}, "-base-port 70000: the services' twelve ports run from it to +43 and must lie within 1-65535 (at most 65492"},
		{Options{BasePort: 65493}, "-base-port 65493"},
		{Options{BasePort: -1}, "-base-port -1"},
		{Options{PostgresPort: 70000}, "-pg-port 70000: a port is 1-65535"},
		{Options{NATSPort: -5}, "-nats-port -5: a port is 1-65535"},
	} {
		err := checkPorts(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "another Wijkbrug") {
			t.Errorf("%+v: %v, want %q", tc.opts, err, tc.want)
		}
	}
	if _, err := bindServicePorts(70000); err == nil || !strings.Contains(err.Error(), "1-65535") {
		t.Errorf("bindServicePorts(70000): %v", err)
	}
	for _, ok := range []Options{{}, {BasePort: 65492, PostgresPort: 65535, NATSPort: 1}, {BasePort: 50051, PostgresPort: 55432, NATSPort: 4222}} {
		if err := checkPorts(ok); err != nil {
			t.Errorf("%+v refused: %v", ok, err)
		}
	}
	// Start refuses before it creates anything (no data directory).
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Start(context.Background(), Options{DataDir: dir, BasePort: 70000}); err == nil || !strings.Contains(err.Error(), "-base-port 70000") {
		t.Errorf("Start: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start created %s before refusing: %v", dir, err)
	}
}

// One suite per data directory: a second one is refused before it writes anything there,
// naming the holder, and the directory is free again once the first one has stopped.
func TestDataDirectoryIsTakenByOneSuite(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockDataDir(dir)
	if err == nil || !strings.Contains(err.Error(), "in use by another Wijkbrug suite") || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("a second lock: %v, want the directory in use, naming the holder", err)
	}
	unlock()
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("after the first suite stopped: %v", err)
	}
	again()
}
