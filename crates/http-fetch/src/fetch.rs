//! The HTTP side of a fetch: one shared ureq `Agent` (blocking, pooled connections), a GET with a
//! timeout, redirects followed here one request at a time (so each is counted and reported), a
//! body read no further than `--max-bytes`, errors sorted into kinds, and retries with exponential
//! backoff and jitter.

use std::io::Read;
use std::time::{Duration, Instant};

use common::{Outcome, Stop};
use testbed::http_client::LiteralFirst;
use ureq::unversioned::transport::DefaultConnector;

/// Backoff before retry number r (1-based): BACKOFF_BASE × 2^(r−1), plus up to as much again in
/// random jitter, so clients that failed together do not retry in lockstep.
const BACKOFF_BASE: Duration = Duration::from_millis(50);

/// Why a fetch failed, as reported in `error_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The server answered with a status ≥ 400.
    HttpStatus,
    /// No complete answer within `--timeout-ms`.
    Timeout,
    /// Nothing listens at that address.
    ConnectionRefused,
    /// The body is longer than `--max-bytes`.
    BodyTooLarge,
    /// A redirect more than `--redirects` allows.
    TooManyRedirects,
    /// Not an http(s) URL with a host.
    InvalidUrl,
    /// Anything else: DNS, TLS, a reset connection, a protocol error.
    Other,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ConnectionRefused => "connection_refused",
            ErrorKind::BodyTooLarge => "body_too_large",
            ErrorKind::TooManyRedirects => "too_many_redirects",
            ErrorKind::InvalidUrl => "invalid_url",
            ErrorKind::Other => "other",
        }
    }

    /// Worth another try: a server error (5xx), a timeout, or a connection that failed.
    fn retryable(self, status: Option<u16>) -> bool {
        match self {
            ErrorKind::HttpStatus => status.is_some_and(|s| s >= 500),
            ErrorKind::Timeout | ErrorKind::ConnectionRefused | ErrorKind::Other => true,
            ErrorKind::BodyTooLarge | ErrorKind::TooManyRedirects | ErrorKind::InvalidUrl => false,
        }
    }
}

/// How one URL went (the last attempt, when there were retries).
#[derive(Debug, Clone, Default)]
pub struct Fetch {
    /// The status of the last response, if one arrived.
    pub status: Option<u16>,
    /// Body bytes received from the last response: all of them, at most `max_bytes` + 1 when the
    /// body was too large, and those received before the error when it failed part-way.
    pub bytes: u64,
    /// From the first attempt's start to the last attempt's end, backoff included.
    pub latency: Duration,
    /// Attempts made (1 + retries used; 0 for an invalid URL).
    pub attempts: u32,
    /// Requests sent for this URL: every redirect of every attempt included.
    pub requests: u32,
    /// Redirects the last attempt followed.
    pub redirects: u32,
    /// Redirects followed over every attempt (more than `redirects` when a retry followed some).
    pub redirects_all: u32,
    /// The URL of the last request sent (after the redirects followed); `None` if none was sent.
    pub final_url: Option<String>,
    /// The `Location` of a redirect reported as the outcome (not followed: `--redirects 0`, or
    /// one more than allowed).
    pub location: Option<String>,
    pub error: Option<(ErrorKind, String)>,
}

impl Fetch {
    /// The job outcome: ok with the byte count, or failed with its reason.
    pub fn outcome(&self) -> Outcome {
        match &self.error {
            None => Outcome::Ok(self.bytes),
            Some((_, reason)) => Outcome::Failed(reason.clone()),
        }
    }
}

/// The client every worker shares. `ureq::Agent` is a handle on one connection pool: cloning it
/// is cheap and the clones share the pool.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    timeout: Duration,
    max_bytes: u64,
    retries: u32,
    max_redirects: u32,
}

/// What [`Client::new`] is told (`--timeout-ms`, `--max-bytes`, `--retries`, `--redirects`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// One attempt, from connecting to the last body byte, its redirects included.
    pub timeout: Duration,
    pub max_bytes: u64,
    pub retries: u32,
    /// Redirects followed at most per attempt; 0 reports a redirect as the outcome.
    pub max_redirects: u32,
}

