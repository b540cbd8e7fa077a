package logstore

import (
	"context"
	"sync"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// group is the group commit of the entries written outside a transaction: the reads that change
// nothing (a list, a search) have no transaction of their own to send their entries with, and
// each used to open one for its entry alone, with its own INSERT and its own synchronous
// commit. Callers that write at the same time now share one INSERT and one commit: the first
// caller to find no write under way leads and writes what is queued; the callers that arrive
// while it writes queue up, and when its write is done the first of them leads the next one
// with everything queued by then. Each caller returns once its entries are committed, or with
// the error of the write that held them, so nothing is shown that is not on record. No
// goroutine of its own: the callers do the writing (docs/decisions.md, issue 12 item 21).
type group struct {
	mu      sync.Mutex
	queue   []*pending
	writing bool
}

// pending is one caller's rows, waiting for a write.
type pending struct {
	rows []logRow
	done chan groupResult // buffered: the leader never waits for a caller
}

// groupResult answers a waiting caller: the result of the write that held its rows, or that it
// leads the next write.
type groupResult struct {
	err  error
	lead bool
}

// maxGroupRows bounds the rows one write takes; the rest wait for the next.
const maxGroupRows = 512

// groupWriteTimeout bounds one write. A caller waits for the write of its rows without its own
// deadline: a caller that left could not lead the write it was handed, and every caller queued
// behind it would wait for nothing. So it is the write that is bounded.
const groupWriteTimeout = 30 * time.Second

// write commits rows, together with the rows of every caller writing at the same time.
func (g *group) write(ctx context.Context, db *pgxdb.DB, rows []logRow) error {
	p := &pending{rows: rows, done: make(chan groupResult, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	if g.writing {
		g.mu.Unlock()
		r := <-p.done
		if !r.lead {
			return r.err
		}
	} else {
		g.writing = true
		g.mu.Unlock()
	}
	return g.lead(ctx, db, p)
}

// lead writes the callers at the head of the queue (own is the first of them) in one statement
// and one commit, answers them, and hands the lead to the first caller still queued.
func (g *group) lead(ctx context.Context, db *pgxdb.DB, own *pending) error {
	g.mu.Lock()
	n, count := 0, 0
	for n < len(g.queue) && (n == 0 || count+len(g.queue[n].rows) <= maxGroupRows) {
		count += len(g.queue[n].rows)
		n++
	}
	batch := g.queue[:n:n]
	g.queue = append([]*pending(nil), g.queue[n:]...)
	g.mu.Unlock()

	rows := make([]logRow, 0, count)
	for _, p := range batch {
		rows = append(rows, p.rows...)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), groupWriteTimeout)
	sql, args := statement(rows)
	_, err := db.Pool.Exec(wctx, sql, args...)
	cancel()
	for _, p := range batch {
		if p != own {
			p.done <- groupResult{err: err}
		}
	}

	g.mu.Lock()
	if len(g.queue) > 0 {
		next := g.queue[0]
		g.mu.Unlock()
		next.done <- groupResult{lead: true}
	} else {
		g.writing = false
		g.mu.Unlock()
	}
	return err
}
