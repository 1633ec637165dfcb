//! The loopback HTTP test server `http-fetch` fetches from: a small HTTP/1.1 server on 127.0.0.1
//! (OS-chosen port) whose routes make every outcome of a fetch visible, and which counts how many
//! requests it served at once.
//!
//! Routes (any of them takes `?ms=N` to wait N ms before answering):
//! - `/delay/{ms}`: 200 after `ms` milliseconds;
//! - `/status/{code}`: that status (200..=599);
//! - `/bytes/{n}`: 200 with a body of exactly `n` bytes (at most 256 MiB);
//! - `/slow`: answers only after the client gave up (or after an hour): a timeout, whatever the
//!   client's timeout is. It ends as soon as the client closes the connection or the server stops;
//! - `/flaky/{key}/{k}`: 503 for the first `k` requests with this key, then 200 (for `--retries`);
//! - `/redirect/{n}`: 301 to `/redirect/{n-1}` (a path, to resolve against the request's URL);
//!   `/redirect/0` answers 200: a chain of `n` redirects (n ≤ 1000);
//! - `/redirect-loop`: 302 to itself, for ever;
//! - `/redirect-to?url={u}`: 302 to `u` as written (everything after `url=`, not decoded);
//! - `/truncated/{n}/{k}`: a 200 that promises `n` bytes (`Content-Length`) and sends only `k` <
//!   `n`, then closes the connection: a body that fails part-way;
//! - anything else: 404.
//!
//! What it counts ([`Stats`]). A request is *being served* from the moment its head has been read
//! until its response is handed to the socket (the count drops just before the last write, so a
//! client can never hold the whole answer while the request still counts), or until the server
//! sees that the client hung up. Two peaks:
//! - [`Stats::peak_concurrency`]: requests being served at once, including requests whose client
//!   already gave up (it timed out and closed the connection) that the serving thread has not
//!   noticed yet: it looks every 25 ms. After client timeouts this can exceed the client's
//!   workers: the abandoned attempt still runs here while the worker has moved on to a retry or
//!   to its next URL. That is real load, and what a server sees when clients time out and retry.
//! - [`Stats::peak_open_requests`]: requests being served whose client is still waiting. When a
//!   request arrives and would raise this peak, the server first looks (one `poll`, without
//!   blocking) at the connections of the requests it is serving and stops counting those whose
//!   client has closed its end. A client worker waits for one answer at a time and closes a
//!   connection it timed out on before it sends anything else, so this never exceeds the
//!   client's workers.
//!
//! Why not tiny_http: its accept thread and connection threads are detached (`thread::spawn`
//! without a handle) and its idle threads linger for 5 s after the server is dropped, so a run
//! could never end with every thread joined (`threads_alive_at_exit` = 0). This server is a pool
//! of connection threads (one per client worker, started up front) that each accept a connection
//! and serve it, then accept the next: a new connection wakes one thread, with no accept thread
//! handing it over (at 100 workers that hand-over was one more wake-up per connection, all in
//! one thread, while the first requests waited). A thread that takes the last idle slot starts
//! one more first, so a connection never waits for a busy thread; `shutdown` joins every one.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, ErrorKind, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::RecvFlags;

/// How often a waiting connection thread looks at the stop flag and at its client.
const POLL: Duration = Duration::from_millis(25);
/// A connection thread's stack: its deepest frame holds a 16 KiB chunk of body. Far below the
/// 2 MiB default, so a hundred of them start, exit (and are reused by the allocator) cheaply.
const STACK: usize = 256 << 10;
/// `/bytes/{n}` refuses larger bodies (400): it is a test server, not a disk filler.
const MAX_BODY: u64 = 256 << 20;
/// `/redirect/{n}` refuses longer chains (400).
const MAX_REDIRECTS: u64 = 1000;
/// `/slow` gives up after this long even if nobody is waiting for it.
const SLOW_LIMIT: Duration = Duration::from_secs(3600);

/// What the server saw, read at shutdown (see the module docs for what each peak counts).
#[derive(Debug, Default)]
pub struct Stats {
    serving: Mutex<Serving>,
    requests: AtomicU64,
    connections: AtomicU64,
    flaky: Mutex<HashMap<String, u64>>,
}

