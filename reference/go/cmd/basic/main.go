// basic: Go original 001's worker pool (jobs channel, N workers, results channel), written for
// this workspace so `cargo xtask compare` can run it beside the Rust port (crates/basic) on the
// same jobs. Unlike the original, a producer goroutine feeds the jobs while main collects, so the
// channels can be bounded (--buffer), and every goroutine is waited for before the summary.
package main

import (
	"sync"

	"workerpool-patterns/reference/go/internal/wp"
)

func worker(id int, a *wp.Args, jobs <-chan wp.Job, results chan<- wp.Result, g *wp.Gauge, r *wp.Reporter) {
	for j := range jobs {
		leave := g.Enter()
		r.Started(j, id)
		out, err := a.Run(j)
		res := wp.Result{Job: j, Worker: id, Output: out, Err: err}
		r.Finished(res)
		leave()
		results <- res
	}
}

func main() {
	a := wp.Parse(10, 3, 500)
	r := wp.NewReporter(a)
	var g wp.Gauge
	jobs := make(chan wp.Job, a.Buffer)
	results := make(chan wp.Result, a.Buffer)

	var workers sync.WaitGroup
	for w := 1; w <= a.Workers; w++ {
		workers.Add(1)
		go func(id int) {
			defer workers.Done()
			worker(id, &a, jobs, results, &g, r)
		}(w)
	}
	go func() {
		a.EachJob(func(j wp.Job) bool { jobs <- j; return true })
		close(jobs)
	}()

	t := wp.Tally{Submitted: a.Jobs}
	for i := uint64(0); i < a.Jobs; i++ {
		t.Record(<-results)
	}
	workers.Wait()
	r.Summary("go:basic", t, a.Workers, g.Peak(), 0, nil)
}
