//! An interval must be greater than zero: the error is on the `every` literal.
use pgsched::periodic;

#[periodic(every = "0s")]
async fn sweep() {}

fn main() {}