impl Client {
    /// A client keeping up to `workers` idle connections (one per worker), with a timeout per
    /// attempt covering everything from connecting to the last body byte, redirects included.
    pub fn new(workers: usize, limits: Limits) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(limits.timeout))
            // A 404 or 500 is a response to report (status, body size), not an `Err`.
            .http_status_as_error(false)
            // A redirect too: `attempt` follows it, so that every request is counted and each
            // job can say where its answer came from (ureq would follow them out of sight).
            .max_redirects(0)
            .max_idle_connections(workers)
            .max_idle_connections_per_host(workers)
            // Never route through a proxy from the environment: the embedded server is local.
            .proxy(None)
            // Each connection zeroes both buffers when it opens (128 KiB each by default): with
            // 100 workers, 25 MiB of page faults while the first requests wait. The input buffer
            // must hold a response head: 64 KiB is ureq's limit for one. The output buffer holds
            // a request head: a line and a few headers (a URL of more than ~16 KiB fails).
            .input_buffer_size(64 << 10)
            .output_buffer_size(16 << 10)
            .build();
        let agent = ureq::Agent::with_parts(config, DefaultConnector::default(), LiteralFirst::default());
        Client {
            agent,
            timeout: limits.timeout,
            max_bytes: limits.max_bytes,
            retries: limits.retries,
            max_redirects: limits.max_redirects,
        }
    }

    /// GETs `url`, retrying retryable failures up to `retries` times. The backoff wait ends early
    /// when `stop` is set (Ctrl-C): the last attempt's result is reported instead.
    pub fn fetch(&self, url: &str, stop: &Stop) -> Fetch {
        let start = Instant::now();
        if let Err(why) = validate(url) {
            return Fetch {
                error: Some((ErrorKind::InvalidUrl, format!("invalid URL {url:?}: {why}"))),
                ..Fetch::default()
            };
        }
        let (mut attempts, mut requests, mut redirects_all) = (0, 0, 0);
        loop {
            attempts += 1;
            let last = self.attempt(url);
            requests += last.requests;
            redirects_all += last.redirects;
            let retry = attempts <= self.retries
                && last
                    .error
                    .as_ref()
                    .is_some_and(|(kind, _)| kind.retryable(last.status))
                && !stop.is_set();
            if retry {
                let backoff = BACKOFF_BASE.saturating_mul(1 << (attempts - 1).min(16));
                let jitter = Duration::from_millis(rand::random_range(0..=as_millis(backoff)));
                crossbeam::select! {
                    recv(stop.channel()) -> _ => {}
                    default(backoff + jitter) => continue,
                }
            }
            return Fetch {
                latency: start.elapsed(),
                attempts,
                requests,
                redirects_all,
                ..last
            };
        }
    }

    /// One attempt: a GET, then one more for each redirect followed (at most `max_redirects`),
    /// all within one timeout. Returns the last response's status, bytes and error, with the
    /// requests sent, the redirects followed and the last URL asked.
    fn attempt(&self, url: &str) -> Fetch {
        let deadline = Instant::now() + self.timeout;
        let mut fetch = Fetch::default();
        let mut current = url.to_owned();
        loop {
            fetch.requests += 1;
            fetch.final_url = Some(current.clone());
            let left = deadline.saturating_duration_since(Instant::now());
            let call = match left.is_zero() {
                true => Err(ureq::Error::Timeout(ureq::Timeout::Global)),
                false => self
                    .agent
                    .get(&current)
                    .config()
                    .timeout_global(Some(left))
                    .build()
                    .call(),
            };
            let response = match call {
                Ok(response) => response,
                Err(err) => {
                    fetch.error = Some(self.classify(err));
                    return fetch;
                }
            };
            let status = response.status();
            let code = status.as_u16();
            let location = is_redirect(code)
                .then(|| response.headers().get(ureq::http::header::LOCATION))
                .flatten()
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
            fetch.status = Some(code);
            // Read at most max_bytes + 1: one byte over the cap is enough to know the body is too
            // large, and a huge body is never downloaded. A redirect's body is read too, so its
            // connection goes back to the pool for the next request.
            let (bytes, failed) = read_body(
                response.into_body().into_reader(),
                self.max_bytes.saturating_add(1),
            );
            fetch.bytes = bytes;
            if let Some(err) = failed {
                let (kind, text) = self.classify(ureq::Error::from(err));
                fetch.error = Some((kind, format!("body failed after {bytes} bytes: {text}")));
                return fetch;
            }
            if bytes > self.max_bytes {
                let text = format!(
                    "body larger than --max-bytes {} (stopped reading there)",
                    self.max_bytes
                );
                fetch.error = Some((ErrorKind::BodyTooLarge, text));
                return fetch;
            }
            match location {
                Some(location) if self.max_redirects == 0 => fetch.location = Some(location),
                Some(location) if fetch.redirects == self.max_redirects => {
                    let text = format!(
                        "too many redirects: {code} to {location} after the {} allowed by --redirects",
                        self.max_redirects
                    );
                    fetch.location = Some(location);
                    fetch.error = Some((ErrorKind::TooManyRedirects, text));
                }
                Some(location) => match resolve(&current, &location) {
                    Ok(next) => {
                        fetch.redirects += 1;
                        current = next;
                        continue;
                    }
                    Err(why) => {
                        let text = format!("{code} to an invalid Location {location:?}: {why}");
                        fetch.location = Some(location);
                        fetch.error = Some((ErrorKind::Other, text));
                    }
                },
                None if code >= 400 => {
                    let text = format!("HTTP {code} {}", status.canonical_reason().unwrap_or(""));
                    fetch.error = Some((ErrorKind::HttpStatus, text.trim_end().to_owned()));
                }
                None => {}
            }
            return fetch;
        }
    }

    fn classify(&self, err: ureq::Error) -> (ErrorKind, String) {
        match err {
            ureq::Error::Timeout(_) => (
                ErrorKind::Timeout,
                format!("timeout after {} ms", self.timeout.as_millis()),
            ),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                (ErrorKind::ConnectionRefused, format!("connection refused: {io}"))
            }
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => (
                ErrorKind::Timeout,
                format!("timeout after {} ms ({io})", self.timeout.as_millis()),
            ),
            ureq::Error::BadUri(why) => (ErrorKind::InvalidUrl, format!("invalid URL: {why}")),
            other => (ErrorKind::Other, other.to_string()),
        }
    }
}

