//! The `#[job]` and `#[periodic]` attributes of [pgsched](https://example.invalid/pgsched).
//!
//! Use them through the facade, `pgsched::job` and `pgsched::periodic`; the code they generate
//! names only `::pgsched::…` paths. The work is split by concern:
//!
//! - `flavor`: the driver that parses and validates the attribute and the function into a
//!   `JobDef` (the `model`), for `#[job]` or an attribute built on it;
//! - `options`: option parsing driven by each attribute's table of options, and the helpers
//!   for reading option values;
//! - `job_options`: the job's table of options (`name`, `priority`, …);
//! - `signature`: the checks on the function's signature and parameter types;
//! - `errors`: the combiner that makes every mistake its own error on the token to change;
//! - `periodic`: `#[periodic]`, a flavor of `#[job]` that adds the schedule options;
//! - `args`: `#[args]`, an earlier version of a job's arguments kept for an upgrade;
//! - `expand`: a `JobDef` → the function plus its generated module (and, for `#[periodic]`,
//!   its `PERIODIC` registration).

mod args;
mod errors;
mod expand;
mod flavor;
mod job_options;
mod model;
mod options;
mod periodic;
mod signature;
#[cfg(test)]
mod testing;

use proc_macro::TokenStream;

/// Turns an `async fn` into a durable job that can be scheduled by name with typed arguments.
///
/// The function is kept exactly as written (and stays callable). Beside it, a module with the
/// same name and visibility holds what callers need:
///
/// | item | what it is |
/// |---|---|
/// | `Args` | a struct with one public field per argument, stored as postcard bytes; it derives `Debug`, `Clone` and `PartialEq` (for logs, retries of your own and test assertions), so argument types must implement them too |
/// | `NAME` | the stable name stored with each job (the fn name unless `name = "…"`) |
/// | `SCHEMA`, `SCHEMA_HASH` | the argument list (`to:String,subject:String`) and its hash; a payload written for another schema is never decoded as garbage (see [Changing the arguments](#changing-the-arguments)) |
/// | `UPGRADES` | the earlier argument schemas the job still accepts (`upgrade = …`) |
/// | `DEFINITION` | the registered `JobDefinition` (collected through `inventory`); `Args` implements `pgsched::JobArgs` with it, so `Args` names the job where a type is wanted (`pgsched::testing::enqueued::<send_email::Args>`) |
/// | `schedule(at, args)` | a `ScheduleBuilder` for a run at `at` (UTC): await it, or set options first |
/// | `enqueue(args)` | a `ScheduleBuilder` for a run now (by the database clock) |
/// | `spec(at, args)` | a `JobSpec` for `Scheduler::schedule_bulk` |
///
/// ```
/// use pgsched::chrono::{Duration, Utc};
/// use pgsched::{job, JobContext, Priority, State};
/// # pub struct Mailer;
/// # #[derive(Debug)] pub struct MailError;
/// # impl std::fmt::Display for MailError {
/// #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("mail") }
/// # }
/// # impl Mailer { async fn send(&self, _: &str, _: &str, _: u32) -> Result<(), MailError> { Ok(()) } }
///
/// /// Sends one email.
/// #[job(max_retries = 3, timeout = "30s")]
/// pub async fn send_email(
///     to: String,
///     subject: String,
///     ctx: JobContext,            // filled by the worker: job id, attempt, …
///     mailer: State<Mailer>,      // filled from the state given to the worker
/// ) -> Result<(), MailError> {
///     mailer.send(&to, &subject, ctx.attempt()).await
/// }
///
/// # async fn caller() -> Result<(), pgsched::Error> {
/// let id = send_email::schedule(
///     Utc::now() + Duration::minutes(5),
///     send_email::Args { to: "a@b.c".into(), subject: "hi".into() },
/// )
/// .priority(Priority::Critical)
/// .await?;
/// # Ok(()) }
/// # fn main() {}
/// ```
///
/// # The function
///
/// - It must be a free `async fn` (not a method, not `const`, `unsafe`, `extern` or variadic)
///   without generics: arguments are stored as bytes and the job is dispatched by name.
/// - It returns `()` or `Result<(), E>` where `E: Display` (`anyhow::Result<()>` works; the error
///   chain is stored as the job's last error).
/// - Each parameter is a plain identifier (`to: String`, `mut n: u32`) of an owned type that
///   implements serde's `Serialize` and `DeserializeOwned`; references and lifetimes are refused
///   because the arguments are deserialized from the database. It must also implement `Debug`,
///   `Clone` and `PartialEq`, which `Args` derives: the standard types (`String`, numbers,
///   `Vec`, `Option`, `chrono` times, `uuid::Uuid`, `serde_json::Value`, …) do; give a type of
///   your own `#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]`, and wrap a foreign
///   type that lacks one of them in a type of yours that implements it by hand. A missing one
///   is a compile error naming the trait and the argument's type.
/// - A parameter whose type is `JobContext` or `State<T>` (by the last path segment, so
///   `pgsched::State<T>` works too) is a *context parameter*: the worker fills it and it is not
///   part of `Args`.
/// - The argument types are written inside the generated module as you wrote them and resolved
///   through `use super::*`, so the job must be defined at module level (not inside a function or
///   an `impl` block), and an argument type named `Args` would be shadowed by the generated one.
///
/// # Options
///
/// All optional: `#[job(name = "…", priority = High, max_retries = 3, misfire_grace = "5m", timeout = "30s", upgrade = from_v1)]`.
///
/// | option | value | default |
/// |---|---|---|
/// | `name` | a string literal, 1–128 bytes, no NUL. Keep it stable: queued jobs refer to it | the fn name |
/// | `priority` | `Critical`, `High`, `Normal` or `Low` (a path like `Priority::High` works too) | `Normal` |
/// | `max_retries` | retries after the first failed attempt, an integer fitting `u32` | `0` |
/// | `misfire_grace` | how late a pending job may still start: a duration like `"30s"`, `"5m"`, `"1h 30m"`, or `"never"` | the scheduler's |
/// | `timeout` | a non-zero duration per attempt, like `"30s"` | none |
/// | `upgrade` | a fn converting an earlier version's arguments, like `from_v1`, or a list, like `[from_v1, from_v2]` (see below) | none |
///
/// A schedule call may override each default except `upgrade`.
///
/// # Changing the arguments
///
/// Every payload is stored with the hash of the argument schema it was written with. A
/// worker runs a payload of the job's current schema, or of an earlier schema it has an
/// upgrade for; a payload of any other schema (written by a newer or older replica during a
/// rolling deploy) is left for a worker that knows it, like a job name it does not know: it
/// is retried up to the worker's `unknown_job_attempts`, then fails as `unknown_schema`,
/// naming the hash found and those the worker knows.
///
/// To change the arguments of a job with payloads queued, keep the old ones as a struct marked
/// [`macro@args`] (fields named and typed as the parameters were) and name a fn that converts
/// them:
///
/// ```
/// use pgsched::job;
///
/// /// `send_email` as it was: one recipient.
/// #[pgsched::args]
/// pub struct SendEmailV1 {
///     to: String,
///     subject: String,
/// }
///
/// fn from_v1(old: SendEmailV1) -> send_email::Args {
///     send_email::Args { to: vec![old.to], subject: old.subject }
/// }
///
/// #[job(upgrade = from_v1)]
/// pub async fn send_email(to: Vec<String>, subject: String) {
///     let _ = (to, subject);
/// }
///
/// # fn main() {
/// use pgsched::ArgsSchema;
/// assert_eq!(send_email::UPGRADES[0].schema_hash, SendEmailV1::SCHEMA_HASH);
/// # }
/// ```
///
/// The compiler checks that each upgrade takes a [`macro@args`] struct and returns the job's
/// `Args`; an upgrade from the current schema, or two from the same schema, do not compile.
#[proc_macro_attribute]
pub fn job(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::job(attr.into(), item.into()).into()
}

