//! Small SVG charts drawn on the server: lines for the trends page (a gap
//! where a week has no figure: a division by zero is no point, never a
//! zero) and paired bars for the comeback statistics; no script, no
//! charting library, text escaped.

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

/// Where value `v` sits on an axis up to `max`.
fn y_at(v: f64, max: f64) -> f64 {
    TOP + (H - TOP - BOTTOM) * (1.0 - (v / max).clamp(0.0, 1.0))
}

/// The picture's frame: the title and the value axis up to `max`.
fn frame(title: &str, max: f64) -> String {
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
            yy = y_at(v, max),
            tx = LEFT - 6.0,
            ty = y_at(v, max) + 4.0,
            v = if max >= 10.0 { format!("{v:.0}") } else { format!("{v:.2}") },
        ));
    }
    out
}

/// A label under the axis at `x`.
fn label_at(x: f64, text: &str) -> String {
    format!(
        r##"<text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#5b6570">{}</text>"##,
        H - 12.0,
        escape(text)
    )
}

/// A bar chart of `groups` (label, this period, the period before): two
/// bars a group, the earlier one pale, titled; `legend` names the two.
pub fn bars(title: &str, legend: (&str, &str), groups: &[(String, u64, u64)]) -> String {
    let top = groups
        .iter()
        .map(|(_, a, b)| (*a).max(*b))
        .max()
        .unwrap_or(0);
    let max = nice_max(top as f64);
    let n = groups.len().max(1) as f64;
    let slot = (W - LEFT - RIGHT) / n;
    let bar = (slot / 3.0).min(40.0);
    let mut out = frame(title, max);
    for (i, (label, now, before)) in groups.iter().enumerate() {
        let mid = LEFT + slot * (i as f64 + 0.5);
        for (x, v, fill) in [(mid - bar, *before, "#9dbfe3"), (mid, *now, "#0b5cad")] {
            let y = y_at(v as f64, max);
            out.push_str(&format!(
                r##"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{:.1}" fill="{fill}"><title>{v}</title></rect>"##,
                (H - BOTTOM - y).max(0.0)
            ));
        }
        out.push_str(&label_at(mid, label));
    }
    out.push_str(&format!(
        r##"<rect x="{lx}" y="8" width="10" height="10" fill="#9dbfe3"/><text x="{tx}" y="17" font-size="11" fill="#5b6570">{a}</text><rect x="{lx2}" y="8" width="10" height="10" fill="#0b5cad"/><text x="{tx2}" y="17" font-size="11" fill="#5b6570">{b}</text>"##,
        lx = W - 200.0,
        tx = W - 186.0,
        lx2 = W - 100.0,
        tx2 = W - 86.0,
        a = escape(legend.1),
        b = escape(legend.0),
    ));
    out.push_str("</svg>");
    out
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
    let y = |v: f64| y_at(v, max);
    let mut out = frame(title, max);
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
            out.push_str(&label_at(x(i), label));
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
    fn bars_stand_in_pairs_scaled_to_the_largest() {
        let svg = bars(
            "返修原因 <causes>",
            ("本月", "上月"),
            &[("维修工艺".into(), 3, 1), ("未分析".into(), 0, 2)],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // two bars a group, two legend swatches
        assert_eq!(svg.matches("<rect").count(), 6);
        assert!(svg.contains("<title>3</title>") && svg.contains(">维修工艺<"));
        assert!(svg.contains("&lt;causes&gt;"));
        // the axis tops out at 5 above the 3
        assert!(svg.contains(">5.00<") || svg.contains(">5<"), "{svg}");
        assert!(bars("x", ("a", "b"), &[]).ends_with("</svg>"));
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
