//! Vixie day-of-week is 0-7 (0 and 7 are Sunday): 8 is refused on the cron literal.
use pgsched::periodic;

#[periodic(cron = "0 9 * * 8", tz = "Europe/London")]
async fn report() {}

fn main() {}
