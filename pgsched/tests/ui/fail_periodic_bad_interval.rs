//! An interval humantime cannot read is refused on the `every` literal.
use pgsched::periodic;

#[periodic(every = "soon")]
async fn sweep() {}

fn main() {}
