//! The look compare's charts and the timelines share: one font, embedded once, and one set of
//! colours, plotters' `Palette99`, so a chart's first lines and a timeline's outcomes are the same
//! reds, greens and blues.

use plotters::style::{FontStyle, Palette, Palette99, RGBColor};

/// DejaVu Sans (`assets/DejaVuSans.ttf`, licence beside it): text looks the same on every machine,
/// with no system font needed.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Makes the bundled font plotters' `"sans-serif"`, the family every chart and timeline writes in.
pub fn register_font() -> anyhow::Result<()> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow::anyhow!("the bundled font does not load"))
}

const fn palette99(i: usize) -> RGBColor {
    let (r, g, b) = Palette99::COLORS[i];
    RGBColor(r, g, b)
}

/// The colour of a chart's `i`-th line (variants in table order).
pub fn series(i: usize) -> RGBColor {
    palette99(i % Palette99::COLORS.len())
}

/// A job that ended ok (Palette99's green).
pub const OK: RGBColor = palette99(1);
/// A job that failed (Palette99's red).
pub const FAILED: RGBColor = palette99(0);
/// A job cancelled in flight (Palette99's orange).
pub const CANCELLED: RGBColor = palette99(4);
/// A job with no terminal event: a run cut off.
pub const UNFINISHED: RGBColor = RGBColor(160, 160, 160);
/// A vertical marker: cancel, abort, Ctrl-C (Palette99's blue).
pub const MARKER: RGBColor = palette99(3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outcome_colours_are_the_charts_first_colours() {
        assert_eq!(series(0), FAILED);
        assert_eq!(series(1), OK);
        assert_eq!(series(1 + Palette99::COLORS.len()), OK);
        assert_eq!((OK.0, OK.1, OK.2), (60, 180, 75));
    }

    #[test]
    fn the_font_loads() {
        register_font().expect("the bundled font loads");
    }
}
