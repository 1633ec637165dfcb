//! The jobs: one per input file (the given folder, or the generated samples), listed before the
//! pool starts; and the output folder, checked writable before any image is decoded.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use common::{Job, Stop};
use testbed::images::Samples;

use crate::cli::Cli;
use crate::codec::{TEMP_PREFIX, TEMP_SUFFIX};

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
}

/// The regular files of `input` (hidden ones excepted), sorted by name, as jobs with ids 1..=n.
/// First makes sure `output` is a folder this process can write to, other than `input` (a
/// usage error otherwise, before any work), and removes temporary files a run that ended at once
/// left there (kill -9, or a second Ctrl-C: no destructor runs then).
pub fn image_jobs(input: &Path, output: &Path) -> anyhow::Result<Vec<ImageJob>> {
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
    let mut files = Vec::new();
    for entry in std::fs::read_dir(input).with_context(|| format!("cannot read {}", input.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = entry.metadata()?;
        if meta.is_file() && !name.starts_with('.') {
            files.push((name, entry.path(), meta.len()));
        }
    }
    files.sort();
    Ok(files
        .into_iter()
        .zip(1u64..)
        .map(|((name, path, bytes), id)| ImageJob {
            job: Job { id, value: bytes },
            output: output.join(&name),
            name,
            input: path,
        })
        .collect())
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
        let err = image_jobs(&input, &file.join("out")).expect_err("under a file");
        assert!(
            format!("{err:#}").contains("cannot write to the output folder"),
            "{err:#}"
        );
        let err = image_jobs(&input, &input).expect_err("same folder");
        assert!(format!("{err:#}").contains("must differ"), "{err:#}");
    }

    #[test]
    fn jobs_follow_the_file_names_and_leftovers_are_removed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (input, output) = (dir.path().join("in"), dir.path().join("out"));
        std::fs::create_dir_all(&output).expect("mkdir");
        std::fs::create_dir(&input).expect("mkdir");
        for name in ["b.jpg", "a.png", ".hidden.png"] {
            std::fs::write(input.join(name), b"12345").expect("write");
        }
        let leftover = output.join(".image-resize-abc123.tmp");
        std::fs::write(&leftover, b"half").expect("write");
        let jobs = image_jobs(&input, &output).expect("jobs");
        let names: Vec<_> = jobs
            .iter()
            .map(|j| (j.job.id, j.name.as_str(), j.job.value))
            .collect();
        assert_eq!(names, [(1, "a.png", 5), (2, "b.jpg", 5)]);
        assert!(!leftover.exists());
        assert_eq!(std::fs::read_dir(&output).expect("list").count(), 0);
    }
}
