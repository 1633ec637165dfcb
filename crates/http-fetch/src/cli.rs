//! The command line: the flags http-fetch uses, and nothing else (`--help` lists them).

use std::path::PathBuf;

use clap::Parser;
use common::OutputArgs;
use common::cli::{parse_count, parse_millis, parse_seed, parse_workers};

use crate::urls::Mix;

/// A pool of workers fetching URLs over real HTTP, with an embedded test server by default.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Cli {
    /// URLs to fetch; `{server}` stands for the test server's base URL. With no URLs and no
    /// --urls, the generated list (--jobs URLs) is fetched from the test server.
    #[arg(value_name = "URL")]
    pub url_args: Vec<String>,
    /// A file of URLs, one per line (blank lines and # comments skipped).
    #[arg(long, value_name = "FILE")]
    pub urls: Option<PathBuf>,
    /// Worker threads sharing the HTTP client: the most requests in flight (1..=4096).
    #[arg(long, default_value = "10", allow_negative_numbers = true, value_parser = parse_workers)]
    pub workers: usize,
    /// Timeout of one attempt, connect to last body byte, its redirects included (default 5000;
    /// 1000 for the generated list).
    #[arg(long, value_name = "MS", allow_negative_numbers = true, value_parser = parse_timeout)]
    pub timeout_ms: Option<u64>,
    /// Largest body accepted (at least 1); a longer one fails as body_too_large (read no further).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20, allow_negative_numbers = true, value_parser = parse_max_bytes)]
    pub max_bytes: u64,
    /// Retries (0..=10) for 5xx, timeouts and connection errors (exponential backoff with jitter).
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true, value_parser = parse_retries)]
    pub retries: u32,
    /// Redirects followed at most per attempt (0..=1000), each one a request; one more fails as
    /// too_many_redirects. 0 follows none: the 3xx is the outcome.
    #[arg(long, value_name = "N", default_value_t = 10, allow_negative_numbers = true, value_parser = parse_redirects)]
    pub redirects: u32,
    /// The generated list: its number of URLs.
    #[arg(long, default_value = "100", allow_negative_numbers = true, value_parser = parse_count)]
    pub jobs: u64,
    /// The generated list: the server latency of its URLs, in ms (mixed adds 0..=30 ms).
    #[arg(long, value_name = "MS", default_value = "20", allow_negative_numbers = true, value_parser = parse_millis)]
    pub work_ms: u64,
    /// The generated list: seed of its latencies and body sizes.
    #[arg(long, default_value = "42", allow_negative_numbers = true, value_parser = parse_seed)]
    pub seed: u64,
    /// The generated list: mixed outcomes, or only /delay/{work-ms} (benchmarks).
    #[arg(long, value_enum, default_value_t = Mix::Mixed)]
    pub mix: Mix,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_timeout(s: &str) -> Result<u64, String> {
    match parse_millis(s)? {
        0 => Err("--timeout-ms must be at least 1 ms".to_owned()),
        ms => Ok(ms),
    }
}

fn parse_max_bytes(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("--max-bytes must be at least 1 (a body of 0 bytes is not a limit)".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "--max-bytes must be a whole number of bytes, at least 1, got '{s}'"
        )),
    }
}

fn parse_retries(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n @ 0..=10) => Ok(n),
        _ => Err(format!(
            "--retries must be a whole number from 0 to 10, got '{s}'"
        )),
    }
}

fn parse_redirects(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n @ 0..=1000) => Ok(n),
        _ => Err(format!(
            "--redirects must be a whole number from 0 to 1000, got '{s}'"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_numbers_are_usage_errors() {
        assert!(parse_timeout("abc").is_err() && parse_timeout("0").is_err());
        assert_eq!(parse_timeout("250"), Ok(250));
        assert!(parse_max_bytes("0").is_err() && parse_max_bytes("-1").is_err());
        assert_eq!(parse_max_bytes("1"), Ok(1));
        assert!(parse_retries("11").is_err() && parse_retries("-1").is_err());
        assert_eq!(parse_retries("10"), Ok(10));
        assert!(parse_redirects("1001").is_err() && parse_redirects("-1").is_err());
        assert_eq!((parse_redirects("0"), parse_redirects("1000")), (Ok(0), Ok(1000)));
    }
}
