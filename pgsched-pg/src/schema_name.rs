//! `SchemaName`: the one place a user-configured identifier enters SQL.

use std::fmt;

use pgsched_core::{Error, Shown};

/// Longest accepted schema name. `pgsched_jobs_<schema>` must fit PostgreSQL's 63-byte
/// identifier limit, because it is the notification channel.
pub const MAX_SCHEMA_NAME_LEN: usize = 50;

/// A validated PostgreSQL schema name: `^[a-z_][a-z0-9_]{0,49}$`, not starting with `pg_`
/// (PostgreSQL reserves those for its own schemas and refuses to create them), always emitted
/// quoted.
///
/// ```
/// use pgsched_pg::SchemaName;
/// assert_eq!(SchemaName::new("pgsched").unwrap().quoted(), "\"pgsched\"");
/// assert!(SchemaName::new("public; DROP TABLE jobs").is_err());
/// assert!(SchemaName::new("Jobs").is_err());
/// assert!(SchemaName::new("pg_jobs").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaName(String);

impl SchemaName {
    /// The default schema, `pgsched`.
    pub const DEFAULT: &'static str = "pgsched";

    /// Validates `name`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] saying which rule the name breaks.
    pub fn new(name: impl Into<String>) -> Result<SchemaName, Error> {
        let name = name.into();
        let mut chars = name.chars();
        let valid_start = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let valid_rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if name.starts_with("pg_") {
            return Err(Error::InvalidInput {
                what: "schema name",
                reason: format!(
                    "{} starts with `pg_`, which PostgreSQL reserves for system schemas; choose another name",
                    Shown(&name)
                ),
            });
        }
        if !valid_start || !valid_rest || name.len() > MAX_SCHEMA_NAME_LEN {
            return Err(Error::InvalidInput {
                what: "schema name",
                reason: format!(
                    "{} must start with a lowercase letter or `_`, continue with lowercase letters, digits or `_`, and be at most {MAX_SCHEMA_NAME_LEN} characters",
                    Shown(&name)
                ),
            });
        }
        Ok(SchemaName(name))
    }

    /// The bare name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a quoted SQL identifier.
    #[must_use]
    pub fn quoted(&self) -> String {
        // Validation admits no quote character, so wrapping is enough.
        format!("\"{}\"", self.0)
    }

    /// The notification channel of this schema (see `notifier.rs`).
    #[must_use]
    pub fn channel(&self) -> String {
        format!("pgsched_jobs_{}", self.0)
    }

    /// The channel on which awaited jobs of this schema announce their end, their id as the
    /// payload (the trigger of migration 0011 writes the same name). Like [`Self::channel`],
    /// at most 63 bytes for the longest schema name.
    #[must_use]
    pub fn done_channel(&self) -> String {
        format!("pgsched_done_{}", self.0)
    }
}

impl Default for SchemaName {
    fn default() -> Self {
        SchemaName(SchemaName::DEFAULT.to_owned())
    }
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_lowercase_names() {
        for name in [
            "pgsched",
            "_x",
            "t_123",
            "pg",
            "pgx",
            "_pg_x",
            &"a".repeat(MAX_SCHEMA_NAME_LEN),
        ] {
            let schema = SchemaName::new(name).expect("valid");
            assert_eq!(schema.quoted(), format!("\"{name}\""));
            assert!(schema.channel().len() <= 63);
        }
    }

    #[test]
    fn rejects_hostile_and_odd_names() {
        for name in [
            "",
            "public; DROP SCHEMA x",
            "a\"b",
            "Jobs",
            "1abc",
            "a-b",
            "a b",
            "ünï",
            "a\0",
            "pg_x",
            "pg_",
            "pg_catalog",
            &"a".repeat(MAX_SCHEMA_NAME_LEN + 1),
        ] {
            assert!(SchemaName::new(name).is_err(), "{name:?} must be rejected");
        }
    }
}
