//! What a running job can receive besides its arguments: its own context and application state.
//!
//! A `#[job]` parameter typed [`JobContext`] or [`State<T>`] is filled from here instead of
//! being stored in the job's `Args`. In a job like this one (marked `#[pgsched::job]`, given
//! its pool with `SchedulerBuilder::state`), `order` is stored and `ctx` and `db` are filled by
//! the worker:
//!
//! ```
//! use pgsched_core::{JobContext, State};
//! # struct Pool;
//! # impl Pool { async fn charge(&self, _: u64) -> Result<(), String> { Ok(()) } }
//!
//! async fn charge(order: u64, ctx: JobContext, db: State<Pool>) -> Result<(), String> {
//!     tracing::info!(job = %ctx.id(), attempt = ctx.attempt(), "charging {order}");
//!     if ctx.is_cancelled() {
//!         return Err("cancelled".into());
//!     }
//!     db.charge(order).await // `State<Pool>` derefs to the `Pool`
//! }
//! ```

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::job::JobId;
use crate::outcome::FailureReason;
use crate::output::ParentOutputs;
use crate::priority::Priority;

/// Typed application state given to the worker at start-up, shared by every job.
#[derive(Clone, Default)]
pub struct States {
    by_type: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl States {
    /// Adds (or replaces) the state of type `T`.
    #[must_use]
    pub fn with<T: Send + Sync + 'static>(self, value: T) -> States {
        let mut by_type = Arc::unwrap_or_clone(self.by_type);
        by_type.insert(TypeId::of::<T>(), Arc::new(value));
        States {
            by_type: Arc::new(by_type),
        }
    }

    /// The state of type `T`, if it was given.
    #[must_use]
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<State<T>> {
        let value = self.by_type.get(&TypeId::of::<T>())?.clone();
        value.downcast::<T>().ok().map(State)
    }

    /// How many states are registered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_type.len()
    }

    /// Whether no state is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }
}

impl std::fmt::Debug for States {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("States").field("len", &self.len()).finish()
    }
}

/// Shared application state of type `T` (a pool, an HTTP client…), as a job parameter.
#[derive(Debug)]
pub struct State<T>(Arc<T>);

impl<T> State<T> {
    /// The shared value.
    #[must_use]
    pub fn arc(&self) -> &Arc<T> {
        &self.0
    }
}

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(Arc::clone(&self.0))
    }
}

impl<T> Deref for State<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Facts about the attempt that is running, as a job parameter.
#[derive(Clone, Debug)]
pub struct JobContext {
    inner: Arc<ContextInner>,
}

#[derive(Debug)]
struct ContextInner {
    facts: AttemptFacts,
    states: States,
    cancelled: CancellationToken,
}

/// The fields a [`JobContext`] is built from (the runtime fills it for each attempt).
#[derive(Debug)]
pub struct AttemptFacts {
    /// The job's id.
    pub id: JobId,
    /// The job's registered name.
    pub name: String,
    /// This attempt's number, starting at 1.
    pub attempt: u32,
    /// Retries allowed after the first attempt.
    pub max_retries: u32,
    /// The job's priority.
    pub priority: Priority,
    /// When the job was due.
    pub run_at: DateTime<Utc>,
    /// The lease token of this attempt (unique per claim; usable as an idempotency key).
    pub lease_token: i64,
    /// Where the job reads its parents' outputs (`None`: it cannot, e.g. in a unit test).
    pub parent_outputs: Option<ParentOutputs>,
}

impl JobContext {
    /// Builds the context of one attempt.
    #[must_use]
    pub fn new(facts: AttemptFacts, states: States, cancelled: CancellationToken) -> JobContext {
        JobContext {
            inner: Arc::new(ContextInner {
                facts,
                states,
                cancelled,
            }),
        }
    }

    /// The job's id.
    #[must_use]
    pub fn id(&self) -> &JobId {
        &self.inner.facts.id
    }

