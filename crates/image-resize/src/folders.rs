//! The jobs: one per PNG or JPEG file of the input folder (the given folder, or the generated
//! samples), listed before the pool starts, every other entry skipped with its reason; and the
//! output folder, checked writable before any image is decoded.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use common::{Job, Stop};
use testbed::images::Samples;

use image_resize::SkipKind;

use crate::cli::Cli;
use crate::codec::{Format, TEMP_PREFIX, TEMP_SUFFIX};

/// The folder to resize: `input`, else `samples`, generated there (`testbed::images`) unless a
/// previous run did. `None` if Ctrl-C came while the samples were being generated.
pub fn input_dir(
    input: Option<&Path>,
    samples: &Path,
    cli: &Cli,
    stop: &Stop,
) -> anyhow::Result<Option<PathBuf>> {
    if let Some(dir) = input {
        return Ok(Some(dir.to_path_buf()));
    }
    let (count, seed) = (cli.generate, cli.seed);
    match testbed::images::ensure(samples, count, seed, cli.workers, || stop.is_set())? {
        Samples::Interrupted => return Ok(None),
        Samples::Generated if !cli.print.json => {
            eprintln!("generated {count} sample images in {}", samples.display());
        }
        Samples::Generated | Samples::Reused => {}
    }
    Ok(Some(samples.to_path_buf()))
}

/// One image to resize: the pool's job (id, and the input's size in bytes as its value).
#[derive(Debug, Clone)]
pub struct ImageJob {
    pub job: Job,
    pub name: String,
    pub input: PathBuf,
    pub output: PathBuf,
    /// The format the output is written in: the one its name (the input's) says.
    pub out_format: Format,
}

/// An entry of the input folder that is not a job, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    pub name: String,
    pub kind: SkipKind,
    pub reason: String,
}

/// Every entry of the input folder: a job, or skipped with its reason.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub jobs: Vec<ImageJob>,
    pub skipped: Vec<SkippedEntry>,
}

/// Lists every entry of `input`, sorted by name: the files named `.png`, `.jpg` or `.jpeg` (any
/// case; a symbolic link is followed) are jobs with ids 1..=n, whatever their contents (a file
/// that is not the image its name says fails on its own, with its reason); every other entry is
/// skipped with its reason: hidden ones (the name starts with `.`), folders (`--input` is not
/// read recursively), entries that are not regular files (a FIFO would block the reader), and
/// files with other names. A link to nothing, named as an image, is a job that fails.
/// First makes sure `output` is a folder this process can write to, other than `input` (a
/// usage error otherwise, before any work), and removes temporary files a run that ended at once
/// left there (kill -9, or a second Ctrl-C: no destructor runs then).
pub fn list(input: &Path, output: &Path) -> anyhow::Result<Listing> {
    if !input.is_dir() {
        bail!(
            "input folder {} does not exist or is not a folder",
            input.display()
        );
    }
    prepare_output(output)?;
    if input.canonicalize()? == output.canonicalize()? {
        bail!(
            "the output folder must differ from the input folder ({})",
            input.display()
        );
    }
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(input).with_context(|| format!("cannot read {}", input.display()))? {
        let entry = entry.with_context(|| format!("cannot read {}", input.display()))?;
        entries.push((entry.file_name(), entry.path()));
    }
    entries.sort();
    let mut listing = Listing::default();
    for (file_name, path) in entries {
        let name = file_name.to_string_lossy().into_owned();
        match classify(&name, &path) {
            Ok((out_format, bytes)) => {
                let id = listing.jobs.len() as u64 + 1;
                listing.jobs.push(ImageJob {
                    job: Job { id, value: bytes },
                    output: output.join(&file_name),
                    name,
                    input: path,
                    out_format,
                });
            }
            Err((kind, reason)) => listing.skipped.push(SkippedEntry { name, kind, reason }),
        }
    }
    Ok(listing)
}

