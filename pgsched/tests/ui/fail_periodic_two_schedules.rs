//! Only one schedule: the second of `cron` and `every` is refused.
use pgsched::periodic;

#[periodic(cron = "*/15 * * * *", every = "15m")]
async fn sweep() {}

fn main() {}
