//! The overview's charts as inline SVG, drawn on the server from numbers only (no text from
//! users reaches them), so they need no script and no asset.

use std::fmt::Write as _;

use pgsched_pg::dashboard::MinuteStats;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 160.0;
/// Room for the axis labels on the left and below.
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 18.0;

/// Completed (stacked under failed) jobs per minute, as bars.
pub(crate) fn throughput(minutes: &[MinuteStats]) -> String {
    let peak = minutes
        .iter()
        .map(|m| m.completed.saturating_add(m.failed))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = open(
        "Jobs finished per minute: completed and failed",
        peak as f64,
        "",
    );
    let slot = plot_width() / minutes.len().max(1) as f64;
    for (index, minute) in minutes.iter().enumerate() {
        let x = LEFT + index as f64 * slot;
        let completed = scaled(minute.completed as f64, peak as f64);
        let failed = scaled(minute.failed as f64, peak as f64);
        let base = plot_height();
        let _ = write!(
            svg,
            r#"<rect class="completed" x="{x:.1}" y="{:.1}" width="{:.1}" height="{completed:.1}"><title>{} completed, {} failed</title></rect>"#,
            base - completed,
            (slot - 1.0).max(1.0),
            minute.completed,
            minute.failed,
        );
        if minute.failed > 0 {
            let _ = write!(
                svg,
                r#"<rect class="failed" x="{x:.1}" y="{:.1}" width="{:.1}" height="{failed:.1}"/>"#,
                base - completed - failed,
                (slot - 1.0).max(1.0),
            );
        }
    }
    close(svg, minutes)
}

/// Queue lag (start minus due time) per minute: average and worst, as lines.
pub(crate) fn lag(minutes: &[MinuteStats]) -> String {
    let peak = minutes
        .iter()
        .filter_map(|m| m.lag_max_ms)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let mut svg = open("Queue lag per minute: average and worst", peak, " ms");
    for (class, value) in [
        (
            "lag-max",
            (|m: &MinuteStats| m.lag_max_ms) as fn(&MinuteStats) -> Option<f64>,
        ),
        ("lag-avg", |m: &MinuteStats| m.lag_avg_ms),
    ] {
        let points = points(minutes, peak, value);
        if points.len() > 1 {
            let line: Vec<String> = points
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = write!(
                svg,
                r#"<polyline class="{class}" points="{}"/>"#,
                line.join(" ")
            );
        }
        // A dot per minute, so a lone minute shows too.
        for (x, y) in points {
            let _ = write!(
                svg,
                r#"<circle class="{class}" cx="{x:.1}" cy="{y:.1}" r="2.5"/>"#
            );
        }
    }
    close(svg, minutes)
}

fn plot_width() -> f64 {
    WIDTH - LEFT
}

fn plot_height() -> f64 {
    HEIGHT - BOTTOM
}

fn scaled(value: f64, peak: f64) -> f64 {
    (value / peak * (plot_height() - 4.0)).max(0.0)
}

/// The (x, y) of each minute that has a value.
fn points(
    minutes: &[MinuteStats],
    peak: f64,
    value: fn(&MinuteStats) -> Option<f64>,
) -> Vec<(f64, f64)> {
    let slot = plot_width() / minutes.len().max(1) as f64;
    minutes
        .iter()
        .enumerate()
        .filter_map(|(index, minute)| {
            let v = value(minute)?;
            Some((
                LEFT + (index as f64 + 0.5) * slot,
                plot_height() - scaled(v, peak),
            ))
        })
        .collect()
}

fn open(title: &str, peak: f64, unit: &str) -> String {
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg">"#
    );
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{h}" x2="{WIDTH}" y2="{h}"/><line class="axis" x1="{LEFT}" y1="0" x2="{LEFT}" y2="{h}"/><text class="label" x="{x}" y="12" text-anchor="end">{peak}{unit}</text><text class="label" x="{x}" y="{h}" text-anchor="end">0</text>"#,
        h = plot_height(),
        x = LEFT - 4.0,
        peak = peak.round(),
    );
    svg
}

fn close(mut svg: String, minutes: &[MinuteStats]) -> String {
    if let (Some(first), Some(last)) = (minutes.first(), minutes.last()) {
        let _ = write!(
            svg,
            r#"<text class="label" x="{LEFT}" y="{HEIGHT}">{}</text><text class="label" x="{WIDTH}" y="{HEIGHT}" text-anchor="end">{} UTC</text>"#,
            first.minute.format("%H:%M"),
            last.minute.format("%H:%M"),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;

    fn minutes() -> Vec<MinuteStats> {
        let start = Utc
            .with_ymd_and_hms(2030, 1, 1, 9, 0, 0)
            .single()
            .expect("time");
        (0..3)
            .map(|i| MinuteStats {
                minute: start + Duration::minutes(i),
                completed: 10 * i,
                failed: i,
                lag_avg_ms: (i > 0).then_some(100.0 * i as f64),
                lag_max_ms: (i > 0).then_some(250.0 * i as f64),
            })
            .collect()
    }

    #[test]
    fn bars_and_lines_are_scaled_to_the_peak() {
        let bars = throughput(&minutes());
        assert!(bars.starts_with("<svg") && bars.ends_with("</svg>"));
        assert_eq!(bars.matches(r#"class="completed""#).count(), 3);
        assert_eq!(bars.matches(r#"class="failed""#).count(), 2);
        assert!(bars.contains(">22<"), "peak label: {bars}");
        assert!(bars.contains("09:00") && bars.contains("09:02 UTC"));
        let lines = lag(&minutes());
        assert!(lines.contains(r#"class="lag-max""#) && lines.contains(">500 ms<"));
    }

    #[test]
    fn an_empty_hour_draws_an_empty_chart() {
        assert!(throughput(&[]).ends_with("</svg>"));
        assert!(!lag(&[]).contains("polyline"));
        assert!(!lag(&[]).contains("circle"));
    }
}
