package svc

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestJobsStartOneAfterAnother: startJobs starts the jobs in order, the first at once and each
// next one at least the gap after the one before; once the context ends the jobs not yet
// started never start, and the wait group waits for the ones that did.
func TestJobsStartOneAfterAnother(t *testing.T) {
	const gap = 40 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	var work sync.WaitGroup
	var mu sync.Mutex
	var started []int
	var at []time.Time
	job := func(i int) func(context.Context) {
		return func(ctx context.Context) {
			mu.Lock()
			started, at = append(started, i), append(at, time.Now())
			mu.Unlock()
			<-ctx.Done()
		}
	}
	var jobs []func(context.Context)
	for i := range 20 {
		jobs = append(jobs, job(i))
	}
	begin := time.Now()
	startJobs(ctx, &work, gap, jobs)
	time.Sleep(3*gap + gap/2) // jobs 0–3 are due by now
	cancel()
	work.Wait()
	stopped := time.Now()
	time.Sleep(2 * gap) // a job started after the stop would show in started now

	mu.Lock()
	defer mu.Unlock()
	if len(started) < 2 || len(started) == len(jobs) {
		t.Fatalf("started %d of %d jobs before the context ended; want some but not all", len(started), len(jobs))
	}
	for i, n := range started {
		if n != i {
			t.Fatalf("jobs started in the order %v", started)
		}
	}
	if first := at[0].Sub(begin); first > gap/2 {
		t.Errorf("the first job started %v after startJobs; want at once", first)
	}
	for i := 1; i < len(at); i++ {
		if d := at[i].Sub(at[i-1]); d < gap {
			t.Errorf("job %d started %v after job %d; want at least %v", i, d, i-1, gap)
		}
	}
	if n := len(started); at[n-1].After(stopped) {
		t.Errorf("job %d started after the jobs were stopped", n-1)
	}
	if n := len(started); n > 5 {
		t.Errorf("%d jobs started in %v at a gap of %v", n, 3*gap+gap/2, gap)
	}
}
