//! Running statements behind a transaction pooler (PgBouncer with `pool_mode = transaction`).
//!
//! A transaction pooler hands a client a server connection for one transaction only. sqlx
//! runs a statement with bound parameters as two protocol exchanges (Parse/Describe/Sync, then
//! Bind/Execute/Sync); outside a transaction each ends the pooler's "transaction", so the Bind
//! may reach another server connection than the Parse ("unnamed prepared statement does not
//! exist"), and a named statement (sqlx's cache) may be missing there or already exist under
//! the same name from another client. Session state (startup options, `SET`, session advisory
//! locks, LISTEN) does not survive either.
//!
//! So in pooler mode every statement runs in a transaction of its own and is prepared
//! unnamed: [`Route`] is the executor the store hands its statements to, straight to the pool
//! in the direct mode (no extra round trip), or `BEGIN` + statement + `COMMIT` in pooler mode.
//! [`OnConnection`] does the same for a connection the caller owns (already in a transaction).
//! [`transaction_pooler_options`] strips what a pooler would refuse at connection start.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::error::BoxDynError;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgQueryResult, PgRow, PgStatement};
use sqlx::{
    AssertSqlSafe, Connection, Describe, Either, Execute, Executor, PgConnection, PgPool, Postgres,
    SqlStr,
};

/// Connection options for a transaction pooler: no statement cache (named statements would be
/// left on server connections that other clients then use) and no startup parameter PgBouncer
/// refuses by default (sqlx's `extra_float_digits`; pgsched adds no `options` in this mode).
/// Values travel in binary, so `extra_float_digits` changes nothing pgsched reads. Use it for
/// a pool of your own that you hand to a store behind a pooler.
#[must_use]
pub fn transaction_pooler_options(options: PgConnectOptions) -> PgConnectOptions {
    options.statement_cache_capacity(0).extra_float_digits(None)
}

/// Where the store runs one statement: a pool, directly or each statement in its own
/// transaction (opened with `begin`, e.g. `BEGIN; SET LOCAL synchronous_commit = off`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route<'a> {
    pool: &'a PgPool,
    transaction: Option<&'a Arc<str>>,
}

impl<'a> Route<'a> {
    /// Statements straight on `pool` (the direct mode).
    pub(crate) fn direct(pool: &'a PgPool) -> Route<'a> {
        Route {
            pool,
            transaction: None,
        }
    }

    /// Each statement on `pool` inside a transaction opened with `begin`, prepared unnamed.
    pub(crate) fn in_transaction(pool: &'a PgPool, begin: &'a Arc<str>) -> Route<'a> {
        Route {
            pool,
            transaction: Some(begin),
        }
    }
}

/// The `Executor` impl of a wrapper (`$wrapper`, borrowing for `$life`) around a pool or a
/// connection (`self.$inner`): `fetch_many` and `fetch_optional` run the given bodies with
/// the wrapper and the query bound to the given names; preparing and describing go to the
/// wrapped executor as they are (pooler mode changes how statements run, not how they are
/// prepared). The trait's signatures are written here once.
macro_rules! wrapping_executor {
    (
        impl<$life:lifetime> for $wrapper:ty, wrapping $inner:ident;
        fetch_many($many_this:ident, $many_query:ident) $many:block
        fetch_optional($optional_this:ident, $optional_query:ident) $optional:block
    ) => {
        impl<$life> Executor<$life> for $wrapper {
            type Database = Postgres;

            fn fetch_many<'e, 'q: 'e, E>(
                self,
                query: E,
            ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
            where
                $life: 'e,
                E: 'q + Execute<'q, Postgres>,
            {
                let ($many_this, $many_query) = (self, query);
                $many
            }

            fn fetch_optional<'e, 'q: 'e, E>(
                self,
                query: E,
            ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
            where
                $life: 'e,
                E: 'q + Execute<'q, Postgres>,
            {
                let ($optional_this, $optional_query) = (self, query);
                $optional
            }

            fn prepare_with<'e>(
                self,
                sql: SqlStr,
                parameters: &'e [sqlx::postgres::PgTypeInfo],
            ) -> BoxFuture<'e, Result<PgStatement, sqlx::Error>>
            where
                $life: 'e,
            {
                self.$inner.prepare_with(sql, parameters)
            }

            fn describe<'e>(
                self,
                sql: SqlStr,
            ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
            where
                $life: 'e,
            {
                self.$inner.describe(sql)
            }
        }
    };
}