/// Marks a struct as an earlier version of a job's arguments, so a job can keep accepting
/// payloads written with it: `#[job(upgrade = from_v1)]` with `fn from_v1(old: ThisStruct) ->
/// my_job::Args` (see [Changing the arguments](macro@job#changing-the-arguments)).
///
/// Write the struct's fields as the job's parameters were, in the same order, names and types
/// spelled the same way (`Vec<u8>`, not `std::vec::Vec<u8>`): its schema, and so its hash, is
/// computed from them by the rule `#[job]` uses, and must equal the hash stored with the old
/// payloads. The attribute derives serde's `Serialize` and `Deserialize` (do not derive them
/// again) and implements [`ArgsSchema`](../pgsched/trait.ArgsSchema.html).
///
/// ```
/// use pgsched::ArgsSchema;
///
/// #[pgsched::args]
/// struct ResizeV1 {
///     path: String,
///     width: u32,
/// }
///
/// # fn main() {
/// assert_eq!(ResizeV1::SCHEMA, "path:String,width:u32");
/// # }
/// ```
#[proc_macro_attribute]
pub fn args(attr: TokenStream, item: TokenStream) -> TokenStream {
    args::args(attr.into(), item.into()).into()
}

/// Turns an argument-less `async fn` into a job that the workers enqueue on a schedule: on a
/// cron expression or every fixed interval.
///
/// ```
/// use pgsched::{periodic, JobContext, State};
/// # pub struct Mailer;
/// # impl Mailer { async fn send_digest(&self, _: u32) -> Result<(), std::io::Error> { Ok(()) } }
/// # pub struct Pool;
/// # impl Pool { async fn purge_expired(&self) -> Result<(), std::io::Error> { Ok(()) } }
///
/// /// Sends the daily digest on weekday mornings, London time.
/// #[periodic(cron = "0 9 * * MON-FRI", tz = "Europe/London", max_retries = 3)]
/// pub async fn daily_digest(ctx: JobContext, mailer: State<Mailer>) -> Result<(), std::io::Error> {
///     mailer.send_digest(ctx.attempt()).await
/// }
///
/// /// Clears expired sessions every 15 minutes; one replica at a time.
/// #[periodic(every = "15m", advisory_lock)]
/// async fn purge_sessions(db: State<Pool>) -> Result<(), std::io::Error> {
///     db.purge_expired().await
/// }
/// # fn main() {}
/// ```
///
/// A periodic job *is* a job: the function is kept as written and gets exactly the module
/// [`macro@job`] generates (`NAME`, `DEFINITION`, `enqueue(Args {})` to run it now, …), plus
/// `KEY`, the schedule's key (its `dedup_key`, else the job's name), which the periodic
/// management calls take (`scheduler.trigger_periodic_job(daily_digest::KEY)`), and
/// `PERIODIC`, its schedule, registered (through `inventory`) for the worker's periodic
/// enqueuer. The function follows the rules of `#[job]`, except that it takes no arguments:
/// only context parameters (`JobContext`, `State<T>`), since every run is the same.
///
/// # When it runs
///
/// Runs fall in windows aligned to the schedule, never to when a process started: a cron
/// schedule's windows are its fire times (in its time zone), an interval's windows start at
/// multiples of the interval since the Unix epoch (`every = "1h"` fires on the hour, UTC).
/// Every replica computes the same windows, and the database lets exactly one of them enqueue
/// each window: the run's job id is `periodic:<dedup key>:<window start, Unix ms>`. Each run
/// is an ordinary job carrying the attribute's job options (priority, retries,
/// `misfire_grace`, timeout).
///
/// Cron expressions are the standard 5-field dialect (Vixie cron / croniter): minute, hour,
/// day of month, month, day of week; `0` and `7` are both Sunday; month and day names (`JAN`,
/// `MON-FRI`); lists, ranges (including wrapping ones like `FRI-MON`) and steps (`*/15`,
/// `1-30/5`); and `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`. There is no seconds
/// field and no Quartz syntax (`L`, `W`, `#`). The expression, the time zone and the interval
/// are checked at compile time with the parser the runtime uses.
///
/// # Options
///
/// Exactly one of `cron` and `every` is required; every other option is optional.
///
/// | option | value | default |
/// |---|---|---|
/// | `cron` | a 5-field cron expression, like `"0 9 * * MON-FRI"` or `"@daily"` | — |
/// | `every` | a non-zero interval of whole milliseconds, like `"30s"`, `"15m"`, `"1h 30m"` | — |
/// | `tz` | with `cron` only: an IANA time zone, like `"Europe/London"` (DST handled the way cronie does) | UTC |
/// | `advisory_lock` | `advisory_lock` or `advisory_lock = true`: runs never overlap across replicas: a run waits (pending) while another run of the schedule is running, and a holder that stops renewing its lease keeps the schedule only until the lease expires | `false` |
/// | `enabled` | `true` or `false`: whether the schedule starts enabled; once its state is stored in the database, that state wins | `true` |
/// | `dedup_key` | a string literal, 1–512 bytes, no NUL: the key windows are deduplicated by, as in the run's job id `periodic:<key>:<ms>`; the schedule is not part of it, so changing the schedule keeps the key and its persisted state | the job's name |
/// | `name`, `priority`, `max_retries`, `misfire_grace`, `timeout` | as for [`macro@job`] | as for [`macro@job`] |
#[proc_macro_attribute]
pub fn periodic(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::periodic(attr.into(), item.into()).into()
}
