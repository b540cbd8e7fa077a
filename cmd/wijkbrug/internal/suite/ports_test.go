package suite

import (
	"net"
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
