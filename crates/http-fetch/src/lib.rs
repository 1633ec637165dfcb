//! http-fetch's URL list and HTTP client, in a library so that the fuzz targets (`fuzz/`) and
//! the replay of their corpus (`tests/fuzz_corpus.rs`) call the code the binary runs. The
//! lesson is in `main.rs`.

pub mod fetch;
#[doc(hidden)]
pub mod fuzzing;
pub mod urls;