/// The statuses that send the client elsewhere with a `Location` (300 and 304 do not).
fn is_redirect(code: u16) -> bool {
    matches!(code, 301 | 302 | 303 | 307 | 308)
}

/// Where a redirect from `base` to `location` goes: `location` resolved against `base` (it may be
/// a whole URL, a path, or relative to `base`'s path), and still an http(s) URL with a host.
pub fn resolve(base: &str, location: &str) -> Result<String, String> {
    let base = url::Url::parse(base).map_err(|e| e.to_string())?;
    let next = base.join(location).map_err(|e| e.to_string())?.to_string();
    validate(&next)?;
    Ok(next)
}

/// Reads `body` to its end, but no further than `cap` bytes: the bytes received, and the error
/// that ended it early, if one did (the bytes that arrived before it are still counted).
fn read_body(body: impl Read, cap: u64) -> (u64, Option<std::io::Error>) {
    let mut body = body.take(cap);
    let mut chunk = [0u8; 16 << 10];
    let mut received = 0;
    loop {
        match body.read(&mut chunk) {
            Ok(0) => return (received, None),
            Ok(n) => received += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (received, Some(e)),
        }
    }
}

fn as_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Checks that `url` is an absolute http(s) URL with a host, before any request is made. Two
/// parsers read it: `http`'s, which the request is made with, and `url`'s (WHATWG), which
/// [`resolve`]s a redirect from it; both must accept it. (`http`'s alone takes a port over 65535
/// and then forgets it, so the request would go to port 80.)
pub fn validate(url: &str) -> Result<(), String> {
    let uri: ureq::http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => return Err(format!("scheme {other:?} is not http or https")),
        None => return Err("no scheme (expected http:// or https://)".to_owned()),
    }
    match uri.host() {
        Some(host) if !host.is_empty() => {}
        _ => return Err("no host".to_owned()),
    }
    url::Url::parse(url).map(drop).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use testbed::http_server::Server;

    fn limits(timeout_ms: u64, max_bytes: u64, retries: u32) -> Limits {
        Limits {
            timeout: Duration::from_millis(timeout_ms),
            max_bytes,
            retries,
            max_redirects: 10,
        }
    }

    #[test]
    fn a_location_resolves_against_the_url_that_answered() {
        let base = "http://127.0.0.1:8080/a/b?x=1";
        for (location, want) in [
            ("/c", "http://127.0.0.1:8080/c"),
            ("c?y=2", "http://127.0.0.1:8080/a/c?y=2"),
            ("../c", "http://127.0.0.1:8080/c"),
            ("//10.0.0.1:9/d", "http://10.0.0.1:9/d"),
            ("https://example.invalid/e", "https://example.invalid/e"),
        ] {
            assert_eq!(resolve(base, location).as_deref(), Ok(want), "{location}");
        }
        assert!(resolve(base, "ftp://127.0.0.1/f").is_err());
        assert!(resolve(base, "http://[::1").is_err());
    }

    /// A reader that hands out `data`, then fails.
    struct Breaks<'a>(&'a [u8]);

    impl Read for Breaks<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"));
            }
            let n = buf.len().min(self.0.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_body_that_breaks_counts_what_arrived() {
        let (n, err) = read_body(Breaks(&[1; 40]), 1000);
        assert_eq!(
            (n, err.map(|e| e.kind())),
            (40, Some(std::io::ErrorKind::ConnectionReset))
        );
        let (n, err) = read_body(Breaks(&[1; 40]), 21);
        assert_eq!((n, err.is_none()), (21, true), "the cap comes first");
        let (n, err) = read_body(&[1u8; 30][..], 1000);
        assert_eq!((n, err.is_none()), (30, true));
    }

    #[test]
    fn validation() {
        assert!(validate("http://127.0.0.1:8080/x").is_ok());
        assert!(validate("https://example.invalid/").is_ok());
        for bad in [
            "not a url",
            "ftp://127.0.0.1/",
            "127.0.0.1/x",
            "http://",
            "http://exa mple/",
        ] {
            assert!(validate(bad).is_err(), "{bad} should be invalid");
        }
    }

    #[test]
    fn a_port_over_65535_is_invalid_not_port_80() {
        // Found by the fuzz target's property ("a URL that passes validation can be redirected
        // from"): `http`'s parser takes the port and then has none, so ureq asked port 80.
        let url = "http://127.0.0.1:99999/x";
        let why = validate(url).expect_err("port 99999");
        assert!(why.contains("port"), "{why}");
        assert!(validate("http://127.0.0.1:65535/x").is_ok());
    }

    #[test]
    fn every_outcome_against_the_embedded_server() {
        let server = Server::start(2).expect("server");
        let base = server.base_url();
        let stop = Stop::new();
        let client = Client::new(2, limits(300, 1000, 0));

        let ok = client.fetch(&format!("{base}/bytes/1000"), &stop);
        assert_eq!((ok.status, ok.bytes, ok.attempts), (Some(200), 1000, 1));
        assert!(ok.error.is_none());

        let too_big = client.fetch(&format!("{base}/bytes/5000"), &stop);
        assert_eq!(too_big.bytes, 1001, "read no further than the cap + 1");
        assert_eq!(too_big.error.map(|e| e.0), Some(ErrorKind::BodyTooLarge));

        let missing = client.fetch(&format!("{base}/status/404"), &stop);
        assert_eq!(missing.status, Some(404));
        assert_eq!(missing.error.map(|e| e.0), Some(ErrorKind::HttpStatus));

        let slow = client.fetch(&format!("{base}/slow"), &stop);
        assert_eq!(slow.error.map(|e| e.0), Some(ErrorKind::Timeout));

        let bad = client.fetch("nope://x", &stop);
        assert_eq!(
            (bad.attempts, bad.error.map(|e| e.0)),
            (0, Some(ErrorKind::InvalidUrl))
        );

        // A port nobody listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let refused = client.fetch(&format!("http://127.0.0.1:{port}/"), &stop);
        assert_eq!(refused.error.map(|e| e.0), Some(ErrorKind::ConnectionRefused));

        // https goes through rustls: against this plain-HTTP server the handshake fails (kind
        // `other`), which shows TLS is compiled in without any traffic leaving 127.0.0.1.
        let tls = client.fetch(&base.replace("http://", "https://"), &stop);
        assert_eq!(tls.error.map(|e| e.0), Some(ErrorKind::Other));

        drop(client);
        let stats = server.shutdown();
        assert!(stats.requests() >= 4);
    }

    #[test]
    fn retries_until_the_flaky_route_succeeds() {
        let server = Server::start(2).expect("server");
        let base = server.base_url();
        let stop = Stop::new();
        let twice = Client::new(1, limits(2000, 1000, 2));
        let fetched = twice.fetch(&format!("{base}/flaky/t/2"), &stop);
        assert_eq!((fetched.status, fetched.attempts), (Some(200), 3));
        assert!(fetched.error.is_none());

        let once = Client::new(1, limits(2000, 1000, 1));
        let failed = once.fetch(&format!("{base}/flaky/u/2"), &stop);
        assert_eq!((failed.status, failed.attempts), (Some(503), 2));

        // 4xx is not retried.
        let not_found = twice.fetch(&format!("{base}/status/404"), &stop);
        assert_eq!(not_found.attempts, 1);
        drop((twice, once));
        server.shutdown();
    }
}
