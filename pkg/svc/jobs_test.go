package svc

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestJobsStartOneAfterAnother: startJobs starts the first job at once and each next one at
// least the gap after the one before, in order; once the context ends the jobs not yet started
// never start, and the wait group waits for the ones that did. The checks hold however late
// the scheduler runs a started job: a job's start is only ever compared with the earliest
// moment it may start.
func TestJobsStartOneAfterAnother(t *testing.T) {
	type start struct {
		job int
		at  time.Time
	}
	run := func(gap time.Duration, n int) (chan start, context.CancelFunc, *sync.WaitGroup, time.Time) {
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan start, n)
		var jobs []func(context.Context)
		for i := range n {
			jobs = append(jobs, func(ctx context.Context) {
				started <- start{i, time.Now()}
				<-ctx.Done()
			})
		}
		var work sync.WaitGroup
		begin := time.Now()
		open := make(chan struct{})
		close(open)
		startJobs(ctx, &work, gap, open, jobs)
		return started, cancel, &work, begin
	}

	t.Run("none before the start is given", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var work sync.WaitGroup
		defer func() { cancel(); work.Wait() }()
		ran := make(chan struct{}, 1)
		begin := make(chan struct{})
		startJobs(ctx, &work, 0, begin, []func(context.Context){func(context.Context) { ran <- struct{}{} }})
		select {
		case <-ran:
			t.Fatal("a job ran before the start (the database was not yet known to be the service's)")
		case <-time.After(100 * time.Millisecond):
		}
		close(begin)
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Fatal("the job did not run after the start")
		}
	})

	t.Run("in order, each at least the gap after the one before", func(t *testing.T) {
		const gap, n = 30 * time.Millisecond, 4
		started, cancel, work, begin := run(gap, n)
		defer func() { cancel(); work.Wait() }()
		for i := range n {
			select {
			case s := <-started:
				if s.job != i {
					t.Fatalf("job %d started as number %d", s.job, i)
				}
				if since := s.at.Sub(begin); since < time.Duration(i)*gap {
					t.Errorf("job %d started %v after startJobs; want at least %v", i, since, time.Duration(i)*gap)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("job %d did not start within 10 s", i)
			}
		}
	})

	t.Run("the first at once, none after the stop", func(t *testing.T) {
		started, cancel, work, _ := run(time.Hour, 3)
		select {
		case s := <-started:
			if s.job != 0 {
				t.Fatalf("job %d started first", s.job)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the first job did not start at once (within 10 s) with an hour's gap")
		}
		cancel()
		work.Wait() // returns only once the started job has ended and the starter has given up
		select {
		case s := <-started:
			t.Errorf("job %d started after the jobs were stopped", s.job)
		default:
		}
	})
}
