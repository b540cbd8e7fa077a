package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// waitSampler samples pg_stat_activity every 10 ms while a measurement runs: what the active
// client backends of the cluster wait on (Lock:object, LWLock:WALWrite, IO:WALSync, Client…),
// or CPU when they wait on nothing. It is the evidence for what limits a figure.
type waitSampler struct {
	pool *pgxpool.Pool
	mu   sync.Mutex
	hist map[string]int
	n    int
	stop chan struct{}
	done chan struct{}
}

func (b *bench) sampleWaits(ctx context.Context) *waitSampler {
	w := &waitSampler{pool: b.raw, hist: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rows, err := w.pool.Query(ctx, `
				SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
				WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`)
			if err != nil {
				continue
			}
			w.mu.Lock()
			for rows.Next() {
				var s string
				if rows.Scan(&s) == nil {
					w.hist[s]++
				}
			}
			w.n++
			w.mu.Unlock()
			rows.Close()
		}
	}()
	return w
}

// end stops sampling and summarises: the mean number of active backends in each state.
func (w *waitSampler) end() string {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 {
		return ""
	}
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range w.hist {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v })
	var parts []string
	for i, e := range all {
		if i == 5 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.1f", e.k, float64(e.v)/float64(w.n)))
	}
	return strings.Join(parts, ", ")
}