/// The requests being served right now, and the peaks.
#[derive(Debug, Default)]
struct Serving {
    next_id: u64,
    /// Each request being served: its connection, and whether its client is still waiting.
    requests: HashMap<u64, (Arc<TcpStream>, bool)>,
    open: usize,
    peak: usize,
    peak_open: usize,
    abandoned: u64,
}

impl Stats {
    /// The most requests being served at the same moment, requests already abandoned by their
    /// client (not yet noticed) included: may exceed the client's workers after timeouts.
    pub fn peak_concurrency(&self) -> usize {
        self.serving().peak
    }

    /// The most requests being served at the same moment whose client was still waiting:
    /// at most the client's workers.
    pub fn peak_open_requests(&self) -> usize {
        self.serving().peak_open
    }

    /// Requests whose client hung up before the answer was complete (timeouts, a body cap).
    pub fn abandoned(&self) -> u64 {
        self.serving().abandoned
    }

    /// Requests answered (or abandoned by their client) so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// TCP connections accepted so far (keep-alive makes this about the number of workers).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    fn serving(&self) -> std::sync::MutexGuard<'_, Serving> {
        // A poisoned lock only means a connection thread panicked: the counts are still whole.
        self.serving.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request on `stream` starts being served. If it would raise the open peak, the requests
    /// whose client already hung up stop counting as open first.
    fn begin(&self, stream: &Arc<TcpStream>) -> u64 {
        let mut guard = self.serving();
        let s = &mut *guard;
        if s.open + 1 > s.peak_open {
            // Paid only when the peak could rise: while it climbs to the workers at the start of
            // a run, and after timeouts. One `poll` for all the connections, not a peek each: this
            // runs under the lock every request needs.
            for id in hung_up(&s.requests) {
                if let Some((_, open)) = s.requests.get_mut(&id) {
                    *open = false;
                    s.open -= 1;
                }
            }
        }
        let id = s.next_id;
        s.next_id += 1;
        s.requests.insert(id, (Arc::clone(stream), true));
        s.open += 1;
        s.peak = s.peak.max(s.requests.len());
        s.peak_open = s.peak_open.max(s.open);
        id
    }

    /// Request `id` is no longer served: answered, or `abandoned` by its client.
    fn end(&self, id: u64, abandoned: bool) {
        let mut s = self.serving();
        if let Some((_, open)) = s.requests.remove(&id)
            && open
        {
            s.open -= 1;
        }
        s.abandoned += u64::from(abandoned);
        drop(s);
        self.requests.fetch_add(1, Ordering::SeqCst);
    }
}

/// The request being served on a connection thread; it stops counting at [`InFlight::end`] (or
/// when dropped), once.
struct InFlight<'a> {
    stats: &'a Stats,
    id: Option<u64>,
}

impl InFlight<'_> {
    fn end(&mut self, abandoned: bool) {
        if let Some(id) = self.id.take() {
            self.stats.end(id, abandoned);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.end(false);
    }
}

/// A running embedded server. Call [`Server::shutdown`] to stop it and join its threads.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    pool: ConnPool,
    stopped: bool,
}

