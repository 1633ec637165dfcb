// errgroup: golang.org/x/sync/errgroup's idiom (WithContext, SetLimit, Go, TryGo, Wait: the
// first error cancels ctx, Wait returns it) on the shared simulated jobs, written for this
// workspace to run beside crates/errgroup (--task simulated) in `cargo xtask compare`.
//
// The group below is a std-only equivalent of x/sync's errgroup.Group in about 30 lines, not
// x/sync itself: the reference module has no dependencies (it builds with GOPROXY=off). One
// addition: onError, called once with the first error before ctx is cancelled, so the program
// can print group_cancel before any job sees the cancellation.
//
// As in x/sync, Go runs f even after the cancel and f must check ctx: here a job that finds ctx
// cancelled as it begins is reported never started, as the Rust group reports a job admitted
// after the first error. The events and summary are the Rust example's.
package main

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"time"

	"workerpool-patterns/reference/go/internal/wp"
)

// group is x/sync's errgroup.Group (its fields and methods, std only).
type group struct {
	cancel  func()
	onError func(error)
	wg      sync.WaitGroup
	sem     chan struct{}
	errOnce sync.Once
	err     error
}

func withContext(ctx context.Context, onError func(error)) (*group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &group{cancel: cancel, onError: onError}, ctx
}

// setLimit bounds the goroutines running f at once (x/sync: before any Go).
func (g *group) setLimit(n int) { g.sem = make(chan struct{}, n) }

func (g *group) done() {
	if g.sem != nil {
		<-g.sem
	}
	g.wg.Done()
}

// run is the body of x/sync's Go and TryGo once a slot is taken: the first error cancels ctx.
func (g *group) run(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.done()
		if err := f(); err != nil {
			g.errOnce.Do(func() {
				g.err = err
				if g.onError != nil {
					g.onError(err)
				}
				g.cancel()
			})
		}
	}()
}

// Go blocks for a free slot, then runs f on a goroutine of its own.
func (g *group) Go(f func() error) {
	if g.sem != nil {
		g.sem <- struct{}{}
	}
	g.run(f)
}

// TryGo runs f only if a slot is free now.
func (g *group) TryGo(f func() error) bool {
	if g.sem != nil {
		select {
		case g.sem <- struct{}{}:
		default:
			return false
		}
	}
	g.run(f)
	return true
}

// Wait returns once every f has returned, with the first error.
func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}

// books: what the summary reports, and the lanes (1..=limit) a job's events name as its worker.
// One mutex orders the decisions as the Rust group's does: no started follows group_cancel.
type books struct {
	mu                   sync.Mutex
	t                    wp.Tally
	running, peak        int
	refused, afterCancel uint64
	cancelled            bool
	cancelledAt          float64
	firstJob             uint64
	lanes                []int
}

// jobError is a job's error, naming the job.
type jobError struct {
	job uint64
	err error
}

func (e *jobError) Error() string { return e.err.Error() }

