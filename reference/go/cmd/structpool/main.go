// structpool: Go originals 000/003's WorkerPool struct (NewWorkerPool, Start, AddJob, Close,
// Wait, a results printer goroutine with its own WaitGroup). Written for this workspace to run
// beside crates/struct-pool in `cargo xtask compare`. A panicking job is recovered into a failed
// result, as the Rust pool does with catch_unwind.
package main

import (
	"fmt"
	"sync"

	"workerpool-patterns/reference/go/internal/wp"
)

type WorkerPool struct {
	workers int
	jobs    chan wp.Job
	results chan wp.Result
	wg      sync.WaitGroup
	run     func(id int, j wp.Job) wp.Result
}

func NewWorkerPool(workers, capacity int, run func(int, wp.Job) wp.Result) *WorkerPool {
	return &WorkerPool{workers: workers, jobs: make(chan wp.Job, capacity),
		results: make(chan wp.Result, capacity), run: run}
}

func (p *WorkerPool) Start() {
	for w := 1; w <= p.workers; w++ {
		p.wg.Add(1)
		go func(id int) {
			defer p.wg.Done()
			for j := range p.jobs {
				p.results <- p.safeRun(id, j)
			}
		}(w)
	}
	go func() { p.wg.Wait(); close(p.results) }()
}

func (p *WorkerPool) safeRun(id int, j wp.Job) (res wp.Result) {
	defer func() {
		if v := recover(); v != nil {
			res = wp.Result{Job: j, Worker: id, Err: fmt.Errorf("panic: %v", v)}
		}
	}()
	return p.run(id, j)
}

func (p *WorkerPool) AddJob(j wp.Job)           { p.jobs <- j }
func (p *WorkerPool) Close()                    { close(p.jobs) }
func (p *WorkerPool) Results() <-chan wp.Result { return p.results }

func main() {
	a := wp.Parse(10, 3, 500)
	r := wp.NewReporter(a)
	var g wp.Gauge
	pool := NewWorkerPool(a.Workers, a.Buffer, func(id int, j wp.Job) wp.Result {
		leave := g.Enter()
		defer leave()
		r.Started(j, id)
		out, err := a.Run(j)
		res := wp.Result{Job: j, Worker: id, Output: out, Err: err}
		r.Finished(res)
		return res
	})
	pool.Start()

	var printer sync.WaitGroup
	t := wp.Tally{Submitted: a.Jobs}
	printer.Add(1)
	go func() {
		defer printer.Done()
		for res := range pool.Results() {
			t.Record(res)
		}
	}()
	a.EachJob(func(j wp.Job) bool { pool.AddJob(j); return true })
	pool.Close()
	printer.Wait()
	r.Summary("go:struct-pool", t, a.Workers, g.Peak(), 0, nil)
}
