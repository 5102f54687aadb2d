//! `tz` only means something for cron: with `every` it is refused on the `tz` literal.
use pgsched::periodic;

#[periodic(every = "15m", tz = "Europe/London")]
async fn sweep() {}

fn main() {}
