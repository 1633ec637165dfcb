//! The floor under async-pool's many-waits run: N tasks that each sleep R times on tokio's timer,
//! with no pool, no channel and no cancel, on T runtime threads. Prints the wall time against the
//! ideal (R × the wait) and what the phases cost.
//!
//! `cargo run --release -p async-pool --example waits_floor -- [N] [R] [WAIT_MS] [THREADS]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let (n, rounds, wait_ms, threads) = (arg(1, 10_000), arg(2, 2), arg(3, 100), arg(4, 2));
    let wait = Duration::from_millis(wait_ms);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads as usize)
        .enable_time()
        .build()
        .expect("a runtime");
    let late_us = Arc::new(AtomicU64::new(0));
    let max_late_us = Arc::new(AtomicU64::new(0));
    let (spawned, wall) = runtime.block_on(async {
        tokio::spawn({
            let (late_us, max_late_us) = (Arc::clone(&late_us), Arc::clone(&max_late_us));
            async move {
                let start = Instant::now();
                let mut tasks = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let (late_us, max_late_us) = (Arc::clone(&late_us), Arc::clone(&max_late_us));
                    tasks.push(tokio::spawn(async move {
                        for _ in 0..rounds {
                            let due = tokio::time::Instant::now() + wait;
                            tokio::time::sleep_until(due).await;
                            let late = due.elapsed().as_micros() as u64;
                            late_us.fetch_add(late, Ordering::Relaxed);
                            max_late_us.fetch_max(late, Ordering::Relaxed);
                        }
                    }));
                }
                let spawned = start.elapsed();
                for t in tasks {
                    t.await.expect("a task");
                }
                (spawned, start.elapsed())
            }
        })
        .await
        .expect("the run")
    });
    let ideal = wait * rounds as u32;
    println!(
        "{n} tasks x {rounds} sleeps of {wait_ms} ms on {threads} thread(s): wall {:.1} ms, efficiency {:.3}, \
         spawning {:.1} ms ({:.2} us a task), timers late mean {:.2} ms max {:.2} ms",
        wall.as_secs_f64() * 1e3,
        ideal.as_secs_f64() / wall.as_secs_f64(),
        spawned.as_secs_f64() * 1e3,
        spawned.as_secs_f64() * 1e6 / n as f64,
        late_us.load(Ordering::Relaxed) as f64 / 1e3 / (n * rounds) as f64,
        max_late_us.load(Ordering::Relaxed) as f64 / 1e3,
    );
}
