//! Job priority: the seed's four levels and their database values.

use std::fmt;

/// How urgent a job is. Among jobs that are due, lower database values run first:
/// Critical (1) → High (3) → Normal (5) → Low (8).
///
/// ```
/// use pgsched_core::Priority;
/// assert_eq!(Priority::High.db_value(), 3);
/// assert_eq!(Priority::from_db_value(42), Priority::Normal); // unknown → Normal
/// assert!(Priority::Critical < Priority::Low);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Priority {
    /// Runs before everything else that is due (database value 1).
    Critical,
    /// Database value 3.
    High,
    /// The default (database value 5).
    #[default]
    Normal,
    /// Runs after everything else that is due (database value 8).
    Low,
}

impl Priority {
    /// All levels, most urgent first.
    pub const ALL: [Priority; 4] = [
        Priority::Critical,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ];

    /// The value stored in the database (lower runs first).
    #[must_use]
    pub const fn db_value(self) -> i16 {
        match self {
            Priority::Critical => 1,
            Priority::High => 3,
            Priority::Normal => 5,
            Priority::Low => 8,
        }
    }

    /// The level stored as `value`; unknown values read as [`Priority::Normal`].
    #[must_use]
    pub const fn from_db_value(value: i16) -> Priority {
        match value {
            1 => Priority::Critical,
            3 => Priority::High,
            8 => Priority::Low,
            _ => Priority::Normal,
        }
    }

    /// The lowercase label ("critical", "high", "normal", "low").
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl std::str::FromStr for Priority {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|p| p.label().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown priority {s:?}; use critical, high, normal or low"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_values_match_the_seed_and_round_trip() {
        let values: Vec<i16> = Priority::ALL.iter().map(|p| p.db_value()).collect();
        assert_eq!(values, [1, 3, 5, 8]);
        for p in Priority::ALL {
            assert_eq!(Priority::from_db_value(p.db_value()), p);
        }
    }

    #[test]
    fn unknown_db_value_reads_as_normal() {
        for v in [0, 2, 4, 6, 7, 9, -1, i16::MAX] {
            assert_eq!(Priority::from_db_value(v), Priority::Normal);
        }
    }

    #[test]
    fn order_follows_urgency() {
        let mut shuffled = [
            Priority::Low,
            Priority::Critical,
            Priority::Normal,
            Priority::High,
        ];
        shuffled.sort();
        assert_eq!(shuffled, Priority::ALL);
        assert_eq!(Priority::default(), Priority::Normal);
    }

    #[test]
    fn labels_parse_case_insensitively() {
        for p in Priority::ALL {
            assert_eq!(p.to_string().to_uppercase().parse::<Priority>(), Ok(p));
        }
        assert!("urgent".parse::<Priority>().is_err());
    }
}
