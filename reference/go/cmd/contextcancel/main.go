// contextcancel: Go original 002's pool "with Context" (3 workers, 20 jobs, 100 ms, a 2 s
// context.WithTimeout): each worker selects between ctx.Done() and the next job, and a running
// job gives up when the context ends. Unlike the original, the jobs that never ran are reported
// (not_started) instead of vanishing. Written for this workspace to run beside
// crates/context-cancel in `cargo xtask compare`.
package main

import (
	"context"
	"flag"
	"sync"
	"time"

	"workerpool-patterns/reference/go/internal/wp"
)

func main() {
	deadline := flag.Uint64("deadline-ms", 2000, "cancel the run after this many ms")
	a := wp.Parse(20, 3, 100)
	r := wp.NewReporter(a)
	var g wp.Gauge
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*deadline)*time.Millisecond)
	defer cancel()
	jobs := make(chan wp.Job, a.Buffer)
	results := make(chan wp.Result, a.Buffer)

	var wg sync.WaitGroup
	for w := 1; w <= a.Workers; w++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j, ok := <-jobs:
					if !ok {
						return
					}
					if ctx.Err() != nil {
						results <- wp.Result{Job: j, NotStarted: true}
						return
					}
					leave := g.Enter()
					r.Started(j, id)
					res := run(ctx, &a, j, id)
					r.Finished(res)
					leave()
					results <- res
				}
			}
		}(w)
	}
	var producer sync.WaitGroup
	producer.Add(1)
	go func() {
		defer producer.Done()
		defer close(jobs)
		a.EachJob(func(j wp.Job) bool {
			select {
			case jobs <- j:
				return true
			case <-ctx.Done():
				results <- wp.Result{Job: j, NotStarted: true}
				return true // the rest are reported as never started too
			}
		})
	}()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		producer.Wait()
		for j := range jobs { // left in the channel: never started
			results <- wp.Result{Job: j, NotStarted: true}
		}
		close(results)
		close(done)
	}()
	t := wp.Tally{Submitted: a.Jobs}
	for res := range results {
		if res.NotStarted {
			r.Finished(res)
		}
		t.Record(res)
	}
	<-done
	r.Summary("go:context-cancel", t, a.Workers, g.Peak(), 0, nil)
}

func run(ctx context.Context, a *wp.Args, j wp.Job, id int) wp.Result {
	if a.Workload == "sleep" {
		select {
		case <-ctx.Done():
			return wp.Result{Job: j, Worker: id, Cancelled: true}
		case <-time.After(time.Duration(a.WorkMs) * time.Millisecond):
		}
	}
	out, err := a.Compute(j)
	if ctx.Err() != nil {
		return wp.Result{Job: j, Worker: id, Cancelled: true}
	}
	return wp.Result{Job: j, Worker: id, Output: out, Err: err}
}
