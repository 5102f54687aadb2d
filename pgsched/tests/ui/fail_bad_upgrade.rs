//! Every bad `upgrade` entry is its own error, on the entry to change.
use pgsched::job;

fn from_v1(old: u32) -> send::Args {
    send::Args { n: old }
}

#[job(upgrade = [from_v1, "from_v2", from_v1, from_v3()])]
async fn send(n: u32) {
    let _ = n;
}

#[job(upgrade = [])]
async fn empty(n: u32) {
    let _ = n;
}

fn main() {}