/// A job (the output's format, from the name, and the input's size in bytes), or why the entry
/// `name` at `path` is skipped. Only the entry's metadata is read, never its contents.
fn classify(name: &str, path: &Path) -> Result<(Format, u64), (SkipKind, String)> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let link = if is_link { "a symbolic link to " } else { "" };
    if name.starts_with('.') {
        return Err((SkipKind::Hidden, "hidden: its name starts with '.'".into()));
    }
    let meta = std::fs::metadata(path).ok(); // follows a link; `None` for a link to nothing
    if let Some(meta) = &meta {
        if meta.is_dir() {
            let reason = format!("{link}a folder: --input is not read recursively");
            return Err((SkipKind::Folder, reason));
        }
        if !meta.is_file() {
            let reason = format!("{link}{}, not a regular file", special_kind(meta));
            return Err((SkipKind::Special, reason));
        }
    }
    match Format::from_name(Path::new(name)) {
        Some(format) => Ok((format, meta.map_or(0, |m| m.len()))),
        None => Err((
            SkipKind::NotPngOrJpeg,
            "not named .png, .jpg or .jpeg: only PNG and JPEG files are resized".into(),
        )),
    }
}

/// What an entry that is neither a file nor a folder is.
fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    let _ = meta;
    "a special file"
}

/// Creates `output` if needed and proves it writable by creating (and removing) a temporary
/// file in it, the way every output will be written.
fn prepare_output(output: &Path) -> anyhow::Result<()> {
    let unwritable = || format!("cannot write to the output folder {}", output.display());
    std::fs::create_dir_all(output).with_context(unwritable)?;
    crate::codec::temp_builder()
        .tempfile_in(output)
        .with_context(unwritable)?;
    for entry in std::fs::read_dir(output).with_context(unwritable)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
            let _ = std::fs::remove_file(output.join(&name)); // best effort: a killed run's leftover
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_folder_under_a_file_is_refused_before_any_work() {
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("in");
        std::fs::create_dir(&input).expect("mkdir");
        std::fs::write(input.join("a.png"), b"not read").expect("write");
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").expect("write");
        let err = list(&input, &file.join("out")).expect_err("under a file");
        assert!(
            format!("{err:#}").contains("cannot write to the output folder"),
            "{err:#}"
        );
        let err = list(&input, &input).expect_err("same folder");
        assert!(format!("{err:#}").contains("must differ"), "{err:#}");
    }

    #[test]
    fn jobs_follow_the_file_names_and_leftovers_are_removed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (input, output) = (dir.path().join("in"), dir.path().join("out"));
        std::fs::create_dir_all(&output).expect("mkdir");
        std::fs::create_dir_all(input.join("sub")).expect("mkdir");
        for name in ["b.jpg", "a.png", ".hidden.png", "c.JPEG", "notes.txt", "x.gif"] {
            std::fs::write(input.join(name), b"12345").expect("write");
        }
        let leftover = output.join(".image-resize-abc123.tmp");
        std::fs::write(&leftover, b"half").expect("write");
        let listing = list(&input, &output).expect("jobs");
        let names: Vec<_> = listing
            .jobs
            .iter()
            .map(|j| (j.job.id, j.name.as_str(), j.job.value, j.out_format))
            .collect();
        assert_eq!(
            names,
            [
                (1, "a.png", 5, Format::Png),
                (2, "b.jpg", 5, Format::Jpeg),
                (3, "c.JPEG", 5, Format::Jpeg)
            ]
        );
        let skipped: Vec<_> = listing
            .skipped
            .iter()
            .map(|s| (s.name.as_str(), s.kind))
            .collect();
        assert_eq!(
            skipped,
            [
                (".hidden.png", SkipKind::Hidden),
                ("notes.txt", SkipKind::NotPngOrJpeg),
                ("sub", SkipKind::Folder),
                ("x.gif", SkipKind::NotPngOrJpeg)
            ]
        );
        assert!(listing.skipped.iter().all(|s| !s.reason.is_empty()));
        assert!(!leftover.exists());
        assert_eq!(std::fs::read_dir(&output).expect("list").count(), 0);
    }
}
