//! The job row an enqueue writes, described once: which input columns bind which fields of a
//! [`NewJob`], in what order and with what PostgreSQL type. From this one list come the
//! single-row binder ([`bind_job`]), the batch binder ([`bind_jobs`]) and the statements'
//! input rows `d` (`__JOB_SCALARS__`, `__JOB_ARRAYS__`). Each input is written as it is to the
//! table column of its name (`__JOB_COLUMNS__`, `__JOB_VALUES__`), except the columns that
//! `sql/job_row.sql` computes (the due time, the expiry, the waiting status).
//!
//! Adding a column to the job row: the migration that creates it, a field of [`NewJob`] (or of
//! its [`JobOptions`](pgsched_core::JobOptions) when a job's attribute and each schedule call
//! may set it), and one line here: its input, from that field.

use pgsched_core::NewJob;

use crate::rows::{hash_to_db, to_millis};

macro_rules! job_input {
    ($($column:ident: $sql_type:literal = |$job:ident| $value:expr),* $(,)?) => {
        /// The input columns `d` of every enqueue, in parameter order: (name, PostgreSQL type).
        pub(crate) const INPUT: &[(&str, &str)] = &[$((stringify!($column), $sql_type)),*];

        /// Binds one job's input columns as scalars (`__JOB_SCALARS__`).
        pub(crate) fn bind_job<'q, Q: Bindable<'q>>(query: Q, job: &'q NewJob) -> Q {
            query $(.bind_value({ let $job = job; $value }))*
        }

        /// Binds a batch's input columns as arrays (`__JOB_ARRAYS__`), in id order: concurrent
        /// bulk writers then lock rows in the same order (no deadlocks); results are matched
        /// back to the input by id. Borrows from the jobs: no copies of payloads.
        pub(crate) fn bind_jobs<'q, Q: Bindable<'q>>(query: Q, jobs: &[&'q NewJob]) -> Q {
            let mut jobs: Vec<&'q NewJob> = jobs.to_vec();
            jobs.sort_by(|a, b| a.id.cmp(&b.id));
            query $(.bind_value(jobs.iter().map(|&$job| $value).collect::<Vec<_>>()))*
        }
    };
}

job_input! {
    id: "text" = |job| job.id.as_str(),
    name: "text" = |job| job.name.as_str(),
    payload: "bytea" = |job| job.payload.as_slice(),
    schema_hash: "int8" = |job| job.schema_hash.map(hash_to_db),
    run_at: "timestamptz" = |job| job.run_at,
    priority: "int2" = |job| job.options.priority.db_value(),
    max_retries: "int4" = |job| i32::try_from(job.options.max_retries).unwrap_or(i32::MAX),
    misfire_grace_ms: "int8" = |job| job.misfire_grace().map(to_millis),
    timeout_ms: "int8" = |job| job.options.timeout.map(to_millis),
    exclusive_key: "text" = |job| job.exclusive_key.as_deref(),
    queue: "text" = |job| job.options.queue.as_str(),
    concurrency_key: "text" = |job| job.concurrency_key.as_deref(),
    concurrency_limit: "int4" = |job| job
        .concurrency_key
        .as_ref()
        .map(|_| i32::try_from(job.options.concurrency).unwrap_or(i32::MAX)),
    trace_context: "text" = |job| job.trace_context.as_deref(),
    // A job with parents waits for each of them (NULL: it has none; see migration 0012).
    unfinished_parents: "int4" = |job| parents_count(job),
    on_parent_failure: "text" = |job| parents_count(job).map(|_| job.options.on_parent_failure.as_str()),
}

/// How many parents a job waits for (`None`: none).
fn parents_count(job: &NewJob) -> Option<i32> {
    (!job.parents.is_empty()).then(|| i32::try_from(job.parents.len()).unwrap_or(i32::MAX))
}

/// `sql` with the job row's placeholders rendered. The job's parameters follow the
/// statement's own: a statement that uses `$1` to `$3` itself gets the job's columns from `$4`.
pub(crate) fn render(sql: &str) -> String {
    let first = own_parameters(sql) + 1;
    fragments(first)
        .iter()
        .fold(sql.to_owned(), |sql, (placeholder, text)| {
            sql.replace(placeholder, text)
        })
}

/// The highest parameter number `sql` uses outside comments (0: none).
fn own_parameters(sql: &str) -> usize {
    sql.lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .flat_map(|code| code.split('$').skip(1))
        .filter_map(|after| {
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

/// The placeholders of the job row and the text each renders to, the job's parameters
/// numbered from `first`.
fn fragments(first: usize) -> [(&'static str, String); 5] {
    let names: Vec<&str> = INPUT.iter().map(|(name, _)| *name).collect();
    let names = names.join(", ");
    let typed = |suffix: &str| -> String {
        INPUT
            .iter()
            .enumerate()
            .map(|(index, (_, sql_type))| format!("${}::{sql_type}{suffix}", index + first))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let computed: Vec<(&str, &str)> = include_str!("../sql/job_row.sql")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("--"))
        .filter_map(|line| line.split_once('='))
        .map(|(column, value)| (column.trim(), value.trim()))
        .collect();
    // The row: each input column as it is (unless computed), then the computed ones.
    let as_is = INPUT
        .iter()
        .filter(|(name, _)| computed.iter().all(|(column, _)| column != name))
        .map(|(name, _)| (*name, format!("d.{name}")));
    let row: Vec<(&str, String)> = as_is
        .chain(
            computed
                .iter()
                .map(|(column, value)| (*column, (*value).to_owned())),
        )
        .collect();
    let list = |each: &dyn Fn(&(&str, String)) -> String| -> String {
        row.iter().map(each).collect::<Vec<_>>().join(", ")
    };
    [
        ("__JOB_COLUMNS__", list(&|(column, _)| (*column).to_owned())),
        ("__JOB_VALUES__", list(&|(_, value)| value.clone())),
        (
            "__EXCLUDED_JOB_COLUMNS__",
            list(&|(column, _)| format!("excluded.{column}")),
        ),
        (
            "__JOB_SCALARS__",
            format!("(VALUES ({})) AS d({names})", typed("")),
        ),
        (
            "__JOB_ARRAYS__",
            format!("unnest({}) AS d({names})", typed("[]")),
        ),
    ]
}

/// `bind` for both `query` and `query_scalar`, so the input columns are written once.
pub(crate) trait Bindable<'q>: Sized {
    /// Binds the next parameter.
    fn bind_value<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send;
}

impl<'q> Bindable<'q> for sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    fn bind_value<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        self.bind(value)
    }
}

impl<'q, O> Bindable<'q>
    for sqlx::query::QueryScalar<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>
{
    fn bind_value<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        self.bind(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_is_rendered_from_one_list() {
        let fragments = fragments(1);
        let get = |name: &str| {
            fragments
                .iter()
                .find(|(placeholder, _)| *placeholder == name)
                .map(|(_, text)| text.clone())
                .expect("rendered")
        };
        let names: Vec<&str> = INPUT.iter().map(|(name, _)| *name).collect();
        let columns = get("__JOB_COLUMNS__");
        assert!(columns.starts_with("id, name, payload, "), "{columns}");
        // The inputs written as they are, then the computed columns (run_at is both).
        assert!(columns.ends_with("run_at, expires_at, status"), "{columns}");
        assert_eq!(columns.split(", ").count(), names.len() + 2, "{columns}");
        assert!(get("__EXCLUDED_JOB_COLUMNS__").starts_with("excluded.id, excluded.name"));
        assert!(get("__JOB_VALUES__").contains("coalesce(d.run_at, now()) + d.misfire_grace_ms"));
        let scalars = get("__JOB_SCALARS__");
        assert!(
            scalars.starts_with("(VALUES ($1::text, $2::text, $3::bytea"),
            "{scalars}"
        );
        let last = INPUT.len();
        assert!(
            scalars.ends_with(&format!(
                "${last}::{})) AS d({})",
                INPUT[last - 1].1,
                names.join(", ")
            )),
            "{scalars}"
        );
        let arrays = get("__JOB_ARRAYS__");
        assert!(
            arrays.starts_with("unnest($1::text[], $2::text[]"),
            "{arrays}"
        );
        assert!(
            arrays.ends_with(&format!("AS d({})", names.join(", "))),
            "{arrays}"
        );
        // Every input column is written somewhere in the row.
        let values = get("__JOB_VALUES__");
        for (name, _) in INPUT {
            assert!(
                values.contains(&format!("d.{name}")),
                "{name} is never written"
            );
        }
    }

    #[test]
    fn the_job_parameters_follow_the_statement_s_own() {
        let sql = "-- $9 in a comment\nSELECT $1, $3 FROM __JOB_SCALARS__";
        let rendered = render(sql);
        assert!(
            rendered.contains("(VALUES ($4::text, $5::text"),
            "{rendered}"
        );
        assert_eq!(own_parameters("SELECT 1"), 0);
        assert!(
            render("SELECT * FROM __JOB_ARRAYS__").starts_with("SELECT * FROM unnest($1::text[]")
        );
    }
}