impl Server {
    /// Starts the server on 127.0.0.1 with a port chosen by the OS and `threads` connection
    /// threads ready (one per client connection expected: the client's workers); more are started
    /// if more connections arrive at once.
    pub fn start(threads: usize) -> anyhow::Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).context("cannot start the embedded server")?;
        let addr = listener.local_addr()?;
        let pool = ConnPool {
            listener: Arc::new(listener),
            idle: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
            stats: Arc::new(Stats::default()),
            threads: Arc::new(Mutex::new(Vec::with_capacity(threads.max(1)))),
        };
        let server = Server {
            addr,
            pool,
            stopped: false,
        };
        for _ in 0..threads.max(1) {
            // On an error, dropping `server` stops and joins the threads already started.
            server.pool.spawn_thread()?;
        }
        Ok(server)
    }

    /// `http://127.0.0.1:PORT`, what `{server}` stands for in a URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, ends every connection (waiting routes end early) and joins every thread.
    pub fn shutdown(mut self) -> Arc<Stats> {
        self.stop_and_join();
        Arc::clone(&self.pool.stats)
    }

    fn stop_and_join(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        self.pool.stop.store(true, Ordering::SeqCst);
        // Wake the threads blocked in `accept`: on Linux, shutting the listener down wakes them
        // all at once (their `accept` fails); elsewhere, or for a thread that was not in `accept`
        // yet, a connection to ourselves wakes one thread at a time. A thread serving a
        // connection sees the stop flag within POLL. Every thread is then joined, those started
        // while the server ran included.
        let _ = rustix::net::shutdown(&*self.pool.listener, rustix::net::Shutdown::Read);
        loop {
            let Some(handle) = self.pool.threads().pop() else {
                break;
            };
            while !handle.is_finished() {
                if self.pool.idle.load(Ordering::SeqCst) == 0
                    || TcpStream::connect_timeout(&self.addr, Duration::from_millis(100)).is_err()
                {
                    thread::sleep(Duration::from_millis(1));
                }
            }
            let _ = handle.join();
        }
    }
}

impl Drop for Server {
    /// Also on an early return: the threads are never left running.
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// What every connection thread shares: the listener, the idle count, stop, stats, and the
/// handles of every connection thread (joined at shutdown).
#[derive(Debug, Clone)]
struct ConnPool {
    listener: Arc<TcpListener>,
    /// Threads blocked in `accept`, waiting for a connection.
    idle: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    stats: Arc<Stats>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl ConnPool {
    fn threads(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        // Poisoned only if a push panicked: the handles are still whole.
        self.threads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a connection thread: it accepts a connection and serves it, again and again, until
    /// the server stops. Each thread accepts for itself (no accept thread handing connections
    /// over): a connection wakes one thread, once. When a thread takes the last idle slot, it
    /// starts one more first, so a new connection never waits for a busy one to end.
    fn spawn_thread(&self) -> std::io::Result<()> {
        let pool = self.clone();
        let handle = thread::Builder::new()
            .name("server-conn".into())
            .stack_size(STACK)
            .spawn(move || {
                while !pool.stop.load(Ordering::SeqCst) {
                    pool.idle.fetch_add(1, Ordering::SeqCst);
                    let accepted = pool.listener.accept();
                    let was_idle = pool.idle.fetch_sub(1, Ordering::SeqCst);
                    if pool.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok((stream, _)) = accepted else {
                        thread::sleep(Duration::from_millis(1)); // out of descriptors, say: no spin
                        continue;
                    };
                    pool.stats.connections.fetch_add(1, Ordering::SeqCst);
                    if was_idle == 1 {
                        let _ = pool.spawn_thread(); // if it fails, the next connection waits its turn
                    }
                    serve_connection(stream, &pool.stop, &pool.stats);
                }
            })?;
        self.threads().push(handle);
        Ok(())
    }
}

/// Serves requests on one keep-alive connection until the client closes it or the server stops.
fn serve_connection(stream: TcpStream, stop: &AtomicBool, stats: &Stats) {
    // No Nagle delay: a response head and its body go out at once, not 40 ms apart.
    if stream.set_nodelay(true).is_err()
        || stream.set_read_timeout(Some(POLL)).is_err()
        || stream.set_write_timeout(Some(Duration::from_secs(1))).is_err()
    {
        return;
    }
    let Ok(read_half) = stream.try_clone() else { return };
    let stream = Arc::new(stream);
    let mut reader = BufReader::new(read_half);
    while let Some(head) = read_head(&mut reader, stop) {
        let mut request = InFlight {
            stats,
            id: Some(stats.begin(&stream)),
        };
        let answered = answer(&stream, &head, stop, &mut request);
        request.end(!answered);
        if !answered || head.close {
            break;
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

struct Head {
    path: String,
    close: bool,
}

/// Reads one request head; `None` when the client closed the connection or the server stops.
fn read_head(reader: &mut BufReader<TcpStream>, stop: &AtomicBool) -> Option<Head> {
    let mut lines: Vec<String> = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    loop {
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return None,
            Ok(_) if line.ends_with(b"\n") => {
                let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                line.clear();
                if text.is_empty() {
                    if lines.is_empty() {
                        continue; // a stray blank line between requests
                    }
                    break;
                }
                lines.push(text);
                if lines.len() > 100 {
                    return None;
                }
            }
            Ok(_) => {}
            // A read timeout: nothing arrived within POLL. The partial line stays in `line`.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stop.load(Ordering::SeqCst) {
                    return None;
                }
            }
            Err(_) => return None,
        }
        // Not HTTP/1 text (a TLS handshake, say) or an endless line: close the connection.
        let first = lines.first().map_or(line.first(), |l| l.as_bytes().first());
        if first.is_some_and(|b| !b.is_ascii_alphabetic()) || line.len() > 8192 {
            return None;
        }
    }
    let mut request_line = lines.first()?.split_whitespace();
    let (_method, path) = (request_line.next()?, request_line.next()?);
    let close = lines[1..].iter().any(|h| {
        h.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("connection") && value.trim().eq_ignore_ascii_case("close")
        })
    });
    Some(Head {
        path: path.to_owned(),
        close,
    })
}

/// What a route answers.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Status(u16, String),
    /// A redirect: its status and its `Location`.
    Redirect(u16, String),
    Bytes(u64),
    /// `Content-Length: n`, then only `k` bytes, then the connection closes.
    Truncated(u64, u64),
    /// Wait for the client to give up, then close.
    Slow,
}

