//! A cron expression is checked at compile time: the error is on the literal, with the reason.
use pgsched::periodic;

#[periodic(cron = "0 9 * *")]
async fn report() {}

fn main() {}
