// seed003: Go original 003's pool as its author wrote it, bare: a WorkerPool of N workers on a
// jobs channel, a submitter goroutine, a collector goroutine with a WaitGroup of its own, and no
// per-job bookkeeping (no in-flight gauge, no events) beyond what `cargo xtask compare` needs:
// the collector counts how the jobs ended and sums their outputs, where the original printed
// each result. It is the row (`go:seed-003`) that shows what the other references' bookkeeping
// costs; bench's bare-pool binary is the same pool in Rust.
//
// It prints only the summary (--json and --quiet change nothing else), whose peak_in_flight is
// 0: nothing measures it ("gauge": false).
package main

import (
	"sync"

	"workerpool-patterns/reference/go/internal/wp"
)

type result struct {
	output uint64
	err    error
}

// WorkerPool is the original's struct: its channels and the workers' WaitGroup.
type WorkerPool struct {
	a       *wp.Args
	jobs    chan wp.Job
	results chan result
	wg      sync.WaitGroup
}

func (p *WorkerPool) StartWorkers(n int) {
	for i := 0; i < n; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for job := range p.jobs {
				out, err := p.a.Run(job)
				p.results <- result{out, err}
			}
		}()
	}
}

func (p *WorkerPool) SubmitJobs() {
	p.a.EachJob(func(j wp.Job) bool { p.jobs <- j; return true })
	close(p.jobs)
}

// CollectResults is the original's PrintResults, counting instead of printing.
func (p *WorkerPool) CollectResults(t *wp.Tally, sum *uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	for res := range p.results {
		if res.err != nil {
			t.Failed++
		} else {
			t.OK++
			*sum += res.output
		}
	}
}

func main() {
	a := wp.Parse(10, 3, 500)
	a.JSON, a.Quiet = true, true // the summary only, always as JSON
	r := wp.NewReporter(a)
	p := &WorkerPool{a: &a, jobs: make(chan wp.Job, a.Buffer), results: make(chan result, a.Buffer)}
	t := wp.Tally{Submitted: a.Jobs}
	var sum uint64

	p.StartWorkers(a.Workers)
	go p.SubmitJobs()
	var collector sync.WaitGroup
	collector.Add(1)
	go p.CollectResults(&t, &sum, &collector)
	p.wg.Wait()
	close(p.results)
	collector.Wait()
	r.Summary("go:seed-003", t, a.Workers, 0, 0, map[string]interface{}{"gauge": false, "output_sum": sum})
}