/// Answers one request; false if the connection must be closed afterwards (the client gave up,
/// a write failed, or the server stops). `request` stops counting just before the last write.
fn answer(stream: &TcpStream, head: &Head, stop: &AtomicBool, request: &mut InFlight<'_>) -> bool {
    let (delay, reply) = route(&head.path, &request.stats.flaky);
    if let Some(delay) = delay
        && !wait(stream, delay, stop)
    {
        return false; // the client gave up or the server stops
    }
    match reply {
        Reply::Slow => wait(stream, SLOW_LIMIT, stop) && respond(stream, 200, "", b"slow\n", request),
        Reply::Status(code, body) => respond(stream, code, "", body.as_bytes(), request),
        Reply::Redirect(code, location) => {
            let body = format!("redirect to {location}\n");
            respond(
                stream,
                code,
                &format!("Location: {location}\r\n"),
                body.as_bytes(),
                request,
            )
        }
        Reply::Bytes(n) => respond_bytes(stream, n, request),
        Reply::Truncated(n, k) => {
            // The answer is complete as far as the server means it: the missing bytes never come.
            // The connection closes (false), so the client sees the end of the stream mid-body.
            respond_truncated(stream, n, k, request);
            false
        }
    }
}

/// The route for `path`: an optional wait first, then the reply. Pure but for the flaky counters.
fn route(path: &str, flaky: &Mutex<HashMap<String, u64>>) -> (Option<Duration>, Reply) {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    // `url=` takes the rest of the query, `&` included: it is the last parameter.
    let (query, redirect_to) = match query.find("url=") {
        Some(at) => (&query[..at], Some(&query[at + "url=".len()..])),
        None => (query, None),
    };
    let mut delay_ms: u64 = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("ms="))
        .find_map(|v| v.parse().ok())
        .unwrap_or(0);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let bad = |what: &str| Reply::Status(400, format!("bad {what}\n"));
    let reply = match parts.as_slice() {
        ["delay", ms] => match ms.parse::<u64>() {
            Ok(ms) if ms <= 3_600_000 => {
                delay_ms += ms;
                Reply::Status(200, format!("delayed {ms} ms\n"))
            }
            _ => bad("delay"),
        },
        ["status", code] => match code.parse::<u16>() {
            Ok(code @ 200..=599) => Reply::Status(code, format!("status {code}\n")),
            _ => bad("status code"),
        },
        ["bytes", n] => match n.parse::<u64>() {
            Ok(n) if n <= MAX_BODY => Reply::Bytes(n),
            _ => bad("byte count"),
        },
        ["slow"] => Reply::Slow,
        ["redirect", n] => match n.parse::<u64>() {
            Ok(0) => Reply::Status(200, "redirected\n".to_owned()),
            Ok(n) if n <= MAX_REDIRECTS => Reply::Redirect(301, format!("/redirect/{}", n - 1)),
            _ => bad("redirect count"),
        },
        ["redirect-loop"] => Reply::Redirect(302, "/redirect-loop".to_owned()),
        ["redirect-to"] => match redirect_to {
            Some(url) if !url.is_empty() => Reply::Redirect(302, url.to_owned()),
            _ => bad("redirect target (expected ?url=...)"),
        },
        ["truncated", n, k] => match (n.parse::<u64>(), k.parse::<u64>()) {
            (Ok(n), Ok(k)) if k < n && n <= MAX_BODY => Reply::Truncated(n, k),
            _ => bad("truncation (expected /truncated/{n}/{k} with k < n)"),
        },
        ["flaky", key, k] => match k.parse::<u64>() {
            Ok(k) => {
                let seen = {
                    let mut counts = flaky.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let seen = counts.entry((*key).to_owned()).or_insert(0);
                    *seen += 1;
                    *seen
                };
                if seen <= k {
                    Reply::Status(503, format!("failing {seen} of {k}\n"))
                } else {
                    Reply::Status(200, format!("ok after {k} failures\n"))
                }
            }
            Err(_) => bad("failure count"),
        },
        _ => Reply::Status(404, "no such route\n".to_owned()),
    };
    ((delay_ms > 0).then(|| Duration::from_millis(delay_ms)), reply)
}

