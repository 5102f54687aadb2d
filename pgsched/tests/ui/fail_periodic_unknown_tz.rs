//! An unknown time zone is refused on the `tz` literal.
use pgsched::periodic;

#[periodic(cron = "0 9 * * MON-FRI", tz = "Europe/Londn")]
async fn report() {}

fn main() {}
