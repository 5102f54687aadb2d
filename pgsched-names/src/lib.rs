//! The one rule for text pgsched stores as a key, and the limits it is applied with.
//!
//! Job ids, job names, periodic dedup keys, queue names and concurrency keys are bound as SQL text parameters and indexed, so
//! each must be non-empty, at most a fixed number of bytes long, and free of NUL characters
//! (PostgreSQL `text` cannot hold them). The runtime (`pgsched-core`) checks them when a job
//! is scheduled or a schedule registered; the macros (`pgsched-macros`) check the literals in
//! `#[job(name = …)]` and `#[periodic(dedup_key = …)]` at compile time. Both use [`Key::check`]
//! and the [`Key`] constants here, so they cannot disagree. This crate has no dependencies, so
//! the proc-macro crate can use it without pulling in the runtime.

use std::fmt;

/// A kind of stored key: what it is called in messages and how long it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// What the key is, as messages name it ("job id").
    pub what: &'static str,
    /// The most bytes (UTF-8) it may have.
    pub max_bytes: usize,
}

/// Longest accepted job id, in bytes.
pub const MAX_JOB_ID_BYTES: usize = 512;
/// Longest accepted job name, in bytes.
pub const MAX_JOB_NAME_BYTES: usize = 128;
/// Longest accepted periodic dedup key, in bytes.
pub const MAX_DEDUP_KEY_BYTES: usize = 512;
/// Longest accepted queue name, in bytes.
pub const MAX_QUEUE_NAME_BYTES: usize = 128;
/// Longest accepted concurrency key, in bytes.
pub const MAX_CONCURRENCY_KEY_BYTES: usize = 512;

impl Key {
    /// A job's id, chosen by the caller or generated.
    pub const JOB_ID: Key = Key {
        what: "job id",
        max_bytes: MAX_JOB_ID_BYTES,
    };
    /// A job's stable name, the key jobs are dispatched by.
    pub const JOB_NAME: Key = Key {
        what: "job name",
        max_bytes: MAX_JOB_NAME_BYTES,
    };
    /// The key a periodic schedule's windows are deduplicated by.
    pub const DEDUP_KEY: Key = Key {
        what: "dedup key",
        max_bytes: MAX_DEDUP_KEY_BYTES,
    };

    /// The named queue a job waits in.
    pub const QUEUE_NAME: Key = Key {
        what: "queue name",
        max_bytes: MAX_QUEUE_NAME_BYTES,
    };
    /// The key whose jobs share a concurrency limit.
    pub const CONCURRENCY_KEY: Key = Key {
        what: "concurrency key",
        max_bytes: MAX_CONCURRENCY_KEY_BYTES,
    };

    /// Checks `value`: non-empty, at most [`Key::max_bytes`] bytes, no NUL character.
    ///
    /// # Errors
    /// The first rule `value` breaks, in that order.
    pub fn check(self, value: &str) -> Result<(), KeyProblem> {
        if value.is_empty() {
            Err(KeyProblem::Empty)
        } else if value.len() > self.max_bytes {
            Err(KeyProblem::TooLong {
                len: value.len(),
                max_bytes: self.max_bytes,
            })
        } else if value.contains('\0') {
            Err(KeyProblem::Nul)
        } else {
            Ok(())
        }
    }
}

/// The rule a key breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// It is empty.
    Empty,
    /// It is longer than its limit.
    TooLong {
        /// Its length, in bytes.
        len: usize,
        /// The limit, in bytes.
        max_bytes: usize,
    },
    /// It contains a NUL character.
    Nul,
}

/// The rule, phrased as what to change: "must not be empty", "is 600 bytes; the limit is 512",
/// "must not contain a NUL character".
impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::Empty => f.write_str("must not be empty"),
            KeyProblem::TooLong { len, max_bytes } => {
                write!(f, "is {len} bytes; the limit is {max_bytes}")
            }
            KeyProblem::Nul => f.write_str("must not contain a NUL character"),
        }
    }
}

impl std::error::Error for KeyProblem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_applies_each_rule() {
        let key = Key {
            what: "k",
            max_bytes: 4,
        };
        let cases: [(&str, Result<(), KeyProblem>); 8] = [
            ("a", Ok(())),
            ("abcd", Ok(())),
            // Bytes, not characters: "é" is two bytes.
            ("abé", Ok(())),
            (
                "abcé",
                Err(KeyProblem::TooLong {
                    len: 5,
                    max_bytes: 4,
                }),
            ),
            ("", Err(KeyProblem::Empty)),
            (
                "abcde",
                Err(KeyProblem::TooLong {
                    len: 5,
                    max_bytes: 4,
                }),
            ),
            ("a\0b", Err(KeyProblem::Nul)),
            // Length is checked before NUL.
            (
                "\0\0\0\0\0",
                Err(KeyProblem::TooLong {
                    len: 5,
                    max_bytes: 4,
                }),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(key.check(value), expected, "{value:?}");
        }
    }

    #[test]
    fn limits_are_the_documented_ones() {
        for (key, what, max) in [
            (Key::JOB_ID, "job id", 512),
            (Key::JOB_NAME, "job name", 128),
            (Key::DEDUP_KEY, "dedup key", 512),
        ] {
            assert_eq!((key.what, key.max_bytes), (what, max));
            assert_eq!(key.check(&"x".repeat(max)), Ok(()), "{what}");
            assert_eq!(
                key.check(&"x".repeat(max + 1)),
                Err(KeyProblem::TooLong {
                    len: max + 1,
                    max_bytes: max
                }),
                "{what}"
            );
        }
    }

    #[test]
    fn problems_read_as_the_fix() {
        for (problem, text) in [
            (KeyProblem::Empty, "must not be empty"),
            (
                KeyProblem::TooLong {
                    len: 600,
                    max_bytes: 512,
                },
                "is 600 bytes; the limit is 512",
            ),
            (KeyProblem::Nul, "must not contain a NUL character"),
        ] {
            assert_eq!(problem.to_string(), text);
        }
    }
}
