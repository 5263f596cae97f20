//! The panic hook a component installs: a policy that panics traps, and
//! the host holds the withdrawal with `gate.policy_fault`; the hook first
//! sends the panic's message to the host's log so the reason can say why.

/// Start of the log line ([`Level::Warn`](crate::Level::Warn)) the panic
/// hook sends to the host before the call traps, e.g.
/// `panicked at src/lib.rs:10:5: index out of bounds`.
pub const PANIC_LOG_PREFIX: &str = "panicked at ";

/// Longest panic log line sent, in bytes (cut at a character boundary).
pub const PANIC_LOG_MAX: usize = 1024;

/// The log line for a panic at `location` (`file:line:column`) with
/// `message`, at most [`PANIC_LOG_MAX`] bytes.
#[doc(hidden)]
pub fn panic_log_line(location: Option<&str>, message: &str) -> String {
    let mut line = String::with_capacity(
        PANIC_LOG_MAX
            .min(PANIC_LOG_PREFIX.len() + location.map_or(9, str::len) + 2 + message.len()),
    );
    line.push_str(PANIC_LOG_PREFIX);
    line.push_str(location.unwrap_or("<unknown>"));
    line.push_str(": ");
    line.push_str(message);
    if line.len() > PANIC_LOG_MAX {
        let mut cut = PANIC_LOG_MAX;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
    }
    line
}

/// Installs, once, the hook sending a panic's message to the host's log
/// (only on `wasm32`: natively the test harness reports panics itself).
pub fn install_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                let message = info.payload_as_str().unwrap_or("Box<dyn Any>");
                let line = panic_log_line(location.as_deref(), message);
                crate::host::log(crate::Level::Warn, &line);
            }));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_starts_with_the_prefix_and_names_where_and_why() {
        let line = panic_log_line(Some("src/lib.rs:3:9"), "index out of bounds");
        assert_eq!(line, "panicked at src/lib.rs:3:9: index out of bounds");
        assert!(line.starts_with(PANIC_LOG_PREFIX));
        assert_eq!(panic_log_line(None, "x"), "panicked at <unknown>: x");
    }

    #[test]
    fn a_long_message_is_cut_at_a_character_boundary() {
        let message = "é".repeat(2 * PANIC_LOG_MAX);
        let line = panic_log_line(Some("a.rs:1:1"), &message);
        assert!(line.len() <= PANIC_LOG_MAX);
        assert!(line.len() > PANIC_LOG_MAX - 2);
        assert!(line.starts_with("panicked at a.rs:1:1: éé"));
    }
}
