// Package wp is the shared plumbing of the Go reference programs: the same flags, job values,
// simulated work and JSON summary as the Rust examples (common/), so `cargo xtask compare` can
// run both on the same work and read both with one parser. The pool mechanics stay in each
// program's main.go, as in the Rust examples.
package wp

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Job is Go original 001's Job{ID, Value}.
type Job struct {
	ID    uint64
	Value uint64
}

// Result is Go original 001's Result{JobID, Output, Err}, plus the worker.
type Result struct {
	Job    Job
	Worker int
	Output uint64
	Err    error
	// Cancelled: the job started but was stopped by cancellation.
	Cancelled bool
	// NotStarted: the job never ran.
	NotStarted bool
	// Reason: why it never ran, if said (the not_started event's reason).
	Reason string
}

// Args are the flags every reference program shares (the Rust examples' PoolArgs).
type Args struct {
	Jobs      uint64
	Workers   int
	WorkMs    uint64
	Buffer    int
	Seed      uint64
	Workload  string
	FailEvery uint64
	JSON      bool
	Quiet     bool
}

// Parse registers the shared flags with these defaults, parses the command line, and exits 2
// with one line on bad input.
func Parse(jobs uint64, workers int, workMs uint64) Args {
	var a Args
	flag.Uint64Var(&a.Jobs, "jobs", jobs, "number of jobs")
	flag.IntVar(&a.Workers, "workers", workers, "number of workers (1..1000000: goroutines, not OS threads)")
	flag.Uint64Var(&a.WorkMs, "work-ms", workMs, "simulated work per job (sleep workload)")
	flag.IntVar(&a.Buffer, "buffer", -1, "channel capacity (default: jobs, at most 1024)")
	flag.Uint64Var(&a.Seed, "seed", 42, "seed of the job values")
	flag.StringVar(&a.Workload, "workload", "sleep", "sleep | cpu | dispatch")
	flag.Uint64Var(&a.FailEvery, "fail-every", 0, "every Nth job fails (0: never)")
	flag.BoolVar(&a.JSON, "json", false, "JSON events on stdout")
	flag.BoolVar(&a.Quiet, "quiet", false, "only the summary")
	flag.CommandLine.SetOutput(discard{})
	flag.CommandLine.Usage = func() {}
	if err := flag.CommandLine.Parse(os.Args[1:]); err != nil {
		Usage(err.Error())
	}
	if a.Workers < 1 || a.Workers > 1000000 {
		Usage(fmt.Sprintf("workers must be between 1 and 1000000, got %d", a.Workers))
	}
	switch a.Workload {
	case "sleep", "cpu", "dispatch":
	default:
		Usage(fmt.Sprintf("invalid value '%s' for --workload [possible values: sleep, cpu, dispatch]", a.Workload))
	}
	if a.Buffer < 0 {
		a.Buffer = 1024
		if a.Jobs < 1024 {
			a.Buffer = int(a.Jobs)
		}
	}
	return a
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Usage prints one line on stderr and exits 2, as the Rust examples do.
func Usage(msg string) {
	fmt.Fprintf(os.Stderr, "error: %s (see --help)\n", strings.ReplaceAll(msg, "\n", " "))
	os.Exit(2)
}

// Value bounds, as in common/src/work.rs.
const (
	CPUValueBound = 5_000_000
	ValueBound    = 100
)

// SplitMix64 is the job-value generator both languages implement (common::work::SplitMix64).
type SplitMix64 struct{ state uint64 }

// NewSplitMix64 seeds the generator.
func NewSplitMix64(seed uint64) *SplitMix64 { return &SplitMix64{state: seed} }

// Next returns the next 64-bit value.
func (s *SplitMix64) Next() uint64 {
	s.state += 0x9E3779B97F4A7C15
	z := s.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// Below returns a value in [0, bound).
func (s *SplitMix64) Below(bound uint64) uint64 { return s.Next() % bound }

// EachJob calls emit for ids 1..=n with the values the Rust examples draw for the same seed.
func (a *Args) EachJob(emit func(Job) bool) {
	rng := NewSplitMix64(a.Seed)
	bound := uint64(ValueBound)
	if a.Workload == "cpu" {
		bound = CPUValueBound
	}
	for id := uint64(1); id <= a.Jobs; id++ {
		if !emit(Job{ID: id, Value: rng.Below(bound)}) {
			return
		}
	}
}

// Run does a job's simulated work on this goroutine: sleeps for the sleep workload, then
// Compute.
func (a *Args) Run(job Job) (uint64, error) {
	if a.Workload == "sleep" {
		time.Sleep(time.Duration(a.WorkMs) * time.Millisecond)
	}
	return a.Compute(job)
}

// Compute is a job's output once its waiting is done: value × 2, or 1 if the value is prime for
// the cpu workload; an error for every --fail-every-th job.
func (a *Args) Compute(job Job) (uint64, error) {
	var out uint64
	switch a.Workload {
	case "cpu":
		if IsPrimeNaive(job.Value) {
			out = 1
		}
	default:
		out = job.Value * 2
	}
	if a.FailEvery > 0 && job.ID%a.FailEvery == 0 {
		return 0, fmt.Errorf("simulated failure: job %d is a multiple of --fail-every %d", job.ID, a.FailEvery)
	}
	return out, nil
}

// IsPrimeNaive is Go original 000's O(n) check (0 and 1 are not prime, unlike the original).
func IsPrimeNaive(n uint64) bool {
	if n < 2 {
		return false
	}
	m := uint32(n) // values are below 5,000,000: 32-bit division, as in the Rust port
	for i := m - 1; i > 1; i-- {
		if m%i == 0 {
			return false
		}
	}
	return true
}

// Gauge counts jobs in flight and remembers the peak (common::InFlight).
type Gauge struct{ now, peak int64 }

// Enter marks a job in flight; call the returned func when it leaves.
func (g *Gauge) Enter() func() {
	n := atomic.AddInt64(&g.now, 1)
	for {
		p := atomic.LoadInt64(&g.peak)
		if n <= p || atomic.CompareAndSwapInt64(&g.peak, p, n) {
			break
		}
	}
	return func() { atomic.AddInt64(&g.now, -1) }
}

// Peak is the most jobs that were ever in flight at once.
func (g *Gauge) Peak() int64 { return atomic.LoadInt64(&g.peak) }

// Reporter prints the same JSON events as the Rust examples (README "JSON events").
type Reporter struct {
	a     Args
	start time.Time
	mu    sync.Mutex
	out   *bufio.Writer
}

// NewReporter starts the clock.
func NewReporter(a Args) *Reporter {
	return &Reporter{a: a, start: time.Now(), out: bufio.NewWriterSize(os.Stdout, 1<<16)}
}

// Event prints a program's own JSON event (with --json, not --quiet); t_ms is added.
func (r *Reporter) Event(fields map[string]interface{}) {
	if !r.a.JSON || r.a.Quiet {
		return
	}
	fields["t_ms"] = r.tms()
	r.line(fields)
}

// Ms is the time since the start, in the events' milliseconds.
func (r *Reporter) Ms() float64 { return r.tms() }

func (r *Reporter) tms() float64 {
	return float64(time.Since(r.start).Microseconds()) / 1000.0
}

func (r *Reporter) line(v interface{}) {
	b, _ := json.Marshal(v)
	r.mu.Lock()
	r.out.Write(b)
	r.out.WriteByte('\n')
	r.mu.Unlock()
}

// Started reports that a worker took a job.
func (r *Reporter) Started(job Job, worker int) {
	if r.a.Quiet {
		return
	}
	if r.a.JSON {
		r.line(map[string]interface{}{"event": "started", "job": job.ID, "worker": worker, "value": job.Value, "t_ms": r.tms()})
	} else {
		r.text(fmt.Sprintf("Worker %d started job %d", worker, job.ID))
	}
}

// Finished reports a job's end.
func (r *Reporter) Finished(res Result) {
	if r.a.Quiet {
		return
	}
	if !r.a.JSON {
		r.text(fmt.Sprintf("Worker %d finished job %d", res.Worker, res.Job.ID))
		return
	}
	switch {
	case res.NotStarted && res.Reason != "":
		r.line(map[string]interface{}{"event": "not_started", "job": res.Job.ID, "value": res.Job.Value, "reason": res.Reason, "t_ms": r.tms()})
	case res.NotStarted:
		r.line(map[string]interface{}{"event": "not_started", "job": res.Job.ID, "value": res.Job.Value, "t_ms": r.tms()})
	case res.Cancelled:
		r.line(map[string]interface{}{"event": "finished", "job": res.Job.ID, "worker": res.Worker, "value": res.Job.Value, "outcome": "cancelled", "t_ms": r.tms()})
	case res.Err != nil:
		r.line(map[string]interface{}{"event": "finished", "job": res.Job.ID, "worker": res.Worker, "value": res.Job.Value, "outcome": "failed", "reason": res.Err.Error(), "t_ms": r.tms()})
	default:
		r.line(map[string]interface{}{"event": "finished", "job": res.Job.ID, "worker": res.Worker, "value": res.Job.Value, "outcome": "ok", "output": res.Output, "t_ms": r.tms()})
	}
}

func (r *Reporter) text(s string) {
	r.mu.Lock()
	r.out.WriteString(s)
	r.out.WriteByte('\n')
	r.mu.Unlock()
}

// Tally counts how the jobs ended.
type Tally struct{ Submitted, OK, Failed, Cancelled, NotStarted uint64 }

// Record counts one result.
func (t *Tally) Record(res Result) {
	switch {
	case res.NotStarted:
		t.NotStarted++
	case res.Cancelled:
		t.Cancelled++
	case res.Err != nil:
		t.Failed++
	default:
		t.OK++
	}
}

// Summary prints the closing summary (the Rust examples' fields) and exits with their code.
// threads_alive_at_exit counts goroutines besides main still alive: the Go analogue of a
// thread that was not joined. Call it after every goroutine has been waited for.
func (r *Reporter) Summary(pattern string, t Tally, workers int, peak int64, maxInFlight int, extra map[string]interface{}) {
	wall := time.Since(r.start)
	var alive int
	for i := 0; i < 100; i++ {
		alive = runtime.NumGoroutine() - 1
		if alive == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s := map[string]interface{}{
		"event": "summary", "pattern": pattern, "submitted": t.Submitted, "ok": t.OK,
		"failed": t.Failed, "cancelled": t.Cancelled, "not_started": t.NotStarted,
		"workers": workers, "peak_in_flight": peak,
		"wall_ms": float64(wall.Microseconds()) / 1000.0, "ideal_ms": nil, "efficiency": nil,
		"interrupted": false, "threads_alive_at_exit": alive, "peak_rss_kb": peakRSS(),
	}
	if maxInFlight > 0 {
		s["max_in_flight"] = maxInFlight
	}
	ran := t.OK + t.Failed + t.Cancelled
	if r.a.Workload == "sleep" && t.NotStarted == 0 && ran > 0 {
		rounds := (ran + uint64(workers) - 1) / uint64(workers)
		ideal := float64(rounds * r.a.WorkMs)
		s["ideal_ms"] = ideal
		if wall > 0 {
			s["efficiency"] = ideal / (float64(wall.Microseconds()) / 1000.0)
		}
	}
	for k, v := range extra {
		s[k] = v
	}
	if r.a.JSON {
		r.line(s)
	} else {
		r.text(fmt.Sprintf("\nSummary (%s): %d jobs on %d workers: %d ok, %d failed, %d cancelled, %d never started\n  wall time %.1f ms",
			pattern, t.Submitted, workers, t.OK, t.Failed, t.Cancelled, t.NotStarted, float64(wall.Microseconds())/1000.0))
	}
	r.out.Flush()
	code := 0
	if t.Failed+t.Cancelled+t.NotStarted > 0 || t.OK+t.Failed+t.Cancelled+t.NotStarted != t.Submitted {
		code = 1
	}
	os.Exit(code)
}

func peakRSS() interface{} {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				if kb, err := strconv.ParseUint(f[1], 10, 64); err == nil {
					return kb
				}
			}
		}
	}
	return nil
}
