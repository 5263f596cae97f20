//! The report as one self-contained HTML page: inline CSS and inline SVG
//! drawn here, no script, font or anything fetched. Every text from the
//! log (ids, reason codes, policy and list names, paths) is escaped.

use crate::report::{Bucket, Changed, Report, VERDICTS, utc};
use std::fmt::Write;

/// Most changed decisions listed on the page (all are in `--json`).
pub const MAX_ROWS: usize = 2000;

/// `text` escaped for HTML text and attribute values (`&`, `<`, `>`, `"`
/// and `'`).
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_quoted_attribute(text)
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1d2330;max-width:72rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d6dae3;padding-bottom:.25rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d6dae3;padding:.25rem .6rem;text-align:right}
th{background:#f2f4f8}td.l,th.l{text-align:left}td.diag{background:#eef7ee}td.off{background:#fdf0e6;font-weight:bold}
.note{color:#4a5468;font-size:.9rem}.allow{fill:#3c9a5f}.hold{fill:#e0a030}.deny{fill:#c8423b}
.key span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
svg text{font-size:11px;fill:#4a5468}svg.chart{max-width:100%;height:auto}code{font-size:.9em}";

const COLORS: [&str; 3] = ["#3c9a5f", "#e0a030", "#c8423b"];

/// The page.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let t = &r.totals;
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>riskgate replay</title><style>{STYLE}</style></head><body>\n\
         <h1>riskgate replay</h1>\n<p>Candidate: <b>{}</b>. {} decision record(s) from {} file(s)",
        escape(&r.candidate),
        r.log.decisions,
        r.log.files.len()
    );
    if let (Some(a), Some(b)) = (r.log.first_requested_at, r.log.last_requested_at) {
        let _ = write!(s, ", requested from {} to {}", utc(a), utc(b));
    }
    s.push_str(".</p>\n");
    let _ = write!(
        s,
        "<h2>Summary</h2>\n<table id=\"summary\"><tbody>\
         <tr><th class=\"l\">compared</th><td id=\"compared\">{}</td></tr>\
         <tr><th class=\"l\">changed</th><td id=\"changed\">{}</td></tr>\
         <tr><th class=\"l\">verdict changed</th><td>{}</td></tr>\
         <tr><th class=\"l\">unchanged</th><td>{}</td></tr>\
         <tr><th class=\"l\">replayed (retries, skipped)</th><td>{}</td></tr>\
         <tr><th class=\"l\">warm-up (history only)</th><td>{}</td></tr>\
         <tr><th class=\"l\">excluded (not reproducible)</th><td>{}</td></tr>\
         <tr><th class=\"l\">history: decisions / allows / approved holds</th><td>{} / {} / {}</td></tr>\
         </tbody></table>\n",
        t.compared,
        t.changed,
        t.verdict_changed,
        t.unchanged,
        t.replayed_skipped,
        t.warmup,
        t.excluded,
        t.history_recorded,
        t.history_allows,
        r.resolutions.counted
    );
    for n in &r.notes {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", escape(n));
    }

    s.push_str("<h2>Transitions</h2>\n<p class=\"note\">Rows: verdict logged; columns: verdict re-decided.</p>\n<table id=\"transitions\"><thead><tr><th></th>");
    for v in VERDICTS {
        let _ = write!(s, "<th>{}</th>", v.as_str());
    }
    s.push_str("</tr></thead><tbody>");
    for (i, row) in r.transitions.iter().enumerate() {
        let _ = write!(s, "<tr><th class=\"l\">{}</th>", VERDICTS[i].as_str());
        for (j, n) in row.iter().enumerate() {
            let class = if i == j {
                "diag"
            } else if *n > 0 {
                "off"
            } else {
                ""
            };
            let _ = write!(
                s,
                "<td class=\"{class}\" data-from=\"{}\" data-to=\"{}\">{n}</td>",
                VERDICTS[i].as_str(),
                VERDICTS[j].as_str()
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>\n");

    s.push_str("<h2>Verdicts over time</h2>\n");
    chart(&mut s, r);

    s.push_str("<h2>Reasons</h2>\n");
    for (title, id, map) in [
        ("appeared", "appeared", &r.reasons_appeared),
        ("disappeared", "disappeared", &r.reasons_disappeared),
    ] {
        let _ = write!(
            s,
            "<table id=\"{id}\"><thead><tr><th class=\"l\">{title}</th><th>decisions</th></tr></thead><tbody>"
        );
        if map.is_empty() {
            s.push_str("<tr><td class=\"l\" colspan=\"2\">none</td></tr>");
        }
        for (code, n) in map {
            let _ = write!(
                s,
                "<tr><td class=\"l\"><code>{}</code></td><td>{n}</td></tr>",
                escape(code)
            );
        }
        s.push_str("</tbody></table>\n");
    }

    let res = &r.resolutions;
    if res.records > 0 {
        let _ = write!(
            s,
            "<h2>Holds reviewed in the log</h2>\n<p class=\"note\">{} resolution record(s); \
             {} approval(s) counted in the history from their approval time.</p>\n",
            res.records, res.counted
        );
        for (title, id, map) in [
            ("action", "resolution-actions", &res.by_action),
            ("hold state now", "resolution-states", &res.by_state),
        ] {
            let _ = write!(
                s,
                "<table id=\"{id}\"><thead><tr><th class=\"l\">{title}</th><th>count</th></tr></thead><tbody>"
            );
            for (k, n) in map {
                let _ = write!(s, "<tr><td class=\"l\">{}</td><td>{n}</td></tr>", escape(k));
            }
            s.push_str("</tbody></table>\n");
        }
    }

    if !r.policies.is_empty() {
        s.push_str("<h2>Per-policy agreement with the log</h2>\n<table id=\"policies\"><thead><tr><th class=\"l\">policy</th><th>compared</th><th>agreed</th><th>not in log</th></tr></thead><tbody>");
        for p in &r.policies {
            let _ = write!(
                s,
                "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&p.name),
                p.compared,
                p.agreed,
                p.not_in_log
            );
        }
        s.push_str("</tbody></table>\n");
    }
    if !r.shadow.log.is_empty() || !r.shadow.replay.is_empty() {
        s.push_str("<h2>Shadow disagreements</h2>\n<table id=\"shadow\"><thead><tr><th class=\"l\">from</th><th class=\"l\">policy</th><th class=\"l\">enforced</th><th class=\"l\">shadow</th><th>count</th></tr></thead><tbody>");
        for (from, list) in [("log", &r.shadow.log), ("replay", &r.shadow.replay)] {
            for c in list {
                let _ = write!(
                    s,
                    "<tr><td class=\"l\">{from}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td></tr>",
                    escape(&c.policy),
                    c.enforced.as_str(),
                    c.shadow.as_str(),
                    c.count
                );
            }
        }
        s.push_str("</tbody></table>\n");
    }

    for (title, id, list) in [
        ("Changed decisions", "changed-list", &r.changed),
        (
            "Excluded records (not reproducible by replay)",
            "excluded-list",
            &r.excluded,
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(s, "<h2>{title}: {}</h2>", list.len());
        rows(&mut s, id, list);
    }

    s.push_str("<h2>Chains</h2>\n");
    for c in &r.chains {
        let _ = write!(
            s,
            "<p>Generation {}: fuel {}, deadline {} µs, memory {} MiB (limits from {}).</p><table><thead><tr><th class=\"l\">policy</th><th class=\"l\">version</th><th class=\"l\">origin</th><th class=\"l\">mode</th><th class=\"l\">config from</th><th>fuel</th></tr></thead><tbody>",
            c.generation,
            c.limits.fuel,
            c.limits.deadline_us,
            c.limits.memory_mib,
            c.limits.from.as_str()
        );
        for p in &c.policies {
            let _ = write!(
                s,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td></tr>",
                escape(&p.name),
                escape(&p.version),
                escape(&p.origin),
                p.mode.as_str(),
                p.config_from.as_str(),
                p.fuel
            );
        }
        for l in &c.lists {
            let _ = write!(
                s,
                "<tr><td class=\"l\" colspan=\"6\">list {} version {}: {}</td></tr>",
                escape(&l.name),
                escape(&l.version),
                escape(&l.from)
            );
        }
        s.push_str("</tbody></table>\n");
    }
    let _ = write!(
        s,
        "<p class=\"note\">{} ms, {:.0} decisions/s.</p>\n</body></html>\n",
        r.elapsed_ms, r.decisions_per_s
    );
    s
}

fn rows(s: &mut String, id: &str, list: &[Changed]) {
    let _ = write!(
        s,
        "<table id=\"{id}\"><thead><tr><th class=\"l\">decision</th><th class=\"l\">withdrawal</th><th class=\"l\">requested</th><th class=\"l\">logged</th><th class=\"l\">re-decided</th><th class=\"l\">reasons logged</th><th class=\"l\">reasons re-decided</th></tr></thead><tbody>"
    );
    for c in list.iter().take(MAX_ROWS) {
        let _ = write!(
            s,
            "<tr><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
            escape(&c.decision_id),
            escape(&c.withdrawal_id),
            utc(c.requested_at),
            escape(&c.old_text()),
            c.new_verdict.as_str(),
            escape(&c.old_reasons.join(", ")),
            escape(&c.new_reasons.join(", "))
        );
    }
    s.push_str("</tbody></table>\n");
    if list.len() > MAX_ROWS {
        let _ = writeln!(
            s,
            "<p class=\"note\">… and {} more (the JSON report lists all).</p>",
            list.len() - MAX_ROWS
        );
    }
}

/// Two stacked-bar panels (logged, re-decided) over the same buckets.
fn chart(s: &mut String, r: &Report) {
    let buckets = &r.timeline.buckets;
    let _ = writeln!(
        s,
        "<p class=\"key\">Bucket: {}. <span style=\"background:{}\"></span>allow<span style=\"background:{}\"></span>hold<span style=\"background:{}\"></span>deny</p>",
        match r.timeline.bucket_ms {
            60_000 => "one minute".to_string(),
            300_000 => "five minutes".to_string(),
            3_600_000 => "one hour".to_string(),
            86_400_000 => "one day".to_string(),
            ms => format!("{ms} ms"),
        },
        COLORS[0],
        COLORS[1],
        COLORS[2]
    );
    let (width, height, left, top, bottom) = (960.0_f64, 200.0_f64, 48.0, 10.0, 24.0);
    let max = buckets
        .iter()
        .flat_map(|b| [b.old.iter().sum::<u64>(), b.new.iter().sum::<u64>()])
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    for (id, title, pick) in [
        (
            "chart-old",
            "logged",
            (|b: &Bucket| b.old) as fn(&Bucket) -> [u64; 3],
        ),
        ("chart-new", "re-decided", |b: &Bucket| b.new),
    ] {
        let _ = write!(
            s,
            "<figure><figcaption>{title}</figcaption><svg id=\"{id}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"verdicts {title} over time\">"
        );
        let plot_w = width - left - 8.0;
        let plot_h = height - top - bottom;
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#8a93a6\"/>",
            top + plot_h,
            left + plot_w,
            top + plot_h
        );
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
            left - 4.0,
            top + 10.0,
            max as u64,
            left - 4.0,
            top + plot_h
        );
        let n = buckets.len().max(1) as f64;
        let slot = plot_w / n;
        let bar = (slot * 0.8).max(1.0);
        for (i, b) in buckets.iter().enumerate() {
            let x = left + i as f64 * slot + (slot - bar) / 2.0;
            let mut y = top + plot_h;
            for (k, count) in pick(b).iter().enumerate() {
                if *count == 0 {
                    continue;
                }
                let h = (*count as f64 / max * plot_h).max(1.0);
                y -= h;
                let _ = write!(
                    s,
                    "<rect class=\"{}\" x=\"{x:.2}\" y=\"{y:.2}\" width=\"{bar:.2}\" height=\"{h:.2}\"><title>{} {}: {count}</title></rect>",
                    VERDICTS[k].as_str(),
                    utc(b.start_ms),
                    VERDICTS[k].as_str()
                );
            }
        }
        // A few time labels along the axis.
        let labels = buckets.len().min(6);
        for j in 0..labels {
            let i = if labels <= 1 {
                0
            } else {
                j * (buckets.len() - 1) / (labels - 1)
            };
            let x = left + i as f64 * slot + slot / 2.0;
            let _ = write!(
                s,
                "<text x=\"{x:.2}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                height - 6.0,
                &utc(buckets[i].start_ms)[5..16]
            );
        }
        s.push_str("</svg></figure>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;"
        );
    }
}
