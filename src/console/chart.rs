//! Small SVG line charts drawn on the server for the trends page: no
//! script, no charting library, text escaped, a gap where a week has no
//! figure (a division by zero is no point, never a zero).

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

const W: f64 = 560.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 34.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A nice upper bound for the axis: 1, 2 or 5 times a power of ten.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|m| *m >= v)
        .unwrap_or(10.0 * p)
}

/// A line chart of `points` (label, value; `None` leaves a gap), titled.
pub fn line(title: &str, points: &[(String, Option<Decimal>)]) -> String {
    let values: Vec<Option<f64>> = points
        .iter()
        .map(|(_, v)| v.and_then(|d| d.to_f64()))
        .collect();
    let max = nice_max(values.iter().flatten().fold(0.0, |a, b| a.max(*b)));
    let n = points.len().max(1);
    let step = if n > 1 {
        (W - LEFT - RIGHT) / (n - 1) as f64
    } else {
        0.0
    };
    let x = |i: usize| LEFT + step * i as f64;
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - (v / max).clamp(0.0, 1.0));
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-label="{t}" class="chart">"#,
        t = escape(title)
    );
    out.push_str(&format!(
        r#"<text x="{LEFT}" y="18" font-size="15" font-weight="600">{}</text>"#,
        escape(title)
    ));
    for frac in [0.0, 0.5, 1.0] {
        let v = max * frac;
        out.push_str(&format!(
            r##"<line x1="{LEFT}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}" stroke="#d8dde3"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end" fill="#5b6570">{v}</text>"##,
            x2 = W - RIGHT,
            yy = y(v),
            tx = LEFT - 6.0,
            ty = y(v) + 4.0,
            v = if max >= 10.0 { format!("{v:.0}") } else { format!("{v:.2}") },
        ));
    }
    // one path per run of points with values
    let mut runs: Vec<Vec<(f64, f64)>> = vec![vec![]];
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => runs.last_mut().map(|r| r.push((x(i), y(*v)))).unwrap_or(()),
            None => runs.push(vec![]),
        }
    }
    for run in runs.iter().filter(|r| !r.is_empty()) {
        let d: Vec<String> = run
            .iter()
            .enumerate()
            .map(|(k, (px, py))| format!("{}{px:.1},{py:.1}", if k == 0 { "M" } else { "L" }))
            .collect();
        out.push_str(&format!(
            r##"<path d="{}" fill="none" stroke="#0b5cad" stroke-width="2.5"/>"##,
            d.join(" ")
        ));
        for (px, py) in run {
            out.push_str(&format!(
                r##"<circle cx="{px:.1}" cy="{py:.1}" r="3" fill="#0b5cad"/>"##
            ));
        }
    }
    for (i, (label, _)) in points.iter().enumerate() {
        if i % 2 == 0 || i + 1 == points.len() {
            out.push_str(&format!(
                r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#5b6570">{}</text>"##,
                x(i),
                H - 12.0,
                escape(label)
            ));
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_draws_each_run_of_figures_and_leaves_a_gap_for_none() {
        let pts: Vec<(String, Option<Decimal>)> = vec![
            ("W1".into(), Some(Decimal::new(100, 0))),
            ("W2".into(), Some(Decimal::new(150, 0))),
            ("W3".into(), None),
            ("W4".into(), Some(Decimal::new(80, 0))),
        ];
        let svg = line("营收 <Revenue>", &pts);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<path").count(), 2, "two runs around the gap");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("营收 &lt;Revenue&gt;") && !svg.contains("<Revenue>"));
        // the axis tops out at a round number above the largest figure
        assert!(svg.contains(">200<"), "{svg}");
    }

    #[test]
    fn an_empty_or_all_none_chart_is_still_a_picture() {
        let svg = line("CSI", &[("W1".into(), None)]);
        assert_eq!(svg.matches("<path").count(), 0);
        assert!(svg.contains(">1.00<"));
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(87.0), 100.0);
        assert_eq!(nice_max(0.31), 0.5);
    }
}
