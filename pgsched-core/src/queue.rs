//! Named queues and flow control: a queue's name, the settings every worker obeys for it
//! (paused, a concurrency limit, a rate limit), how a worker divides its slots among the
//! queues it serves, and concurrency keys.
//!
//! The limits are enforced by the store's claim statement, on the database clock, across all
//! workers; nothing here counts running jobs. See the README's "Queues and flow control".

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use pgsched_names::Key;

use crate::error::validate_key;
use crate::{Error, Result};

/// The name of a queue: non-empty, at most [`pgsched_names::MAX_QUEUE_NAME_BYTES`] bytes, no
/// NUL. Jobs go to [`QueueName::DEFAULT`] unless their attribute or schedule call names one.
///
/// ```
/// use pgsched_core::QueueName;
/// let emails = QueueName::new("emails")?;
/// assert_eq!(emails.as_str(), "emails");
/// assert!(QueueName::new("").is_err());
/// # Ok::<(), pgsched_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueName(Cow<'static, str>);

impl QueueName {
    /// The queue of jobs that name none: `default`.
    pub const DEFAULT: QueueName = QueueName(Cow::Borrowed("default"));

    /// A checked queue name.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty or oversized name, or one with a NUL.
    pub fn new(name: impl Into<String>) -> Result<QueueName> {
        let name = name.into();
        validate_key(Key::QUEUE_NAME, &name)?;
        Ok(QueueName(Cow::Owned(name)))
    }

    /// A queue name from a literal the `#[job]` macro already checked at compile time.
    #[doc(hidden)]
    #[must_use]
    pub const fn from_checked_literal(name: &'static str) -> QueueName {
        QueueName(Cow::Borrowed(name))
    }

