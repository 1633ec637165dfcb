//! The embedded HTTP server's ceiling on this machine: `http-fetch --mix delay` without the
//! client. N threads share a job counter (a pool with nothing else in it), each on one keep-alive
//! TCP connection, and send `GET /delay/{ms}` with a hand-written request head, reading the
//! response with no HTTP client at all. Its efficiency against jobs × ms / workers is what the
//! server and the kernel leave for any client on the same cores; compare it with http-fetch's in
//! the same minute:
//!
//! ```text
//! cargo run --profile dist -p testbed --example raw_clients -- --workers 100 --jobs 1000 --ms 20
//! target/dist/http-fetch --mix delay --jobs 1000 --work-ms 20 --workers 100 --quiet
//! ```

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use testbed::http_server::Server;

fn main() -> anyhow::Result<()> {
    let (mut workers, mut jobs, mut ms) = (100u64, 1000u64, 20u64);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value: u64 = args
            .next()
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{flag} needs a whole number"))?;
        match flag.as_str() {
            "--workers" => workers = value.max(1),
            "--jobs" => jobs = value,
            "--ms" => ms = value,
            _ => anyhow::bail!("unknown flag {flag} (have --workers, --jobs, --ms)"),
        }
    }
    let server = Server::start(usize::try_from(workers)?)?;
    let addr = server.base_url().trim_start_matches("http://").to_owned();
    let next = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let mut clients = Vec::new();
        for _ in 0..workers {
            let (addr, next) = (&addr, &next);
            clients.push(std::thread::Builder::new().spawn_scoped(s, move || client(addr, next, jobs, ms))?);
        }
        for client in clients {
            client
                .join()
                .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
        }
        Ok(())
    })?;
    let wall = started.elapsed();
    let rounds = jobs.div_ceil(workers);
    let ideal = Duration::from_millis(ms * rounds);
    server.shutdown();
    println!(
        "raw clients: {jobs} requests of {ms} ms on {workers} connections in {:.1} ms; ideal {} ms; efficiency {:.3}",
        wall.as_secs_f64() * 1e3,
        ideal.as_millis(),
        ideal.as_secs_f64() / wall.as_secs_f64()
    );
    Ok(())
}

/// One client: takes job numbers until none is left, one request at a time on one connection.
fn client(addr: &str, next: &AtomicU64, jobs: u64, ms: u64) -> anyhow::Result<()> {
    let mut stream: Option<(TcpStream, BufReader<TcpStream>)> = None;
    while next.fetch_add(1, Ordering::Relaxed) < jobs {
        let (writer, reader) = match &mut stream {
            Some(open) => open,
            None => {
                let tcp = TcpStream::connect(addr)?;
                tcp.set_nodelay(true)?;
                let read = BufReader::new(tcp.try_clone()?);
                stream.insert((tcp, read))
            }
        };
        write!(writer, "GET /delay/{ms} HTTP/1.1\r\nHost: {addr}\r\n\r\n")?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            anyhow::ensure!(
                reader.read_line(&mut line)? > 0,
                "the server closed the connection"
            );
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse()?;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
    }
    Ok(())
}
