//! A periodic job may take context parameters (`JobContext`, `State<T>`, by any path), and the
//! expansion is clean under strict crate lints.
#![forbid(unsafe_code)]
#![deny(
    warnings,
    missing_docs,
    missing_debug_implementations,
    missing_copy_implementations,
    rust_2018_idioms,
    unused_qualifications,
    unreachable_pub,
    unused_results,
    let_underscore_drop,
    trivial_casts,
    single_use_lifetimes
)]

use pgsched::{JobContext, State, periodic};

/// Application state.
#[derive(Debug)]
pub struct Pool {
    /// Where it connects.
    pub url: String,
}

/// Uses both kinds of context parameter, one of them twice.
#[periodic(every = "5m")]
pub async fn refresh(ctx: JobContext, db: State<Pool>, _again: JobContext) -> Result<(), String> {
    let _attempt: u32 = ctx.attempt();
    let _url: &str = &db.url;
    Ok(())
}

/// Private periodic jobs in a private module, naming the context types by their full path.
mod inner {
    /// Other state.
    #[derive(Debug)]
    pub(crate) struct Mailer {
        /// Its sender address.
        pub(crate) from: String,
    }

    /// Visible to the crate only.
    #[pgsched::periodic(cron = "0 0 1 * *", tz = "Asia/Tokyo")]
    pub(crate) async fn monthly(ctx: pgsched::JobContext, mailer: pgsched::State<Mailer>) {
        let _attempt: u32 = ctx.attempt();
        let _from: &str = &mailer.from;
    }

    /// Private, without parameters.
    #[pgsched::periodic(every = "1d")]
    async fn daily() {}

    /// Uses the private job, so it is not dead code.
    pub(crate) fn daily_name() -> &'static str {
        daily::NAME
    }
}

fn main() {
    assert_eq!(refresh::SCHEMA, "");
    assert_eq!(refresh::PERIODIC.job.name, "refresh");
    assert_eq!(inner::monthly::NAME, "monthly");
    assert!(inner::monthly::PERIODIC.enabled);
    assert_eq!(inner::daily_name(), "daily");
}
