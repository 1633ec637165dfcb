// primepipeline: Go original 000's pipeline: a generator (repeatFunc) -> --finders prime finders
// (fan-out) -> fanIn -> take(--take). Unlike the original, 0 and 1 are not prime and every stage
// goroutine ends (a done channel closes them all) and is waited for before the summary. Written
// for this workspace to run beside crates/prime-pipeline in `cargo xtask compare`; each delivered
// prime is a job (value = the prime, worker = its finder).
package main

import (
	"flag"
	"runtime"
	"sync"
	"sync/atomic"

	"workerpool-patterns/reference/go/internal/wp"
)

type found struct {
	prime  uint64
	finder int
}

func main() {
	finders := flag.Int("finders", runtime.NumCPU(), "prime finders (fan-out)")
	take := flag.Uint64("take", 13, "primes to take")
	max := flag.Uint64("max", 5_000_000, "numbers are drawn below this")
	a := wp.Parse(0, 1, 0)
	a.Workload = "pipeline" // no simulated work and no ideal: the work is the prime check
	if *finders < 1 || *max < 2 {
		wp.Usage("--finders must be at least 1 and --max at least 2")
	}
	r := wp.NewReporter(a)
	done := make(chan struct{})
	var stages sync.WaitGroup
	var checked uint64

	// repeatFunc: the generator.
	numbers := make(chan uint64)
	stages.Add(1)
	go func() {
		defer stages.Done()
		defer close(numbers)
		rng := wp.NewSplitMix64(a.Seed)
		for {
			select {
			case numbers <- rng.Below(*max):
			case <-done:
				return
			}
		}
	}()
	// primeFinder x finders, fanned in.
	primes := make(chan found)
	var finderWG sync.WaitGroup
	for f := 1; f <= *finders; f++ {
		finderWG.Add(1)
		go func(id int) {
			defer finderWG.Done()
			for n := range numbers {
				atomic.AddUint64(&checked, 1)
				if wp.IsPrimeNaive(n) {
					select {
					case primes <- found{n, id}:
					case <-done:
						return
					}
				}
			}
		}(f)
	}
	stages.Add(1)
	go func() { defer stages.Done(); finderWG.Wait(); close(primes) }()

	// take.
	t := wp.Tally{Submitted: *take}
	for i := uint64(0); i < *take; i++ {
		p := <-primes
		job := wp.Job{ID: i + 1, Value: p.prime}
		r.Started(job, p.finder)
		r.Finished(wp.Result{Job: job, Worker: p.finder, Output: p.prime})
		t.OK++
	}
	close(done)
	for range primes { // let blocked finders see `done`
	}
	stages.Wait()
	r.Summary("go:prime-pipeline", t, *finders, int64(*finders), 0, map[string]interface{}{
		"finders": *finders, "numbers_checked": atomic.LoadUint64(&checked), "primes_found": *take,
	})
}
