//! The sample-image generator (moved here from `crates/image-resize`).
