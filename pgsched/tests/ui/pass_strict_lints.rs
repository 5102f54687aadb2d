//! The expansion is clean under strict crate lints, including `forbid(unsafe_code)`.
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

use pgsched::{JobContext, job};

/// A public job.
#[job(timeout = "10s")]
pub async fn public_job(to: String, ctx: JobContext) -> Result<(), String> {
    drop(to);
    let _attempt: u32 = ctx.attempt();
    Ok(())
}

/// A private job without arguments.
#[job]
async fn private_job() {}

/// A job in a private module.
mod inner {
    /// Visible to the crate only.
    #[pgsched::job]
    pub(crate) async fn crate_job(n: u64) {
        let _n: u64 = n;
    }
}

fn main() {
    assert_eq!(public_job::SCHEMA, "to:String");
    assert_eq!(private_job::NAME, "private_job");
    assert_eq!(inner::crate_job::NAME, "crate_job");
}
