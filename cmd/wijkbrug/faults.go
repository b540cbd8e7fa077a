package main

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/faults"
)

// runFaults runs the fault harness (make faults).
func runFaults(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("faults")
	bin := fs.String("bin", "bin", "directory with the service binaries and nats-server (make build)")
	clients := fs.Int("clients", 4, "concurrent clients retrying with the same idempotency key")
	steady := fs.Duration("steady", 4*time.Second, "load before and after each fault")
	down := fs.Duration("down", 2*time.Second, "how long a killed process stays down")
	topologies := fs.String("topology", "single,cluster", "single (one PostgreSQL, one NATS) and/or cluster (primary + synchronous standby, 3-node JetStream)")
	only := fs.String("faults", "", "comma-separated substrings: run only the faults whose names contain one")
	keep := fs.Bool("keep", false, "keep the work directories (logs, data)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	opts := faults.Options{BinDir: *bin, Clients: *clients, Steady: *steady, Down: *down, Topologies: split(*topologies), Faults: split(*only), Keep: *keep}
	return faults.Run(ctx, opts, out)
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
