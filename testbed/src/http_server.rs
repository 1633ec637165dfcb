//! The loopback HTTP test server (moved here from `crates/http-fetch`).
