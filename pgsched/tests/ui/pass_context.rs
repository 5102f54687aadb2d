//! `JobContext` and `State<T>` parameters are filled by the worker and are not part of `Args`.
#![deny(warnings)]

use pgsched::{JobContext, State, job};

/// Application state shared by every job.
pub struct Pool {
    /// How many connections it holds.
    pub size: u32,
}

/// Another piece of state, named by its full path below.
pub struct Mailer;

/// Charges an order.
#[job]
pub async fn charge(
    order: u64,
    ctx: JobContext,
    db: State<Pool>,
    mut cents: i64,
    mailer: pgsched::State<Mailer>,
    _unused: JobContext,
) -> Result<(), String> {
    cents -= 1;
    let _: &Mailer = &mailer;
    let _ = (order, ctx.attempt(), db.size, cents);
    Ok(())
}

fn main() {
    assert_eq!(charge::SCHEMA, "order:u64,cents:i64");
    let args = charge::Args {
        order: 42,
        cents: 999,
    };
    let _builder = charge::schedule(pgsched::__private::chrono::Utc::now(), args);
}
