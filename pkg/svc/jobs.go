package svc

import (
	"context"
	"sync"
	"time"
)

// jobStagger is the gap between the starts of a service's background jobs (startJobs).
const jobStagger = 60 * time.Millisecond

// startJobs starts a service's background jobs (its event consumers, the access log's sealer
// and checkpoints, its schedulers and other background tasks) one after another, gap apart,
// the first at once; each runs until ctx ends, and work counts those started. A job whose
// turn comes after ctx has ended is not started.
//
// Started together, every job's first pass asked the pool for a connection at the same
// moment, and the pool opened one for each: 22–30 application connections to PostgreSQL in a
// first start of the suite, each a new backend that loads its catalog caches (28–42 ms of CPU
// each here), while the other services were still migrating. Started 60 ms
// apart, most first passes find the previous one's connection idle and reuse it: 13–19
// connections, and the suite serves 0.04–0.22 s sooner, a restart 0.15–0.24 s
// (docs/performance-history.md, "Twenty-fourth session"). The last of case-direction's twelve
// jobs starts 0.66 s after the first. Nothing waits for them: consumers resume from their durable
// position, and schedulers and the sealer work off what is due whenever they start.
func startJobs(ctx context.Context, work *sync.WaitGroup, gap time.Duration, start <-chan struct{}, jobs []func(context.Context)) {
	if len(jobs) == 0 {
		return
	}
	work.Add(1)
	go func() {
		defer work.Done()
		// Not before start: the database must be known to be this service's (checkSchema),
		// or the jobs would consume events, seal and schedule in another service's.
		select {
		case <-ctx.Done():
			return
		case <-start:
		}
		for i, job := range jobs {
			if i > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(gap):
				}
			}
			if ctx.Err() != nil {
				return
			}
			work.Add(1)
			go func() { defer work.Done(); job(ctx) }()
		}
	}()
}
