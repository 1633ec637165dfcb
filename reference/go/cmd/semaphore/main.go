// semaphore: Go original 002's RateLimitedPool: --workers goroutines, of which at most
// --concurrency run a job at once (a buffered channel used as a semaphore). Written for this
// workspace to run beside crates/rate-limit in `cargo xtask compare`.
package main

import (
	"flag"
	"sync"

	"workerpool-patterns/reference/go/internal/wp"
)

func main() {
	concurrency := flag.Int("concurrency", 2, "jobs running at once (the semaphore's permits)")
	a := wp.Parse(10, 5, 500)
	if *concurrency < 1 {
		wp.Usage("--concurrency must be at least 1")
	}
	r := wp.NewReporter(a)
	var g wp.Gauge
	jobs := make(chan wp.Job, a.Buffer)
	results := make(chan wp.Result, a.Buffer)
	semaphore := make(chan struct{}, *concurrency)

	var wg sync.WaitGroup
	for w := 1; w <= a.Workers; w++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			for j := range jobs {
				semaphore <- struct{}{} // acquire
				leave := g.Enter()
				r.Started(j, id)
				out, err := a.Run(j)
				res := wp.Result{Job: j, Worker: id, Output: out, Err: err}
				r.Finished(res)
				leave()
				<-semaphore // release
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
	r.Summary("go:semaphore", t, a.Workers, g.Peak(), *concurrency, map[string]interface{}{"concurrency": *concurrency})
}
