//! An upgrade must take a `#[pgsched::args]` struct and return the job's `Args`: the compiler
//! says so on the fn named in the attribute.
use pgsched::job;

/// Not marked `#[pgsched::args]`: it has no schema.
#[derive(serde::Deserialize)]
pub struct SendV1 {
    n: u32,
}

#[pgsched::args]
pub struct SendV2 {
    n: u64,
}

fn from_v1(old: SendV1) -> send::Args {
    send::Args { n: old.n.to_string() }
}

fn from_v2(old: SendV2) -> String {
    old.n.to_string()
}

#[job(upgrade = [from_v1, from_v2])]
async fn send(n: String) {
    let _ = n;
}

fn main() {}
