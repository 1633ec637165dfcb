//! keyed-pool's scheduler for `--strategy dynamic`, as a library so that its tests and its loom
//! model (`tests/loom.rs`) can drive it directly. See `main.rs` for it in use.

pub mod dynamic;
mod sync;
