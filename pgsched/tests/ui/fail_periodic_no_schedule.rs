//! A periodic job needs a schedule: the error is on the attribute.
use pgsched::periodic;

#[periodic(advisory_lock, max_retries = 3)]
async fn sweep() {}

fn main() {}
