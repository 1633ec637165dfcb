//! Throwaway servers for the scenarios and benchmarks: a private `redis-server` and a private
//! PostgreSQL cluster, each started in a temporary folder, listening on a Unix socket there (no
//! port to collide with), and stopped when its guard is dropped. xtask never touches a server it
//! did not start.
//!
//! Where a server binary is missing, [`ensure_binary`] installs Debian's package when it can (root,
//! with apt-get: as in CI), saying so; otherwise it fails with the command to run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

pub mod postgres;
pub mod redis;

/// The path of `binary`: on `PATH`, or in one of `extra_dirs` (globs are not expanded: pass the
/// folders), installing Debian's `package` first if it is found nowhere and this process may.
pub fn ensure_binary(binary: &str, package: &str, extra_dirs: &[PathBuf]) -> anyhow::Result<PathBuf> {
    if let Some(path) = find_binary(binary, extra_dirs) {
        return Ok(path);
    }
    let install = format!("apt-get update && apt-get install -y {package}");
    if !is_root() || find_binary("apt-get", &[]).is_none() {
        anyhow::bail!(
            "{binary} is not installed: run `sudo sh -c '{install}'` (Debian's {package} package), then re-run"
        );
    }
    println!("xtask: {binary} is missing; installing Debian's {package} package ({install})");
    crate::preflight::apt_install(&[package])?;
    find_binary(binary, extra_dirs)
        .with_context(|| format!("{package} is installed but {binary} is still not found"))
}

/// `binary` on `PATH` or in one of `extra_dirs`.
pub fn find_binary(binary: &str, extra_dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra_dirs.iter().cloned())
        .map(|dir| dir.join(binary))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// True when this process runs as root (`id -u` is 0).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
