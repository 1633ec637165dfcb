//! A loopback TCP proxy in front of the cluster's Unix socket that loses COMMITs on purpose: the
//! connection is cut either right after a COMMIT is forwarded, before its reply comes back (the
//! server committed; the client cannot know), or instead of forwarding it (nothing committed).
//!
//! It reads the client's side of the PostgreSQL protocol message by message (a startup message
//! without a type byte, then a type byte and a length each), so it sees a simple-query `COMMIT`
//! (`Q`) whole; the server's side is relayed as bytes.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};

/// Which COMMITs count towards the cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Every COMMIT.
    All,
    /// Only those of a transaction that set a `SAVEPOINT row` (db-batch's row-by-row retry).
    RowByRow,
}

/// Where the connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// After forwarding the COMMIT, when its reply arrives: the reply is dropped.
    Reply,
    /// Instead of forwarding the COMMIT: it never reaches the server.
    Request,
}

#[derive(Debug)]
struct Shared {
    socket: PathBuf,
    cut: Cut,
    which: Which,
    /// Cut every `every`th COMMIT, at most `max` times.
    every: u64,
    max: u64,
    commits: AtomicU64,
    cuts: AtomicU64,
    stop: AtomicBool,
}

/// The proxy: listening on 127.0.0.1 until dropped.
#[derive(Debug)]
pub struct LossyProxy {
    port: u16,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl LossyProxy {
    /// A proxy to the server listening on the Unix socket `socket`: cuts every `every`th COMMIT
    /// of the `which` kind, at most `max` times.
    pub fn start(socket: PathBuf, (cut, which): (Cut, Which), every: u64, max: u64) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            socket,
            cut,
            which,
            every: every.max(1),
            max,
            commits: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("proxy-accept".into())
            .spawn(move || {
                for client in listener.incoming() {
                    if accepting.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(client) = client else { continue };
                    let shared = Arc::clone(&accepting);
                    // Each connection's two relay threads end with its sockets.
                    let _ = thread::Builder::new()
                        .name("proxy-conn".into())
                        .spawn(move || connection(client, &shared));
                }
            })?;
        Ok(LossyProxy {
            port,
            shared,
            accept: Some(accept),
        })
    }

    /// The URL through the proxy (the cluster's `postgres` user and database).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Connections cut so far.
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    /// COMMITs of the kind that counts seen so far.
    pub fn commits(&self) -> u64 {
        self.shared.commits.load(Ordering::SeqCst)
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// One client connection: the server's replies relayed on a thread of their own, the client's
/// messages read and forwarded here.
fn connection(client: TcpStream, shared: &Shared) {
    let Ok(server) = UnixStream::connect(&shared.socket) else {
        return;
    };
    let (Ok(mut client_in), Ok(server_in)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let drop_reply = Arc::new(AtomicBool::new(false));
    let dropping = Arc::clone(&drop_reply);
    let (client_out, server_out) = (client, server);
    let replies = thread::spawn(move || relay_replies(server_in, client_out, &dropping));
    let _ = forward_requests(&mut client_in, &server_out, shared, &drop_reply);
    let _ = client_in.shutdown(Shutdown::Both);
    let _ = server_out.shutdown(Shutdown::Both);
    let _ = replies.join();
}

/// The server's bytes to the client, until either side closes, or a reply comes while
/// `drop_reply` is set: then it is dropped and both connections are shut down.
fn relay_replies(mut server: UnixStream, mut client: TcpStream, drop_reply: &AtomicBool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if drop_reply.load(Ordering::SeqCst) {
            break; // the COMMIT's reply: the server has committed, the client never hears it
        }
        if client.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
}

/// The client's messages to the server, cutting the connection at a chosen COMMIT.
fn forward_requests(
    client: &mut TcpStream,
    mut server: &UnixStream,
    shared: &Shared,
    drop_reply: &AtomicBool,
) -> io::Result<()> {
    // The startup message (and any SSL or GSS encryption request before it): a length, no type.
    loop {
        let mut len = [0u8; 4];
        client.read_exact(&mut len)?;
        let body = read_body(client, u32::from_be_bytes(len))?;
        server.write_all(&len)?;
        server.write_all(&body)?;
        // 80877103: SSLRequest, 80877104: GSSENCRequest; the server answers one byte, 'N'.
        let code = body
            .get(..4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        if !matches!(code, Some(80_877_103 | 80_877_104)) {
            break;
        }
    }
    let mut row_by_row = false; // this transaction has set a `SAVEPOINT row`
    loop {
        let mut head = [0u8; 5];
        client.read_exact(&mut head)?;
        let body = read_body(client, u32::from_be_bytes([head[1], head[2], head[3], head[4]]))?;
        let query = (head[0] == b'Q').then(|| query_text(&body));
        let query = query.as_deref().unwrap_or_default();
        row_by_row |= query.eq_ignore_ascii_case("SAVEPOINT row");
        let commit = query.eq_ignore_ascii_case("COMMIT") || query.eq_ignore_ascii_case("END");
        if commit || query.eq_ignore_ascii_case("ROLLBACK") {
            let counts = shared.which == Which::All || row_by_row;
            row_by_row = false;
            if !(commit && counts) {
                server.write_all(&head)?;
                server.write_all(&body)?;
                continue;
            }
            let n = shared.commits.fetch_add(1, Ordering::SeqCst) + 1;
            if n.is_multiple_of(shared.every) && shared.cuts.load(Ordering::SeqCst) < shared.max {
                shared.cuts.fetch_add(1, Ordering::SeqCst);
                if shared.cut == Cut::Request {
                    return Ok(()); // dropped: the caller shuts both connections down
                }
                drop_reply.store(true, Ordering::SeqCst); // before the server can answer
            }
        }
        server.write_all(&head)?;
        server.write_all(&body)?;
    }
}

/// A message's body: `len` counts itself (4 bytes) and the body.
fn read_body(client: &mut TcpStream, len: u32) -> io::Result<Vec<u8>> {
    let len = usize::try_from(len.saturating_sub(4)).map_err(io::Error::other)?;
    if len > 64 << 20 {
        return Err(io::Error::other(
            "a message over 64 MiB: not PostgreSQL's protocol",
        ));
    }
    let mut body = vec![0u8; len];
    client.read_exact(&mut body)?;
    Ok(body)
}

/// A simple query's text (nul-terminated), trimmed, without a final `;`.
fn query_text(body: &[u8]) -> String {
    let text = body.strip_suffix(&[0]).unwrap_or(body);
    let text = String::from_utf8_lossy(text);
    text.trim().trim_end_matches(';').trim().to_owned()
}
