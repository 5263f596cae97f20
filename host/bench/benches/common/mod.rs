//! Shared by the benchmarks.

/// A `Field:  N kB` line of a /proc file of this process (`/proc/self/status`,
/// `/proc/self/smaps_rollup`), in kB; 0 when absent.
pub fn proc_kb(file: &str, field: &str) -> u64 {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
