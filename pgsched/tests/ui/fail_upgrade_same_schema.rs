//! An upgrade from the job's current schema would never run: it does not compile.
use pgsched::job;

#[pgsched::args]
pub struct SendV1 {
    n: u32,
}

fn from_v1(old: SendV1) -> send::Args {
    send::Args { n: old.n }
}

#[job(upgrade = from_v1)]
async fn send(n: u32) {
    let _ = n;
}

fn main() {}
