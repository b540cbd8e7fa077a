package testkit

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/wijkbrug/wijkbrug/pkg/devca"
	"github.com/wijkbrug/wijkbrug/pkg/embeddednats"
	"github.com/wijkbrug/wijkbrug/pkg/netport"
)

// NATSCluster is a JetStream cluster of embedded servers on loopback, as production runs the
// event plane (deploy/: three nodes, streams with three replicas): every node with the event
// plane's security model (TLS 1.3, client certificates mapped to users, permissions), the
// routes between them over mutual TLS with certificates of the same CA.
type NATSCluster struct {
	Nodes []*NATS
	CA    *devca.CA
}

// NewNATSCluster starts size nodes and waits until their JetStream cluster has a leader and
// every node is current; they are shut down when the test ends.
func NewNATSCluster(t testing.TB, size int) *NATSCluster {
	t.Helper()
	ca := NewCA(t)
	routePorts, err := netport.Free(size)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	c := &NATSCluster{CA: ca}
	for i := range size {
		dir := t.TempDir()
		sec := natsSecurity(t, ca, dir)
		// One tls.Config for the node's life: a reload compares the options it is given with
		// the running ones, and a new but equal configuration would count as a change.
		routeTLS, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: sec.TLS.CertFile, KeyFile: sec.TLS.KeyFile,
			CaFile: sec.TLS.CAFile, Verify: true, Timeout: 2})
		if err != nil {
			t.Fatalf("testkit: route TLS: %v", err)
		}
		routeTLS.RootCAs = routeTLS.ClientCAs // each node dials the others too (as nats-server's cluster block does)
		name, port := fmt.Sprintf("n%d", i+1), routePorts[i]
		s, err := embeddednats.Start(embeddednats.Options{StoreDir: filepath.Join(dir, "store"), Security: sec,
			Configure: func(o *server.Options) {
				o.ServerName = name
				o.Cluster.Name = "wijkbrug-test"
				o.Cluster.Host = "127.0.0.1"
				o.Cluster.Port = port
				o.Cluster.TLSConfig = routeTLS
				o.Cluster.TLSTimeout = 2
				o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
			}})
		if err != nil {
			t.Fatalf("testkit: start NATS node %s: %v", name, err)
		}
		t.Cleanup(s.Shutdown)
		c.Nodes = append(c.Nodes, &NATS{Server: s, CA: ca})
	}
	deadline := time.Now().Add(30 * time.Second)
	for !c.formed() {
		if time.Now().After(deadline) {
			t.Fatal("testkit: the NATS cluster has no JetStream leader with every node current after 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

func (c *NATSCluster) formed() bool {
	leaders := 0
	for _, n := range c.Nodes {
		ns := n.NATSServer()
		if ns.NumRoutes() < len(c.Nodes)-1 || !ns.JetStreamIsCurrent() {
			return false
		}
		if ns.JetStreamIsLeader() {
			leaders++
		}
	}
	return leaders == 1
}

// AddPartner gives org its feed on every node, one node's reload after the other, as a rolling
// configuration change reaches the nodes of a production cluster.
func (c *NATSCluster) AddPartner(t testing.TB, org devca.Org) {
	t.Helper()
	for _, n := range c.Nodes {
		n.AddPartner(t, org)
	}
}
