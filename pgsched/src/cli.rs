//! The admin command line built into every worker binary.
//!
//! [`crate::run`] runs a worker when the process has no arguments; given arguments, it runs
//! this command line instead, so the binary that knows the jobs can also enqueue, inspect and
//! manage them — since it links the jobs, it takes their typed arguments as JSON (checked
//! against `Args`, stored as postcard) and shows stored payloads decoded. It is the `cli`
//! feature of `pgsched`, on by default; a library user who does not want it (nor clap)
//! depends on `pgsched` with `default-features = false`.
//!
//! | command | does |
//! |---|---|
//! | `jobs list [--status S] [--name N] [--limit K]` | jobs, newest first (default 50) |
//! | `jobs show ID` | every field; the arguments as JSON (a payload of an earlier argument schema through the job's upgrade; for a job name or an argument schema this binary does not know, the payload in hex and why) |
//! | `jobs enqueue NAME --args JSON [--at RFC3339] [--priority P] [--id ID]` | schedule a job by name; a wrong field is an error naming it |
//! | `jobs cancel ID`, `jobs retry ID` | cancel a pending or running job; put a failed or expired job back to pending, due now, attempts reset (`last_error` kept) |
//! | `periodic list`, `periodic status\|enable\|disable\|trigger KEY` | the management API of periodic jobs ([`Scheduler::periodic_jobs`] and its neighbours) |
//! | `vacuum run`, `vacuum stats [--days N]` | a retention pass now; per-day statistics (kept with `PGSCHED_VACUUM_TRACK_METRICS=true`) |
//! | `workers` | live workers and the running jobs each holds |
//! | `migrate` | create or upgrade the schema |
//!
//! ```text
//! $ worker jobs enqueue send_email --args '{"to": "ada@example.com", "subject": "Welcome"}' --id welcome:ada
//! enqueued job welcome:ada (send_email), due 2026-11-28T01:33:15Z
//! $ worker jobs enqueue resize_image --args '{"path": "cat.png", "width": "wide"}'; echo "exit $?"
//! error: --args does not fit the arguments of resize_image (path:String,width:u32): field `width`: invalid type: string "wide", expected u32
//! exit 4
//! ```
//!
//! It reads `DATABASE_URL` and `PGSCHED_*` as the worker does ([`Scheduler::from_env`]).
//! Output is aligned text; `--json` (anywhere on the line) prints one JSON document on stdout
//! instead, with stable field names (a job: `id`, `name`, `status`, `priority`, `attempts`,
//! `max_retries`, `run_at`, `created_at`, `started_at`, `finished_at`, `worker_id`,
//! `last_error`, `misfire_grace_ms`, `timeout_ms`, `schema_hash`, `args`, `args_error`,
//! `payload_hex`; times are RFC 3339 UTC). Errors go to stderr. Exit codes ([`exit`]):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | runtime error: database unreachable, statement failed, invalid configuration |
//! | 2 | usage error: unknown command or option, missing argument (clap's) |
//! | 3 | not found: job id, job name, periodic key |
//! | 4 | invalid input: `--args` not JSON or not fitting the job's arguments, bad `--at` or `--id` |
//! | 5 | not allowed in the job's state: cancel a finished job, retry one that is not failed or expired, enqueue with an `--id` that is taken |
//!
//! [`run_from`] is the same command line for a binary that wants to decide itself when to
//! offer it; [`run_with`] runs it on a scheduler built in code.

#[cfg(feature = "dashboard")]
mod dashboard;
mod jobs;
mod migrate;
mod periodic;
mod queues;
mod render;
mod vacuum;
mod workers;

use std::ffi::OsString;
use std::io::Write;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use pgsched_core::{Error, JobStatus, Priority, QueueName, RateLimit, Shown};

use crate::scheduler::Scheduler;

/// Exit codes of the command line, which scripts can rely on.
pub mod exit {
    /// The command did what was asked.
    pub const SUCCESS: u8 = 0;
    /// A runtime error: the database could not be reached or a statement failed, or the
    /// configuration (`DATABASE_URL`, `PGSCHED_*`) is invalid.
    pub const FAILURE: u8 = 1;
    /// A usage error: unknown command or option, missing or malformed argument (clap's).
    pub const USAGE: u8 = 2;
    /// Not found: no job has this id, no job of this binary has this name, no periodic job
    /// has this key.
    pub const NOT_FOUND: u8 = 3;
    /// Invalid input: `--args` is not JSON or does not fit the job's arguments, `--at` is not
    /// RFC 3339, `--id` is not a valid job id.
    pub const INVALID_INPUT: u8 = 4;
    /// The job's state does not allow it: cancel a finished job, retry a job that is not
    /// failed or expired, enqueue with an `--id` that is taken.
    pub const CONFLICT: u8 = 5;
}

