// waitgroup: Go original 002's "worker pool with WaitGroup": the workers' WaitGroup closes the
// results channel once every worker is done, so main ranges over results without counting.
// Written for this workspace to run beside crates/waitgroup in `cargo xtask compare`.
package main

import (
	"sync"

	"workerpool-patterns/reference/go/internal/wp"
)

func main() {
	a := wp.Parse(10, 3, 500)
	r := wp.NewReporter(a)
	var g wp.Gauge
	jobs := make(chan wp.Job, a.Buffer)
	results := make(chan wp.Result, a.Buffer)

	var wg sync.WaitGroup
	for w := 1; w <= a.Workers; w++ {
		wg.Add(1) // before the goroutine starts (the original's "common mistake" avoided)
		go func(id int) {
			defer wg.Done()
			for j := range jobs {
				leave := g.Enter()
				r.Started(j, id)
				out, err := a.Run(j)
				res := wp.Result{Job: j, Worker: id, Output: out, Err: err}
				r.Finished(res)
				leave()
				results <- res
			}
		}(w)
	}
	go func() {
		a.EachJob(func(j wp.Job) bool { jobs <- j; return true })
		close(jobs)
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(results); close(done) }()

	t := wp.Tally{Submitted: a.Jobs}
	for res := range results {
		t.Record(res)
	}
	<-done
	r.Summary("go:waitgroup", t, a.Workers, g.Peak(), 0, nil)
}