    /// A name read back from the database (checked when it was written).
    #[doc(hidden)]
    #[must_use]
    pub fn from_stored(name: String) -> QueueName {
        QueueName(Cow::Owned(name))
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for QueueName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for QueueName {
    type Err = Error;
    fn from_str(name: &str) -> Result<QueueName> {
        QueueName::new(name)
    }
}

/// Checks a concurrency key (non-empty, at most
/// [`pgsched_names::MAX_CONCURRENCY_KEY_BYTES`] bytes, no NUL).
///
/// # Errors
/// [`Error::InvalidInput`] naming the rule that was broken.
pub fn validate_concurrency_key(key: &str) -> Result<()> {
    validate_key(Key::CONCURRENCY_KEY, key)
}

/// At most `starts` jobs of a queue start within any window of length `per`, cluster-wide, by
/// the database clock. Written `"100/1m"`: a count, a slash, and a period of a number and a
/// unit (`ms`, `s`, `m`, `h`; the number may be left out for one unit: `"100/m"`).
///
/// ```
/// use std::time::Duration;
/// use pgsched_core::RateLimit;
/// let rate: RateLimit = "100/10s".parse()?;
/// assert_eq!((rate.starts, rate.per), (100, Duration::from_secs(10)));
/// assert_eq!(rate.to_string(), "100/10s");
/// # Ok::<(), pgsched_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Starts allowed per period (at least 1).
    pub starts: u32,
    /// The period (at least a millisecond).
    pub per: Duration,
}

/// The largest rate count: each start slot is a row, written when the limit is set.
pub const MAX_RATE_STARTS: u32 = 100_000;

/// The largest count of a per-key rate limit: a key's rate slots are rows written as its jobs
/// start, and a claim reads a key's taken slots to find its free ones, so the count bounds
/// what a key costs a claim.
pub const MAX_KEY_RATE_STARTS: u32 = 1_000;

/// The largest concurrency limit of a queue or of a concurrency key: a running job holds one
/// of its numbered slots, and a claim into a full queue or key probes each slot once
/// (claim_jobs.sql), so the limit bounds what such a claim costs.
pub const MAX_CONCURRENCY_LIMIT: u32 = 10_000;

/// Checks a queue's or a key's concurrency limit (`what` names it in the error).
///
/// # Errors
/// [`Error::InvalidInput`] for 0 or more than [`MAX_CONCURRENCY_LIMIT`], saying what to do.
pub fn validate_concurrency_limit(what: &'static str, limit: u32) -> Result<()> {
    if limit == 0 {
        return Err(Error::InvalidInput {
            what,
            reason: "a limit of 0 would never run a job: use at least 1 (or pause the queue)"
                .to_owned(),
        });
    }
    if limit > MAX_CONCURRENCY_LIMIT {
        return Err(Error::InvalidInput {
            what,
            reason: format!(
                "{limit} is over the largest limit, {MAX_CONCURRENCY_LIMIT}; to run without a \
                 limit, set none"
            ),
        });
    }
    Ok(())
}

impl RateLimit {
    /// A checked rate limit.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for zero starts, more than [`MAX_RATE_STARTS`], or a period
    /// under a millisecond.
    pub fn new(starts: u32, per: Duration) -> Result<RateLimit> {
        let invalid = |reason: String| Error::InvalidInput {
            what: "rate limit",
            reason,
        };
        if starts == 0 || starts > MAX_RATE_STARTS {
            return Err(invalid(format!(
                "the count must be between 1 and {MAX_RATE_STARTS}, not {starts}"
            )));
        }
        if per < Duration::from_millis(1) {
            return Err(invalid("the period must be at least 1ms".to_owned()));
        }
        Ok(RateLimit { starts, per })
    }
}

impl FromStr for RateLimit {
    type Err = Error;
    fn from_str(text: &str) -> Result<RateLimit> {
        let invalid = |reason: &str| Error::InvalidInput {
            what: "rate limit",
            reason: format!("{text:?} {reason}; write it like \"100/1m\" (units: ms, s, m, h)"),
        };
        let (count, period) = text.split_once('/').ok_or_else(|| invalid("has no `/`"))?;
        let starts: u32 = count
            .trim()
            .parse()
            .map_err(|_| invalid("does not start with a count"))?;
        let period = period.trim();
        let split = period
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| invalid("has no unit"))?;
        let (number, unit) = period.split_at(split);
        let number: u64 = if number.is_empty() {
            1
        } else {
            number.parse().map_err(|_| invalid("has a bad period"))?
        };
        let unit_ms: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(invalid("has an unknown unit")),
        };
        let millis = number
            .checked_mul(unit_ms)
            .ok_or_else(|| invalid("has a period too long"))?;
        RateLimit::new(starts, Duration::from_millis(millis))
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.per.as_millis();
        let (number, unit) = [(3_600_000, "h"), (60_000, "m"), (1_000, "s")]
            .into_iter()
            .find(|(unit_ms, _)| ms.is_multiple_of(*unit_ms))
            .map_or((ms, "ms"), |(unit_ms, unit)| (ms / unit_ms, unit));
        write!(f, "{}/{number}{unit}", self.starts)
    }
}

/// What every worker obeys for one queue (persisted; changed at run time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueSettings {
    /// Nothing is claimed from it while paused.
    pub paused: bool,
    /// At most this many of its jobs run at once, cluster-wide; `None`: no limit.
    pub concurrency_limit: Option<u32>,
    /// At most so many starts per period, cluster-wide; `None`: no limit.
    pub rate_limit: Option<RateLimit>,
    /// At most so many starts per period for each of its concurrency keys, cluster-wide;
    /// `None`: no limit. At most [`MAX_KEY_RATE_STARTS`] starts.
    pub key_rate_limit: Option<RateLimit>,
}

/// A queue as `Scheduler::queues` lists it: its settings and its jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    /// Its name.
    pub name: QueueName,
    /// Its settings (the defaults when none were ever set).
    pub settings: QueueSettings,
    /// Jobs waiting in it (due or not).
    pub pending: u64,
    /// Jobs of it running now.
    pub running: u64,
}