/// Waits `total`, in steps of at most [`POLL`]; false (early) when the server stops or the client
/// closed its end of the connection (it timed out and gave up on this request).
fn wait(stream: &TcpStream, total: Duration, stop: &AtomicBool) -> bool {
    let end = Instant::now() + total;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        thread::sleep(left.min(POLL));
        if Instant::now() >= end {
            return true;
        }
        if stop.load(Ordering::SeqCst) || client_gone(stream) {
            return false;
        }
    }
}

/// True if the client has closed the connection (a peek reads end-of-file) or it broke. The peek
/// neither blocks nor changes the socket's mode, so any thread may ask about any connection.
fn client_gone(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match rustix::net::recv(stream, &mut byte[..], RecvFlags::PEEK | RecvFlags::DONTWAIT) {
        Ok((0, _)) => true,
        Ok(_) => false,
        Err(e) => e != Errno::WOULDBLOCK && e != Errno::INTR,
    }
}

/// The requests still counted as open whose client has hung up: one `poll` (without waiting) over
/// their connections, then a peek at those with something to read, to tell an end-of-file from
/// bytes the client sent. If `poll` fails, every connection is peeked.
fn hung_up(requests: &HashMap<u64, (Arc<TcpStream>, bool)>) -> Vec<u64> {
    let open: Vec<(u64, &TcpStream)> = requests
        .iter()
        .filter(|(_, (_, open))| *open)
        .map(|(id, (conn, _))| (*id, &**conn))
        .collect();
    let mut fds: Vec<PollFd<'_>> = open
        .iter()
        .map(|(_, conn)| PollFd::new(*conn, PollFlags::IN))
        .collect();
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let polled = rustix::event::poll(&mut fds, Some(&now)).is_ok();
    open.iter()
        .zip(&fds)
        .filter(|(_, fd)| !polled || !fd.revents().is_empty())
        .filter(|((_, conn), _)| client_gone(conn))
        .map(|((id, _), _)| *id)
        .collect()
}

/// Writes a whole response in one write, with `headers` (whole lines, each ending in CRLF) after
/// the standard ones; `request` stops counting just before it.
fn respond(
    mut stream: &TcpStream,
    code: u16,
    headers: &str,
    body: &[u8],
    request: &mut InFlight<'_>,
) -> bool {
    let head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n{headers}\r\n",
        reason(code),
        body.len()
    );
    let mut message = head.into_bytes();
    message.extend_from_slice(body);
    request.end(false);
    stream.write_all(&message).is_ok()
}

