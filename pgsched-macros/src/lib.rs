//! The `#[job]` attribute of [pgsched](https://example.invalid/pgsched).
//!
//! Use it through the facade, `pgsched::job`; the code it generates names only `::pgsched::…`
//! paths. The work is split the usual way: the `job` module parses and validates the attribute
//! and the function into a `JobDef` (every mistake is reported on the token to change), and the
//! `expand` module turns a `JobDef` into the function plus its generated module.

mod expand;
mod job;

use proc_macro::TokenStream;

/// Turns an `async fn` into a durable job that can be scheduled by name with typed arguments.
///
/// The function is kept exactly as written (and stays callable). Beside it, a module with the
/// same name and visibility holds what callers need:
///
/// | item | what it is |
/// |---|---|
/// | `Args` | a struct with one public field per argument, stored as postcard bytes |
/// | `NAME` | the stable name stored with each job (the fn name unless `name = "…"`) |
/// | `SCHEMA`, `SCHEMA_HASH` | the argument list (`to:String,subject:String`) and its hash; a payload written for another schema is refused instead of decoded as garbage |
/// | `DEFINITION` | the registered `JobDefinition` (collected through `inventory`) |
/// | `schedule(at, args)` | a `ScheduleBuilder` for a run at `at` (UTC): await it, or set options first |
/// | `enqueue(args)` | a `ScheduleBuilder` for a run now (by the database clock) |
/// | `spec(at, args)` | a `JobSpec` for `Scheduler::schedule_bulk` |
///
/// ```ignore
/// use chrono::{Duration, Utc};
/// use pgsched::{job, JobContext, Priority, State};
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
///   because the arguments are deserialized from the database.
/// - A parameter whose type is `JobContext` or `State<T>` (by the last path segment, so
///   `pgsched::State<T>` works too) is a *context parameter*: the worker fills it and it is not
///   part of `Args`.
/// - The argument types are written inside the generated module as you wrote them and resolved
///   through `use super::*`, so the job must be defined at module level (not inside a function or
///   an `impl` block), and an argument type named `Args` would be shadowed by the generated one.
///
/// # Options
///
/// All optional: `#[job(name = "…", priority = High, max_retries = 3, misfire_grace = "5m", timeout = "30s")]`.
///
/// | option | value | default |
/// |---|---|---|
/// | `name` | a string literal, 1–128 bytes, no NUL. Keep it stable: queued jobs refer to it | the fn name |
/// | `priority` | `Critical`, `High`, `Normal` or `Low` (a path like `Priority::High` works too) | `Normal` |
/// | `max_retries` | retries after the first failed attempt, an integer fitting `u32` | `0` |
/// | `misfire_grace` | how late a pending job may still start: a duration like `"30s"`, `"5m"`, `"1h 30m"`, or `"never"` | the scheduler's |
/// | `timeout` | a non-zero duration per attempt, like `"30s"` | none |
///
/// A schedule call may override each default.
#[proc_macro_attribute]
pub fn job(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::job(attr.into(), item.into()).into()
}
