// goroutines: a goroutine per job, Go original 002's two forms. The fixed form (the default) is
// 000's and 002's semaphore: a buffered channel of --workers slots, taken before each `go` and
// given back when the job ends, so at most --workers jobs run at once; async-pool's
// `--style joinset` (a task per job under a tokio Semaphore) is its Rust port. --unbounded is
// 002's "BAD: Unbounded goroutines": `go` for every job at once, no bound (peak in flight = the
// job count, and memory grows with it). Written for this workspace to run beside async-pool in
// `cargo xtask compare`, where tasks meet goroutines rather than only threads.
package main

import (
	"flag"
	"sync"

	"workerpool-patterns/reference/go/internal/wp"
)

func main() {
	unbounded := flag.Bool("unbounded", false, "002's BAD form: a goroutine for every job at once, no semaphore")
	a := wp.Parse(10, 3, 500)
	r := wp.NewReporter(a)
	var g wp.Gauge
	results := make(chan wp.Result, a.Buffer)

	// The collector reads while main starts goroutines (002's fix for its Mistake 3).
	t := wp.Tally{Submitted: a.Jobs}
	collected := make(chan struct{})
	go func() {
		for res := range results {
			t.Record(res)
		}
		close(collected)
	}()

	semaphore := make(chan struct{}, a.Workers)
	var running sync.WaitGroup
	worker := 0
	a.EachJob(func(j wp.Job) bool {
		if !*unbounded {
			semaphore <- struct{}{} // acquire: waits while --workers jobs run
		}
		worker = worker%a.Workers + 1 // a lane number for the events, round robin
		running.Add(1)                // before the goroutine exists (002's Mistake 2)
		go func(j wp.Job, id int) {
			defer running.Done()
			leave := g.Enter()
			r.Started(j, id)
			out, err := a.Run(j)
			res := wp.Result{Job: j, Worker: id, Output: out, Err: err}
			r.Finished(res)
			leave()
			if !*unbounded {
				<-semaphore // release
			}
			results <- res
		}(j, worker)
		return true
	})
	running.Wait()
	close(results)
	<-collected

	name, workers, bound := "go:goroutines", a.Workers, a.Workers
	if *unbounded {
		// No bound: every job may run at once, so the ideal is one round of work.
		name, workers, bound = "go:goroutines-unbounded", int(a.Jobs), 0
	}
	r.Summary(name, t, workers, g.Peak(), bound, map[string]interface{}{"unbounded": *unbounded})
}
