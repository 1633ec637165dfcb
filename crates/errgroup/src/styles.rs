//! The same group with tokio and with rayon (`--style`), on the same shared state
//! (`group.rs`), so that the three styles print the same events for the same run.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use common::{Job, Stop};
use futures::FutureExt as _;
use rayon::prelude::*;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::group::{Shared, Wait};
use crate::task::{JobEnd, Task};

/// `--style tokio`: a task per job in a `JoinSet`, a `Semaphore` of `limit` permits (SetLimit),
/// the group's `CancellationToken` (Go's `ctx`). Waiting for a permit also watches the token, so
/// after the first error no job starts. The set is drained with `join_next` (Go's `Wait`):
/// dropping a `JoinSet` aborts its tasks at their next `.await`, and an aborted task never
/// reports how its job ended.
pub fn tokio(shared: &Arc<Shared>, task: &Arc<Task>, jobs: Vec<Job>, try_spawn: bool) -> anyhow::Result<()> {
    let runtime = common::threads::exit_if_start_panics("cannot start the runtime's threads", || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            // The blocking work (HTTP, the prime check): at most `limit` jobs at once anyway.
            .max_blocking_threads(shared.limit())
            .enable_time()
            .thread_name("tokio")
            .build()
    })?;
    // The spawning loop is a task too, so that a freed permit wakes it on a runtime thread, not
    // across to the thread that called `block_on`.
    let (group, spawner_task) = (Arc::clone(shared), Arc::clone(task));
    let spawner = runtime.spawn(async move {
        let (shared, task) = (&group, &spawner_task);
        let permits = Arc::new(Semaphore::new(shared.limit()));
        let mut set = JoinSet::new();
        for job in jobs {
            let admitted = if try_spawn {
                // TryGo: the group's own lanes decide at once (a permit is released just after
                // its lane, so the semaphore alone could refuse a job with a lane already free).
                match shared.admit(&job, Wait::Try) {
                    Some(lane) => permits.clone().acquire_owned().await.ok().map(|p| (lane, p)),
                    None => None,
                }
            } else {
                // Go: wait for a permit, or for the cancel, whichever comes first (a permit free
                // at once is taken without registering with the token).
                let permit = match permits.clone().try_acquire_owned() {
                    Ok(permit) => Some(permit),
                    Err(_) => tokio::select! {
                        biased;
                        () = shared.token().cancelled() => None,
                        permit = permits.clone().acquire_owned() => permit.ok(),
                    },
                };
                // Holding a permit, a lane is free: `admit` only checks the cancellation (and
                // reports the job never started if the group is cancelled).
                match permit {
                    Some(permit) => shared.admit(&job, Wait::Try).map(|lane| (lane, permit)),
                    None => {
                        // The token is cancelled only after the group is: `admit` refuses.
                        if let Some(lane) = shared.admit(&job, Wait::Try) {
                            shared.end(&job, lane, JobEnd::Cancelled);
                        }
                        None
                    }
                }
            };
            let Some((lane, permit)) = admitted else {
                continue;
            };
            let (shared, task) = (Arc::clone(shared), Arc::clone(task));
            set.spawn(async move {
                let end = AssertUnwindSafe(run_task(&shared, &task, job))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(JobEnd::Panicked);
                shared.end(&job, lane, end);
                drop(permit); // only now may the next job start
            });
            // Reap the tasks already done, so the set holds the jobs in flight, not every job.
            while set.try_join_next().is_some() {}
        }
        // Every task catches its job's panic and nothing aborts one, so none ends in a JoinError.
        while set.join_next().await.is_some() {}
    });
    // The spawning loop catches no panic of its own: one would be a bug, re-raised here.
    if let Err(e) = runtime.block_on(spawner) {
        match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => anyhow::bail!("the spawning task ended early: {e}"),
        }
    }
    // Dropping the runtime joins its threads, the blocking ones too.
    drop(runtime);
    Ok(())
}

/// One job as a task: the sleep workload waits on the token itself; the dispatch workload runs
/// in the task; blocking work (HTTP, the prime check, a custom job) runs in `spawn_blocking` and
/// polls the same cancellation as the threads do.
async fn run_task(shared: &Shared, task: &Arc<Task>, job: Job) -> JobEnd {
    task.panic_if_asked(&job);
    if let Some((duration, end)) = task.sleep_plan(&job) {
        return tokio::select! {
            () = shared.token().cancelled() => JobEnd::Cancelled,
            () = tokio::time::sleep(duration) => end,
        };
    }
    if task.is_instant() {
        // Nothing to wait for or to block on (the dispatch workload): no blocking thread.
        return task.run(&job, shared.cancel());
    }
    let (task, cancel) = (Arc::clone(task), shared.cancel().clone());
    tokio::task::spawn_blocking(move || task.run(&job, &cancel))
        .await
        .unwrap_or_else(|e| match e.try_into_panic() {
            Ok(payload) => JobEnd::Panicked(payload),
            Err(_) => JobEnd::Cancelled, // aborted: cannot happen, nothing aborts it
        })
}

/// `--style rayon`: `try_for_each` on a pool of `limit` threads. The first `Err` makes rayon
/// stop handing out items, but it has no token: a job in flight runs to its end (here it is
/// given a cancellation that never comes), and `try_for_each` returns *an* error, not
/// necessarily the first: the group's own slot keeps the first. A scoped pool joins its threads
/// before `build_scoped` returns.
pub fn rayon(shared: &Arc<Shared>, task: &Arc<Task>, jobs: &[Job]) -> anyhow::Result<()> {
    let never = Stop::new();
    // Which `Err` rayon returns does not matter: the group's slot kept the first error.
    let _any_error: Result<(), ()> = rayon::ThreadPoolBuilder::new()
        .num_threads(shared.limit())
        .thread_name(|i| format!("rayon-{i}"))
        .build_scoped(
            |thread| thread.run(),
            |pool| {
                pool.install(|| {
                    jobs.par_iter().try_for_each(|job| {
                        let Some(lane) = shared.admit(job, Wait::Block) else {
                            return Err(());
                        };
                        let end = std::panic::catch_unwind(AssertUnwindSafe(|| task.run(job, &never)))
                            .unwrap_or_else(JobEnd::Panicked);
                        let ok = matches!(end, JobEnd::Ok(_));
                        shared.end(job, lane, end);
                        if ok { Ok(()) } else { Err(()) }
                    })
                })
            },
        )?;
    for job in jobs {
        shared.never_reached(job);
    }
    Ok(())
}
