//! Test beds the examples start for themselves, so that every run works on a machine with no
//! network and no files: they are not lessons, and no example's pattern lives here.
//!
//! - [`http_server`]: an HTTP/1.1 server on 127.0.0.1 whose routes make every outcome of a fetch
//!   visible (used by `http-fetch`);
//! - [`images`]: deterministic sample PNG and JPEG files (used by `image-resize`).

pub mod http_server;
pub mod images;
