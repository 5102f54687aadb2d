//! The one error type of this crate.

/// Why a cron expression, a time zone or an interval was refused.
///
/// Every message names the offending input and says what is allowed instead, so it can be shown
/// verbatim as a compile error by the `#[periodic]` macro or logged by the runtime.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CronError {
    /// The cron expression is not valid in the supported dialect.
    #[error("invalid cron expression {expr:?}: {reason}")]
    InvalidExpression {
        /// The expression as given.
        expr: String,
        /// What is wrong, which field and token, and what is allowed there.
        reason: String,
    },
    /// The time zone is not an IANA name known to `chrono-tz`.
    #[error("unknown time zone {name:?}: {}", zone_hint(.name))]
    UnknownTimeZone {
        /// The name as given.
        name: String,
    },
    /// An `every = "…"` interval could not be used.
    #[error("invalid interval {text:?}: {reason}")]
    InvalidInterval {
        /// The interval text as given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl CronError {
    pub(crate) fn expression(expr: &str, reason: impl Into<String>) -> Self {
        Self::InvalidExpression {
            expr: expr.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn interval(text: &str, reason: impl Into<String>) -> Self {
        Self::InvalidInterval {
            text: text.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The tail of the unknown-zone message: a case-insensitive match if there is one.
fn zone_hint(name: &str) -> String {
    let trimmed = name.trim();
    let near = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .find(|known| known.eq_ignore_ascii_case(trimmed));
    match near {
        Some(known) => format!("did you mean {known:?}? (zone names are case-sensitive)"),
        None => {
            "expected an IANA zone name such as \"Europe/London\", \"America/New_York\" or \"UTC\""
                .to_owned()
        }
    }
}
