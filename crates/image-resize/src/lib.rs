//! image-resize's own event kind (docs/events.md), typed here so that the binary prints it and
//! tests read it back, and the image work of one job ([`codec`]), which the fuzz targets
//! (`fuzz/`) and the replay of their corpus (`tests/fuzz_corpus.rs`) call too. The lesson is in
//! `main.rs`.

pub mod codec;
#[doc(hidden)]
pub mod fuzzing;

use common::event::ExampleEvent;
use serde::{Deserialize, Serialize};

/// Why an entry of the input folder is not resized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// Its name starts with `.` (`.DS_Store`, `.git`, an editor's swap file).
    Hidden,
    /// A folder, or a symbolic link to one: `--input` is not read recursively.
    Folder,
    /// Neither a file nor a folder: a FIFO, a socket, a device.
    Special,
    /// A file not named `.png`, `.jpg` or `.jpeg` (any case): a `.txt`, a `.gif`.
    NotPngOrJpeg,
}

impl SkipKind {
    /// Every kind, in the order the summary counts them.
    pub const ALL: [SkipKind; 4] = [
        SkipKind::Hidden,
        SkipKind::Folder,
        SkipKind::Special,
        SkipKind::NotPngOrJpeg,
    ];

    /// Its name in the events (`kind`) and in the summary (`skipped_<name>`).
    pub fn name(self) -> &'static str {
        match self {
            SkipKind::Hidden => "hidden",
            SkipKind::Folder => "folder",
            SkipKind::Special => "special",
            SkipKind::NotPngOrJpeg => "not_png_or_jpeg",
        }
    }
}

/// `skipped`: an entry of `--input` that is not a job, with its kind and the reason in words.
/// Printed once per entry before the pool starts; the summary counts them by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub file: String,
    pub kind: SkipKind,
    pub reason: String,
    pub t_ms: f64,
}

impl ExampleEvent for Skipped {
    const KIND: &'static str = "skipped";
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::event::{Event, Other, check_samples, parse_line};

    #[test]
    fn docs_samples_match_the_type() {
        let doc = include_str!("../../../docs/events.md");
        assert_eq!(check_samples::<Skipped>(doc), Ok(1));
    }

    #[test]
    fn skipped_prints_and_reads_back() {
        let skipped = Skipped {
            file: "anim.gif".into(),
            kind: SkipKind::NotPngOrJpeg,
            reason: "not named .png, .jpg or .jpeg".into(),
            t_ms: 0.5,
        };
        let line = serde_json::to_string(&common::event::Tagged(&skipped)).expect("serializes");
        assert_eq!(
            line,
            r#"{"event":"skipped","file":"anim.gif","kind":"not_png_or_jpeg","reason":"not named .png, .jpg or .jpeg","t_ms":0.5}"#
        );
        let Event::Other(other) = parse_line(&line).expect("parses") else {
            panic!("an example kind is Other")
        };
        assert_eq!(other, Other::of(&skipped).expect("an object"));
        assert_eq!(other.decode::<Skipped>().map(Result::ok), Some(Some(skipped)));
        for kind in SkipKind::ALL {
            let json = serde_json::to_value(kind).expect("serializes");
            assert_eq!(json.as_str(), Some(kind.name()));
        }
    }
}
