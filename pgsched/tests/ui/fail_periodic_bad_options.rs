//! `#[periodic]`'s own options: wrong value types, an empty dedup key, a missing value.
use pgsched::periodic;

#[periodic(cron = 15, advisory_lock = "yes", enabled, dedup_key = "")]
async fn sweep() {}

fn main() {}