    /// The job's registered name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.facts.name
    }

    /// This attempt's number, starting at 1.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.inner.facts.attempt
    }

    /// Retries allowed after the first attempt.
    #[must_use]
    pub fn max_retries(&self) -> u32 {
        self.inner.facts.max_retries
    }

    /// Whether a failure of this attempt fails the job for good.
    #[must_use]
    pub fn is_last_attempt(&self) -> bool {
        self.inner.facts.attempt > self.inner.facts.max_retries
    }

    /// The job's priority.
    #[must_use]
    pub fn priority(&self) -> Priority {
        self.inner.facts.priority
    }

    /// When the job was due.
    #[must_use]
    pub fn run_at(&self) -> DateTime<Utc> {
        self.inner.facts.run_at
    }

    /// The lease token of this attempt: unique per claim, so `(id, lease_token)` is a good
    /// idempotency key for side effects.
    #[must_use]
    pub fn lease_token(&self) -> i64 {
        self.inner.facts.lease_token
    }

    /// The output of `parent`, one of the jobs this job runs after (`.after(..)`), typed as
    /// `T`: the `T` of that job's `Result<T, E>`. A parent that did not complete (the job
    /// runs anyway: `on_parent_failure = Run`) gives its final error instead.
    ///
    /// ```
    /// # use pgsched_core::JobContext;
    /// async fn combine(ctx: JobContext, first: String) -> pgsched_core::Result<u64> {
    ///     let count: u64 = ctx.parent_output(&first).await?;
    ///     Ok(count * 2)
    /// }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotAParent`](crate::Error::NotAParent) when `parent` is not a parent of this
    /// job; [`Error::JobFailed`](crate::Error::JobFailed) and the like when it did not
    /// complete; [`Error::OutputUnreadable`](crate::Error::OutputUnreadable) or
    /// [`Error::OutputSchemaMismatch`](crate::Error::OutputSchemaMismatch) when its output is
    /// not a `T`; a store error.
    pub async fn parent_output<T: serde::de::DeserializeOwned + 'static>(
        &self,
        parent: impl AsRef<str>,
    ) -> Result<T> {
        self.parent_reader()?.one(self.id(), parent.as_ref()).await
    }

    /// The outputs of every job this job runs after, by parent id (sorted), each typed as
    /// `T`, in one query: the fan-in of a fan-out, whose parents all return the same type.
    ///
    /// # Errors
    /// As [`JobContext::parent_output`], for the first parent that cannot be read.
    pub async fn parent_outputs<T: serde::de::DeserializeOwned + 'static>(
        &self,
    ) -> Result<Vec<(JobId, T)>> {
        self.parent_reader()?.all(self.id()).await
    }

    fn parent_reader(&self) -> Result<&ParentOutputs> {
        self.inner
            .facts
            .parent_outputs
            .as_ref()
            .ok_or_else(|| crate::Error::NoOutput {
                id: self.id().clone(),
                reason:
                    "this context was built without a store, so it cannot read parents' outputs"
                        .into(),
            })
    }

    /// Application state of type `T`, if the worker was given it.
    #[must_use]
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<State<T>> {
        self.inner.states.get::<T>()
    }

    /// Resolves when this attempt is being abandoned (lease lost, job cancelled, timeout or
    /// shutdown). The future is dropped right after; use this to stop cleanly first.
    pub async fn cancelled(&self) {
        self.inner.cancelled.cancelled().await;
    }

    /// Whether this attempt is being abandoned.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.is_cancelled()
    }
}

/// A job parameter that is filled from the attempt's context instead of its `Args`.
pub trait FromContext: Sized {
    /// Extracts the value.
    ///
    /// # Errors
    /// [`FailureReason::MissingState`] when the state was not given to the worker.
    fn from_context(ctx: &JobContext) -> Result<Self, FailureReason>;
}

impl FromContext for JobContext {
    fn from_context(ctx: &JobContext) -> Result<Self, FailureReason> {
        Ok(ctx.clone())
    }
}

impl<T: Send + Sync + 'static> FromContext for State<T> {
    fn from_context(ctx: &JobContext) -> Result<Self, FailureReason> {
        ctx.state::<T>()
            .ok_or(FailureReason::MissingState(std::any::type_name::<T>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(states: States) -> JobContext {
        JobContext::new(
            AttemptFacts {
                id: JobId::from_stored("j1".into()),
                name: "send".into(),
                attempt: 2,
                max_retries: 1,
                priority: Priority::High,
                run_at: Utc::now(),
                lease_token: 9,
                parent_outputs: None,
            },
            states,
            CancellationToken::new(),
        )
    }

    #[test]
    fn state_is_found_by_type() {
        let ctx = context(States::default().with(41_u32).with(String::from("pool")));
        assert_eq!(*State::<u32>::from_context(&ctx).expect("registered"), 41);
        assert_eq!(&*ctx.state::<String>().expect("registered"), "pool");
        let missing = State::<u64>::from_context(&ctx).expect_err("not registered");
        assert_eq!(missing, FailureReason::MissingState("u64"));
    }

    #[test]
    fn context_reports_attempt_facts() {
        let ctx = JobContext::from_context(&context(States::default())).expect("always");
        assert_eq!(ctx.id(), &"j1");
        assert_eq!(ctx.attempt(), 2);
        assert!(ctx.is_last_attempt());
        assert_eq!(ctx.lease_token(), 9);
        assert!(!ctx.is_cancelled());
    }
}
