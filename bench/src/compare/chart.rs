//! Line charts (plotters, PNG and SVG; font and colours from `crate::palette`).

use std::collections::BTreeMap;
use std::path::Path;

use super::runner::Row;
use super::workloads::all_variants;
use crate::palette;

/// A line chart: categories on x (worker counts, capacities), a figure per variant on y.
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub ticks: Vec<String>,
    pub series: Vec<(String, Vec<(usize, f64)>)>,
    /// How y values are written on the axis.
    pub y_format: fn(f64) -> String,
    /// The legend goes bottom right instead of top left (where falling lines start high).
    pub legend_bottom: bool,
}

/// Groups rows into chart series (one per variant, in table order): x = the index `x_of` gives,
/// y = what `y_of` gives; `extra` (the ideal) is drawn last, in grey.
pub fn series_by(
    rows: &[Row],
    x_of: impl Fn(&Row) -> Option<usize>,
    y_of: impl Fn(&Row) -> Option<f64>,
    extra: Option<(&str, Vec<(usize, f64)>)>,
) -> Vec<(String, Vec<(usize, f64)>)> {
    let mut by: BTreeMap<usize, (String, Vec<(usize, f64)>)> = BTreeMap::new();
    let order: Vec<String> = all_variants().into_iter().map(|v| v.name).collect();
    for r in rows {
        let (Some(x), Some(y)) = (x_of(r), y_of(r)) else {
            continue;
        };
        let key = order.iter().position(|n| *n == r.variant).unwrap_or(usize::MAX);
        by.entry(key)
            .or_insert_with(|| (r.variant.clone(), Vec::new()))
            .1
            .push((x, y));
    }
    let mut series: Vec<_> = by.into_values().collect();
    if let Some((name, points)) = extra
        && !points.is_empty()
    {
        series.push((name.to_owned(), points));
    }
    series
}

impl Chart {
    /// Writes `<stem>.png` and `<stem>.svg`.
    pub fn write(&self, stem: &Path) -> anyhow::Result<()> {
        use plotters::prelude::*;
        palette::register_font()?;
        let size = (960, 600);
        let png = stem.with_extension("png");
        let svg = stem.with_extension("svg");
        self.draw(BitMapBackend::new(&png, size).into_drawing_area())?;
        self.draw(SVGBackend::new(&svg, size).into_drawing_area())?;
        Ok(())
    }

    fn draw<DB: plotters::prelude::DrawingBackend>(
        &self,
        area: plotters::drawing::DrawingArea<DB, plotters::coord::Shift>,
    ) -> anyhow::Result<()> {
        use plotters::prelude::*;
        let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("chart: {e}");
        area.fill(&WHITE).map_err(|e| err(&e))?;
        let y_max = self
            .series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|&(_, y)| y))
            .fold(f64::MIN_POSITIVE, f64::max)
            * 1.1;
        let n = self.ticks.len();
        let mut chart = ChartBuilder::on(&area)
            .caption(&self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(-0.3f64..(n as f64 - 0.7), 0f64..y_max)
            .map_err(|e| err(&e))?;
        let ticks = self.ticks.clone();
        let y_format = self.y_format;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(n * 2 + 1)
            .x_label_formatter(&move |x: &f64| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    ticks.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&move |y: &f64| y_format(*y))
            .draw()
            .map_err(|e| err(&e))?;
        for (i, (name, points)) in self.series.iter().enumerate() {
            let color = if name == "ideal" {
                BLACK.mix(0.5)
            } else {
                palette::series(i).mix(1.0)
            };
            let pts: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (x as f64, y)).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(if self.legend_bottom {
                SeriesLabelPosition::LowerRight
            } else {
                SeriesLabelPosition::UpperLeft
            })
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        area.present().map_err(|e| err(&e))?;
        Ok(())
    }
}