/// Writes the head, then `n` bytes in chunks; `request` stops counting just before the last write.
fn respond_bytes(mut stream: &TcpStream, n: u64, request: &mut InFlight<'_>) -> bool {
    let head =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nContent-Type: application/octet-stream\r\n\r\n");
    if n == 0 {
        request.end(false);
    }
    if stream.write_all(head.as_bytes()).is_err() {
        return false;
    }
    let chunk = [b'x'; 16 * 1024];
    let mut left = n;
    while left > 0 {
        let len = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
        if left == len as u64 {
            request.end(false);
        }
        // A client that stopped reading (its --max-bytes cap) closes the connection: the write
        // fails and the connection ends.
        if stream.write_all(&chunk[..len]).is_err() {
            return false;
        }
        left -= len as u64;
    }
    true
}

/// Writes a head promising `n` bytes and only `k` of them, in one write; `request` stops counting
/// just before it. The caller then closes the connection.
fn respond_truncated(mut stream: &TcpStream, n: u64, k: u64, request: &mut InFlight<'_>) {
    let head =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nContent-Type: application/octet-stream\r\n\r\n");
    let mut message = head.into_bytes();
    message.resize(message.len() + usize::try_from(k).unwrap_or(0), b'x');
    request.end(false);
    let _ = stream.write_all(&message);
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn get(addr: &str, path: &str) -> String {
        let mut stream = TcpStream::connect(addr.trim_start_matches("http://")).expect("connect");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut out = String::new();
        stream.read_to_string(&mut out).expect("read");
        out
    }

    #[test]
    fn routes_answer_what_they_are_told() {
        let flaky = Mutex::new(HashMap::new());
        assert_eq!(
            route("/status/404", &flaky).1,
            Reply::Status(404, "status 404\n".into())
        );
        assert_eq!(route("/bytes/10", &flaky).1, Reply::Bytes(10));
        assert_eq!(route("/slow", &flaky).1, Reply::Slow);
        assert_eq!(route("/delay/30", &flaky).0, Some(Duration::from_millis(30)));
        assert_eq!(route("/bytes/5?ms=7", &flaky).0, Some(Duration::from_millis(7)));
        assert!(matches!(route("/nope", &flaky).1, Reply::Status(404, _)));
        assert!(matches!(route("/status/99", &flaky).1, Reply::Status(400, _)));
        let codes: Vec<_> = (0..3)
            .map(|_| match route("/flaky/a/2", &flaky).1 {
                Reply::Status(code, _) => code,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(codes, [503, 503, 200]);
    }

    #[test]
    fn redirect_and_truncation_routes() {
        let flaky = Mutex::new(HashMap::new());
        assert_eq!(
            route("/redirect/3", &flaky).1,
            Reply::Redirect(301, "/redirect/2".into())
        );
        assert!(matches!(route("/redirect/0", &flaky).1, Reply::Status(200, _)));
        assert!(matches!(route("/redirect/1001", &flaky).1, Reply::Status(400, _)));
        assert_eq!(
            route("/redirect-loop", &flaky).1,
            Reply::Redirect(302, "/redirect-loop".into())
        );
        let to = route("/redirect-to?ms=4&url=http://127.0.0.1:1/a?b=1&c=2", &flaky);
        assert_eq!(to.0, Some(Duration::from_millis(4)));
        assert_eq!(to.1, Reply::Redirect(302, "http://127.0.0.1:1/a?b=1&c=2".into()));
        assert!(matches!(route("/redirect-to", &flaky).1, Reply::Status(400, _)));
        assert_eq!(route("/truncated/100/40", &flaky).1, Reply::Truncated(100, 40));
        assert!(matches!(
            route("/truncated/40/40", &flaky).1,
            Reply::Status(400, _)
        ));
    }

    #[test]
    fn a_redirect_has_its_location_and_a_truncated_body_ends_early() {
        let server = Server::start(2).expect("start");
        let base = server.base_url();
        let reply = get(&base, "/redirect/2");
        assert!(reply.starts_with("HTTP/1.1 301 Moved Permanently\r\n"), "{reply}");
        assert!(reply.contains("\r\nLocation: /redirect/1\r\n"), "{reply}");
        let reply = get(&base, "/truncated/1000/300");
        assert!(reply.contains("\r\nContent-Length: 1000\r\n"), "{reply}");
        let body = reply.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        assert_eq!(
            body.len(),
            300,
            "the connection closes after 300 of the 1000 bytes"
        );
        let stats = server.shutdown();
        assert_eq!((stats.requests(), stats.abandoned()), (2, 0));
    }

    #[test]
    fn serves_over_tcp_and_joins_its_threads() {
        let server = Server::start(2).expect("start");
        let base = server.base_url();
        let reply = get(&base, "/bytes/5");
        assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
        assert!(reply.ends_with("\r\n\r\nxxxxx"), "{reply}");
        assert!(get(&base, "/status/500").starts_with("HTTP/1.1 500"));
        // A connection left open must not keep shutdown waiting.
        let _idle = TcpStream::connect(base.trim_start_matches("http://")).expect("connect");
        let stats = server.shutdown();
        assert_eq!(stats.requests(), 2);
        assert_eq!(stats.peak_concurrency(), 1);
        assert_eq!((stats.peak_open_requests(), stats.abandoned()), (1, 0));
    }

    /// More connections at once than threads started: the thread that takes the last idle slot
    /// starts another, so the second connection is served while the first stays open; shutdown
    /// joins the extra thread too.
    #[test]
    fn a_connection_beyond_the_threads_started_is_served() {
        let server = Server::start(1).expect("start");
        let base = server.base_url();
        let addr = base.trim_start_matches("http://").to_owned();
        let mut first = TcpStream::connect(&addr).expect("connect");
        write!(first, "GET /status/200 HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
        let mut head = [0u8; 12];
        first.read_exact(&mut head).expect("read");
        assert_eq!(&head, b"HTTP/1.1 200");
        // `first` stays open (keep-alive), holding the only thread started.
        assert!(get(&base, "/status/201").starts_with("HTTP/1.1 201"));
        let stats = server.shutdown();
        assert_eq!((stats.requests(), stats.connections()), (2, 2));
    }

    /// The look at the served connections before the open peak rises: one poll, then a peek at
    /// those with something to read. A client that closed is gone; one that sent a byte is not.
    #[test]
    fn hung_up_finds_only_the_clients_that_closed() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut clients = Vec::new();
        let mut requests = HashMap::new();
        for id in 0..4u64 {
            clients.push(TcpStream::connect(addr).expect("connect"));
            let (conn, _) = listener.accept().expect("accept");
            requests.insert(id, (Arc::new(conn), true));
        }
        requests.get_mut(&3).expect("request 3").1 = false; // no longer counted: not looked at
        clients[1].write_all(b"x").expect("write"); // data waiting: still there
        let closed = clients.remove(2);
        drop(closed);
        let conn_2 = Arc::clone(&requests[&2].0);
        while !client_gone(&conn_2) {
            thread::yield_now(); // until the close has reached the server side
        }
        assert_eq!(hung_up(&requests), [2]);
    }

    /// A client that times out closes its connection and sends its next request at
    /// once, before the serving thread notices. The abandoned request may still count as being
    /// served, but not as open: the open peak stays at the one request the client waits for.
    #[test]
    fn a_request_abandoned_by_its_client_is_not_open() {
        let server = Server::start(2).expect("start");
        let base = server.base_url();
        let addr = base.trim_start_matches("http://").to_owned();
        let mut first = TcpStream::connect(&addr).expect("connect");
        write!(first, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
        while server.pool.stats.peak_concurrency() == 0 {
            thread::sleep(Duration::from_millis(1)); // until the server serves /slow
        }
        drop(first); // the client gives up on /slow ...
        let reply = get(&base, "/status/200"); // ... and at once asks for something else
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        let stats = server.shutdown();
        assert_eq!(stats.requests(), 2);
        assert_eq!(stats.abandoned(), 1);
        assert_eq!(stats.peak_open_requests(), 1);
        assert!((1..=2).contains(&stats.peak_concurrency()));
    }
}
