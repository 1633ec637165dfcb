//! The scenarios each example is run through by `cargo xtask verify`: one file per example.
//!
//! A scenario is a command line (always run with `--json`), the exit code it must end with, the
//! standard invariants that apply (see `check.rs`) and any checks of its own. Every example also
//! gets the standard bad-input scenarios (I6) without listing them. An example folder in `crates/`
//! with no entry in [`for_example`] fails verify, so no new example can be forgotten.

pub use harness::{Interrupt, Run, Scenario, Signal, expect_eq, standard_bad_input};

mod async_pool;
mod basic;
mod context_cancel;
mod db_batch;
mod http_fetch;
mod image_resize;
mod prime_pipeline;
mod queue_consumer;
mod rate_limit;
mod struct_pool;
mod waitgroup;

/// The scenarios of the example in `crates/<name>`, or `None` if it has none.
pub fn for_example(name: &str) -> Option<Vec<Scenario>> {
    let scenarios = match name {
        "struct-pool" => struct_pool::scenarios(),
        "waitgroup" => waitgroup::scenarios(),
        "context-cancel" => context_cancel::scenarios(),
        "rate-limit" => rate_limit::scenarios(),
        "http-fetch" => http_fetch::scenarios(),
        "db-batch" => db_batch::scenarios(),
        "image-resize" => image_resize::scenarios(),
        "prime-pipeline" => prime_pipeline::scenarios(),
        "queue-consumer" => queue_consumer::scenarios(),
        "async-pool" => async_pool::scenarios(),
        _ => return None,
    };
    (!scenarios.is_empty()).then_some(scenarios)
}
