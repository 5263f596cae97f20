//! The report as one self-contained HTML page (`riskgate bench --html`):
//! inline CSS and inline SVG drawn here, no script, font or anything
//! fetched, in the style of the replay report.

use crate::report::{ContenderKind, Report, Throughput};
use std::fmt::Write;

/// `text` escaped for HTML text and attribute values (`&`, `<`, `>`, `"`
/// and `'`).
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_quoted_attribute(text)
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1d2330;max-width:72rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d6dae3;padding-bottom:.25rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d6dae3;padding:.25rem .6rem;text-align:right}
th{background:#f2f4f8}td.l,th.l{text-align:left}td.met{background:#eef7ee}td.missed{background:#fdf0e6;font-weight:bold}
.note{color:#4a5468;font-size:.9rem}.key span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
svg text{font-size:11px;fill:#4a5468}svg.chart{max-width:100%;height:auto}code{font-size:.9em}";

/// A contender's colour in the charts.
fn color(kind: ContenderKind) -> &'static str {
    match kind {
        ContenderKind::Native => "#3c6fb0",
        ContenderKind::Riskgate => "#3c9a5f",
        ContenderKind::Extism => "#c8423b",
    }
}

const LOOP_COLOR: &str = "#8a93a6";

fn us(ns: u64) -> String {
    format!("{:.2}", ns as f64 / 1e3)
}

/// The page.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let c = &r.config;
    let m = &r.machine;
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>riskgate bench</title><style>{STYLE}</style></head><body>\n\
         <h1>riskgate bench</h1>\n<p>{} on {} core(s){}{}, riskgate {}{}. {} withdrawals ({}), \
         designated set of {} addresses, in-memory velocity store; latency over {} interleaved rounds \
         ({} measured per contender); throughput the median of {} runs on 1 and on {} threads.{}</p>\n",
        escape(&m.timestamp),
        m.cores,
        m.cpu
            .as_deref()
            .map(|c| format!(" ({})", escape(c)))
            .unwrap_or_default(),
        escape(&m.load_text()),
        escape(&m.riskgate_version),
        m.rustc
            .as_deref()
            .map(|v| format!(", {}", escape(v)))
            .unwrap_or_default(),
        c.withdrawals,
        escape(&c.mix),
        c.set_len,
        c.rounds,
        c.measured,
        c.runs,
        c.threads,
        if c.quick {
            " <b>Quick smoke run: the figures mean nothing.</b>"
        } else {
            ""
        }
    );

    s.push_str("<h2>Targets</h2>\n<table id=\"targets\"><thead><tr><th class=\"l\">target</th><th>figure</th><th class=\"l\">status</th></tr></thead><tbody>");
    for t in &r.targets {
        let class = match t.met {
            Some(true) => "met",
            Some(false) => "missed",
            None => "",
        };
        let _ = write!(
            s,
            "<tr data-target=\"{}\"><td class=\"l\">{}</td><td>{}</td><td class=\"l {class}\">{}</td></tr>",
            escape(&t.name),
            escape(&t.limit_text()),
            escape(&t.figure()),
            t.status()
        );
    }
    s.push_str("</tbody></table>\n");

    let _ = write!(
        s,
        "<h2>Contenders</h2>\n<table id=\"contenders\"><thead><tr><th class=\"l\">contender</th>\
         <th>p50 µs</th><th>p99 µs</th><th>p999 µs</th><th>max µs</th><th>1 thread /s</th>\
         <th>{} threads /s</th><th>scaling</th></tr></thead><tbody>",
        c.threads
    );
    for k in &r.contenders {
        let t = &k.throughput;
        let _ = write!(
            s,
            "<tr data-contender=\"{}\"><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{:.0}</td><td>{:.0}</td><td>{:.2}x</td></tr>",
            contender_name(k.name),
            escape(&k.label),
            us(k.p50_ns),
            us(k.p99_ns),
            us(k.p999_ns),
            us(k.max_ns),
            t.one_thread_per_s,
            t.n_threads_per_s,
            t.scaling
        );
    }
    for l in &m.reference {
        let t = &l.throughput;
        let _ = write!(
            s,
            "<tr data-loop=\"{}\"><td class=\"l\">machine: {} (iterations)</td><td></td><td></td><td></td><td></td>\
             <td>{:.3e}</td><td>{:.3e}</td><td>{:.2}x</td></tr>",
            escape(&l.name),
            escape(&l.label),
            t.one_thread_per_s,
            t.n_threads_per_s,
            t.scaling
        );
    }
    s.push_str("</tbody></table>\n");
    let ratio = |name: &str, r: &Option<crate::report::Ratio>| match r {
        Some(r) => format!(
            "{name}: p50 {:.2}x, p99 {:.2}x, p999 {:.2}x; throughput {:.2}x lower on 1 thread, {:.2}x on {}.",
            r.p50, r.p99, r.p999, r.one_thread_slowdown, r.n_threads_slowdown, c.threads
        ),
        None => format!("{name}: not run."),
    };
    let _ = writeln!(
        s,
        "<p>{}<br>{}</p>",
        escape(&ratio("riskgate / native", &r.ratios.riskgate_vs_native)),
        escape(&ratio("Extism / riskgate", &r.ratios.extism_vs_riskgate))
    );

    s.push_str("<h2>Latency distribution</h2>\n<p class=\"note\">Latency of one decision against its percentile, both on log scales (the x axis in nines: p90, p99, p99.9, p99.99).</p>\n");
    latency_chart(&mut s, r);

    let _ = write!(
        s,
        "<h2>Scaling</h2>\n<p class=\"note\">Throughput on {} threads relative to 1 thread (the same harness: a fresh store, the stream split by account). \
         The reference loops are the machine's ceiling: an ALU-bound loop shows what SMT siblings give, \
         a memory-latency-bound pointer chase what independent waits give. Dashed: ideal ({}x) and the 1.7x target.</p>\n",
        c.threads, c.threads
    );
    scaling_chart(&mut s, r);

    s.push_str("<h2>Verdicts, fuel and start</h2>\n<ul>");
    let _ = write!(
        s,
        "<li id=\"verdicts\">The contenders disagree on {} of {} withdrawals; riskgate policy faults {} (wall-clock backstop {} µs).</li>",
        r.disagreements, c.withdrawals, r.faults, c.deadline_us
    );
    for f in &r.fuel {
        let _ = write!(
            s,
            "<li>Fuel per decision, {}: p50 {} p99 {} max {} of a budget of {} ({:.0}x margin).</li>",
            escape(&f.policy),
            f.p50,
            f.p99,
            f.max,
            f.budget,
            f.budget as f64 / f.max.max(1) as f64
        );
    }
    if let Some(w) = r.warm_start {
        let _ = write!(
            s,
            "<li>Warm start (AOT cache hit): gate build {:.2} ms + first decision {:.3} ms = {:.2} ms.</li>",
            w.build_ms, w.first_decision_ms, w.total_ms
        );
    }
    if let Some(ms) = r.process_start_ms {
        let _ = write!(
            s,
            "<li>Process start to first decision (<code>riskgate check</code>): median {ms:.1} ms.</li>"
        );
    }
    s.push_str("</ul>\n</body></html>\n");
    s
}