wrapping_executor! {
    impl<'a> for Route<'a>, wrapping pool;
    fetch_many(route, query) {
        let Some(begin) = route.transaction else {
            return route.pool.fetch_many(query);
        };
        let pool = route.pool;
        let begin = Arc::clone(begin);
        let results = async move {
            let mut connection = Held::acquire(pool).await?;
            let results = many_in_transaction(&mut connection, begin, query).await;
            connection.finished();
            results
        };
        stream::once(results)
            .map_ok(|results| stream::iter(results.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
    fetch_optional(route, query) {
        let Some(begin) = route.transaction else {
            return route.pool.fetch_optional(query);
        };
        let pool = route.pool;
        let begin = Arc::clone(begin);
        Box::pin(async move {
            let mut connection = Held::acquire(pool).await?;
            let row = optional_in_transaction(&mut connection, begin, query).await;
            connection.finished();
            row
        })
    }
}

/// One statement in a transaction of its own, its whole result read before COMMIT (the
/// transaction must end before the connection goes back, whoever stops reading early).
async fn many_in_transaction<'q, E: 'q + Execute<'q, Postgres>>(
    connection: &mut PgConnection,
    begin: Arc<str>,
    query: E,
) -> Result<Vec<Either<PgQueryResult, PgRow>>, sqlx::Error> {
    let mut transaction = connection.begin_with(AssertSqlSafe(begin)).await?;
    let results = transaction.fetch_many(Unnamed(query)).try_collect().await?;
    transaction.commit().await?;
    Ok(results)
}

/// [`many_in_transaction`] for at most one row.
async fn optional_in_transaction<'q, E: 'q + Execute<'q, Postgres>>(
    connection: &mut PgConnection,
    begin: Arc<str>,
    query: E,
) -> Result<Option<PgRow>, sqlx::Error> {
    let mut transaction = connection.begin_with(AssertSqlSafe(begin)).await?;
    let row = transaction.fetch_optional(Unnamed(query)).await?;
    transaction.commit().await?;
    Ok(row)
}

/// A pooled connection for a transaction, closed instead of returned to the pool if the
/// future using it is dropped before [`Held::finished`] (a caller's `select!` or timeout gave
/// up on it).
///
/// sqlx cannot undo a BEGIN whose answer it had not read yet when the future was dropped: its
/// transaction depth is still 0, so no ROLLBACK is queued, and the connection goes back to the
/// pool inside an open transaction. Directly, the next statement on it would then run in that
/// transaction; behind a transaction pooler, the pooler's server connection stays taken until
/// then, and a few such connections take every server connection the pooler has, so every
/// statement of the process waits forever. Closing the connection ends the transaction
/// (PostgreSQL rolls it back; PgBouncer drops a server connection whose client left it
/// mid-transaction). A statement that returns, even with an error, leaves sqlx in charge: it
/// rolls back what it began.
pub(crate) struct Held {
    connection: PoolConnection<Postgres>,
    finished: bool,
}

impl Held {
    /// A connection from `pool`.
    pub(crate) async fn acquire(pool: &PgPool) -> Result<Held, sqlx::Error> {
        Ok(Held {
            connection: pool.acquire().await?,
            finished: false,
        })
    }

    /// The work on it ended (successfully or not): back to the pool when dropped.
    pub(crate) fn finished(mut self) {
        self.finished = true;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.finished {
            self.connection.close_on_drop();
        }
    }
}

impl std::ops::Deref for Held {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.connection
    }
}

impl std::ops::DerefMut for Held {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.connection
    }
}

/// A connection the caller owns (typically inside their transaction), with statements
/// prepared unnamed in pooler mode.
#[derive(Debug)]
pub(crate) struct OnConnection<'c> {
    pub(crate) connection: &'c mut PgConnection,
    pub(crate) unnamed: bool,
}

wrapping_executor! {
    impl<'c> for OnConnection<'c>, wrapping connection;
    fetch_many(on, query) {
        if on.unnamed {
            on.connection.fetch_many(Unnamed(query))
        } else {
            on.connection.fetch_many(query)
        }
    }
    fetch_optional(on, query) {
        if on.unnamed {
            on.connection.fetch_optional(Unnamed(query))
        } else {
            on.connection.fetch_optional(query)
        }
    }
}

/// A query prepared as the unnamed statement: it lives until the next Parse on the same
/// connection, so nothing is left behind on a server connection other clients then use.
struct Unnamed<E>(E);

impl<'q, E: Execute<'q, Postgres>> Execute<'q, Postgres> for Unnamed<E> {
    fn sql(self) -> SqlStr {
        self.0.sql()
    }

    fn statement(&self) -> Option<&PgStatement> {
        self.0.statement()
    }

    fn take_arguments(&mut self) -> Result<Option<PgArguments>, BoxDynError> {
        self.0.take_arguments()
    }

    fn persistent(&self) -> bool {
        false
    }
}

/// What pooler mode opens each statement's transaction with.
#[derive(Debug, Clone)]
pub(crate) struct TransactionPooler {
    /// `BEGIN`: statements of the main and heartbeat pools.
    pub(crate) begin: Arc<str>,
    /// `BEGIN` and `async_commit.sql` in one message: the worker pool's statements.
    pub(crate) begin_async_commit: Arc<str>,
}

impl TransactionPooler {
    /// The openers, with `async_commit` the rendered `async_commit.sql`.
    pub(crate) fn new(async_commit: &str) -> TransactionPooler {
        TransactionPooler {
            begin: Arc::from("BEGIN"),
            begin_async_commit: Arc::from(format!("BEGIN;\n{async_commit}")),
        }
    }
}
