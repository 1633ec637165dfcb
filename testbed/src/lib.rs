//! Test beds the examples start for themselves, so that every run works on a machine with no
//! network and no files: they are not lessons, and no example's pattern lives here.
//!
//! - [`http_server`]: an HTTP/1.1 server on 127.0.0.1 whose routes make every outcome of a fetch
//!   visible (used by `http-fetch`);
//! - [`images`]: deterministic sample PNG and JPEG files (used by `image-resize`);
//! - [`servers`]: a private `redis-server` and PostgreSQL cluster on Unix sockets, each dying
//!   with whoever started it (queue-consumer's embedded broker, the tests, xtask).
//!
//! Each is a cargo feature of the same name (`http`, `images`, `servers`).

#[cfg(feature = "http")]
pub mod http_client;
#[cfg(feature = "http")]
pub mod http_server;
#[cfg(feature = "images")]
pub mod images;
#[cfg(feature = "servers")]
pub mod servers;