func main() {
	limit := flag.Int("limit", 0, "SetLimit(N): at most N jobs in flight (default: --workers)")
	try := flag.Bool("try", false, "TryGo: start a job only if a slot is free; refused jobs are reported never started")
	failAt := flag.Uint64("fail-at", 0, "job K fails (0: none)")
	task := flag.String("task", "simulated", "simulated (the Go reference has no http task)")
	a := wp.Parse(10, 3, 200)
	if *task != "simulated" {
		wp.Usage(fmt.Sprintf("invalid value '%s' for --task: the Go reference runs only 'simulated'", *task))
	}
	if *limit == 0 {
		*limit = a.Workers
	}
	if *limit < 1 || *limit > 1000000 {
		wp.Usage(fmt.Sprintf("the limit must be between 1 and 1000000, got '%d'", *limit))
	}
	if *failAt > a.Jobs {
		wp.Usage(fmt.Sprintf("--fail-at %d is not one of the %d jobs (0: none)", *failAt, a.Jobs))
	}
	r := wp.NewReporter(a)
	b := &books{t: wp.Tally{Submitted: a.Jobs}}
	for lane := *limit; lane >= 1; lane-- {
		b.lanes = append(b.lanes, lane)
	}

	g, ctx := withContext(context.Background(), func(err error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.cancelled, b.cancelledAt = true, r.Ms()
		b.firstJob = err.(*jobError).job // every job's error is a *jobError
		r.Event(map[string]interface{}{"event": "group_cancel", "by": "first_error", "job": b.firstJob, "error": err.Error()})
	})
	g.setLimit(*limit)

	a.EachJob(func(j wp.Job) bool {
		f := func() error {
			b.mu.Lock()
			if b.cancelled { // f must check ctx: Go runs it even after the cancel
				b.notStarted(r, j, fmt.Sprintf("the group was cancelled by job %d's error", b.firstJob))
				b.mu.Unlock()
				return nil
			}
			lane := b.lanes[len(b.lanes)-1]
			b.lanes = b.lanes[:len(b.lanes)-1]
			b.running++
			if b.running > b.peak {
				b.peak = b.running
			}
			r.Started(j, lane)
			b.mu.Unlock()

			res := run(ctx, &a, j, lane, *failAt)

			b.mu.Lock()
			if res.Err == nil && !res.Cancelled && b.cancelled {
				b.afterCancel++ // nothing stopped it
			}
			b.t.Record(res)
			r.Finished(res)
			b.running--
			b.lanes = append(b.lanes, lane)
			b.mu.Unlock()
			if res.Err != nil {
				return &jobError{job: j.ID, err: res.Err} // the first one cancels ctx
			}
			return nil
		}
		if *try {
			if !g.TryGo(f) {
				b.mu.Lock()
				b.refused++
				b.notStarted(r, j, fmt.Sprintf("refused by try_spawn: all %d slots were busy", *limit))
				b.mu.Unlock()
			}
		} else {
			g.Go(f)
		}
		return true
	})
	err := g.Wait()

	extra := map[string]interface{}{
		"style": "go", "limit": *limit, "try": *try, "refused": b.refused,
		"finished_after_cancel": b.afterCancel, "running_after_wait": b.running,
	}
	if err != nil {
		extra["cancelled_by"] = "first_error"
		extra["cancelled_at_ms"] = b.cancelledAt
		extra["first_error_job"] = b.firstJob
		extra["first_error"] = err.Error()
	}
	if b.t.Failed > 0 {
		extra["ideal_ms"], extra["efficiency"] = nil, nil
	}
	r.Summary("go:errgroup", b.t, *limit, int64(b.peak), *limit, extra)
}

// notStarted reports a job that never ran (b.mu held).
func (b *books) notStarted(r *wp.Reporter, j wp.Job, reason string) {
	res := wp.Result{Job: j, NotStarted: true, Reason: reason}
	b.t.Record(res)
	r.Finished(res)
}

// run is errgroup's simulated task: the sleep workload waits on ctx (job failAt fails halfway
// through its sleep); the cpu check looks at ctx every 4,096 divisions; dispatch cannot be
// interrupted.
func run(ctx context.Context, a *wp.Args, j wp.Job, lane int, failAt uint64) wp.Result {
	failure := fmt.Errorf("job %d failed (--fail-at %d)", j.ID, failAt)
	var out uint64
	switch a.Workload {
	case "sleep":
		d := time.Duration(a.WorkMs) * time.Millisecond
		if j.ID == failAt {
			d /= 2
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return wp.Result{Job: j, Worker: lane, Cancelled: true}
		case <-t.C:
		}
		if j.ID == failAt {
			return wp.Result{Job: j, Worker: lane, Err: failure}
		}
		out = j.Value * 2
	case "cpu":
		prime, ok := isPrimeCancellable(ctx, j.Value)
		if !ok {
			return wp.Result{Job: j, Worker: lane, Cancelled: true}
		}
		if prime {
			out = 1
		}
	default:
		out = j.Value * 2
	}
	if j.ID == failAt {
		return wp.Result{Job: j, Worker: lane, Err: failure}
	}
	if a.FailEvery > 0 && j.ID%a.FailEvery == 0 {
		return wp.Result{Job: j, Worker: lane, Err: fmt.Errorf("simulated failure: job %d is a multiple of --fail-every %d", j.ID, a.FailEvery)}
	}
	return wp.Result{Job: j, Worker: lane, Output: out}
}

// isPrimeCancellable is wp.IsPrimeNaive looking at ctx every 4,096 divisions, as the Rust
// group's check does; ok is false once ctx is cancelled.
func isPrimeCancellable(ctx context.Context, n uint64) (prime, ok bool) {
	if n < 2 {
		return false, true
	}
	done := ctx.Done()
	m := uint32(n)
	for i := m - 1; i > 1; i-- {
		if i%(1<<12) == 0 {
			select {
			case <-done:
				return false, false
			default:
			}
		}
		if m%i == 0 {
			return false, true
		}
	}
	return true, true
}
