//! The checks of `#[job]` apply to `#[periodic]` too, named after the attribute used.
use pgsched::periodic;

#[periodic(every = "1h", priority = Urgent, retries = 3)]
fn sweep() {}

fn main() {}