const AFTER_HELP: &str = "\
Without arguments this binary runs a pgsched worker; with arguments it is this command line.
Configuration comes from DATABASE_URL and PGSCHED_* (PGSCHED_SCHEMA, ...), as for the worker.
Errors go to stderr; --json prints one JSON document on stdout.

Exit codes:
  0  success
  1  runtime error (database unreachable, statement failed, invalid configuration)
  2  usage error (unknown command or option, missing argument)
  3  not found (job id, job name, periodic key)
  4  invalid input (--args not JSON or not fitting the job's arguments, bad --at or --id)
  5  not allowed in the job's state (cancel a finished job, retry one that is not failed or
     expired, enqueue with an --id that is taken)";

/// Operate pgsched: inspect and enqueue jobs, manage periodic jobs, retention and workers.
#[derive(Debug, Parser)]
#[command(
    name = "pgsched",
    after_help = AFTER_HELP,
    arg_required_else_help = true,
    disable_version_flag = true,
    max_term_width = 100
)]
struct Cli {
    /// Print one JSON document on stdout (stable field names) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect, enqueue, cancel and retry jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Periodic jobs of this binary: list, status, enable, disable, trigger.
    #[command(subcommand)]
    Periodic(PeriodicCommand),
    /// Queues: list them, pause and resume them, set their limits (for every worker).
    #[command(subcommand)]
    Queues(QueuesCommand),
    /// Retention of finished jobs: run a pass now, show statistics.
    #[command(subcommand)]
    Vacuum(VacuumCommand),
    /// Live workers and the running jobs each holds.
    Workers,
    /// Create or upgrade pgsched's tables in the configured schema.
    Migrate,
    /// Serve the web dashboard without running jobs, until Ctrl-C (the `dashboard` feature).
    #[cfg(feature = "dashboard")]
    Dashboard {
        /// Where to serve it. Default: PGSCHED_DASHBOARD_ADDR, else 127.0.0.1:9090. An address
        /// other than loopback needs PGSCHED_DASHBOARD_TOKEN.
        #[arg(long, value_name = "ADDR")]
        addr: Option<std::net::SocketAddr>,
    },
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Jobs, newest first.
    List {
        /// Only jobs in this status.
        #[arg(long, value_parser = one_of::<JobStatus>(JobStatus::ALL.map(JobStatus::as_str)))]
        status: Option<JobStatus>,
        /// Only jobs of this name.
        #[arg(long)]
        name: Option<String>,
        /// Only jobs of this queue.
        #[arg(long)]
        queue: Option<QueueName>,
        /// At most this many jobs.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
    /// One job: every field, its arguments decoded as JSON.
    Show {
        /// The job id.
        id: String,
    },
    /// A workflow: the job and every job linked to it by dependencies, each under the jobs
    /// it runs after, with its status.
    Tree {
        /// The id of any job of the workflow.
        id: String,
        /// At most this many jobs.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
    },
    /// Cancel a waiting or running job (a running attempt stops at its next heartbeat); the
    /// jobs that run after it follow their `on_parent_failure` policy.
    Cancel {
        /// The job id.
        id: String,
    },
    /// Put a failed or expired job back to pending, due now, with its attempts reset.
    Retry {
        /// The job id.
        id: String,
    },
    /// Enqueue a job of this binary by name, its arguments given as JSON.
    Enqueue {
        /// The job's name (`jobs enqueue --help` does not list them; an unknown name does).
        name: String,
        /// The arguments: a JSON object with one field per argument of the job.
        #[arg(long, default_value = "{}", value_name = "JSON")]
        args: String,
        /// When the job is due, RFC 3339 (e.g. 2030-01-01T09:00:00Z). Default: now.
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
        /// Its priority. Default: the job's attribute, else normal.
        #[arg(long, value_parser = one_of::<Priority>(Priority::ALL.map(Priority::label)))]
        priority: Option<Priority>,
        /// Its id. Default: a generated UUIDv7.
        #[arg(long)]
        id: Option<String>,
        /// Run only after this job has completed (repeat for several; see `jobs tree`).
        #[arg(long, value_name = "ID")]
        after: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum PeriodicCommand {
    /// Every periodic job of this binary, with its enabled state and next fire time.
    List,
    /// A periodic job's configuration, last window and that window's run.
    Status {
        /// Its dedup key (see `periodic list`).
        key: String,
    },
    /// Enable a periodic job on every replica.
    Enable {
        /// Its dedup key.
        key: String,
    },
    /// Disable a periodic job on every replica (its run enqueued ahead is cancelled).
    Disable {
        /// Its dedup key.
        key: String,
    },
    /// Run a periodic job now, outside its schedule.
    Trigger {
        /// Its dedup key.
        key: String,
    },
}

#[derive(Debug, Subcommand)]
enum QueuesCommand {
    /// Every queue with settings or jobs: its state, limits and job counts.
    List,
    /// Stop starting jobs of a queue on every worker (running ones finish).
    Pause {
        /// The queue.
        queue: QueueName,
    },
    /// Start jobs of a paused queue again.
    Resume {
        /// The queue.
        queue: QueueName,
    },
    /// At most N jobs of the queue running at once across all workers (`none` lifts it).
    Limit {
        /// The queue.
        queue: QueueName,
        /// A number from 1, or `none`.
        #[arg(value_parser = optional::<u32>)]
        limit: std::option::Option<u32>,
    },
    /// At most N starts per period across all workers, like `100/1m` (`none` lifts it).
    Rate {
        /// The queue.
        queue: QueueName,
        /// Like `100/1m` (units ms, s, m, h), or `none`.
        #[arg(value_parser = optional::<RateLimit>)]
        rate: std::option::Option<RateLimit>,
    },
    /// At most N starts per period for each concurrency key of the queue, across all workers,
    /// like `10/1m` (`none` lifts it).
    KeyRate {
        /// The queue.
        queue: QueueName,
        /// Like `10/1m` (units ms, s, m, h), or `none`.
        #[arg(value_parser = optional::<RateLimit>)]
        rate: std::option::Option<RateLimit>,
    },
}

/// A value, or `none` for no value (a limit lifted). Fields parsed with it are spelled
/// `std::option::Option`: clap's derive reads a plain `Option` as "the argument may be left
/// out" and then fails, at run time, to hand this parser's `Option` to the field.
fn optional<T>(text: &str) -> Result<Option<T>, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    if text == "none" {
        Ok(None)
    } else {
        text.parse::<T>()
            .map(Some)
            .map_err(|error| error.to_string())
    }
}

#[derive(Debug, Subcommand)]
enum VacuumCommand {
    /// Run a retention pass now and show what it deleted.
    Run,
    /// Retention statistics per day (UTC), newest first, and the totals.
    Stats {
        /// How many days back.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
    },
}

/// An option that takes one of a type's words (`--status failed`, `--priority high`): the
/// words listed in `--help` and in the error for any other, parsed by the type's `FromStr`.
fn one_of<T>(words: impl IntoIterator<Item = &'static str>) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(words).try_map(|word| word.parse::<T>())
}

/// What a command prints: text for people, JSON for scripts.
#[derive(Debug)]
struct Report {
    text: String,
    json: serde_json::Value,
}

/// Why a command failed, with its exit code.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn not_found(message: impl Into<String>) -> Failure {
        Failure {
            code: exit::NOT_FOUND,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Failure {
        Failure {
            code: exit::INVALID_INPUT,
            message: message.into(),
        }
    }

    fn conflict(message: impl Into<String>) -> Failure {
        Failure {
            code: exit::CONFLICT,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        let code = match &error {
            Error::UnknownPeriodicJob { .. } | Error::UnknownParents { .. } => exit::NOT_FOUND,
            Error::InvalidInput { .. }
            | Error::PayloadTooLarge { .. }
            | Error::Encode { .. }
            | Error::DependencyCycle { .. } => exit::INVALID_INPUT,
            Error::AlreadyExists { .. } | Error::JobRunning { .. } => exit::CONFLICT,
            _ => exit::FAILURE,
        };
        let mut message = match &error {
            Error::AlreadyExists { id, status } => format!(
                "a job with the id {} already exists (status {status}); choose another --id",
                Shown(id.as_str())
            ),
            _ => error.to_string(),
        };
        if is_missing_schema(&error) {
            message.push_str(" (is the schema migrated? run the `migrate` command first)");
        }
        Failure { code, message }
    }
}

/// Whether a store error says pgsched's tables or schema do not exist.
fn is_missing_schema(error: &Error) -> bool {
    let Error::Store { error, .. } = error else {
        return false;
    };
    error
        .downcast_ref::<sqlx::Error>()
        .and_then(sqlx::Error::as_database_error)
        .and_then(|db| db.code())
        .is_some_and(|code| code == "42P01" || code == "3F000")
}

/// Runs the command line on `args` (the program name first, as `std::env::args_os()` gives
/// them) with a scheduler built from the environment; prints the result and returns the exit
/// code (see [`exit`]).
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     std::process::ExitCode::from(pgsched::cli::run_from(std::env::args_os()).await)
/// }
/// ```
pub async fn run_from<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match parse(args) {
        Ok(cli) => cli,
        Err(error) => return usage(&error),
    };
    match Scheduler::from_env().await {
        Ok(scheduler) => execute(&scheduler, cli).await,
        // Configuration (even an invalid PGSCHED_SCHEMA) or connection: a runtime error.
        Err(error) => report_failure(&Failure {
            code: exit::FAILURE,
            message: error.to_string(),
        }),
    }
}

/// Runs the command line on `args` (the program name first) with `scheduler`; prints the
/// result and returns the exit code (see [`exit`]).
pub async fn run_with<I, T>(scheduler: &Scheduler, args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match parse(args) {
        Ok(cli) => execute(scheduler, cli).await,
        Err(error) => usage(&error),
    }
}

/// Parses the arguments (clap's error is also `--help`'s text).
fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::try_parse_from(args)
}

/// Prints clap's text (help on stdout, errors on stderr) and returns its exit code: 0 for
/// `--help`, 2 for a usage error.
fn usage(error: &clap::Error) -> u8 {
    let _ = error.print();
    usage_code(error)
}

fn usage_code(error: &clap::Error) -> u8 {
    u8::try_from(error.exit_code()).unwrap_or(exit::USAGE)
}

async fn execute(scheduler: &Scheduler, cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Jobs(command) => match command {
            JobsCommand::List {
                status,
                name,
                queue,
                limit,
            } => jobs::list(scheduler, status, name, queue, limit).await,
            JobsCommand::Show { id } => jobs::show(scheduler, &id).await,
            JobsCommand::Tree { id, limit } => jobs::tree(scheduler, &id, limit).await,
            JobsCommand::Cancel { id } => jobs::cancel(scheduler, &id).await,
            JobsCommand::Retry { id } => jobs::retry(scheduler, &id).await,
            JobsCommand::Enqueue {
                name,
                args,
                at,
                priority,
                id,
                after,
            } => {
                let request = jobs::Enqueue {
                    name,
                    args,
                    at,
                    priority,
                    id,
                    after,
                };
                jobs::enqueue(scheduler, request).await
            }
        },
        Command::Periodic(command) => match command {
            PeriodicCommand::List => periodic::list(scheduler).await,
            PeriodicCommand::Status { key } => periodic::status(scheduler, &key).await,
            PeriodicCommand::Enable { key } => periodic::set_enabled(scheduler, &key, true).await,
            PeriodicCommand::Disable { key } => periodic::set_enabled(scheduler, &key, false).await,
            PeriodicCommand::Trigger { key } => periodic::trigger(scheduler, &key).await,
        },
        Command::Vacuum(VacuumCommand::Run) => vacuum::run(scheduler).await,
        Command::Vacuum(VacuumCommand::Stats { days }) => vacuum::stats(scheduler, days).await,
        Command::Queues(command) => match command {
            QueuesCommand::List => queues::list(scheduler).await,
            QueuesCommand::Pause { queue } => queues::pause(scheduler, &queue, true).await,
            QueuesCommand::Resume { queue } => queues::pause(scheduler, &queue, false).await,
            QueuesCommand::Limit { queue, limit } => queues::limit(scheduler, &queue, limit).await,
            QueuesCommand::Rate { queue, rate } => queues::rate(scheduler, &queue, rate).await,
            QueuesCommand::KeyRate { queue, rate } => {
                queues::key_rate(scheduler, &queue, rate).await
            }
        },
        Command::Workers => workers::list(scheduler).await,
        Command::Migrate => migrate::run(scheduler).await,
        #[cfg(feature = "dashboard")]
        Command::Dashboard { addr } => dashboard::serve(scheduler, addr).await,
    };
    match result {
        Ok(report) => {
            let text = if cli.json {
                serde_json::to_string_pretty(&report.json).unwrap_or_else(|_| "null".into())
            } else {
                report.text
            };
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error of the command.
            let _ = writeln!(stdout, "{}", text.trim_end_matches('\n'));
            let _ = stdout.flush();
            exit::SUCCESS
        }
        Err(failure) => report_failure(&failure),
    }
}

