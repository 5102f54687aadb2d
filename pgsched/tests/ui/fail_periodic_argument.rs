//! A periodic job takes no arguments, only context parameters: each run is the same.
use pgsched::{JobContext, periodic};

#[periodic(every = "1h")]
async fn sweep(ctx: JobContext, x: u32) {
    let _ = (ctx, x);
}

fn main() {}