/// A subject's label under its bars.
fn short(name: &str) -> &'static str {
    match name {
        "native" => "native Rust",
        "riskgate" => "riskgate",
        "extism" => "Extism",
        "alu" => "machine: ALU loop",
        "pointer_chase" => "machine: pointer chase",
        _ => "",
    }
}

fn contender_name(k: ContenderKind) -> &'static str {
    match k {
        ContenderKind::Native => "native",
        ContenderKind::Riskgate => "riskgate",
        ContenderKind::Extism => "extism",
    }
}

/// One polyline per contender: x the percentile in nines (0 to 4), y the
/// latency on a log scale.
fn latency_chart(s: &mut String, r: &Report) {
    let (width, height, left, right, top, bottom) = (960.0_f64, 320.0_f64, 56.0, 28.0, 12.0, 28.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let all = r
        .contenders
        .iter()
        .flat_map(|c| c.latency_curve.iter().map(|p| p.ns.max(1)));
    let (lo, hi) = all.fold((u64::MAX, 1), |(lo, hi), ns| (lo.min(ns), hi.max(ns)));
    let lo = if lo == u64::MAX { 1 } else { lo };
    let (d0, d1) = (
        (lo as f64).log10().floor(),
        ((hi as f64).log10().ceil()).max((lo as f64).log10().floor() + 1.0),
    );
    let y = |ns: u64| top + plot_h - ((ns.max(1) as f64).log10() - d0) / (d1 - d0) * plot_h;
    let x = |nines: f64| left + nines / 4.0 * plot_w;

    s.push_str("<p class=\"key\">");
    for c in &r.contenders {
        let _ = write!(
            s,
            "<span style=\"background:{}\"></span>{}",
            color(c.name),
            escape(&c.label)
        );
    }
    s.push_str("</p>\n");
    let _ = write!(
        s,
        "<figure><svg id=\"latency-chart\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"latency percentiles per contender\">"
    );
    // Decades of latency.
    let mut d = d0;
    while d <= d1 + 1e-9 {
        let ns = 10f64.powf(d);
        let yy = top + plot_h - (d - d0) / (d1 - d0) * plot_h;
        let label = if ns >= 1e6 {
            format!("{} ms", ns / 1e6)
        } else if ns >= 1e3 {
            format!("{} µs", ns / 1e3)
        } else {
            format!("{ns} ns")
        };
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{yy:.2}\" x2=\"{:.2}\" y2=\"{yy:.2}\" stroke=\"#e3e6ed\"/><text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\">{label}</text>",
            left + plot_w,
            left - 4.0,
            yy + 4.0
        );
        d += 1.0;
    }
    for (nines, label) in [
        (0.0, "p0"),
        (1.0, "p90"),
        (2.0, "p99"),
        (3.0, "p99.9"),
        (4.0, "p99.99"),
    ] {
        let xx = x(nines);
        let _ = write!(
            s,
            "<line x1=\"{xx:.2}\" y1=\"{top}\" x2=\"{xx:.2}\" y2=\"{:.2}\" stroke=\"#e3e6ed\"/><text x=\"{xx:.2}\" y=\"{:.2}\" text-anchor=\"middle\">{label}</text>",
            top + plot_h,
            height - 8.0
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{:.2}\" x2=\"{:.2}\" y2=\"{:.2}\" stroke=\"#8a93a6\"/>",
        top + plot_h,
        left + plot_w,
        top + plot_h
    );
    for c in &r.contenders {
        let points: Vec<String> = c
            .latency_curve
            .iter()
            .map(|p| {
                let nines = if p.q >= 1.0 {
                    4.0
                } else {
                    (-(1.0 - p.q).log10()).clamp(0.0, 4.0)
                };
                format!("{:.2},{:.2}", x(nines), y(p.ns))
            })
            .collect();
        let _ = write!(
            s,
            "<polyline data-contender=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"><title>{}: p50 {} µs, p99 {} µs, p999 {} µs</title></polyline>",
            contender_name(c.name),
            color(c.name),
            points.join(" "),
            escape(&c.label),
            us(c.p50_ns),
            us(c.p99_ns),
            us(c.p999_ns)
        );
    }
    s.push_str("</svg></figure>\n");
}

/// Bars of 1 thread (1.0) and N threads (the scaling) per contender and
/// reference loop, with the ideal and the target as dashed lines.
fn scaling_chart(s: &mut String, r: &Report) {
    let threads = r.config.threads.max(1) as f64;
    let mut groups: Vec<(String, String, &'static str, &Throughput)> = r
        .contenders
        .iter()
        .map(|c| {
            (
                contender_name(c.name).to_string(),
                c.label.clone(),
                color(c.name),
                &c.throughput,
            )
        })
        .collect();
    for l in &r.machine.reference {
        groups.push((
            l.name.clone(),
            format!("machine: {}", l.label),
            LOOP_COLOR,
            &l.throughput,
        ));
    }
    let top_value = groups
        .iter()
        .map(|g| g.3.scaling)
        .fold(threads.max(1.7), f64::max)
        * 1.1;
    let (width, height, left, right, top, bottom) = (960.0_f64, 300.0_f64, 48.0, 16.0, 12.0, 44.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let y = |v: f64| top + plot_h - v / top_value * plot_h;
    let _ = write!(
        s,
        "<figure><svg id=\"scaling-chart\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"throughput scaling, 1 thread against {threads} threads\">"
    );
    let mut v = 0.0;
    while v <= top_value {
        let yy = y(v);
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{yy:.2}\" x2=\"{:.2}\" y2=\"{yy:.2}\" stroke=\"#e3e6ed\"/><text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\">{v:.1}x</text>",
            left + plot_w,
            left - 4.0,
            yy + 4.0
        );
        v += 0.5;
    }
    let slot = plot_w / groups.len().max(1) as f64;
    let bar = slot * 0.3;
    for (i, (name, label, fill, t)) in groups.iter().enumerate() {
        let x0 = left + i as f64 * slot + slot * 0.15;
        for (j, (value, per_s, what)) in [
            (1.0, t.one_thread_per_s, "1 thread".to_string()),
            (
                t.scaling,
                t.n_threads_per_s,
                format!("{} threads", t.threads),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let xx = x0 + j as f64 * (bar + slot * 0.1);
            let yy = y(value);
            let opacity = if j == 0 { "0.45" } else { "1" };
            let _ = write!(
                s,
                "<rect data-subject=\"{}\" x=\"{xx:.2}\" y=\"{yy:.2}\" width=\"{bar:.2}\" height=\"{:.2}\" fill=\"{fill}\" fill-opacity=\"{opacity}\"><title>{}, {what}: {per_s:.0}/s ({value:.2}x)</title></rect>\
                 <text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"middle\">{value:.2}x</text>",
                escape(name),
                top + plot_h - yy,
                escape(label),
                xx + bar / 2.0,
                yy - 3.0
            );
        }
        let _ = write!(
            s,
            "<text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"middle\">{}</text><text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"middle\">1 vs {} threads</text>",
            left + i as f64 * slot + slot / 2.0,
            height - 24.0,
            short(name),
            left + i as f64 * slot + slot / 2.0,
            height - 10.0,
            t.threads
        );
    }
    for (value, label) in [(threads, "ideal"), (1.7, "target 1.7x")] {
        let yy = y(value);
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{yy:.2}\" x2=\"{:.2}\" y2=\"{yy:.2}\" stroke=\"#1d2330\" stroke-dasharray=\"6 4\"/><text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\">{label}</text>",
            left + plot_w,
            left + plot_w - 2.0,
            yy - 3.0
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{:.2}\" x2=\"{:.2}\" y2=\"{:.2}\" stroke=\"#8a93a6\"/>",
        top + plot_h,
        left + plot_w,
        top + plot_h
    );
    s.push_str("</svg></figure>\n");
}