/// The queues one worker serves and how many of its jobs may run at once in each. A worker
/// never claims from a queue it does not serve. Written `"default:25,emails:10"`.
///
/// ```
/// use pgsched_core::WorkerQueues;
/// let queues: WorkerQueues = "default:25, emails:10".parse()?;
/// assert_eq!(queues.to_string(), "default:25,emails:10");
/// assert_eq!(queues.total_slots(), 35);
/// # Ok::<(), pgsched_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerQueues(Vec<(QueueName, usize)>);

impl WorkerQueues {
    /// No queue yet (a worker needs at least one: see [`WorkerQueues::serve`]).
    pub const EMPTY: WorkerQueues = WorkerQueues(Vec::new());

    /// Only the default queue, with `slots` slots.
    #[must_use]
    pub fn default_only(slots: usize) -> WorkerQueues {
        WorkerQueues(vec![(QueueName::DEFAULT, slots)])
    }

    /// Serves `queue` with `slots` slots (replacing its earlier count).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for zero slots.
    pub fn serve(&mut self, queue: QueueName, slots: usize) -> Result<()> {
        if slots == 0 {
            return Err(Error::InvalidInput {
                what: "queue slots",
                reason: format!("queue `{queue}` needs at least 1 slot"),
            });
        }
        match self.0.iter_mut().find(|(name, _)| *name == queue) {
            Some(entry) => entry.1 = slots,
            None => self.0.push((queue, slots)),
        }
        Ok(())
    }

    /// The queues with their slots, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&QueueName, usize)> {
        self.0.iter().map(|(name, slots)| (name, *slots))
    }

    /// Slots over all queues: the most jobs this worker runs at once.
    #[must_use]
    pub fn total_slots(&self) -> usize {
        self.0.iter().map(|(_, slots)| slots).sum()
    }
}

impl FromStr for WorkerQueues {
    type Err = Error;
    fn from_str(text: &str) -> Result<WorkerQueues> {
        let invalid = |reason: String| Error::InvalidInput {
            what: "queue list",
            reason: format!("{reason}; write it like \"default:25,emails:10\""),
        };
        let mut queues = WorkerQueues(Vec::new());
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, slots) = entry
                .rsplit_once(':')
                .ok_or_else(|| invalid(format!("{entry:?} has no `:slots`")))?;
            let slots: usize = slots
                .trim()
                .parse()
                .map_err(|_| invalid(format!("{entry:?}: slots must be a number")))?;
            queues.serve(QueueName::new(name.trim())?, slots)?;
        }
        if queues.0.is_empty() {
            return Err(invalid("no queue given".to_owned()));
        }
        Ok(queues)
    }
}

impl fmt::Display for WorkerQueues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (name, slots)) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{name}:{slots}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_parse_and_print() {
        let cases: [(&str, Option<(u32, u64)>); 9] = [
            ("100/1m", Some((100, 60_000))),
            ("100/m", Some((100, 60_000))),
            ("5/10s", Some((5, 10_000))),
            ("1/250ms", Some((1, 250))),
            ("3/2h", Some((3, 7_200_000))),
            ("0/1s", None),
            ("10/0s", None),
            ("10/1d", None),
            ("ten/1s", None),
        ];
        for (text, expected) in cases {
            let parsed = text.parse::<RateLimit>().ok();
            assert_eq!(
                parsed.map(|r| (r.starts, r.per.as_millis() as u64)),
                expected,
                "{text}"
            );
        }
        assert_eq!(
            "100/60s".parse::<RateLimit>().expect("valid").to_string(),
            "100/1m"
        );
    }

    #[test]
    fn worker_queues_parse_and_refuse() {
        let queues: WorkerQueues = "default:25,emails:10,default:5".parse().expect("valid");
        assert_eq!(queues.to_string(), "default:5,emails:10");
        for bad in ["", "emails", "emails:0", "emails:x", ":3"] {
            assert!(bad.parse::<WorkerQueues>().is_err(), "{bad:?}");
        }
    }
}
