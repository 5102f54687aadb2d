//! [`Shown`]: how a user's text (a job name, an id, a key) appears inside a message.
//!
//! Messages quote such text as written, between backticks, so `send_email` reads as
//! `` job `send_email` `` rather than the Debug form `"send_email"`. Only control characters
//! are escaped (`\n`, `\u{1b}`, …): a hostile name can neither break a log line nor drive a
//! terminal, and everything else, non-ASCII letters included, shows as it is.

use std::fmt;

/// User text shown in a message: between backticks, control characters escaped.
///
/// ```
/// use pgsched_core::Shown;
/// assert_eq!(Shown("send_email").to_string(), "`send_email`");
/// assert_eq!(Shown("été").to_string(), "`été`");
/// assert_eq!(Shown("a\nb\u{1b}[2J").to_string(), "`a\\nb\\u{1b}[2J`");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`")?;
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        f.write_str("`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_names_as_written_and_escapes_only_control_characters() {
        assert_eq!(Shown("send_email").to_string(), "`send_email`");
        assert_eq!(
            Shown("with \"quotes\" and \\").to_string(),
            "`with \"quotes\" and \\`"
        );
        assert_eq!(Shown("名前").to_string(), "`名前`");
        assert_eq!(Shown("a\tb\r\n").to_string(), "`a\\tb\\r\\n`");
        assert_eq!(Shown("\u{1b}[31mred").to_string(), "`\\u{1b}[31mred`");
        assert_eq!(Shown("\u{7f}\u{85}").to_string(), "`\\u{7f}\\u{85}`");
    }
}