fn report_failure(failure: &Failure) -> u8 {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", failure.message);
    let _ = stderr.flush();
    failure.code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_and_help_have_clap_exit_codes() {
        let usage =
            |args: &[&str]| usage_code(&parse(args.iter().copied()).expect_err("not a command"));
        assert_eq!(usage(&["worker", "jobs", "frobnicate"]), exit::USAGE);
        assert_eq!(usage(&["worker", "jobs", "show"]), exit::USAGE);
        assert_eq!(
            usage(&["worker", "jobs", "list", "--status", "done"]),
            exit::USAGE
        );
        assert_eq!(
            usage(&["worker", "jobs", "list", "--limit", "0"]),
            exit::USAGE
        );
        assert_eq!(usage(&["worker", "--help"]), exit::SUCCESS);
    }

    #[test]
    fn json_is_a_global_flag() {
        let cli =
            parse(["worker", "jobs", "list", "--json", "--status", "failed"]).expect("parses");
        assert!(cli.json);
        assert!(matches!(
            cli.command,
            Command::Jobs(JobsCommand::List {
                status: Some(JobStatus::Failed),
                limit: 50,
                ..
            })
        ));
    }

    #[test]
    fn queue_limits_and_rates_parse_a_value_or_none() {
        let cli = parse(["worker", "queues", "limit", "emails", "5"]).expect("parses");
        assert!(matches!(
            cli.command,
            Command::Queues(QueuesCommand::Limit { limit: Some(5), .. })
        ));
        let cli = parse(["worker", "queues", "limit", "emails", "none"]).expect("parses");
        assert!(matches!(
            cli.command,
            Command::Queues(QueuesCommand::Limit { limit: None, .. })
        ));
        let usage = parse(["worker", "queues", "limit", "emails"]).expect_err("no limit given");
        assert_eq!(usage_code(&usage), exit::USAGE);
        let cli = parse(["worker", "queues", "rate", "emails", "100/1m"]).expect("parses");
        assert!(matches!(
            cli.command,
            Command::Queues(QueuesCommand::Rate { rate: Some(rate), .. }) if rate.starts == 100
        ));
        let cli = parse(["worker", "queues", "rate", "emails", "none"]).expect("parses");
        assert!(matches!(
            cli.command,
            Command::Queues(QueuesCommand::Rate { rate: None, .. })
        ));
    }

    #[test]
    fn queue_key_rates_parse_a_rate_or_none() {
        let cli = parse(["worker", "queues", "key-rate", "digests", "10/1m"]).expect("parses");
        let Command::Queues(QueuesCommand::KeyRate { queue, rate }) = cli.command else {
            panic!("not `queues key-rate`");
        };
        assert_eq!(
            (queue.as_str(), rate.map(|rate| rate.to_string())),
            ("digests", Some("10/1m".to_owned()))
        );
        let cli = parse(["worker", "queues", "key-rate", "digests", "none"]).expect("parses");
        assert!(matches!(
            cli.command,
            Command::Queues(QueuesCommand::KeyRate { rate: None, .. })
        ));
        let usage =
            parse(["worker", "queues", "key-rate", "digests", "often"]).expect_err("not a rate");
        assert_eq!(usage_code(&usage), exit::USAGE);
    }

    #[test]
    fn help_documents_the_exit_codes() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for line in [
            "0  success",
            "2  usage error",
            "3  not found",
            "4  invalid input",
            "5  not allowed",
        ] {
            assert!(help.contains(line), "{line:?} missing from\n{help}");
        }
    }

    #[test]
    fn errors_map_to_exit_codes() {
        let code = |error: Error| Failure::from(error).code;
        assert_eq!(
            code(Error::UnknownPeriodicJob { key: "k".into() }),
            exit::NOT_FOUND
        );
        assert_eq!(
            code(Error::InvalidInput {
                what: "job id",
                reason: "must not be empty".into()
            }),
            exit::INVALID_INPUT
        );
        assert_eq!(
            code(Error::AlreadyExists {
                id: pgsched_core::JobId::from_stored("a".into()),
                status: JobStatus::Pending
            }),
            exit::CONFLICT
        );
        assert_eq!(code(Error::store("get_job", "boom")), exit::FAILURE);
        assert_eq!(code(Error::config("DATABASE_URL", "unset")), exit::FAILURE);
    }
}
